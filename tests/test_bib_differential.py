"""The pybtex differential's shortcut: pybtex reads only what is not a plain entry, and the answer is the same.

The guarantee (``compare_with_pybtex``): for any text and any library, the problems are exactly those of comparing
with pybtex's reading of the whole text. Plain entries are read by a model of pybtex's grammar; every other piece
by pybtex, with each plain entry replaced by a sentinel that must come back, or pybtex reads the whole text.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import REPO
from livingreview.checking import bib
from livingreview.checking.bib import check_text, compare_with_pybtex, parse_library, pybtex_entries


def plain(key: str, title: str = "A title", extra: str = "") -> str:
    return (f"@article{{{key},\n  author = {{Smith, Jane}},\n  title = {{{{{title}}}}},\n  journal = {{J}},\n"
            f"  year = {{2020}},\n  doi = {{10.5555/{key.lower()}}},{extra}\n}}\n")


# pieces a library may hold: plain entries, and everything pybtex (or bibtexparser) reads in its own way
FRAGMENTS = [
    plain("alpha2020"),
    plain("beta2021", "Spaced   out\n    over lines"),
    plain("gamma2022", extra="\n  month = {jan},"),
    plain("delta2023", extra="\n  month = jan,"),
    plain("Alpha2020"),  # differs only in case: pybtex refuses the repeat
    plain("alpha2020"),  # an exact repeat
    plain("eps2024", extra='\n  note = "quoted @ value",'),
    plain("zeta2025", extra="\n  volume = 12,"),
    plain("eta2026", extra="\n  n\u00f6te = {x},"),  # a field name outside ASCII: pybtex cannot read it
    plain("theta2027", extra="\n  volume = \u0661\u0662,"),  # Arabic-Indic digits: no number to pybtex
    plain("iota2028", extra="\n  url = {https://example.org/a\n    b},"),  # a raw field keeps inner whitespace
    plain("kappa2029", extra="\n  url = {https://example.org/a\xa0b},"),  # so does a no-break space
    "@article{open2020,\n  title = {never closed,\n  year = {2020},\n",  # swallows what follows
    '@article{quote2020,\n  title = "never closed,\n  year = {2020},\n}\n',
    "@string{jr = {Journal of Macros}}\n",
    "@article{macro2020,\n  author = {A, B},\n  title = {T},\n  journal = jr,\n  year = 2020,\n"
    "  doi = {10.5555/macro},\n}\n",
    "@article{concat2020,\n  author = {A, B},\n  title = {T} # { two},\n  journal = {J},\n  year = {2020},\n"
    "  doi = {10.5555/concat},\n}\n",
    "@comment{plain words only}\n",
    "@comment{ " + plain("hidden2020").replace("\n", " ") + " }\n",
    "% a line with an @inline{mention, title = {x}} in it\n",
    "junk text between entries\n",
    "@article(paren2020,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = {2020},\n"
    "  doi = {10.5555/paren},\n)\n",
    "@preamble{ \"\\newcommand{\\noop}[1]{}\" }\n",
    "@article{esc2020,\n  author = {A, B},\n  title = {T \\{ x},\n  journal = {J},\n  year = {2020},\n"
    "  doi = {10.5555/esc},\n}\n",
    "@article{latex2020,\n  author = {M{\\\"u}ller, A},\n  title = {{\\'E}tude},\n  journal = {J},\n"
    "  year = {2020},\n  doi = {10.5555/latex},\n}\n",
    "@article{lrsentinel0,\n  title = {a key like the sentinel's},\n}\n",
    "@article{nofields2020}\n",
    "@article{trail2020,\n  title = {T},\n} trailing text\n",
    "}\n",
    "@\n",
]


def both(text: str) -> tuple[list[str], list[str]]:
    lib, _ = parse_library(text)
    fast = sorted(str(p) for p in compare_with_pybtex(text, lib))
    whole = sorted(str(p) for p in compare_with_pybtex(text, lib, whole=True))
    return fast, whole


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8), st.sampled_from(["", "\n", "  \n\n"]))
@example([FRAGMENTS[12], FRAGMENTS[0]], "")  # an unclosed entry before a plain one
@example([FRAGMENTS[13], FRAGMENTS[1]], "")
@example([FRAGMENTS[0], FRAGMENTS[4]], "\n")
@example([FRAGMENTS[25], FRAGMENTS[0]], "")
@example([FRAGMENTS[10]], "")
@example([FRAGMENTS[11]], "")
def test_shortcut_reports_exactly_what_pybtex_on_the_whole_text_gives(pieces: list[str], gap: str):
    text = gap.join(pieces)
    fast, whole = both(text)
    assert fast == whole


def test_real_library_and_the_corpus_agree_both_ways():
    texts = [(REPO / "references.bib").read_text(encoding="utf-8")]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted((REPO / "tests").rglob("*.bib"))]
    assert len(texts) > 5
    for text in texts:
        fast, whole = both(text)
        assert fast == whole


def test_a_library_of_plain_entries_never_runs_pybtex(monkeypatch: pytest.MonkeyPatch):
    text = (REPO / "references.bib").read_text(encoding="utf-8")
    calls = []
    monkeypatch.setattr(bib, "pybtex_entries", lambda t: calls.append(t) or pybtex_entries(t))
    from livingreview.model.declarations import load

    lib, problems = check_text(text, policy=load(REPO).library)  # as the review declares its library's records
    assert problems == [] and len(lib) > 100
    assert calls == []


def test_pybtex_reads_only_the_unusual_pieces(monkeypatch: pytest.MonkeyPatch):
    text = plain("alpha2020") + "@string{jr = {J}}\n" + plain("beta2021").replace("{J}", "jr")
    calls = []
    monkeypatch.setattr(bib, "pybtex_entries", lambda t: calls.append(t) or pybtex_entries(t))
    lib, _ = parse_library(text)
    assert compare_with_pybtex(text, lib) == []
    assert len(calls) == 1 and "alpha2020" not in calls[0] and "beta2021" in calls[0]


def test_an_entry_left_open_before_a_plain_one_is_read_as_pybtex_reads_the_whole():
    # pybtex reads the plain entry into the open one's title; the sentinel does not come back, so the whole is read
    text = "@article{open2020,\n  title = {closed late,\n" + plain("alpha2020") + "@misc{z,\n  title = {z}}\n}\n}\n"
    with pytest.raises(bib._Fallback):
        bib._pybtex_reading(text)
    fast, whole = both(text)
    assert fast == whole
    assert "alpha2020" not in pybtex_entries(text)
    assert any("alpha2020" in line and "not read by the book" in line for line in fast), fast


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" ab{}\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f"
                                            "\u3000\u200b\ufeffé")), max_size=12))
@example("a  b")
@example(" a")
@example("a\xa0b")
def test_a_value_called_space_normal_is_what_pybtex_makes_of_it(value: str):
    from pybtex.textutils import normalize_whitespace

    if bib._space_normal(value):
        assert normalize_whitespace(value) == value
    assert bib._space_normal(value) == (normalize_whitespace(value) == value) or not value.isprintable()


def test_every_whitespace_character_but_the_space_is_unprintable():
    """What ``_space_normal`` rests on, over every code point: pybtex collapses ``\\s``, and ``isprintable`` sees it."""
    import re
    import sys

    space = re.compile(r"\s")
    assert [hex(c) for c in range(sys.maxunicode + 1)
            if chr(c) != " " and space.match(chr(c)) and chr(c).isprintable()] == []
