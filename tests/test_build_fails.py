"""A broken chapter or a missing citation stops the build with a non-zero exit, never a silent success."""

from __future__ import annotations

import pytest

from conftest import REPO
from livingreview.publishing.book import build_book

pytestmark = pytest.mark.book

CONFIG = (REPO / "_config.yml").read_text(encoding="utf-8")
NOTEBOOK = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---
# Tiny chapter

{body}

```{{code-cell}} ipython3
{code}
```

```{{bibliography}}
```
"""


def tiny_book(review, body: str, code: str):
    root = review.root
    (root / "chapters").mkdir()
    (root / "chapters" / "intro.md").write_text(NOTEBOOK.format(body=body, code=code), encoding="utf-8")
    (root / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\n", encoding="utf-8")
    (root / "_static").mkdir(exist_ok=True)  # the engine's script and stylesheet come from the package
    return root


def test_tiny_book_builds(review):
    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1 + 1)")
    assert build_book(root) == 0
    assert (root / "_build/html/chapters/intro.html").exists()


def test_raising_cell_fails_the_build(review):
    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "raise RuntimeError('chapter is broken')")
    assert build_book(root) != 0


def test_missing_citation_fails_the_build(review):
    root = tiny_book(review, "Cited {cite:p}`nosuchkey2099`.", "print(1)")
    assert build_book(root) != 0


@pytest.mark.parametrize("target", ["/etc/passwd", "..", "../.git", "../_build/html"])
def test_a_static_symlink_out_of_the_review_stops_the_build_before_any_copy(review, target):
    """Issue 23 item 1: Sphinx copies what a link under _static/ points to; the build refuses such a link, located,
    before it copies anything, and so does validate."""
    from click.testing import CliRunner

    from livingreview.commands.cli import main

    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1)")
    (root / ".git").mkdir()
    (root / "_build" / "html").mkdir(parents=True)
    (root / "_static" / "planted").symlink_to(target)
    (root / "chapters" / "fine.csv").symlink_to("../data/mechanisms.csv")  # a link inside the review is fine
    for command in ("validate", "build"):
        result = CliRunner().invoke(main, [command, "--root", str(root)])
        assert result.exit_code == 1, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("_static/planted:1:-: symlink")]
        assert len(errors) == 1 and "chapters/fine.csv" not in result.output, result.output
    assert not (root / "_build" / "html" / "_static").exists()  # nothing was copied


def test_a_review_without_its_optional_tables_builds(review):
    """Issue 24: validate accepts a review that keeps no search log or ledger; build (and its data package) too."""
    from conftest import TABLES

    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1)")
    for table in TABLES.values():
        if table.optional:
            (root / table.path).unlink()
    assert build_book(root) == 0
    package = root / "_build/html/download/data-package"
    assert (package / "datapackage.json").exists() and (package / "data/searches.csv").read_text().count("\n") == 1


def test_item7_a_globbed_chapter_is_re_executed_when_its_table_changes(review):
    """Issue 23 item 7: chapters listed through a ``glob:`` entry in ``_toc.yml`` were never re-executed, so their
    pages kept old numbers with exit 0."""
    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1)")
    (root / "chapters" / "extra").mkdir()
    page = NOTEBOOK.replace("# Tiny chapter", "# Globbed chapter").replace("```{{bibliography}}\n```\n", "")
    code = ("from livingreview import chapter\n"
            "print('finding:', chapter.evidence().mechanisms['finding'].iloc[0])")
    (root / "chapters" / "extra" / "count.md").write_text(page.format(body="Rows.", code=code), encoding="utf-8")
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/intro\nchapters:\n  - glob: chapters/extra/*\n",
                                   encoding="utf-8")
    assert build_book(root) == 0
    html = root / "_build" / "html" / "chapters" / "extra" / "count.html"
    assert "finding: Synthetic fixture finding one." in html.read_text(encoding="utf-8")
    review.replace("data/mechanisms.csv", "Synthetic fixture finding one.", "Synthetic fixture finding revised.")
    assert build_book(root) == 0
    assert "finding: Synthetic fixture finding revised." in html.read_text(encoding="utf-8")
