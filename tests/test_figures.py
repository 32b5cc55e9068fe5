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
    assert spec["title"]["text"] == "T" and spec["title"]["anchor"] == "start"
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


def _min_difference(colors: list[str], cvd: str | None) -> float:
    """The smallest CAM02-UCS colour difference between two of ``colors``, as seen with ``cvd`` (None: typical)."""
    import itertools

    import numpy as np
    from colorspacious import cspace_convert, deltaE

    rgb = [np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) / 255 for c in colors]
    if cvd:
        rgb = [np.clip(cspace_convert(c, {"name": "sRGB1+CVD", "cvd_type": cvd, "severity": 100}, "sRGB1"), 0, 1)
               for c in rgb]
    return min(deltaE(a, b, input_space="sRGB1") for a, b in itertools.combinations(rgb, 2))


@pytest.mark.parametrize("name", ["levels", "claims", "certainty", "categories"])
@pytest.mark.parametrize("cvd", [None, "deuteranomaly", "protanomaly", "tritanomaly"])
def test_palettes_stay_distinct_with_colour_blindness(name, cvd):
    """Every two colours of a palette differ by at least 10 CAM02-UCS units, also as seen with each kind of
    colour blindness at full severity (Machado et al. 2009, as colorspacious simulates it); the old default
    categories (vega's tableau10) fell to 1.4 with deuteranopia."""
    palette = {"levels": f.LEVEL_COLORS, "claims": [*f.LEVEL_COLORS, f.NOT_GRADED_COLOR, f.CONTRADICTING_COLOR],
               "certainty": list(f.CERTAINTY_COLORS.values()), "categories": f.CATEGORY_COLORS}[name]
    assert _min_difference(palette, cvd) >= 10
    assert _min_difference(["#e45756", "#54a24b"], "deuteranomaly") < 10  # the check can fail


def _colour_scales(spec: dict):
    for part in [spec, *spec.get("layer", [])]:
        color = part.get("encoding", {}).get("color")
        color = color.get("condition", color) if color and "field" not in color else color
        if color and "field" in color:  # a fixed colour (text on a heat map) is not a scale
            yield color


def test_every_colour_scale_is_a_checked_palette_or_a_single_hue_ramp(ev):
    from livingreview.releases import trajectory

    checked = {tuple(f.LEVEL_COLORS), tuple(f.CATEGORY_COLORS), tuple(f.CERTAINTY_COLORS.values()),
               (*f.LEVEL_COLORS, f.NOT_GRADED_COLOR, f.CONTRADICTING_COLOR)}
    charts = [f.size_range_chart(s.size_ranges(ev)), f.level_bars(s.level_by(ev, "mechanisms", HALLMARK), "hallmark",
                                                                   "L", "Hallmark"),
              f.auc_dotplot(s.auc_points(ev)), f.sens_spec_chart(s.sens_spec_points(ev)),
              f.claims_chart(s.claim_levels(ev)),
              f.growth_chart(s.studies_per_year(ev)), f.pipeline_chart(s.strategy_by_stage(ev)),
              f.count_heatmap(s.hallmark_by_cancer(ev), "hallmark", "cancer_type", "T", "Hallmark", "Cancer type"),
              f.trajectory_chart(trajectory(ev))]
    seen = 0
    for chart in charts:
        for color in _colour_scales(chart.to_dict()):
            if color.get("type") == "quantitative":
                assert color["scale"]["scheme"] == "blues"
            else:
                assert tuple(color["scale"]["range"]) in checked, color
            seen += 1
    assert seen >= len(charts)


def test_long_axis_labels_wrap_instead_of_being_cut(ev):
    """A label is never cut off ('Block uptake or EV-receptor int…'): it wraps, and rows grow to fit it."""
    import re

    import vl_convert as vlc

    frame = s.strategy_by_stage(ev)
    chart = f.pipeline_chart(frame)
    spec = chart.to_dict()
    axis = spec["encoding"]["y"]["axis"]
    assert axis["labelLimit"] == 0 and "split(" in axis["labelExpr"]
    svg = vlc.vegalite_to_svg({**spec, "width": 400})
    texts = " ".join(re.sub(r"<[^>]+>", " ", t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg))
    labels = frame["strategy"].astype(str).unique()
    assert max(map(len, labels)) > 24  # the fixture has labels that need wrapping
    words = {w for label in labels for w in label.split()}
    assert "…" not in texts and words <= set(texts.split())
    _, step = f.wrapped_axis(["one two three four five six seven eight nine ten eleven"], 12)
    assert step > 22  # five lines need taller rows
