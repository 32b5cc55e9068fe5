"""Chart specs: the right marks, encodings, labels and tooltips (tested on to_dict(), not pixels)."""

from __future__ import annotations

import pytest

import ev_charts
import livingreview as lr
from conftest import VOCABULARIES
from livingreview.analysis import summaries as s
from livingreview.publishing import figures as f

HALLMARK = VOCABULARIES["hallmark"]


@pytest.fixture
def ev(review):
    return lr.load(review.root)


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_heatmap_uses_labels_counts_and_study_tooltips(ev):
    spec = f.count_heatmap(s.crosstab(ev, "mechanisms", "hallmark", "cancer_type"), "cancer_type", "hallmark", "T",
                           "Cancer type",
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
    spec = f.level_bars(s.level_by(ev, "mechanisms", "hallmark"), "hallmark", "Levels", "Hallmark").to_dict()
    color = spec["encoding"]["color"]
    assert color["title"] == "Evidence level"
    assert color["scale"]["domain"] == ["In vitro", "Animal model", "Human, observational", "Clinical trial"]


def test_auc_dotplot_has_chance_line_size_and_colour(ev):
    spec = ev_charts.auc_dotplot(ev_charts.auc_points(ev)).to_dict()
    rule, sized, unsized = spec["layer"]
    assert rule["mark"]["type"] == "rule"
    assert sized["encoding"]["size"]["field"] == "n_patients"
    assert sized["encoding"]["color"]["title"] == "Cargo class"
    assert unsized["mark"]["shape"] == "diamond"
    assert sized["encoding"]["x"]["scale"]["domain"] == [0, 1]


def test_size_range_chart_is_an_interval_on_a_log_scale(ev):
    spec = ev_charts.size_range_chart(ev_charts.size_ranges(ev)).to_dict()
    bars = spec["layer"][0]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["scale"]["type"] == "log"
    assert bars["encoding"]["x2"]["field"] == "size_nm_max"


# --- every chart the chapters make, on the review's own data -----------------------------------------------------

@pytest.fixture(scope="module")
def chapter_charts() -> dict[str, object]:
    """Every chart the book's chapters make, by name: each chapter's code run on the repository's data, with
    ``chapter.figure`` recording its chart and every other page helper doing nothing."""
    import inspect
    import json

    from conftest import REPO
    from livingreview.publishing import chapter

    real = lr.load(REPO)
    charts: dict[str, object] = {}
    keep = {"evidence", "figure", "trajectory", "pooled_trajectory"}
    with pytest.MonkeyPatch.context() as mp:
        for name, func in inspect.getmembers(chapter, inspect.isfunction):
            if func.__module__ == chapter.__name__ and not name.startswith("_") and name not in keep:
                mp.setattr(chapter, name, lambda *a, **k: None)  # tables, the explorer: pages, not charts
        mp.setattr(chapter, "evidence", lambda: real)
        mp.setattr(chapter, "figure", lambda chart, name: charts.__setitem__(name, chart) or chapter.HTML(""))
        for path in sorted((REPO / "chapters").glob("*.ipynb")):
            namespace: dict[str, object] = {}
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                if cell["cell_type"] == "code":
                    exec(compile("".join(cell["source"]), str(path), "exec"), namespace)
    assert len(charts) >= 12, sorted(charts)
    return charts


def _parts(spec: dict) -> list[dict]:
    return [spec, *spec.get("layer", [])]


def _values(spec: dict, part: dict, field: str) -> list[str]:
    data = part.get("data") or spec.get("data") or {}
    rows = spec.get("datasets", {}).get(data.get("name"), data.get("values", []))
    return list(dict.fromkeys(str(r[field]) for r in rows if r.get(field) is not None))


def _legend_looks(spec: dict) -> dict[str, list[tuple]]:
    """For each categorical legend (by field), how each entry looks: its colour, shape, ... as the scales map it
    (vega cycles a range shorter than its domain)."""
    channels: dict[str, dict[str, tuple[list, list]]] = {}
    for part in _parts(spec):
        for channel in ("color", "fill", "stroke", "shape", "strokeDash"):
            enc = part.get("encoding", {}).get(channel)
            enc = enc.get("condition", enc) if enc and "field" not in enc else enc
            if not enc or "field" not in enc or enc.get("type") == "quantitative" or enc.get("legend", {}) is None:
                continue
            scale = enc.get("scale", {})
            domain = scale.get("domain") or _values(spec, part, enc["field"])
            assert isinstance(scale.get("range"), list), f"a categorical {channel} without a declared range: {enc}"
            channels.setdefault(enc["field"], {})[channel] = ([str(d) for d in domain], scale["range"])
    looks = {}
    for field, by_channel in channels.items():
        domain = max((d for d, _ in by_channel.values()), key=len)
        looks[field] = [tuple(r[i % len(r)] for _, r in by_channel.values()) for i in range(len(domain))]
    return looks


def test_no_legend_shows_two_entries_alike(chapter_charts):
    """Within one legend no two entries share a look: a domain longer than its colours (eight, for eleven cancer
    types) mapped Bladder and Ovarian to one colour."""
    checked = 0
    for name, chart in chapter_charts.items():
        for field, looks in _legend_looks(chart.to_dict()).items():
            assert len(set(looks)) == len(looks), (name, field, looks)
            checked += 1
    assert checked >= 5


def test_the_legend_check_fails_on_a_colour_repeated_past_the_palette():
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame({"c": [f"type {i}" for i in range(11)], "x": range(11)})
    old = alt.Chart(frame).mark_point().encode(x="x:Q", color=alt.Color("c:N", scale=alt.Scale(
        range=f.CATEGORY_COLORS)))
    looks = _legend_looks(old.to_dict())["c"]
    assert len(set(looks)) < len(looks)


@pytest.mark.parametrize("n, shapes, entries", [(11, True, 11), (40, True, 32), (11, False, 8), (5, False, 5)])
def test_categories_give_each_entry_its_own_look_and_group_the_rarest_by_name(n, shapes, entries):
    import altair as alt
    import pandas as pd

    # category i appears n - i times: the rarest are the last
    frame = pd.DataFrame({"cancer": [f"type {i:02d}" for i in range(n) for _ in range(n - i)]})
    frame, channels = f.categories(frame, "cancer", "Cancer type", shapes=shapes, other="other cancer types")
    spec = alt.Chart(frame).mark_point().encode(**channels).to_dict()
    looks = _legend_looks(spec)["cancer_legend"]
    assert len(looks) == entries and len(set(looks)) == entries
    domain = spec["encoding"]["color"]["scale"]["domain"]
    if entries < n:
        grouped = n - entries + 1
        assert domain[-1] == f"{grouped} other cancer types"
        assert (frame["cancer_legend"] == domain[-1]).sum() == sum(range(1, grouped + 1))  # the rarest rows
        assert "type 00" in domain and f"type {n - 1:02d}" not in domain
    else:
        assert domain == [f"type {i:02d}" for i in range(n)]
    assert set(frame["cancer"]) == {f"type {i:02d}" for i in range(n)}  # the full value stays for tooltip and table


def test_size_always_has_a_legend(chapter_charts):
    """Wherever size encodes a number, a legend says what the sizes mean."""
    sized = 0
    for name, chart in chapter_charts.items():
        for part in _parts(chart.to_dict()):
            size = part.get("encoding", {}).get("size")
            if size and "field" in size:
                assert size.get("legend", {}) is not None, name
                assert size.get("title"), name
                sized += 1
    assert sized >= 1


def test_chart_titles_say_what_they_count(chapter_charts):
    """Each title or its subtitle names the unit: findings (rows), studies, or what one mark is."""
    from livingreview.publishing.render import chart_title

    for name, chart in chapter_charts.items():
        text = chart_title(chart.to_dict()).lower()
        assert any(unit in text for unit in ("findings", "studies", "one point per", "one row per")), (name, text)
        assert "furthest" not in text, (name, text)  # the pipeline counts findings at every stage, not the furthest


def test_data_tables_under_charts_have_human_headers(chapter_charts):
    from livingreview.publishing.chapter import _chart_frame

    for name, chart in chapter_charts.items():
        frame = _chart_frame(chart)
        headers = [str(c) for c in frame.columns]
        assert all("_" not in h and h[:1].isupper() for h in headers), (name, headers)
        assert not {"points_total", "label", "row", "level_order", "Points total"} & set(headers), (name, headers)


def _symbols(svg: str) -> list[tuple[float, float]]:
    """The centre of every data point (not legend symbol) of a vega SVG."""
    import re

    points = []
    for group in re.findall(r'<g class="mark-symbol role-mark[^"]*"[^>]*(?<!/)>(.*?)</g>', svg, re.S):
        points += [(float(x), float(y)) for x, y in re.findall(r'transform="translate\(([-\d.]+),([-\d.]+)\)"', group)]
    return points


def test_points_at_the_limits_of_a_fraction_axis_are_drawn_whole():
    """A sensitivity or AUC of 1.0 (or 0) is drawn wholly inside the plot, not half over its edge."""
    import math

    import pandas as pd
    import vl_convert as vlc

    frame = pd.DataFrame({"marker": ["a", "b", "c"], "cancer": ["Lung cancer"] * 3, "sensitivity": [1.0, 0.0, 0.5],
                          "specificity": [1.0, 0.0, 0.5], "study": ["X 2020"] * 3, "n_patients": [600.0, 10, 50],
                          "auc": [1.0, 0.0, 0.5], "cargo_class": ["Protein"] * 3, "label": ["a", "b", "c"]})
    spec = ev_charts.sens_spec_chart(frame).to_dict() | {"width": 400}
    radius = math.sqrt(spec["mark"]["size"] / math.pi)
    points = _symbols(vlc.vegalite_to_svg(spec))
    assert len(points) == 3
    assert all(radius <= x <= 400 - radius and radius <= y <= 320 - radius for x, y in points), points
    auc = ev_charts.auc_dotplot(frame).to_dict() | {"width": 400}
    biggest = math.sqrt(max(auc["layer"][1]["encoding"]["size"]["scale"]["range"]) / math.pi)
    xs = [x for x, _ in _symbols(vlc.vegalite_to_svg(auc))]
    assert len(xs) == 3 and all(biggest <= x <= 400 - biggest for x in xs), xs


def test_auc_rows_name_the_marker_cut_at_a_word_over_its_cancer_type():
    import re

    import pandas as pd
    import vl_convert as vlc

    markers = ["serum exosomal miR-21 (ExmiR-21; with ExmiR-191 and ExmiR-451a)", "Del-1 on circulating EVs",
               "exosomal miR-21/miR-96/miR-122 panel"]
    frame = pd.DataFrame({"marker": markers, "cancer": ["Pancreatic cancer", "Breast cancer", "Liver cancer"],
                          "auc": [0.8, 0.9, 0.7], "n_patients": [10.0, 20, 30], "cargo_class": ["microRNA"] * 3,
                          "study": ["X 2020"] * 3})
    frame["label"] = frame["marker"] + " — " + frame["cancer"]
    svg = vlc.vegalite_to_svg(ev_charts.auc_dotplot(frame).to_dict() | {"width": 400})
    labels = [re.findall(r"<tspan[^>]*>(.*?)</tspan>", t)
              for t in re.findall(r"<text[^>]*>((?:<tspan.*?</tspan>)+)</text>", svg)]
    shown = {tuple(lines) for lines in labels if len(lines) == 2}
    assert {cancer for _, cancer in shown} == set(frame["cancer"])
    for first, cancer in shown:
        marker = frame.loc[frame["cancer"] == cancer, "marker"].iloc[0]
        if first.endswith("…"):
            kept = first[:-1]
            assert marker.startswith(kept) and (marker[len(kept)] in " /,;" or kept.endswith("/")), (first, marker)
        else:
            assert first == marker
    assert ("Del-1 on circulating EVs", "Breast cancer") in shown  # short enough to be shown whole


def _drawn(part: dict, rows: list[dict]) -> list[dict]:
    """The rows a layer keeps, for the filters this package writes (``datum.FIELD == 'VALUE'``)."""
    import re

    for step in part.get("transform", []):
        found = re.fullmatch(r"datum\.(\w+) == '(.*)'", str(step.get("filter", "")))
        assert found or "filter" not in step, step
        if found:
            rows = [r for r in rows if str(r[found[1]]) == found[2]]
    return rows


def test_subtype_legend_lists_only_what_is_drawn(chapter_charts):
    """Each legend entry has a mark that can be seen: a size reported as one value is a point, not a bar of no
    width in a colour the legend lists (Exomere and Supermere were)."""
    spec = chapter_charts["subtype-sizes"].to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert any(r["size_nm_min"] == r["size_nm_max"] for r in rows)  # the review has single sizes
    seen = set()
    for part in spec["layer"]:
        color = part["encoding"]["color"]
        kept = _drawn(part, rows)
        if part["mark"]["type"] == "bar":
            assert all(r["size_nm_max"] > r["size_nm_min"] for r in kept), kept
        seen |= {str(r[color["field"]]) for r in kept}
    domain = spec["layer"][0]["encoding"]["color"]["scale"]["domain"]
    assert set(domain) == seen


def test_whole_numbers_print_as_integers_in_tables():
    import pandas as pd

    from livingreview.publishing.render import data_table_html, markdown_table

    frame = pd.DataFrame({"Min (nm)": pd.array([60.0, None], dtype="Float64"), "AUC": [0.968, 0.9033333333]})
    html = data_table_html(frame)
    assert "<td>60</td>" in html and "60.0" not in html and "<td>0.968</td>" in html and "<td>0.9033</td>" in html
    assert "<th>Min (nm)</th>" in html
    table = markdown_table(frame, cite_column=None)
    assert "| 60 |" in table and "60.0" not in table and "0.9033333333" in table  # reported values are not rounded


def test_claims_chart_marks_contradictions(ev):
    spec = f.claims_chart(s.claim_levels(ev)).to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"][-1] == "Contradicting"
    assert spec["encoding"]["x"]["aggregate"] == "sum"


def test_pipeline_and_growth_charts(ev):
    pipe = ev_charts.pipeline_chart(s.crosstab(ev, "therapies", "strategy", "stage", include_empty=True)).to_dict()
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
    from livingreview.analysis.history import trajectory

    checked = [tuple(f.LEVEL_COLORS), tuple(f.CATEGORY_COLORS), tuple(f.CERTAINTY_COLORS.values()),
               (*f.LEVEL_COLORS, f.NOT_GRADED_COLOR, f.CONTRADICTING_COLOR)]
    charts = [ev_charts.size_range_chart(ev_charts.size_ranges(ev)),
              f.level_bars(s.level_by(ev, "mechanisms", "hallmark"), "hallmark", "L", "Hallmark"),
              ev_charts.auc_dotplot(ev_charts.auc_points(ev)),
              ev_charts.sens_spec_chart(ev_charts.sens_spec_points(ev)),
              f.claims_chart(s.claim_levels(ev)),
              f.growth_chart(s.studies_per_year(ev)),
              ev_charts.pipeline_chart(s.crosstab(ev, "therapies", "strategy", "stage", include_empty=True)),
              f.count_heatmap(s.crosstab(ev, "mechanisms", "hallmark", "cancer_type"), "hallmark", "cancer_type", "T",
                              "Hallmark", "Cancer type"),
              f.trajectory_chart(trajectory(ev))]
    seen = 0
    for chart in charts:
        for color in _colour_scales(chart.to_dict()):
            if color.get("type") == "quantitative":
                assert color["scale"]["scheme"] == "blues"
            else:  # colours of one checked palette (a legend of few entries takes a few of them)
                assert any(set(color["scale"]["range"]) <= set(palette) for palette in checked), color
            seen += 1
    assert seen >= len(charts)


def test_long_axis_labels_wrap_instead_of_being_cut(ev):
    """A label is never cut off ('Block uptake or EV-receptor int…'): it wraps, and rows grow to fit it."""
    import re

    import vl_convert as vlc

    frame = s.crosstab(ev, "therapies", "strategy", "stage", include_empty=True)
    chart = ev_charts.pipeline_chart(frame)
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
