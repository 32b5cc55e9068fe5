"""Chapters stay thin and are committed without outputs; the logic lives in the package."""

from __future__ import annotations

import json

import pytest

from conftest import REPO

NOTEBOOKS = sorted((REPO / "chapters").glob("*.ipynb"))
FORBIDDEN = ("read_csv", "open(", "bibtexparser", "import pandas", "alt.Chart", "to_csv", "requests")


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name}: cell has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) <= 8
    for source in code:
        assert len(source.splitlines()) <= 6, f"{path.name}: a code cell is longer than 6 lines"
        for word in FORBIDDEN:
            assert word not in source, f"{path.name}: '{word}' belongs in src/livingreview"
    assert code[0].startswith("from livingreview import")
