"""BibTeX as reference managers export it loads with the right decoded fields (synthetic fixtures)."""

from __future__ import annotations

from conftest import FIXTURES
from livingreview.checking.bib import check_library, compare_with_pybtex, parse_library

M = FIXTURES / "managers"


def load(name: str):
    text = (M / name).read_text(encoding="utf-8")
    lib, problems = parse_library(text)
    return lib, problems, text


def test_zotero_better_bibtex():
    lib, problems, text = load("zotero-bbt.bib")
    assert problems == [] and check_library(lib) == [] and compare_with_pybtex(text, lib) == []
    ref = lib["muller2021Exosomes"]
    assert ref.title == "Exosomal PD-L1 in Synthetic Melanoma"
    assert ref.authors == (("Müller", "Jörg"), ("Østergaard", "Søren"), ("García-López", "María"))
    assert ref.fields["month"] == "jan"
    assert ref.fields["url"] == "https://example.org/paper%20one?x=1&y=2"
    assert ref.url == "https://doi.org/10.5555/fixture.1001"


def test_jabref_strings_preamble_comment_crossref():
    lib, problems, text = load("jabref.bib")
    assert problems == [] and compare_with_pybtex(text, lib) == []
    smith = lib["Smith2019"]
    assert smith.venue == "Journal of Test Fixtures"  # @String macro resolved
    assert smith.title == "Circulating EV miR-21 levels"
    assert smith.pmid == "12345" and smith.url == "https://pubmed.ncbi.nlm.nih.gov/12345/"
    assert lib["Lee2020"].fields["crossref"] == "Conf2020"
    assert lib["Lee2020"].venue == "Proceedings of the Fixture Conference"
    assert set(lib.references) == {"Smith2019", "Conf2020", "Lee2020"}


def test_mendeley_escapes_and_braced_surnames():
    lib, problems, text = load("mendeley.bib")
    assert problems == [] and compare_with_pybtex(text, lib) == []
    ref = lib["Nguyen2018"]
    assert ref.authors == (("Nguyen", "Van An"), ("Van der Berg", "Anna"))
    assert ref.title == "Vesicles and the ß-catenin pathway"
    assert ref.fields["abstract"] == "Tumour cells release vesicles; 50% of them carry cargo."
    assert ref.fields["url"] == "http://example.org/a_b%20c"
    assert check_library(lib) == []


def test_google_scholar_others_and_polish_letters():
    lib, problems, text = load("google-scholar.bib")
    assert problems == [] and check_library(lib) == [] and compare_with_pybtex(text, lib) == []
    ref = lib["kowalski2017synthetic"]
    assert ref.title == "Synthetic fixture vesicles in łódź cohorts"
    assert ref.authors[:2] == (("Kowalski", "Piotr"), ("Nowak", "Ewa"))
    assert ref.first_author == "Kowalski" and ref.year == 2017
