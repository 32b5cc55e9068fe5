"""What is validated is what the book publishes: the validator and pybtex (the book's parser) read one library.

Issue 11, item 1: escaped braces hid a ``url`` (or a ``retracted`` field) from validation, an ``@comment``
swapped one entry for another, and ``cite`` trusted any cache file. Each case is a located error now, and a
differential property test checks that no mutation of real entries validates while the parsers disagree.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import bibtexparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, REPO
from livingreview.checking.bib import MONTH_NAMES, check_text, field_text, pybtex_entries
from livingreview.checking.validate import check
from livingreview.curation.cite import CiteError, cache_path, cite
from livingreview.model.errors import Severity, ValidationError

CLEAN = """@article{clean2020,
  author = {Smith, Jane and Doe, John},
  title = {{A clean entry}},
  journal = {Journal of Tests},
  year = {2020},
  doi = {10.5555/clean.0001},
}
"""


def errors(text: str) -> list[str]:
    return [str(p) for p in check_text(text)[1] if p.severity is Severity.ERROR]


def test_clean_entry_has_no_problem():
    assert errors(CLEAN) == []


def test_escaped_brace_cannot_hide_a_javascript_url():
    text = CLEAN.replace("  year", "  x = {\\}, url = {javascript:alert(document.domain)}, y = {\\{}},\n  year")
    assert "url" in pybtex_entries(text)["clean2020"][1]  # what the book would have linked
    found = errors(text)
    assert any(m.startswith("references.bib:5:x: escaped brace") for m in found), found


def test_escaped_brace_cannot_hide_a_retraction(tmp_path: Path, review):
    review.replace("references.bib", "  doi = {10.5555/fixture.0001},",
                   "  doi = {10.5555/fixture.0001},\n  note = {\\}, retracted = {yes}, z = {\\{}},")
    found = [str(p) for p in check(review.root, frames=False).errors]
    assert any(":note: escaped brace" in m for m in found), found


def test_comment_cannot_swap_an_entry():
    evil = CLEAN.replace("clean2020", "twin2020").replace("{{A clean entry}}", "{{EVIL}}")
    text = "@comment{ " + evil.replace("\n", " ") + " }\n" + CLEAN.replace("clean2020", "twin2020")
    found = errors(text)
    assert any(m.startswith("references.bib:1:-: @comment block with braces or '@' inside") for m in found), found
    # on the next line, in a brace-less comment that both parsers skip whole, nothing changes
    assert errors("@comment{jabref-meta: databaseType:bibtex;}\n" + CLEAN) == []


def test_entry_only_the_book_sees_is_an_error():
    # '%' is no comment to pybtex: an entry after it is read by the book but skipped by bibtexparser? Either way,
    # both parsers must agree, or the difference is reported.
    text = CLEAN + "\n% @article{hidden2020, author={A, B}, title={T}, journal={J}, year={2020}, doi={10.5555/h.1}}\n"
    lib, problems = check_text(text)
    theirs = pybtex_entries(text)
    if set(theirs) != set(lib.references):
        assert any("validation does not see" in p.message or "not read by the book" in p.message
                   for p in problems), problems


@pytest.mark.parametrize(("field", "value", "message"), [
    ("doi", "10.5555/clean.0001\u200b", "invisible or control character U+200B"),
    ("title", "{A \u202etitle}", "invisible or control character U+202E"),
    ("pmid", "\u0661\u0662\u0663", "malformed PMID"),
    ("year", "\u0662\u0660\u0662\u0660", "is not a 4-digit year"),
])
def test_invisible_and_non_ascii_identifiers_are_refused(field, value, message):
    text = re.sub(rf"  {field} = .*\n", "", CLEAN).replace("}\n", f"  {field} = {{{value}}},\n}}\n", 1)
    text = text.replace("  author", f"  {field} = {{{value}}},\n  author") if field not in text else text
    assert any(message in m for m in errors(text)), errors(text)


def test_nul_in_a_field_is_located():
    assert errors(CLEAN.replace("A clean", "A\x00clean")) == [
        "references.bib:3:-: NUL byte in the library; expected a text file"]


def test_duplicate_pmid_is_an_error():
    one = CLEAN.replace("  doi = {10.5555/clean.0001},", "  pmid = {123},")
    two = one.replace("clean2020", "other2021")
    assert any("PMID 123 is also on entry 'clean2020'" in m for m in errors(one + "\n" + two))


def test_deep_brace_nesting_is_located_not_a_recursion_error():
    title = "{" * 250 + "\\emph{x}" + "}" * 250
    found = errors(CLEAN.replace("{{A clean entry}}", title))
    assert any(m.startswith("references.bib:3:title: braces nested more than") for m in found), found


# --- cite treats its cache as untrusted -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def _plant(review, doi: str, payload) -> Path:
    path = cache_path(review.root, "doi", doi)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload), encoding="utf-8")
    return path


def _crossref(doi: str, **extra) -> dict:
    return {"message": {"DOI": doi, "title": ["A title"], "container-title": ["J"],
                        "author": [{"family": "Evil", "given": "E"}], "issued": {"date-parts": [[2020]]}, **extra}}


@pytest.mark.parametrize("payload", [
    _crossref("10.5555/x.1}, url = {javascript:alert(1)}, z = {"),
    _crossref("10.5555/x.1", author=[{"family": "X}, url = {javascript:alert(1)}, note = {", "given": "E"}]),
    _crossref("10.5555/x.1", title=["T}, retracted = {no}, note = {"]),
    _crossref("10.5555/other.2"),
    {"message": "not an object"},
    {"message": {"DOI": "10.5555/x.1", "author": "Evil", "title": 7, "issued": {"date-parts": "x"}}},
    "[1, 2, 3]",
    "{not json",
])
def test_crafted_cache_file_never_writes_an_unsafe_entry(review, payload):
    bib = review.path("references.bib")
    before = bib.read_bytes()
    _plant(review, "10.5555/x.1", payload)
    try:
        result = cite(review.root, "10.5555/x.1", offline=True)
    except (CiteError, ValidationError):
        assert bib.read_bytes() == before
        return
    lib, problems = check_text(bib.read_text(encoding="utf-8"))
    assert [p for p in problems if p.severity is Severity.ERROR] == []
    ref = lib[result.key]
    # whatever text the record holds stays inside the fields cite writes: no url, no retraction, no note
    assert set(ref.fields) <= {"author", "title", "journal", "year", "doi"} and ref.doi == "10.5555/x.1"


# --- the differential property ----------------------------------------------------------------------------------

REAL = (REPO / "references.bib").read_text(encoding="utf-8")
ENTRIES = [e for e in re.split(r"\n(?=@)", REAL) if e.startswith("@")][:40]
TOKENS = st.sampled_from(["{", "}", "\\{", "\\}", "\\", '"', ",", "=", "#", "%", "@", "\n", " ", "@comment{",
                          "@article{twin,", "url = {javascript:x}", ", retracted = {yes}", "}}", "{{", "\\emph{",
                          "jan", "title = ", "@string{j = {J}}", "\u200b", "\x00", "(", ")"])


def _normalised(lib) -> dict:
    return {key: {name: (MONTH_NAMES.get(v.lower(), v) if name == "month" else v)
                  for name, v in ref.fields.items()} for key, ref in lib.references.items()}


def _pybtex_normalised(text: str) -> dict:
    return {key: {name: field_text(name, v) for name, v in fields.items()}
            for key, (_, fields) in pybtex_entries(text).items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ENTRIES), min_size=1, max_size=3),
       st.lists(st.tuples(st.floats(0, 1), TOKENS), min_size=1, max_size=4))
def test_no_mutation_validates_while_the_parsers_disagree(entries, mutations):
    text = "\n".join(entries)
    for where, token in mutations:
        at = int(where * len(text))
        text = text[:at] + token + text[at:]
    lib, problems = check_text(text)
    if any(p.severity is Severity.ERROR for p in problems):
        return
    # valid: pybtex (the book) and bibtexparser (read whole, not through the fast path) read the same library
    assert _pybtex_normalised(text) == _normalised(lib)
    whole = bibtexparser.parse_string(text)
    assert {e.key for e in whole.entries} == set(lib.references)


def test_property_inputs_include_disagreements():
    # the mutations do reach texts the parsers read differently (so the property above is not vacuous)
    text = ENTRIES[0].replace("  title", "  x = {\\}, url = {javascript:x}, y = {\\{}},\n  title", 1)
    assert "url" in pybtex_entries(text)[next(iter(pybtex_entries(text)))][1]
    assert errors(text)


def test_fixture_cache_still_cites(review):
    import shutil

    shutil.copytree(FIXTURES / "cite", review.root / "cache")
    assert cite(review.root, "10.5555/fixture.0101", offline=True).key == "odegard2022"
