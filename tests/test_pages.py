"""Issue 24 item 5: row links, claim links, the explorer link and the feed go to the pages the review's own book has,
found from its _toc.yml by the chapter call that makes each page; a book without such a page links nowhere."""

from __future__ import annotations

import shutil

import pytest

from conftest import REPO
from livingreview.checking.layout import PAGE_CALLS, page_of, toc_sources
from livingreview.publishing import chapter


def test_each_role_is_the_first_page_of_the_toc_that_makes_its_call():
    sources = {p.relative_to(REPO).with_suffix(".html").as_posix(): p for p in toc_sources(REPO)}
    for role, call in PAGE_CALLS.items():
        found = page_of(REPO, role)
        assert found in sources, role
        first = next(rel for rel, p in sources.items() if call in p.read_text(encoding="utf-8"))
        assert found == first, role


@pytest.fixture
def small_book(tmp_path, monkeypatch):
    root = tmp_path / "review"
    shutil.copytree(REPO / "data", root / "data")
    for name in ("references.bib", "review.yml"):
        shutil.copy(REPO / name, root / name)
    (root / "chapters").mkdir()
    shutil.copy(REPO / "chapters" / "intro.md", root / "chapters" / "intro.md")
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\n", encoding="utf-8")
    monkeypatch.chdir(root / "chapters")  # where a chapter of this book runs
    return root


def test_a_book_without_an_appendix_or_claims_page_links_nowhere(small_book):
    assert all(page_of(small_book, role) is None for role in PAGE_CALLS)
    assert chapter._row_links(["MECH-0001", "CLAIM-0002"]) == "MECH-0001, CLAIM-0002"
    assert "href" not in chapter._row_links([f"MECH-{i:04d}" for i in range(1, 20)], limit=3, claim="CLAIM-0001")


def test_links_follow_the_page_wherever_the_toc_puts_it(small_book):
    (small_book / "chapters" / "rows").mkdir()
    (small_book / "chapters" / "rows" / "all.md").write_text(
        "# All rows\n\n```{code-cell} ipython3\nchapter.all_rows(ev)\n```\n", encoding="utf-8")
    toc = "format: jb-book\nroot: chapters/intro\nchapters:\n- file: chapters/rows/all\n"
    (small_book / "_toc.yml").write_text(toc, encoding="utf-8")
    assert page_of(small_book, "appendix") == "chapters/rows/all.html"
    assert chapter._row_links(["MECH-0001"]) == '<a href="rows/all.html#MECH-0001">MECH-0001</a>'


def test_the_book_never_reads_the_example_review_or_its_build(tmp_path):
    """The BCG example builds inside this repository (the test command builds it); its pages and executed notebooks
    must never become documents of this review's book (they did: its cache's notebooks broke `tasks.py book`)."""
    from livingreview.checking.layout import _found_docs

    shutil.copy(REPO / "_config.yml", tmp_path / "_config.yml")
    cached = tmp_path / "examples" / "bcg-vaccine" / "_build" / ".jupyter_cache" / "executed" / "x" / "base.ipynb"
    cached.parent.mkdir(parents=True)
    cached.write_text("{}", encoding="utf-8")
    (tmp_path / "examples" / "bcg-vaccine" / "intro.md").write_text("# BCG\n", encoding="utf-8")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "intro.md").write_text("# EV\n", encoding="utf-8")
    assert sorted(_found_docs(tmp_path)) == ["chapters/intro"]
