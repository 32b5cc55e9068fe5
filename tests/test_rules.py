"""Cell rules on many values: the one-search shortcut must flag exactly the values that testing one by one flags."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import TABLES
from livingreview.checking import rules

MECH = TABLES["mechanisms"]
VALID = {
    "id": [f"MECH-{i:04d}" for i in range(1, 101)] + ["MECH-123456"],
    "citekeys": [f"key{i}" for i in range(60)] + [f"a{i}; b{i}" for i in range(60)] + ["x:1.2+y_z-w"],
    "finding": [f"Finding number {i}, with (brackets) and 5% [x]" for i in range(100)],
    "cargo": [f"miR-{i}; PD-L1" for i in range(100)],
}
NEAR_MISSES = {
    ("id", "id_format"): ["MECH-01", "mech-0001", "XMECH-0001", "MECH-0001x", "THER-0001", "MECH--0001"],
    ("id", "whitespace"): ["MECH-0001 ", " MECH-0002", "MECH-0003\n", "MECH-0004\u00a0"],
    ("citekeys", "citekey"): ["a b", "key\u00a0x", "k/1", "a; b c", "é2020"],
    ("citekeys", "empty_item"): ["a;", ";a", "a;;b", "a; ;b", "a;\u3000;b"],
    ("citekeys", "whitespace"): [" a", "a\t", "a; b\u2003"],
    ("finding", "formula"): ["=1+1", "+cmd", "-x", "@SUM(A1)"],
    ("finding", "whitespace"): ["Trailing space ", "\tleading tab", "ends in newline\n", "\u3000ideographic"],
    ("cargo", "empty_item"): ["miR-1;", "; miR-2", "miR-3;;miR-4", "miR-5; \t ;miR-6"],
}


CASES = [(column, rule_name, miss) for (column, rule_name), misses in NEAR_MISSES.items() for miss in misses]


@pytest.mark.parametrize(("column", "rule_name", "miss"), CASES, ids=[f"{c}-{r}-{m!r}" for c, r, m in CASES])
def test_one_near_miss_among_many_valid_values_is_flagged(column, rule_name, miss):
    values = VALID[column] + [miss]
    assert len(set(values)) >= rules.BREACH_WORTHWHILE  # the shortcut is taken
    checks = rules.rules_for(MECH.column(column), MECH)
    verdict = rules.verdicts(pd.Series(values, dtype=object), checks)[rule_name]
    assert verdict.tolist() == [True] * (len(values) - 1) + [False]


@pytest.mark.parametrize("column", list(VALID))
def test_many_valid_values_pass_every_rule(column):
    checks = rules.rules_for(MECH.column(column), MECH)
    for name, verdict in rules.verdicts(pd.Series(VALID[column], dtype=object), checks).items():
        assert verdict.all(), name
