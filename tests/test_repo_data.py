"""The repository's own evidence base: valid, fully cited, and readable by pybtex as the book reads it."""

from __future__ import annotations

from collections import Counter

import pytest
from pybtex.database import parse_file

import livingreview as lr
from conftest import REPO
from livingreview.summaries import cited_keys


@pytest.fixture(scope="module")
def ev() -> lr.Evidence:
    return lr.load(REPO)


def test_repository_validates_without_errors():
    assert [str(p) for p in lr.validate(REPO) if p.severity is lr.Severity.ERROR] == []


def test_every_citekey_resolves_and_no_retracted_support(ev):
    for key in cited_keys(ev):
        assert key in ev.library, key
        assert not ev.library[key].retracted, key


def test_every_entry_has_doi_or_pmid_and_dois_are_unique(ev):
    refs = ev.library.references.values()
    assert all(r.doi or r.pmid for r in refs)
    dois = Counter(r.doi.lower() for r in refs if r.doi)
    assert [d for d, n in dois.items() if n > 1] == []


def test_pybtex_reads_every_entry(ev):
    data = parse_file(str(REPO / "references.bib"), "bibtex")
    assert set(data.entries) == set(ev.library.references)


def test_every_claim_selects_rows(ev):
    from livingreview.claims import matches, parse_selector

    for claim in ev.claims.itertuples():
        rows = ev[claim.table]
        assert matches(rows, parse_selector(claim.where)).any(), claim.id
