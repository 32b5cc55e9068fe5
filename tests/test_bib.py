"""The strict BibTeX wrapper and the library rules."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from livingreview.checking.bib import check_library, check_text, format_entry, load_library, parse_library

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


def test_library_is_read_the_same_by_pybtex():
    assert check_text(GOOD)[1] == []


def test_format_entry_round_trips_through_both_parsers():
    fields = {"author": "Müller, Hans and others", "title": "PD-L1 & miR-21: 100% of_cases",
              "journal": "J Hematol & Oncol", "year": "2019", "doi": "10.1186/s13045-018-0689-y", "pmid": "30621731"}
    text = format_entry("muller2019", "article", fields)
    lib, problems = parse_library(text)
    assert problems == [] and check_library(lib) == [] and check_text(text)[1] == []
    ref = lib["muller2019"]
    assert ref.title == "PD-L1 & miR-21: 100% of_cases"
    assert ref.venue == "J Hematol & Oncol"
    assert ref.doi == "10.1186/s13045-018-0689-y"


def _same_libraries(text: str) -> None:
    """The split reader (plain entries by regex, the rest by bibtexparser) gives bibtexparser's answer."""
    from livingreview.checking import bib

    fast, fast_problems = bib.parse_library(text)
    slow, slow_problems, _ = bib._parse_with_bibtexparser(text, bib.BIB_PATH)
    assert sorted(map(str, fast_problems)) == sorted(map(str, slow_problems))
    assert list(fast.references) == list(slow.references)
    assert fast.broken_keys == slow.broken_keys
    for key, ref in slow.references.items():
        other = fast[key]
        assert (ref.entry_type, ref.line, ref.fields, ref.field_lines, ref.author_raw, ref.authors) == (
            other.entry_type, other.line, other.fields, other.field_lines, other.author_raw, other.authors), key


def test_plain_entry_reader_matches_bibtexparser_on_the_library():
    from conftest import REPO
    from livingreview.checking import bib

    text = (REPO / "references.bib").read_text(encoding="utf-8")
    starts = [m.start() for m in bib.ENTRY_START_RE.finditer(text)] + [len(text)]
    plain = sum(bib._plain_entry(text[a:b], 0) is not None for a, b in itertools.pairwise(starts))
    assert plain == len(starts) - 1  # every entry of the real library takes the fast path
    _same_libraries(text)


UNUSUAL = [
    # macros and months, quoted values, @string/@comment/@preamble, % comments after an entry
    "@string{jtf = {Journal of Test Fixtures}}\n@article{macro2020,\n  author = {A, B},\n  title = {{T}},\n"
    "  journal = jtf,\n  year = {2020},\n  month = jan,\n  doi = {10.5555/macro},\n}\n",
    '@article{quoted2020,\n  author = "A, B and C, D",\n  title = "A quoted title",\n  year = 2020,\n}\n',
    "@comment{anything {here}}\n@preamble{\"\\newcommand{\\x}{y}\"}\n",
    "@article{commented2020, title = {T}, year = {2020}}\n% a comment line after the entry\n",
    # braces nested four deep, escaped braces, concatenation, a value on the next line
    "@article{deep2020,\n  title = {{a {b {c {d}}}}},\n  year = {2020},\n}\n",
    "@article{escaped2020,\n  title = {a \\{ b \\} c},\n  year = {2020},\n}\n",
    '@article{concat2020,\n  title = "a" # "b",\n  year = {2020},\n}\n',
    "@article{nextline2020,\n  title =\n    {On the next line},\n  year = {2020}\n}\n",
    # upper-case types and fields, parentheses, no trailing comma, the same field twice in two cases
    "@ARTICLE{upper2020,\n  TITLE = {Upper},\n  Year = {2020}\n}\n",
    "@article(paren2020,\n  title = {Parenthesised},\n  year = {2020},\n)\n",
    "@article{twice2020,\n  title = {One},\n  Title = {Two},\n  year = {2020},\n}\n",
]


@pytest.mark.parametrize("extra", UNUSUAL, ids=range(len(UNUSUAL)))
def test_unusual_entries_read_as_bibtexparser_reads_them(extra):
    from conftest import REPO

    text = (REPO / "references.bib").read_text(encoding="utf-8")
    half = text.index("\n@", len(text) // 2) + 1
    _same_libraries(text[:half] + extra + "\n" + text[half:])


@pytest.mark.parametrize("broken", [
    "@article{dup2020,\n  title = {One},\n  title = {Two},\n}\n",  # bibtexparser's duplicate-field block
    "@article{open2020,\n  title = {never closed,\n  year = {2020},\n",  # swallows the entries after it
    "@article{alpha2020,\n  title = {A second alpha},\n  year = {2021},\n}\n",  # a duplicate key
])
def test_broken_blocks_are_reported_as_bibtexparser_reports_them(broken):
    text = GOOD + "\n" + broken + "\n" + GOOD.replace("alpha2020", "omega2020").replace("ccr.2014.03.007", "x")
    _same_libraries(text)
    _, problems = parse_library(text)
    assert problems  # and the text is not silently accepted


def test_concatenation_is_named_as_such():
    _, problems = parse_library('@article{c2020,\n  title = "a" # "b",\n  year = {2020},\n}\n')
    assert msgs(problems) == ["references.bib:2:title: string concatenation '\"a\" # \"b\"' is not supported; "
                              "expected one braced value"]


def test_duplicate_key_across_plain_and_unusual_entries_is_reported_at_the_second():
    first = GOOD.replace("alpha2020", "k0")
    second = "@article{k0,\n  title = {Read by bibtexparser},\n  month = jan,\n  year = {2020},\n}\n"
    _, problems = parse_library(first + "\n" + second)
    line = first.count("\n") + 2
    assert msgs(problems) == [f"references.bib:{line}:-: duplicate entry key 'k0'; expected each key once"]


def test_retracted_entry_may_cite_its_retraction_record_instead_of_doi():
    text = GOOD.replace("  doi = {10.1016/j.ccr.2014.03.007},\n", "  retracted = {yes},\n")
    lib, _ = parse_library(text)
    assert check_library(lib) == []  # has an https url
    lib, _ = parse_library(text.replace("  url = {https://example.org/a%20b},\n", ""))
    assert [p.column for p in check_library(lib)] == ["doi"]


def test_an_open_page_range_is_a_located_error():
    from livingreview.checking.bib import check_text

    text = ("@article{a,\n  author = {A, B},\n  title = {{T}},\n  journal = {J},\n  year = {2010},\n"
            "  pages = {457-},\n  doi = {10.5555/fixture.9},\n}\n")
    problems = [str(p) for p in check_text(text)[1]]
    assert problems == ["references.bib:6:pages: pages '457-' is an open range; expected 'first--last' or the "
                        "first page alone"], problems
    assert check_text(text.replace("457-", "457--471"))[1] == []


# Words an NLM title abbreviation drops or shortens; a journal field holding one is written as a full title.
FULL_TITLE_WORDS = re.compile(r"\b(?:of|and|the|The|Journal|International|Letters|Reports|Communications)\b|&")


def test_library_writes_every_journal_as_its_nlm_abbreviation():
    from conftest import REPO

    library, _ = load_library(REPO)
    refs = library.references.values()
    full = sorted((ref.key, ref.fields["journal"]) for ref in refs
                  if FULL_TITLE_WORDS.search(ref.fields.get("journal", "")))
    assert full == []
    # one journal, one spelling: names that differ only in case or punctuation are the same journal written twice
    spellings: dict[str, set[str]] = {}
    for ref in refs:
        name = ref.fields.get("journal", "")
        spellings.setdefault(re.sub(r"[^a-z0-9]", "", name.lower()), set()).add(name)
    assert {k: v for k, v in spellings.items() if len(v) > 1} == {}
