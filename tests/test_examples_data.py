"""The reviews shipped beside the EV review: each declares itself, and its tables and library agree with that.

``examples/bcg-vaccine`` (the 13 BCG trials of Colditz et al., JAMA 1994) and ``tests/fixtures/arxiv-review`` (arXiv
preprints, no evidence level, no claims) are data and declarations only; these tests read them with the engine's
declaration and library parsers, so a typo in a header, a citekey without an entry or a count that does not add
up fails here before any build.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import FIXTURES, REPO
from livingreview.checking import bib, claims
from livingreview.model import declarations as d
from livingreview.model.schema import MULTI_SEPARATOR, Column, Kind, Table

BCG = REPO / "examples" / "bcg-vaccine"
ARXIV = FIXTURES / "arxiv-review"
REVIEWS = [pytest.param(BCG, id="bcg-vaccine"), pytest.param(ARXIV, id="arxiv-review")]
#: the EV review's own words: none may reach another review's declarations, data or library
EV_WORDS = re.compile(r"extracellular|vesicle|exosom|metasta|cancer|tumou?r|oncolog", re.IGNORECASE)
#: an arXiv identifier as arXiv has issued them since 2007 (YYMM.NNNNN, optionally a version)
ARXIV_ID = re.compile(r"[0-9]{4}\.[0-9]{4,5}(v[0-9]+)?")


def declarations(root: Path) -> d.Declarations:
    """The review's declarations, read by the engine's parser (a located ValidationError if they are wrong)."""
    return d.read((root / d.DECLARATIONS).read_text(encoding="utf-8"), str(root / d.DECLARATIONS))


def rows(root: Path, table: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of ``data/TABLE.csv``."""
    with (root / "data" / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def library(root: Path) -> bib.Library:
    """The review's ``references.bib``, parsed strictly; a parse problem fails the calling test."""
    path = root / "references.bib"
    lib, problems = bib.parse_library(path.read_text(encoding="utf-8"), str(path))
    assert not problems, [str(p) for p in problems]
    return lib


def cell_problem(table: Table, col: Column, value: str) -> str | None:
    """Why ``value`` does not fit ``col`` as declared (None if it does)."""
    if not value:
        return None if not col.required else "empty, but the column is required"
    values = value.split(MULTI_SEPARATOR) if col.multi else [value]
    for item in values:
        if col.kind is Kind.ID and not re.fullmatch(rf"{table.id_prefix}-[0-9]{{4,9}}", item):
            return f"not a {table.id_prefix} row id"
        if col.kind is Kind.VOCAB and (col.vocab is None or item not in col.vocab):
            return f"not a term of {col.vocab.name if col.vocab else 'a declared vocabulary'}"
        if col.kind is Kind.DATE:
            try:
                dt.date.fromisoformat(item)
            except ValueError:
                return "not an ISO date"
        if col.kind in (Kind.INTEGER, Kind.NUMBER):
            try:
                number = int(item) if col.kind is Kind.INTEGER else float(item)
            except ValueError:
                return f"not {'an integer' if col.kind is Kind.INTEGER else 'a number'}"
            if col.minimum is not None and number < col.minimum:
                return f"below the minimum {col.minimum:g}"
            if col.maximum is not None and number > col.maximum:
                return f"above the maximum {col.maximum:g}"
    return None


@pytest.mark.parametrize("root", REVIEWS)
def test_the_declarations_parse_with_an_identity_of_their_own(root):
    """review.yml reads without a problem and names the review, not the EV review."""
    ev = d.load(REPO).identity
    own = declarations(root).identity
    assert own.title and own.slug
    assert own.slug != ev.slug and own.title != ev.title


@pytest.mark.parametrize("root", REVIEWS)
def test_every_declared_table_has_a_csv_whose_header_is_its_columns(root):
    """Each table's CSV exists, its header lists the declared columns in their order, and no CSV is undeclared."""
    tables = declarations(root).tables
    for name, table in tables.items():
        path = root / "data" / f"{name}.csv"
        if table.optional and not path.exists():
            continue
        header, _ = rows(root, name)
        assert header == table.column_names, name
    undeclared = {p.stem for p in (root / "data").glob("*.csv")} - set(tables)
    assert not undeclared


@pytest.mark.parametrize("root", REVIEWS)
def test_every_cell_fits_its_declared_column_and_ids_are_unique(root):
    """Types, vocabularies, minimums and maximums as declared; every row id once."""
    for name, table in declarations(root).tables.items():
        _, table_rows = rows(root, name)
        assert table_rows, f"{name} has no rows"
        for line, row in enumerate(table_rows, start=2):
            for col in table.columns:
                problem = cell_problem(table, col, row[col.name])
                assert problem is None, f"{name}.csv:{line}:{col.name}: {row[col.name]!r} {problem}"
        ids = [row["id"] for row in table_rows]
        assert len(ids) == len(set(ids)), name


@pytest.mark.parametrize("root", REVIEWS)
def test_every_citekey_has_an_entry_and_every_entry_is_cited(root):
    """Rows cite only keys of the review's own library, and the library holds nothing no row cites."""
    keys = set(library(root).references)
    cited: set[str] = set()
    for name, table in declarations(root).tables.items():
        for col in table.columns:
            if col.kind is not Kind.CITEKEYS:
                continue
            for row in rows(root, name)[1]:
                cited.update(k for k in row[col.name].split(MULTI_SEPARATOR) if k)
    assert cited, "no row cites anything"
    assert cited <= keys, sorted(cited - keys)
    assert keys <= cited, sorted(keys - cited)


def test_the_bcg_trials_are_the_thirteen_of_the_meta_analysis_and_their_counts_add_up():
    """Thirteen trials numbered 1 to 13, each arm non-empty, and each finding states the row's own counts."""
    _, trials = rows(BCG, "trials")
    assert sorted(int(r["trial"]) for r in trials) == list(range(1, 14))
    for r in trials:
        tpos, tneg, cpos, cneg = (int(r[c]) for c in ("tpos", "tneg", "cpos", "cneg"))
        assert tpos + tneg > 0 and cpos + cneg > 0, r["id"]
        stated = [int(n.replace(",", "")) for n in re.findall(r"[0-9][0-9,]*", r["finding"])]
        assert stated == [tpos + tneg, tpos, cpos, cpos + cneg], r["id"]


def test_every_bcg_trial_cites_the_meta_analysis_that_reports_it():
    """The meta-analysis is the source of every count, so every row cites it."""
    _, trials = rows(BCG, "trials")
    assert all("colditz1994" in r["citekeys"].split(MULTI_SEPARATOR) for r in trials)


def test_the_bcg_claim_selects_trials_with_a_numeric_selector():
    """Each claim that selects rows names columns of its table, compares a number, and selects some trials but not
    all (a claim resting on a synthesis compares its pooled result: tests/test_pooled_claims.py)."""
    decl = declarations(BCG)
    _, claim_rows = rows(BCG, "claims")
    _, trials = rows(BCG, "trials")
    selecting = [c for c in claim_rows if not c.get("synthesis")]
    assert selecting
    for claim in selecting:
        table = decl.tables[claim["table"]]
        conditions = claims.parse_selector(claim["where"].split(MULTI_SEPARATOR))
        assert not claims.selector_errors(table, conditions)
        assert any(c.op in (">", ">=", "<", "<=") for c in conditions)
        frame = pd.DataFrame(trials).astype({c.name: float for c in table.columns
                                             if c.kind in (Kind.INTEGER, Kind.NUMBER)})
        selected = int(claims.matches(frame, conditions).sum())
        assert 0 < selected < len(trials), claim["id"]


def test_no_ev_wording_reaches_the_other_reviews():
    """The BCG review and the arXiv fixture are about their own topics: no EV or cancer term in their files."""
    for root in (BCG, ARXIV):
        for path in [root / d.DECLARATIONS, root / "references.bib", *sorted((root / "data").glob("*.csv"))]:
            found = EV_WORDS.findall(path.read_text(encoding="utf-8"))
            assert not found, f"{path.relative_to(REPO)}: {found}"


def test_the_arxiv_library_is_arxiv_records_alone():
    """Every entry is identified by its arXiv eprint (no DOI, PMID or journal is needed for such a review)."""
    for ref in library(ARXIV).references.values():
        assert ref.fields.get("archiveprefix", "").lower() == "arxiv", ref.key  # the parser lower-cases field names
        assert ARXIV_ID.fullmatch(ref.fields.get("eprint", "")), ref.key


def test_the_arxiv_fixture_declares_no_evidence_level_and_no_claims():
    """The fixture proves those roles optional: nothing in it is an evidence level, a claim or a certainty."""
    decl = declarations(ARXIV)
    assert "claims" not in decl.tables
    assert not {"evidence_level", "certainty"} & set(decl.vocabularies)
    assert all(col.kind is not Kind.SELECTOR for t in decl.tables.values() for col in t.columns)
