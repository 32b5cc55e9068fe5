"""Summary tables computed from the synthetic fixture, where every count can be checked by hand."""

from __future__ import annotations

import pytest

import ev_charts
import livingreview as lr
from conftest import VOCABULARIES
from livingreview.analysis import summaries as s

STAGE, STRATEGY = VOCABULARIES["stage"], VOCABULARIES["strategy"]


@pytest.fixture
def ev(review):
    return lr.load(review.root)


def test_crosstab_counts_rows_and_lists_studies(ev):
    df = s.crosstab(ev, "mechanisms", "hallmark", "cancer_type")
    assert df[["hallmark", "cancer_type", "rows", "studies"]].astype(str).values.tolist() == [
        ["Migration", "Breast cancer", "1", "1"],
        ["Angiogenesis", "Lung cancer", "1", "2"],
    ]
    assert df.loc[1, "study_list"] == "Example 2020; Müller 2021"


def test_gap_map_includes_every_combination(ev):
    df = s.crosstab(ev, "mechanisms", "hallmark", "cancer_type", include_empty=True)
    assert len(df) == len(VOCABULARIES["hallmark"].values) * len(VOCABULARIES["cancer_type"].values)
    assert df["rows"].sum() == 2


def test_multi_valued_processes_are_exploded(ev):
    df = s.crosstab(ev, "pmn", "niche_process", "target_organ")
    assert sorted(df["niche_process"].astype(str)) == ["Fibroblast activation", "Inflammation"]
    assert set(df["target_organ"].astype(str)) == {"Liver"}


def test_pipeline_has_all_strategy_stage_cells(ev):
    df = s.crosstab(ev, "therapies", "strategy", "stage", include_empty=True)
    assert len(df) == len(STRATEGY.values) * len(STAGE.values)
    hit = df[df["rows"] > 0]
    assert hit[["strategy", "stage"]].astype(str).values.tolist() == [["Inhibit EV secretion", "Animal"]]


def test_auc_points_only_rows_with_auc(ev):
    df = ev_charts.auc_points(ev)
    assert list(df["id"]) == ["BIOM-0001"]
    assert df.loc[0, "auc"] == pytest.approx(0.91) and df.loc[0, "cargo_class"] == "microRNA"


def test_claim_support_subtracts_contradictions_and_flags(ev):
    df = s.claim_support(ev).set_index("id")
    assert df.loc["CLAIM-0001", "supporting"] == 2
    assert df.loc["CLAIM-0001", "flag"] == "no human data"
    # CLAIM-0002 selects BIOM-0001 (miR cargo); BIOM-0002 is marked as contradicting
    assert df.loc["CLAIM-0002", "supporting"] == 1 and df.loc["CLAIM-0002", "contradicting"] == 1
    assert df.loc["CLAIM-0002", "flag"] == "contested"
    levels = s.claim_levels(ev)
    assert levels[(levels["id"] == "CLAIM-0002") & (levels["evidence"] == "Contradicting")]["rows"].tolist() == [-1]


def test_studies_per_year_and_status(ev):
    df = s.studies_per_year(ev)
    # each study once: alpha2020 and beta2021 are cited in several tables, so the bars sum to 2, not 6
    assert df[["table", "year", "studies"]].values.tolist() == [["Several tables", 2020, 1],
                                                                 ["Several tables", 2021, 1]]
    st = s.status(ev)
    assert st["findings_rows"] == 6 and st["reference_rows"] == {"EV subtypes": 1}
    assert st["references"] == 3 and st["retracted"] == ["gamma2019"]
    assert st["last_added"] == "2026-01-08"


def test_explorer_has_every_finding_with_links(ev):
    df = s.explorer(ev)
    assert len(df) == 6
    row = df.set_index("id").loc["MECH-0002"]
    assert row["links"] == "https://doi.org/10.5555/fixture.0001; https://pubmed.ncbi.nlm.nih.gov/1/"
    assert row["level"] == "Animal model"


def test_points_are_aggregated_per_marker(review):
    line = review.path("data/biomarkers.csv").read_text().splitlines()[1]
    review.append("data/biomarkers.csv", line.replace("BIOM-0001", "BIOM-0003").replace(",0.91,", ",0.81,") + "\n")
    ev = lr.load(review.root)
    auc = ev_charts.auc_points(ev)
    assert len(auc) == 1 and auc.loc[0, "rows"] == 2
    assert auc.loc[0, "auc"] == pytest.approx(0.86) and auc.loc[0, "n_patients"] == 176
    assert len(ev_charts.sens_spec_points(ev)) == 1


DESIGN = ["cancer_type", "phase", "randomised", "controlled", "patients"]


def test_trial_designs_list_each_trial_row_with_its_stated_design(review):
    # the fixture's one therapy row is an animal study
    assert s.design_rows(lr.load(review.root), "therapies", DESIGN).empty
    review.append("data/therapies.csv", "THER-0002,beta2021,PMID:1,melanoma,small_ev,"
                                        "vaccine_immunotherapy,fixture exosomes,,phase_1,,safe,phase_1_2,yes,no,,,"
                                        "not_applicable,fixture patients,clinical_trial,Synthetic trial finding.,"
                                        "2026-01-05\n")
    rows = s.design_rows(lr.load(review.root), "therapies", DESIGN).to_dict(orient="records")
    assert [(r["id"], r["phase"], r["randomised"], r["controlled"], r["patients"]) for r in rows] == [
        ("THER-0002", "Phase I/II", "Yes", "No", "Not stated")]


def test_the_explorer_offers_a_filter_for_each_declared_facet_under_its_title(ev):
    table = s.explorer(ev)
    facets = ev.roles.facets
    assert facets and all(f in table.columns for f in facets)
    titles = {f: ev.declared[ev.finding_tables[0]].column(f).heading for f in facets}
    assert [(c, what) for c, what in table.attrs["filters"] if c in facets] == [
        (f, (t if t[1:2].isupper() else t[0].lower() + t[1:]) + "s") for f, t in titles.items()]
    assert table.attrs["labels"]["cancer_type"] == "Cancer type" and table.attrs["labels"]["ev_type"] == "EV type"


def test_a_summary_sorts_a_column_last_term_first_when_asked(ev):
    rows = s.summary(ev, "mechanisms", ["hallmark", "id"], sort=["hallmark"], descending=("hallmark",))
    order = list(rows["hallmark"].cat.categories)
    ranks = [order.index(v) for v in rows["hallmark"]]
    assert len(set(ranks)) > 1 and ranks == sorted(ranks, reverse=True) and rows.attrs["table"] == "mechanisms"
