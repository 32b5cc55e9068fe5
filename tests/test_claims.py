"""The selector language of claims: '=', '!=', '~' (contains any of) and '!~' (contains none of)."""

from __future__ import annotations

import pandas as pd
import pytest

from livingreview.claims import matches, parse_selector
from livingreview.errors import Severity
from livingreview.rules import parse_condition
from livingreview.validate import validate

ROWS = pd.DataFrame({
    "id": ["R-1", "R-2", "R-3", "R-4"],
    "donor_cell": ["breast cancer cells", "cancer-associated fibroblasts", "M2 macrophages", None],
    "cargo": [("miR-21",), ("PD-L1", "miR-9"), (), ("GPC1",)],
})


def ids(*items: str) -> list[str]:
    return list(ROWS[matches(ROWS, parse_selector(list(items)))]["id"])


def test_contains_takes_every_alternative_not_only_the_first():
    assert ids("donor_cell~fibroblast|macrophage") == ["R-2", "R-3"]
    assert ids("donor_cell~MACROPHAGE|nothing such") == ["R-3"]


def test_contains_none_excludes_every_alternative_and_keeps_empty_cells():
    assert ids("donor_cell!~fibroblast|macrophage") == ["R-1", "R-4"]
    assert ids("cargo!~mir|gpc") == ["R-3"]


def test_conditions_combine_and_multi_valued_cells_match_any_item():
    assert ids("cargo~pd-l1|gpc1", "donor_cell!~fibroblast") == ["R-4"]
    assert ids("id!=R-1|R-2", "donor_cell~cells|macrophage") == ["R-3"]


@pytest.mark.parametrize("text", ["hallmark", "hallmark==migration", "finding=~migration", "finding~=migration",
                                  "finding~a||b", "finding~a|", "finding!~", "hallmark>=migration",
                                  "hallmark!migration"])
def test_conditions_the_selector_cannot_honour_are_refused(text):
    assert parse_condition(text) is None
    with pytest.raises(ValueError, match="malformed condition"):
        parse_selector([text])


def test_operators_parse_with_their_alternatives():
    assert parse_condition("finding!~ survival | prognosis") == ("finding", "!~", ["survival", "prognosis"])
    assert parse_condition("finding~migrat|motil") == ("finding", "~", ["migrat", "motil"])


def test_a_mistyped_operator_in_claims_is_a_located_error(review):
    review.replace("data/claims.csv", "cancer_type=colorectal;cargo~miR", "cancer_type=colorectal;cargo=~miR")
    problems = [str(p) for p in validate(review.root) if p.severity is Severity.ERROR]
    assert len(problems) == 1
    assert problems[0].startswith("data/claims.csv:3:where: malformed selector condition 'cargo=~miR' in "
                                  "'cancer_type=colorectal;cargo=~miR'; expected conditions")
    assert "'!~' contains none of" in problems[0]


def test_contains_none_in_claims_validates_and_selects(review):
    review.replace("data/claims.csv", "hallmark=migration|angiogenesis", "hallmark=migration|angiogenesis;"
                   "donor_cell!~fibroblast|macrophage;finding~fixture|nothing")
    assert [p for p in validate(review.root) if p.severity is Severity.ERROR] == []
