"""cite: DOI/PMID to a normalised entry, from recorded (cached) responses, never the network in tests."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

import livingreview as lr
from conftest import FIXTURES
from livingreview.commands.cli import main
from livingreview.curation.cite import CiteError, cite, parse_identifier


@pytest.fixture
def cached(review):
    shutil.copytree(FIXTURES / "cite", review.root / "cache")
    return review


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.mark.parametrize(("text", "expected"), [
    ("10.1038/nature15756", ("doi", "10.1038/nature15756")),
    ("https://doi.org/10.1038/nature15756", ("doi", "10.1038/nature15756")),
    ("doi: 10.1038/nature15756", ("doi", "10.1038/nature15756")),
    ("PMID:26524530", ("pmid", "26524530")),
    ("26524530", ("pmid", "26524530")),
])
def test_parse_identifier(text, expected):
    assert parse_identifier(text) == expected


def test_parse_identifier_rejects_garbage():
    with pytest.raises(CiteError, match="neither a DOI"):
        parse_identifier("nature15756")


def test_cite_doi_from_cache_appends_normalised_entry(cached):
    before = cached.path("references.bib").read_text()
    result = cite(cached.root, "https://doi.org/10.5555/FIXTURE.0101")
    assert result.key == "odegard2022"
    after = cached.path("references.bib").read_text()
    assert after.startswith(before.rstrip("\n")) and after.endswith(result.entry)
    ref = lr.load(cached.root).library["odegard2022"]
    assert ref.authors == (("Ødegård", "Ingrid"), ("van der Berg", "Anna"))
    assert ref.title == "Synthetic fixture exosomes carrying PD-L1 reach 100% of lymph nodes"
    assert (ref.venue, ref.year, ref.fields["pages"], ref.doi) == (
        "Journal of Test Fixtures & Examples", 2022, "101–110", "10.5555/fixture.0101")


def test_cite_pmid_from_cache(cached):
    result = cite(cached.root, "PMID:99999991")
    ref = lr.load(cached.root).library[result.key]
    assert result.key == "example2023"
    assert ref.pmid == "99999991" and ref.doi == "10.5555/fixture.0102"
    assert ref.authors[1] == ("Sample", "BC")


def test_existing_doi_is_refused_and_nothing_written(cached):
    before = cached.path("references.bib").read_bytes()
    with pytest.raises(CiteError, match="already in the library as 'alpha2020'"):
        cite(cached.root, "10.5555/FIXTURE.0001")
    assert cached.path("references.bib").read_bytes() == before


def test_key_collision_gets_a_letter(cached):
    cached.append("references.bib", "\n@article{odegard2022,\n  author = {X, Y},\n  title = {{T}},\n"
                                    "  journal = {J},\n  year = {2022},\n  doi = {10.5555/other},\n}\n")
    assert cite(cached.root, "10.5555/fixture.0101").key == "odegard2022b"


def test_offline_and_uncached_fails_clearly(review):
    before = review.path("references.bib").read_bytes()
    with pytest.raises(CiteError, match=r"cannot reach api\.crossref\.org .* no cached response at "
                                        r"cache/crossref/10\.1038%2Fnature99999\.json"):
        cite(review.root, "10.1038/nature99999")
    with pytest.raises(CiteError, match="--offline"):
        cite(review.root, "10.1038/nature99999", offline=True)
    assert review.path("references.bib").read_bytes() == before


def test_cli_cite_dry_run_and_errors(cached):
    before = cached.path("references.bib").read_bytes()
    dry = CliRunner().invoke(main, ["cite", "10.5555/fixture.0101", "--root", str(cached.root), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would add 'odegard2022'" in dry.output and "@article{odegard2022," in dry.output
    assert cached.path("references.bib").read_bytes() == before
    bad = CliRunner().invoke(main, ["cite", "10.9999/none", "--root", str(cached.root)])
    assert bad.exit_code == 1 and "error: cannot reach" in bad.output


def test_interrupted_cite_leaves_the_library_unchanged(cached, monkeypatch):
    from livingreview.model import fileio

    before = cached.path("references.bib").read_bytes()

    def crash(src, dst):
        raise KeyboardInterrupt  # killed between writing the temporary file and the rename

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        cite(cached.root, "10.5555/fixture.0101")
    assert cached.path("references.bib").read_bytes() == before
    assert not [p for p in cached.root.iterdir() if p.name.endswith(".tmp")]
