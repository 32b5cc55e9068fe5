"""Chapters declare the tables they read; the build re-executes exactly the chapters whose inputs changed."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO
from livingreview.book import chapter_files, chapter_fingerprints, declared_reads


@pytest.mark.parametrize("path", [p for p in chapter_files(REPO) if declared_reads(p) is not None],
                         ids=lambda p: p.name)
def test_declared_reads_cover_what_the_chapter_reads(path, tmp_path, monkeypatch):
    log = tmp_path / "reads.log"
    monkeypatch.setenv("LIVINGREVIEW_READS_LOG", str(log))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
    read = set(log.read_text().split()) if log.exists() else set()
    assert read <= set(declared_reads(path)), f"{path.name} reads {sorted(read)}"


def test_chapter_fingerprints_follow_their_tables(tmp_path):
    import shutil

    root = tmp_path / "review"
    shutil.copytree(REPO / "data", root / "data")
    shutil.copytree(REPO / "chapters", root / "chapters")
    shutil.copy(REPO / "references.bib", root / "references.bib")
    before = chapter_fingerprints(root)
    text = (root / "data/therapies.csv").read_text()
    (root / "data/therapies.csv").write_text(text.replace("THER-0001,", "THER-0001,", 1) + "")
    assert chapter_fingerprints(root) == before  # same bytes, same fingerprints
    (root / "data/therapies.csv").write_text(text.replace("\n", "\n", 1) + "\n")
    changed = {k for k, v in chapter_fingerprints(root).items() if before[k] != v}
    assert changed == {"chapters/05_therapies.ipynb", "chapters/07_claims.ipynb", "chapters/08_evidence_map.ipynb",
                       "chapters/09_whats_new.ipynb", "chapters/intro.md"}
    (root / "data/ev_subtypes.csv").write_text((root / "data/ev_subtypes.csv").read_text() + "\n")
    changed = {k for k, v in chapter_fingerprints(root).items() if before[k] != v} - changed
    assert changed == {"chapters/02_subtypes.ipynb"}  # 07 and 08 changed already
    (root / "references.bib").write_text((root / "references.bib").read_text() + "\n")
    assert all(before[k] != v for k, v in chapter_fingerprints(root).items())
