"""livingreview.publishing.forest: the chart specs hold the marks, encodings and data a forest plot needs (not
pixels)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from livingreview import meta
from livingreview.publishing import forest
from test_meta import BCG, NORMAND


def bcg_frame() -> pd.DataFrame:
    dat = meta.escalc("RR", BCG, ai="tpos", bi="tneg", ci="cpos", di="cneg")
    return dat.assign(label=BCG.author + " " + BCG.year.astype(str))


def layers(spec: dict) -> list[dict]:
    return spec["layer"]


def rows_of(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def mark(layer: dict) -> str:
    m = layer["mark"]
    return m if isinstance(m, str) else m["type"]


def y_labels(spec: dict) -> dict[str, str]:
    """The row lookup of the y axis: position -> label, parsed back from the label expression."""
    axis = next(layer["encoding"]["y"]["axis"] for layer in layers(spec) if "y" in layer["encoding"])
    expr = axis["labelExpr"]
    return {k: v[0] for k, v in json.loads(expr[: expr.rindex("[")]).items()}


def test_forest_has_study_rows_diamond_prediction_interval_and_null_line():
    dat = bcg_frame()
    res = meta.rma(dat["yi"], dat["vi"])
    spec = forest.forest(dat, res, measure="RR", title="BCG vaccine").to_dict()
    marks = [mark(layer) for layer in layers(spec)]
    assert marks.count("area") == 1 and marks.count("square") == 1 and marks.count("rule") == 3
    assert spec["width"] == "container" and spec["height"] >= forest.ROW * len(dat)
    # the study layer: one square per study at exp(yi), sized by the model's weight
    square = next(layer for layer in layers(spec) if mark(layer) == "square")
    points = rows_of(spec, square)
    assert [p["label"] for p in points] == list(dat["label"])
    assert np.allclose([p["estimate"] for p in points], np.exp(dat["yi"]))
    assert np.allclose([p["weight"] for p in points], res.weights)
    assert square["encoding"]["size"]["field"] == "weight"
    half = 1.959963984540054 * np.sqrt(dat["vi"])
    assert np.allclose([p["ci_lb"] for p in points], np.exp(dat["yi"] - half))
    # the null line sits at a ratio of 1
    null = next(layer for layer in layers(spec) if mark(layer) == "rule" and "y" not in layer["encoding"])
    assert rows_of(spec, null) == [{"estimate": 1.0}]


def test_diamond_vertices_are_the_pooled_estimate_and_its_ci_on_the_ratio_scale():
    dat = bcg_frame()
    res = meta.rma(dat["yi"], dat["vi"])
    spec = forest.forest(dat, res, measure="RR").to_dict()
    area = next(layer for layer in layers(spec) if mark(layer) == "area")
    vertices = rows_of(spec, area)
    assert [v["x"] for v in vertices] == pytest.approx([math.exp(res.ci_lb), math.exp(res.beta),
                                                        math.exp(res.ci_ub)])
    middle = vertices[1]
    assert middle["top"] < middle["bottom"] and vertices[0]["top"] == vertices[0]["bottom"]
    interval = next(layer for layer in layers(spec)
                    if mark(layer) == "rule" and layer["encoding"]["x"]["field"] == "lo")
    (pi,) = rows_of(spec, interval)
    assert pi["lo"] == pytest.approx(math.exp(res.pi_lb)) and pi["hi"] == pytest.approx(math.exp(res.pi_ub))
    # the diamond's and the interval's rows are labelled, after the studies
    labels = y_labels(spec)
    assert labels[str(int(vertices[0]["top"]))] == "Random-effects model (REML)"
    assert labels[str(int(pi["row"]))] == "95% prediction interval"


def test_ratio_measures_use_a_log_axis_with_round_ticks_and_others_a_linear_one():
    dat = bcg_frame()
    spec = forest.forest(dat, meta.rma(dat["yi"], dat["vi"]), measure="RR").to_dict()
    x = next(layer["encoding"]["x"] for layer in layers(spec) if mark(layer) == "square")
    assert x["scale"]["type"] == "log"
    ticks = x["axis"]["values"]
    assert {0.1, 0.2, 0.5, 1, 2, 5} <= set(ticks)
    lo, hi = x["scale"]["domain"]
    assert lo in forest.RATIO_TICKS and hi in forest.RATIO_TICKS and lo <= min(ticks) and max(ticks) <= hi
    smd = meta.escalc("SMD", NORMAND, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i")
    spec = forest.forest(smd.assign(label=NORMAND.source), meta.rma(smd["yi"], smd["vi"]), measure="SMD").to_dict()
    x = next(layer["encoding"]["x"] for layer in layers(spec) if mark(layer) == "square")
    assert x["scale"].get("type") is None
    null = next(layer for layer in layers(spec) if mark(layer) == "rule" and "y" not in layer["encoding"])
    assert rows_of(spec, null) == [{"estimate": 0.0}]
    points = rows_of(spec, next(layer for layer in layers(spec) if mark(layer) == "square"))
    assert [p["estimate"] for p in points] == pytest.approx(list(smd["yi"]))


def test_title_subtitle_and_description_carry_the_pooled_result_and_heterogeneity():
    dat = bcg_frame()
    res = meta.rma(dat["yi"], dat["vi"])
    chart = forest.forest(dat, res, measure="RR", title="BCG vaccine and tuberculosis")
    spec = chart.to_dict()
    assert spec["title"]["text"] == "BCG vaccine and tuberculosis"
    subtitle = " ".join(spec["title"]["subtitle"]).replace(forest.NBSP, " ")
    p = res.transf(np.exp)
    assert f"RR {p.pred:.2f} (95% CI {p.ci_lb:.2f} to {p.ci_ub:.2f})" in subtitle
    assert f"prediction interval {p.pi_lb:.2f} to {p.pi_ub:.2f}" in subtitle
    assert f"I² = {res.I2:.1f}%" in subtitle and f"Q = {res.QE:.2f} (df = 12, p < 0.001)" in subtitle
    description = spec["description"].replace(forest.NBSP, " ")
    assert description.startswith("BCG vaccine and tuberculosis. 13 studies") and f"RR {p.pred:.2f}" in description
    assert spec["usermeta"]["table"][0] == ["label", "Study"]


def test_one_study_draws_no_diamond_and_says_why():
    dat = bcg_frame().head(1)
    res = meta.rma(dat["yi"], dat["vi"])
    spec = forest.forest(dat, res, measure="RR").to_dict()
    assert "area" not in [mark(layer) for layer in layers(spec)]
    assert "nothing to pool" in " ".join(spec["title"]["subtitle"])
    spec = forest.forest(bcg_frame(), None, measure="RR").to_dict()
    assert "area" not in [mark(layer) for layer in layers(spec)] and "no pooled estimate" in spec["description"]


def test_labels_reach_the_axis_intact_whatever_they_hold():
    dat = bcg_frame()
    odd = ['He said "no"', "</script><script>alert(1)</script>", "back\\slash", "line\nbreak", "O'Brien 1999"]
    dat.loc[: len(odd) - 1, "label"] = odd
    spec = forest.forest(dat, meta.rma(dat["yi"], dat["vi"]), measure="RR").to_dict()
    labels = y_labels(spec)
    assert [labels[str(i)] for i in range(len(odd))] == odd
    # the lookup is a JSON object literal indexed by the row: no label can end the expression
    axis = next(layer["encoding"]["y"]["axis"] for layer in layers(spec) if "y" in layer["encoding"])
    assert axis["labelExpr"].endswith("[''+datum.value]")


def test_cumulative_plot_rows_follow_the_order_studies_were_added():
    dat = bcg_frame()
    cum = meta.cumulative(dat["yi"], dat["vi"], order=BCG["year"], labels=dat["label"])
    spec = forest.cumulative_plot(cum, measure="RR").to_dict()
    points = rows_of(spec, next(layer for layer in layers(spec) if mark(layer) == "square"))
    assert [p["label"] for p in points] == ["+ " + s for s in cum["added"]]
    assert [p["estimate"] for p in points] == pytest.approx(list(np.exp(cum["estimate"])))
    assert [p["k"] for p in points] == list(range(1, 14))
    assert "area" not in [mark(layer) for layer in layers(spec)]
    assert f"all 13: RR {math.exp(cum['estimate'].iloc[-1]):.2f}" in " ".join(spec["title"]["subtitle"])


def test_subgroup_forest_has_a_diamond_per_subgroup_and_the_test_for_differences():
    dat = bcg_frame().assign(alloc=BCG["alloc"])
    sub = meta.subgroups(dat["yi"], dat["vi"], dat["alloc"])
    overall = meta.rma(dat["yi"], dat["vi"])
    spec = forest.subgroup_forest(dat, "alloc", sub, overall, measure="RR").to_dict()
    areas = [layer for layer in layers(spec) if mark(layer) == "area"]
    assert len(areas) == len(sub.groups) + 1
    for area, (name, fit) in zip(areas, sub.groups.items(), strict=False):
        xs = [v["x"] for v in rows_of(spec, area)]
        assert xs == pytest.approx([math.exp(fit.ci_lb), math.exp(fit.beta), math.exp(fit.ci_ub)]), name
    subtitle = " ".join(spec["title"]["subtitle"]).replace(forest.NBSP, " ")
    assert f"QM = {sub.QM:.2f} (df = 2, p = {sub.QMp:.3f})" in subtitle
    points = rows_of(spec, next(layer for layer in layers(spec) if mark(layer) == "square"))
    assert [p["subgroup"] for p in points] == [g for g in sub.groups for _ in range(sub.groups[g].k)]


def test_charts_compile_and_render():
    import vl_convert

    dat = bcg_frame()
    res = meta.rma(dat["yi"], dat["vi"])
    for chart in (forest.forest(dat, res, measure="RR"),
                  forest.cumulative_plot(meta.cumulative(dat["yi"], dat["vi"], labels=dat["label"]), measure="RR")):
        spec = chart.to_dict()
        spec["width"] = 350  # a phone's column; "container" has no size outside a page
        svg = vl_convert.vegalite_to_svg(json.dumps(spec))
        assert svg.startswith("<svg") and "Aronson 1948" in svg
