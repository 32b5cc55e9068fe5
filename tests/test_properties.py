"""Property tests: whatever bytes or mutations reach the loader, the answer is valid or located errors, no crash."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import livingreview as lr
from conftest import FIXTURES
from livingreview.checking.validate import check

MINI = FIXTURES / "mini"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NASTY = st.sampled_from([*list(',;"\'\n\r\t {}=@+-|\\\x00éß中'), "\ufeff", "</script>", "@article{", "}}"])


def run(target: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "review"
        shutil.copytree(MINI, root)
        (root / target).write_bytes(data)
        checked = check(root)
        for p in checked.problems:
            assert p.path and p.line >= 1 and p.column and p.message
        if not checked.errors:
            lr.load(root)  # valid input must also load into the typed object


def mutate(text: str, edits: list[tuple[int, int, str]]) -> str:
    for pos, kind, piece in edits:
        i = pos % (len(text) + 1)
        if kind == 0:
            text = text[:i] + piece + text[i:]
        elif kind == 1:
            text = text[:i] + text[i + 1:]
        else:
            text = text[:i] + piece + text[i + 1:]
    return text


EDITS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 2), NASTY), min_size=1, max_size=6)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_as_a_table(data):
    run("data/pmn.csv", data)


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_as_the_library(data):
    run("references.bib", data)


@SETTINGS
@given(EDITS)
def test_mutated_rows(edits):
    text = (MINI / "data/biomarkers.csv").read_text(encoding="utf-8")
    run("data/biomarkers.csv", mutate(text, edits).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(EDITS)
def test_mutated_library_entries(edits):
    text = (MINI / "references.bib").read_text(encoding="utf-8")
    run("references.bib", mutate(text, edits).encode("utf-8", "surrogatepass"))


@SETTINGS
@given(EDITS)
def test_mutated_claims(edits):
    text = (MINI / "data/claims.csv").read_text(encoding="utf-8")
    run("data/claims.csv", mutate(text, edits).encode("utf-8", "surrogatepass"))


def _library_view(lib) -> list[tuple]:
    return [(r.key, r.entry_type, r.line, r.fields, r.field_lines, r.author_raw) for r in lib.references.values()]


@SETTINGS
@given(EDITS)
@example([(291, 0, "\\")])  # a backslash ending a line: bibtexparser's line numbers after it are one short
def test_mutated_library_reads_as_bibtexparser_reads_it(edits):
    from livingreview.checking import bib

    text = mutate((MINI / "references.bib").read_text(encoding="utf-8"), edits)
    fast, fast_problems = bib.parse_library(text)
    slow, slow_problems, _ = bib._parse_with_bibtexparser(text, bib.BIB_PATH)
    assert sorted(map(str, fast_problems)) == sorted(map(str, slow_problems))
    if re.search(r"\\\r?\n", text):
        # bibtexparser counts a backslash at the end of a line as joining the next one, so every line after it is
        # one short (an entry on line 10 reads as line 9); the fast parser counts the file's lines: compare the rest
        strip = lambda view: [(k, t, fields, raw) for k, t, _, fields, _, raw in view]  # noqa: E731
        assert strip(_library_view(fast)) == strip(_library_view(slow))
    else:
        assert _library_view(fast) == _library_view(slow)
    assert fast.broken_keys == slow.broken_keys


@SETTINGS
@given(st.sampled_from(["biomarkers", "pmn", "claims"]), EDITS)
def test_clean_tables_skip_pandera_only_when_pandera_would_find_nothing(name, edits):
    from conftest import TABLES
    from livingreview.checking import rules
    from livingreview.checking.csvfile import read_table

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        table = TABLES[name]
        text = mutate((MINI / table.path).read_text(encoding="utf-8"), edits)
        (root / table.path).write_bytes(text.encode("utf-8", "surrogatepass"))
        raw, _ = read_table(root, table)
        if raw is None:
            return
        _, gated = rules.check_cells(table, raw)
        original = rules._all_pass
        rules._all_pass = lambda *args: False  # always ask pandera
        try:
            _, full = rules.check_cells(table, raw)
        finally:
            rules._all_pass = original
        assert gated == full


CELL_TEXT = st.lists(st.sampled_from([*"ab;=+-@ \t\n\r\x0b\x0c|,", "\u00a0", "\u2003", "\u3000", "\x1c", "MECH-0001",
                                     "THER-12345", "MECH-01", "key2020", "Key_2.0:x"]),
                     min_size=1, max_size=8).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["mechanisms", "therapies", "claims"]), st.lists(CELL_TEXT, min_size=1, max_size=150))
def test_one_search_over_joined_values_never_hides_a_failure(name, cells):
    import pandas as pd

    from conftest import TABLES
    from livingreview.checking import rules

    series = pd.Series(cells, dtype=object)
    for col in TABLES[name].columns:
        checks = rules.rules_for(col, TABLES[name])
        saved = rules.BREACH_WORTHWHILE
        try:
            rules.BREACH_WORTHWHILE = 0  # always search the joined values first
            joined = rules.verdicts(series, checks)
            rules.BREACH_WORTHWHILE = 10**9  # one value at a time
            single = rules.verdicts(series, checks)
        finally:
            rules.BREACH_WORTHWHILE = saved
        for rule in checks:
            assert joined[rule.name].tolist() == single[rule.name].tolist(), (col.name, rule.name)
