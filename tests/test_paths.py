"""No command destroys what it did not write (issue 11, items 2, 7 and 14).

``export`` replaced whatever folder it was given (the review root with its .git, ``data/``, a folder with
unrelated files); ``build``, ``add`` and ``cite`` wrote through symlinks or left files behind. Each path a
command writes or removes is now checked first, and refusals are usage errors (exit 2), never tracebacks.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO
from livingreview.checking.layout import GENERATED_MARKER, VENDOR
from livingreview.commands.cli import main
from livingreview.model.errors import UsageError
from livingreview.publishing.book import BUILD_MARKER, build_book, clean_generated, vendor_scripts
from livingreview.publishing.export import MARKER, export_package


def run(*args: str, cwd: Path | None = None):
    if cwd is None:
        return CliRunner().invoke(main, list(args))
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def repo(review):
    """The mini review with a .git folder in it, as a maintainer's checkout has."""
    (review.root / ".git").mkdir()
    (review.root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (review.root / "chapters").mkdir()
    (review.root / "chapters" / "intro.md").write_text("# Intro\n")
    return review


@pytest.mark.parametrize("out", [".", "data", "data/new", "chapters", ".git", "..", "references.bib"])
def test_export_refuses_the_review_and_its_sources(repo, out):
    before = snapshot(repo.root)
    result = run("export", "--root", str(repo.root), "--out", out, cwd=repo.root)
    assert result.exit_code == 2, result.output
    assert "Error: --out" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert snapshot(repo.root) == before


def test_export_refuses_a_folder_that_contains_the_review(repo):
    before = snapshot(repo.root)
    result = run("export", "--root", str(repo.root), "--out", str(repo.root.parent))
    assert result.exit_code == 2 and "contains it" in result.output
    assert snapshot(repo.root) == before


def test_export_refuses_a_foreign_folder_and_force_adds_without_removing(review, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "data").mkdir()
    (out / "data" / "keep.csv").write_text("a,b\n")
    result = run("export", "--root", str(review.root), "--out", str(out))
    assert result.exit_code == 2 and "did not write" in result.output
    assert sorted(snapshot(out)) == ["data/keep.csv", "notes.txt"]
    result = run("export", "--root", str(review.root), "--out", str(out), "--force")
    assert result.exit_code == 0, result.output
    files = snapshot(out)
    assert files["notes.txt"] == b"my notes" and files["data/keep.csv"] == b"a,b\n"
    assert "datapackage.json" in files and "data/pmn.csv" in files
    assert MARKER not in files  # still their folder: a later export without --force refuses it again
    assert run("export", "--root", str(review.root), "--out", str(out)).exit_code == 2


def test_export_into_a_file_is_a_usage_error(review, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = run("export", "--root", str(review.root), "--out", str(target))
    assert result.exit_code == 2 and "not a folder" in result.output
    assert target.read_text() == "x"


def test_export_never_touches_sibling_staging_names(review, tmp_path):
    for name in ("pkg.partial", "pkg.old"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "precious.txt").write_text(name)
    export_package(review.root, tmp_path / "pkg")
    export_package(review.root, tmp_path / "pkg")  # a replacement too
    for name in ("pkg.partial", "pkg.old"):
        assert (tmp_path / name / "precious.txt").read_text() == name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "pkg.old", "pkg.partial", "review"]


def test_export_under_build_inside_the_root_is_allowed(review):
    path = export_package(review.root, review.root / "_build" / "pkg")
    assert path.exists() and (path.parent / MARKER).exists()


def test_new_files_respect_the_umask(review, tmp_path):
    old = os.umask(0o022)
    try:
        path = export_package(review.root, tmp_path / "pkg")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    for file in path.parent.rglob("*"):
        assert stat.S_IMODE(file.stat().st_mode) & 0o044 == 0o044, file


def test_build_refuses_a_build_folder_it_did_not_make(review):
    foreign = review.root / "_build"
    foreign.mkdir()
    (foreign / "thesis.pdf").write_bytes(b"%PDF")
    with pytest.raises(UsageError, match="was not made by livingreview build"):
        build_book(review.root)
    assert (foreign / "thesis.pdf").read_bytes() == b"%PDF"
    (foreign / BUILD_MARKER).write_text("")
    assert (foreign / "thesis.pdf").exists()


def test_generated_folders_are_removed_only_when_marked(tmp_path):
    ours, theirs = tmp_path / "_static" / "figures", tmp_path / "_static" / "data"
    for folder in (ours, theirs):
        folder.mkdir(parents=True)
        (folder / "x.svg").write_text("<svg/>")
    (ours / GENERATED_MARKER).write_text("")
    clean_generated(tmp_path)
    assert not ours.exists() and (theirs / "x.svg").exists()


def test_vendor_script_refuses_a_foreign_file(tmp_path):
    target = tmp_path / VENDOR
    target.parent.mkdir(parents=True)
    target.write_text("// my own script\n")
    with pytest.raises(UsageError, match="not written by livingreview"):
        vendor_scripts(tmp_path)
    assert target.read_text() == "// my own script\n"


ROW = ["--set", "citekeys=alpha2020", "--set", "source=doi:10.5555/fixture.0001",
       "--set", "cancer_type=breast", "--set", "ev_type=small_ev",
       "--set", "target_organ=lung", "--set", "niche_process=vascular_leakiness", "--set", "cargo_class=protein",
       "--set", "model=synthetic fixture mouse", "--set", "evidence_level=animal",
       "--set", "finding=A symlinked table keeps its link.", "--set", "recipient_cell=endothelial cell"]


def test_add_writes_through_a_symlinked_table_and_leaves_no_lock_file(review):
    real = review.root / "tables" / "pmn.csv"
    real.parent.mkdir()
    shutil.move(review.root / "data" / "pmn.csv", real)
    (review.root / "data" / "pmn.csv").symlink_to(Path("..") / "tables" / "pmn.csv")
    result = run("add", "pmn", "--root", str(review.root), *ROW)
    assert result.exit_code == 0, result.output
    assert (review.root / "data" / "pmn.csv").is_symlink()
    assert "A symlinked table keeps its link." in real.read_text()
    assert not (review.root / ".livingreview.lock").exists()


def test_add_refuses_a_table_that_leads_outside_the_review(review, tmp_path):
    outside = tmp_path / "elsewhere.csv"
    shutil.move(review.root / "data" / "pmn.csv", outside)
    (review.root / "data" / "pmn.csv").symlink_to(outside)
    before = outside.read_bytes()
    result = run("add", "pmn", "--root", str(review.root), *ROW)
    assert result.exit_code == 2 and "leads outside the review root" in result.output
    assert outside.read_bytes() == before


def test_cite_refuses_a_cache_that_leads_outside_the_review(review, tmp_path, monkeypatch):
    import json
    import urllib.request

    outside = tmp_path / "outside"
    outside.mkdir()
    (review.root / "cache").symlink_to(outside)
    body = json.dumps({"message": {"DOI": "10.5555/x.1", "title": ["T"], "container-title": ["J"],
                                   "author": [{"family": "A", "given": "B"}], "issued": {"date-parts": [[2020]]}}})

    class Response:
        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def read(self):
            return body.encode()

    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: Response())
    result = run("cite", "10.5555/x.1", "--root", str(review.root))
    assert result.exit_code == 2 and "leads outside the review root" in result.output
    assert list(outside.rglob("*")) == []


def test_the_stamped_config_leaves_out_thebe_and_names_the_favicon(tmp_path):
    """sphinx-thebe declared THEBE_JS_URL twice on every page (a console error) for a book with no live code; the
    stamped config keeps every other extension Jupyter Book loads, and names the favicon where the book has one."""
    import yaml
    from jupyter_book.config import get_final_config

    from livingreview.publishing.book import stamped_config

    root = tmp_path / "review"
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", root)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(REPO / name, root / name)
    config = yaml.safe_load(stamped_config(root))
    extensions = config["sphinx"]["config"]["extensions"]
    assert "sphinx_thebe" not in extensions and "html_favicon" not in config["sphinx"]["config"]
    # as Jupyter Book reads it: what it would load without the list, less sphinx-thebe
    from livingreview.checking.layout import book_config

    plain = book_config(root)

    def loaded(user: dict) -> list[str]:
        final, _ = get_final_config(user_yaml=user, cli_config={"latex_individualpages": False}, validate=False)
        return final["extensions"]

    theirs = loaded(plain)
    assert "sphinx_thebe" in theirs and "livingreview.publishing.sphinxext" in theirs
    assert "sphinxcontrib.bibtex" in theirs
    assert loaded(config) == [e for e in theirs if e != "sphinx_thebe"]
    (root / "_static").mkdir()
    (root / "_static" / "favicon.svg").write_text("<svg/>")
    assert yaml.safe_load(stamped_config(root))["sphinx"]["config"]["html_favicon"] == "_static/favicon.svg"
