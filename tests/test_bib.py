"""The strict BibTeX wrapper and the library rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from livingreview.bib import check_library, check_with_pybtex, format_entry, load_library, parse_library

GOOD = """@article{alpha2020,
  author = {M{\\"u}ller, Hans and van der Berg, Anna and others},
  title = {{Exosomal \\emph{miR-105} and ZO-1}},
  journal = {Cancer Cell},
  year = {2020},
  doi = {10.1016/j.ccr.2014.03.007},
  url = {https://example.org/a%20b},
}
"""


def msgs(problems) -> list[str]:
    return [str(p) for p in problems]


def test_decodes_latex_and_splits_names():
    lib, problems = parse_library(GOOD)
    assert problems == []
    ref = lib["alpha2020"]
    assert ref.authors[:2] == (("Müller", "Hans"), ("van der Berg", "Anna"))
    assert ref.first_author == "Müller"
    assert ref.title == "Exosomal miR-105 and ZO-1"
    assert ref.year == 2020
    assert ref.url == "https://doi.org/10.1016/j.ccr.2014.03.007"
    assert check_library(lib) == []


def test_failed_blocks_are_errors_not_logs():
    text = GOOD + "\n@article{broken,\n  title = {unbalanced\n\n@article{ok2, title={x}}\n"
    _, problems = parse_library(text)
    assert msgs(problems) == ["references.bib:10:-: malformed BibTeX block starting '@article{broken,'; expected "
                              "@type{key, field = {value}, ...} with balanced braces"]


def test_duplicate_key_and_duplicate_field():
    text = GOOD + "\n" + GOOD + "\n@article{beta2021, title={a}, title={b}}\n"
    _, problems = parse_library(text)
    assert msgs(problems) == [
        "references.bib:10:-: duplicate entry key 'alpha2020'; expected each key once",
        "references.bib:19:-: duplicate field(s) title in one entry; expected each field once",
    ]


def test_case_variant_keys_are_rejected():
    lib, _ = parse_library(GOOD + "\n" + GOOD.replace("alpha2020", "Alpha2020").replace("ccr.2014", "x.1"))
    assert msgs(check_library(lib)) == [
        "references.bib:10:-: key 'Alpha2020' differs only in case from 'alpha2020' (line 1); expected keys unique "
        "ignoring case (pybtex drops entries after it)"
    ]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("  doi = {10.1016/j.ccr.2014.03.007},\n", "",
     "references.bib:1:doi: entry 'alpha2020' has neither doi nor pmid; expected a verified DOI or PMID"),
    ("10.1016/j.ccr.2014.03.007", "https://doi.org/10.1016/j.ccr.2014.03.007",
     "references.bib:6:doi: malformed DOI 'https://doi.org/10.1016/j.ccr.2014.03.007'; expected '10.NNNN/suffix' "
     "without 'https://doi.org/'"),
    ("  journal = {Cancer Cell},\n", "",
     "references.bib:1:journal: entry 'alpha2020' has no journal, booktitle or publisher; expected one"),
    ("  year = {2020},\n", "", "references.bib:1:year: entry 'alpha2020' has no year; expected one"),
    ("{2020}", "{20x0}", "references.bib:5:year: year '20x0' is not a 4-digit year"),
    ("https://example.org/a%20b", "javascript:alert(1)",
     "references.bib:7:url: URL 'javascript:alert(1)' is not http(s); expected an https:// link"),
    ("  doi = {10.1016/j.ccr.2014.03.007},\n", "  pmid = {PMC123},\n",
     "references.bib:6:pmid: malformed PMID 'PMC123'; expected digits only"),
])
def test_entry_rules(old, new, expected):
    lib, problems = parse_library(GOOD.replace(old, new))
    assert msgs(problems + check_library(lib)) == [expected]


def test_duplicate_doi_across_entries():
    twin = GOOD.replace("alpha2020", "beta2021").replace("10.1016/j.ccr", "10.1016/J.CCR")
    lib, _ = parse_library(GOOD + "\n" + twin)
    assert msgs(check_library(lib)) == [
        "references.bib:15:doi: DOI '10.1016/J.CCR.2014.03.007' is also on entry 'alpha2020' (line 1); expected each "
        "paper once"
    ]


def test_non_utf8_library_is_located(tmp_path: Path):
    (tmp_path / "references.bib").write_bytes(GOOD.replace("M{\\\"u}ller", "M\u00fcller").encode("latin-1"))
    _, problems = load_library(tmp_path)
    assert msgs(problems) == ["references.bib:2:-: not valid UTF-8 (byte 0xfc); expected the file saved as UTF-8"]


def test_pybtex_rejection_is_reported():
    # bibtexparser accepts a brace-less value with a space that pybtex refuses
    assert check_with_pybtex(GOOD) == []
    problems = check_with_pybtex("@article{a, title = {x}}\n@article{a, title = {y}}\n")
    assert problems and "pybtex" in problems[0].message


def test_format_entry_round_trips_through_both_parsers():
    fields = {"author": "Müller, Hans and others", "title": "PD-L1 & miR-21: 100% of_cases",
              "journal": "J Hematol & Oncol", "year": "2019", "doi": "10.1186/s13045-018-0689-y", "pmid": "30621731"}
    text = format_entry("muller2019", "article", fields)
    lib, problems = parse_library(text)
    assert problems == [] and check_library(lib) == [] and check_with_pybtex(text) == []
    ref = lib["muller2019"]
    assert ref.title == "PD-L1 & miR-21: 100% of_cases"
    assert ref.venue == "J Hematol & Oncol"
    assert ref.doi == "10.1186/s13045-018-0689-y"


def test_parallel_parse_matches_serial_parse(monkeypatch):
    from conftest import REPO
    from livingreview import bib

    text = (REPO / "references.bib").read_text(encoding="utf-8")
    text = "@string{jtf = {Journal of Test Fixtures}}\n" + text + (
        "\n@article{macro2020,\n  author = {A, B},\n  title = {{T}},\n  journal = jtf,\n  year = {2020},\n"
        "  doi = {10.5555/macro},\n}\n")
    monkeypatch.setattr(bib, "PARALLEL_BYTES", 1000)
    serial, p1 = bib.parse_library(text)
    parallel, p2 = bib.parse_library_parallel(text)
    assert p1 == p2 == []
    assert list(serial.references) == list(parallel.references)
    for key, ref in serial.references.items():
        other = parallel[key]
        assert (ref.line, ref.fields, ref.field_lines, ref.authors) == (
            other.line, other.fields, other.field_lines, other.authors), key
    assert parallel["macro2020"].venue == "Journal of Test Fixtures"


def test_parallel_parse_finds_duplicates_across_pieces(monkeypatch):
    from livingreview import bib

    def entry(key: str) -> str:
        return GOOD.replace("alpha2020", key).replace("ccr.2014.03.007", key)

    text = "\n".join(entry(f"k{i}") for i in range(40)) + "\n" + entry("k0")
    monkeypatch.setattr(bib, "PARALLEL_BYTES", 1000)
    _, problems = bib.parse_library_parallel(text)
    assert [str(p) for p in problems] == [f"references.bib:{40 * 9 + 1}:-: duplicate entry key 'k0'; expected each "
                                          "key once"]


def test_retracted_entry_may_cite_its_retraction_record_instead_of_doi():
    text = GOOD.replace("  doi = {10.1016/j.ccr.2014.03.007},\n", "  retracted = {yes},\n")
    lib, _ = parse_library(text)
    assert check_library(lib) == []  # has an https url
    lib, _ = parse_library(text.replace("  url = {https://example.org/a%20b},\n", ""))
    assert [p.column for p in check_library(lib)] == ["doi"]
