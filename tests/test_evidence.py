"""The typed evidence object and the loader."""

from __future__ import annotations

import pandas as pd
import pytest

import livingreview as lr
from conftest import TABLES, VOCABULARIES
from livingreview.checking.claims import matches, parse_selector
from livingreview.checking.evidence import fingerprint


def test_load_types_every_column(review):
    ev = lr.load(review.root)
    mech = ev.mechanisms
    assert list(mech.columns) == TABLES["mechanisms"].column_names
    assert isinstance(mech["hallmark"].dtype, pd.CategoricalDtype)
    assert list(mech["hallmark"].cat.categories) == VOCABULARIES["hallmark"].values
    assert mech.loc[1, "citekeys"] == ("alpha2020", "beta2021")
    assert mech.loc[1, "cargo_class"] == ("protein", "mirna")
    assert pd.isna(mech.loc[1, "target"]) and mech.loc[0, "target"] == "Wnt"
    bio = ev.biomarkers
    assert bio["n_patients"].dtype == "Int64" and bio.loc[0, "n_patients"] == 88
    assert bio["auc"].dtype == "Float64" and bio.loc[0, "auc"] == pytest.approx(0.91)
    assert pd.isna(bio.loc[1, "auc"])
    assert mech["added"].dtype.kind == "M"
    assert ev.library["beta2021"].first_author == "Müller"


def test_load_raises_with_every_located_error(review):
    review.replace("data/pmn.csv", ",liver,", ",lungs,")
    review.replace("data/mechanisms.csv", "MECH-0002", "MECH-0001")
    with pytest.raises(lr.ValidationError) as info:
        lr.load(review.root)
    lines = [str(p) for p in info.value.errors]
    assert [line.split(":")[0:2] for line in lines] == [["data/mechanisms.csv", "3"], ["data/pmn.csv", "2"]]
    assert "2 validation error(s)" in str(info.value)


def test_findings_stacks_the_common_columns(review):
    ev = lr.load(review.root)
    f = ev.findings()
    assert sorted(f["table"].unique()) == ["biomarkers", "mechanisms", "pmn", "therapies"]
    assert len(f) == sum(len(ev[t]) for t in ("mechanisms", "pmn", "therapies", "biomarkers"))
    assert isinstance(f["evidence_level"].dtype, pd.CategoricalDtype)


def test_selectors_match_multi_valued_and_text_cells(review):
    ev = lr.load(review.root)
    mech = ev.mechanisms
    assert list(mech[matches(mech, parse_selector(["cargo_class=protein"]))]["id"]) == ["MECH-0002"]
    assert list(mech[matches(mech, parse_selector(["hallmark!=migration"]))]["id"]) == ["MECH-0002"]
    assert list(mech[matches(mech, parse_selector(["cargo~MIR-1"]))]["id"]) == ["MECH-0001"]
    assert matches(mech, parse_selector([])).all()


def test_fingerprint_changes_iff_data_changes(review):
    before = fingerprint(review.root)
    assert fingerprint(review.root) == before
    (review.root / "chapters").mkdir()
    (review.root / "chapters" / "x.md").write_text("not data")
    assert fingerprint(review.root) == before
    review.replace("data/pmn.csv", "Kupffer cells", "Kupffer cell")
    assert fingerprint(review.root) != before
