"""Chapters declare the tables they read; the build re-executes exactly the chapters whose inputs changed."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO
from livingreview.checking.layout import chapter_files, declared_reads
from livingreview.publishing.book import chapter_fingerprints


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
    shutil.copy(REPO / "review.yml", root / "review.yml")
    shutil.copy(REPO / "_toc.yml", root / "_toc.yml")  # the TOC says which pages the book has
    before = chapter_fingerprints(root)
    text = (root / "data/therapies.csv").read_text()
    (root / "data/therapies.csv").write_text(text.replace("THER-0001,", "THER-0001,", 1) + "")
    assert chapter_fingerprints(root) == before  # same bytes, same fingerprints
    (root / "data/therapies.csv").write_text(text.replace("\n", "\n", 1) + "\n")
    changed = {k for k, v in chapter_fingerprints(root).items() if before[k] != v}
    assert changed == {"chapters/05_therapies.ipynb", "chapters/07_claims.ipynb", "chapters/08_evidence_map.ipynb",
                       "chapters/11_methods.ipynb",
                       "chapters/09_whats_new.ipynb", "chapters/intro.md", "chapters/12_appendix.ipynb"}
    (root / "data/ev_subtypes.csv").write_text((root / "data/ev_subtypes.csv").read_text() + "\n")
    changed = {k for k, v in chapter_fingerprints(root).items() if before[k] != v} - changed
    assert changed == {"chapters/02_subtypes.ipynb"}  # 07 and 08 changed already
    (root / "references.bib").write_text((root / "references.bib").read_text() + "\n")
    assert all(before[k] != v for k, v in chapter_fingerprints(root).items())


def _toc_review(tmp_path):
    """A review whose TOC names a chapter in a subfolder, a page outside chapters/ and a chapter saved with a BOM."""
    import shutil

    root = tmp_path / "review"
    shutil.copytree(REPO / "tests" / "fixtures" / "mini", root)
    (root / "chapters" / "part").mkdir(parents=True)
    (root / "appendix").mkdir()
    md = ("---\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n# {title}\n\n"
          "```{{code-cell}} ipython3\n1\n```\n")
    (root / "chapters" / "intro.md").write_text("# Intro\n", encoding="utf-8")
    (root / "chapters" / "part" / "deep.md").write_text(md.format(title="Deep"), encoding="utf-8")
    (root / "appendix" / "notes.md").write_text(md.format(title="Notes"), encoding="utf-8")
    (root / "chapters" / "bom.md").write_bytes(b"\xef\xbb\xbf" + md.format(title="BOM").encode())
    (root / "_toc.yml").write_bytes(b"\xef\xbb\xbfformat: jb-book\nroot: chapters/intro\nchapters:\n"
                                    b"  - file: chapters/part/deep\n  - file: appendix/notes\n  - file: chapters/bom\n")
    return root


def test_pages_are_discovered_from_the_toc_wherever_they_are(tmp_path):
    # issue 11, item 6: a chapter in a subfolder, outside chapters/ or saved with a BOM was never re-executed
    root = _toc_review(tmp_path)
    assert [p.relative_to(root).as_posix() for p in chapter_files(root)] == [
        "chapters/part/deep.md", "appendix/notes.md", "chapters/bom.md"]
    assert set(chapter_fingerprints(root)) == {"chapters/part/deep.md", "appendix/notes.md", "chapters/bom.md"}


def test_every_toc_page_is_in_the_build_state(tmp_path):
    from livingreview.publishing.book import build_state

    root = _toc_review(tmp_path)
    config = tmp_path / "config.yml"
    config.write_text("title: x\n")
    before = build_state(root, {}, config)
    page = root / "appendix" / "notes.md"
    page.write_text(page.read_text() + "\nEdited prose.\n")
    assert build_state(root, {}, config) != before  # a page outside chapters/ changed: the pages are stale


def test_item7_globbed_chapters_are_toc_pages_and_follow_their_tables(tmp_path):
    """Issue 23 item 7: a chapter listed through a ``glob:`` entry is a page of the book, re-executed when its table
    changes, matched as sphinx-external-toc matches it (not excluded folders, not the document holding the glob)."""
    root = _toc_review(tmp_path)
    md = ("---\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n# {title}\n\n"
          "```{{code-cell}} ipython3\n1\n```\n")
    (root / "chapters" / "part" / "b_two.md").write_text(md.format(title="Two"), encoding="utf-8")
    (root / "chapters" / "part" / "a_one.md").write_text(md.format(title="One"), encoding="utf-8")
    (root / "_build" / "chapters" / "part").mkdir(parents=True)
    (root / "_build" / "chapters" / "part" / "built.md").write_text(md.format(title="Built"), encoding="utf-8")
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\nchapters:\n  - file: appendix/notes\n"
                                   "  - glob: chapters/part/*\n  - glob: chapters/b*\n", encoding="utf-8")
    assert [p.relative_to(root).as_posix() for p in chapter_files(root)] == [
        "appendix/notes.md", "chapters/part/a_one.md", "chapters/part/b_two.md", "chapters/part/deep.md",
        "chapters/bom.md"]
    before = chapter_fingerprints(root)
    (root / "data" / "pmn.csv").write_text((root / "data" / "pmn.csv").read_text() + "\n")
    after = chapter_fingerprints(root)
    assert after["chapters/part/a_one.md"] != before["chapters/part/a_one.md"]  # undeclared reads: every table
