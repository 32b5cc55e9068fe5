"""Shared fixtures: a small, valid, synthetic review that each test may break in one place."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same examples every time (a failure there is reproducible, not luck); elsewhere hypothesis explores
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]

from livingreview.model.declarations import load as _load_declarations  # noqa: E402

#: the EV review's declared tables and vocabularies (the engine holds none of its own)
TABLES = _load_declarations(REPO).tables
VOCABULARIES = _load_declarations(REPO).vocabularies


class Review:
    """A writable copy of a fixture review, with helpers to plant one fault."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, rel: str) -> Path:
        return self.root / rel

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> None:
        """Replace ``old`` by ``new`` in ``rel``; fail the test if ``old`` is absent."""
        text = self.path(rel).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        self.path(rel).write_text(text.replace(old, new, count), encoding="utf-8")

    def append(self, rel: str, text: str) -> None:
        with self.path(rel).open("a", encoding="utf-8") as fh:
            fh.write(text)

    def write_bytes(self, rel: str, data: bytes) -> None:
        self.path(rel).write_bytes(data)


@pytest.fixture
def review(tmp_path: Path) -> Review:
    """A fresh copy of tests/fixtures/mini."""
    root = tmp_path / "review"
    shutil.copytree(FIXTURES / "mini", root)
    return Review(root)


# data values that must reach every page only as text
PAYLOAD = ' <script>window.__lr_pwned = 1</script><img src="x" onerror="window.__lr_pwned = 2"> <!-- x'
# data text that Sphinx's smartquotes would have changed (curly quotes, en dash, ellipsis)
LITERAL = "5'-UTR -- \"quoted\" 1...2"
BIB_PAYLOAD = '<img src="x" onerror="window.__lr_pwned = 3">'


def _edit_cell(path: Path, row_id: str, column: str, edit) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    col = rows[0].index(column)
    for row in rows[1:]:
        if row[0] == row_id:
            row[col] = edit(row[col])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Path:
    """The real review's book, built once per session with payloads in its data; shared by the book tests."""
    import livingreview as lr
    from livingreview.analysis import summaries
    from livingreview.curation.edit import withdraw_row
    from livingreview.model.schema import Kind
    from livingreview.publishing.book import build_book

    root = tmp_path_factory.mktemp("book") / "review"
    root.mkdir()
    for name in ("data", "chapters", "releases"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, root / name)
    for name in ("references.bib", "_config.yml", "_toc.yml", "living.toml", "review.yml"):
        shutil.copy(REPO / name, root / name)
    (root / "_static").mkdir()  # the engine's script, stylesheet and favicon come from the package
    # a withdrawn row, with a payload in its reason (the What's new chapter lists it)
    withdraw_row(root, "mechanisms", "MECH-0049", "Withdrawn for the test." + PAYLOAD)
    # a payload in every free-text column of the first row each findings page shows, and of every other table
    # each page's order, as its chapter asks for it
    sorts = {"mechanisms": ["hallmark", "cancer_type"], "pmn": ["target_organ", "cancer_type"],
             "therapies": ["strategy"], "biomarkers": ["cancer_type"]}
    shown = {name: (lambda ev, name=name, by=by: summaries.summary(ev, name, [*by, "id"], sort=by))
             for name, by in sorts.items()}
    shown["therapies"] = lambda ev: summaries.summary(ev, "therapies", ["strategy", "stage", "id"],
                                                      sort=["strategy", "stage"], descending=("stage",))
    ev = lr.load(root)
    for table in TABLES.values():
        if table.name == "withdrawn" or not (root / table.path).exists():
            continue
        if table.name in shown:
            first = str(shown[table.name](ev)["id"].iloc[0])
        else:
            first = next(csv.reader(io.StringIO((root / table.path).read_text(encoding="utf-8").split("\n", 2)[1])))[0]
        for col in table.columns:
            if col.kind is Kind.TEXT and col.name != "finding":
                _edit_cell(root / table.path, first, col.name, lambda v: (v or "x") + PAYLOAD)
    _edit_cell(root / "data/mechanisms.csv", "MECH-0001", "finding", lambda v: v + PAYLOAD)
    _edit_cell(root / "data/mechanisms.csv", "MECH-0002", "finding", lambda v: v + " " + LITERAL)
    bib = (root / "references.bib").read_text(encoding="utf-8")
    for target in ("title   = {{Tumour exosome integrins", "journal = {Cancer Cell},"):
        bib = bib.replace(target, target.replace("{", "{" + BIB_PAYLOAD + " ", 1))
    (root / "references.bib").write_text(bib, encoding="utf-8")
    assert build_book(root) == 0
    return root
