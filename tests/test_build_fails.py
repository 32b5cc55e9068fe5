"""A broken chapter or a missing citation stops the build with a non-zero exit, never a silent success."""

from __future__ import annotations

import shutil

import pytest

from conftest import REPO
from livingreview.book import build_book

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
    shutil.copytree(REPO / "_static", root / "_static", ignore=shutil.ignore_patterns("vendor", "figures"))
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
