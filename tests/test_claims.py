"""The selector language of claims: '=', '!=', '~' (contains any of), '!~' (contains none of) and comparisons."""

from __future__ import annotations

import pandas as pd
import pytest

from livingreview.checking.claims import matches, parse_selector
from livingreview.checking.rules import parse_condition
from livingreview.checking.validate import validate
from livingreview.model.errors import Severity

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
                                  "finding~a||b", "finding~a|", "finding!~", "auc>=0.5|0.6", "auc=>0.5",
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


NUMBERS = pd.DataFrame({
    "id": ["T-1", "T-2", "T-3", "T-4"],
    "ablat": [44.0, 13.0, None, 33.0],
    "year": pd.array([1948, 1980, 1968, 1935], dtype="Int64"),
    "added": pd.to_datetime(["2026-11-27", "2026-12-01", "2026-12-07", None]),
})


def picked(*items: str) -> list[str]:
    return list(NUMBERS[matches(NUMBERS, parse_selector(list(items)))]["id"])


def test_comparisons_select_numbers_and_dates_and_never_an_empty_cell():
    """Issue 24 item 4: 'ablat>30', 'year>=2015' as a maintainer of a trials review would write them."""
    assert picked("ablat>30") == ["T-1", "T-4"]
    assert picked("ablat<=13") == ["T-2"]
    assert picked("ablat<100") == ["T-1", "T-2", "T-4"]  # the empty latitude meets no comparison
    assert picked("year>=1940", "ablat>20") == ["T-1"]
    assert picked("added<2026-12-01") == ["T-1"]
    assert picked("added>=2026-12-01") == ["T-2", "T-3"]
    assert parse_condition("ablat >= 30") == ("ablat", ">=", ["30"])


@pytest.mark.parametrize(("selector", "message"), [
    ("hallmark>=migration", "selector 'hallmark>=migration' compares, but hallmark holds vocab; expected a number or "
                            "date column"),
    ("hallmark=migration;added>yesterday", "selector 'added>yesterday' compares added with 'yesterday'; expected an "
                                           "ISO date YYYY-MM-DD"),
])
def test_a_comparison_the_column_cannot_make_is_a_located_error(review, selector, message):
    review.replace("data/claims.csv", "hallmark=migration|angiogenesis", selector)
    problems = [str(p) for p in validate(review.root) if p.severity is Severity.ERROR]
    assert len(problems) == 1 and problems[0].startswith("data/claims.csv:2:where: ") and message in problems[0]


def test_a_claim_may_select_by_number(review):
    review.replace("data/claims.csv", "cancer_type=colorectal;cargo~miR", "auc>=0.9")
    import livingreview as lr
    from livingreview.analysis.summaries import claim_rows

    ev = lr.load(review.root)
    claim = ev.claims.set_index("id").loc["CLAIM-0002"].copy()
    claim["id"] = "CLAIM-0002"
    support, against = claim_rows(ev, claim)
    assert list(support["id"]) == ["BIOM-0001"] and list(against["id"]) == ["BIOM-0002"]
