"""Chart specs: the right marks, encodings, labels and tooltips (tested on to_dict(), not pixels)."""

from __future__ import annotations

import pytest

import livingreview as lr
from livingreview import figures as f
from livingreview import summaries as s
from livingreview.vocab import HALLMARK


@pytest.fixture
def ev(review):
    return lr.load(review.root)


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_heatmap_uses_labels_counts_and_study_tooltips(ev):
    spec = f.count_heatmap(s.hallmark_by_cancer(ev), "cancer_type", "hallmark", "T", "Cancer type",
                           "Hallmark").to_dict()
    assert spec["title"] == "T"
    rect = layers(spec)[0]
    assert rect["mark"]["type"] == "rect"
    enc = spec["encoding"]
    assert enc["x"]["title"] == "Cancer type" and enc["y"]["title"] == "Hallmark"
    assert enc["y"]["sort"] == ["Migration", "Angiogenesis"]
    tips = [t["field"] for t in rect["encoding"]["tooltip"]]
    assert tips == ["hallmark", "cancer_type", "rows", "studies", "study_list"]
    values = spec["datasets"][spec["data"]["name"]] if "datasets" in spec else spec["data"]["values"]
    assert {v["study_list"] for v in values} == {"Example 2020", "Example 2020; Müller 2021"}


def test_level_bars_colour_by_evidence_level_in_vocabulary_order(ev):
    spec = f.level_bars(s.level_by(ev, "mechanisms", HALLMARK), "hallmark", "Levels", "Hallmark").to_dict()
    color = spec["encoding"]["color"]
    assert color["title"] == "Evidence level"
    assert color["scale"]["domain"] == ["In vitro", "Animal model", "Human, observational", "Clinical trial"]


def test_auc_dotplot_has_chance_line_size_and_colour(ev):
    spec = f.auc_dotplot(s.auc_points(ev)).to_dict()
    rule, sized, unsized = spec["layer"]
    assert rule["mark"]["type"] == "rule"
    assert sized["encoding"]["size"]["field"] == "n_patients"
    assert sized["encoding"]["color"]["title"] == "Cargo class"
    assert unsized["mark"]["shape"] == "diamond"
    assert sized["encoding"]["x"]["scale"]["domain"] == [0, 1]


def test_size_range_chart_is_an_interval_on_a_log_scale(ev):
    spec = f.size_range_chart(s.size_ranges(ev)).to_dict()
    bars = spec["layer"][0]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["scale"]["type"] == "log"
    assert bars["encoding"]["x2"]["field"] == "size_nm_max"


def test_claims_chart_marks_contradictions(ev):
    spec = f.claims_chart(s.claim_levels(ev)).to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"][-1] == "Contradicting"
    assert spec["encoding"]["x"]["aggregate"] == "sum"


def test_pipeline_and_growth_charts(ev):
    pipe = f.pipeline_chart(s.strategy_by_stage(ev)).to_dict()
    assert pipe["encoding"]["x"]["title"] == "Development stage"
    assert pipe["encoding"]["x"]["sort"][0] == "In vitro"
    growth = f.growth_chart(s.studies_per_year(ev)).to_dict()
    assert growth["encoding"]["x"]["field"] == "year"
