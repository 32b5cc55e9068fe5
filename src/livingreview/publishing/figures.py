"""Pure chart builders: a summary DataFrame in, an ``alt.Chart`` out.

Every chart has a title, labelled axes and legends in the vocabulary's words, and tooltips.
Data arrive aggregated (see ``summaries``), so no chart carries more than a few hundred rows.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from livingreview.model.text import plural
from livingreview.model.vocab import Vocabulary

#: colour palettes, each checked for colour-blind safety (tests/test_figures.py): evidence levels are ordered, so one
#: hue from light to dark; categories use Okabe and Ito's palette, never repeated within one legend (see ``categories``)
LEVEL_COLORS = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"]
NOT_GRADED_COLOR = "#bdbdbd"
CONTRADICTING_COLOR = "#e6550d"
CATEGORY_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
#: point shapes told apart at a glance: past eight categories a legend pairs each colour with a second shape
SHAPES = ["circle", "square", "triangle-up", "diamond"]
WIDTH = 640


def _order(series: pd.Series) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.astype(str))
        return [c for c in series.cat.categories if c in present]
    return sorted(series.astype(str).unique())


def categories(df: pd.DataFrame, field: str, title: str, *, shapes: bool = False, other: str = "other categories",
               legend: alt.Legend | None = None) -> tuple[pd.DataFrame, dict[str, alt.FieldChannelMixin]]:
    """Encodings that give every category of ``field`` a legend entry of its own: a colour, or with ``shapes`` a
    colour and shape pair; and ``df`` with the column they read.

    No two legend entries may look alike, so past what the palette (and shapes) can tell apart the rarest
    categories are drawn together as one entry, "N other ...", named as such; the full value stays in the data
    (tooltip and table).
    """
    capacity = len(CATEGORY_COLORS) * (len(SHAPES) if shapes else 1)
    values = df[field].astype(str)
    domain = _order(df[field])
    if len(domain) > capacity:
        counts = values.value_counts()
        keep = set(sorted(domain, key=lambda v: (-counts[v], domain.index(v)))[: capacity - 1])
        grouped = f"{len(domain) - len(keep)} {other}"
        values = values.where(values.isin(keep), grouped)
        domain = [v for v in domain if v in keep] + [grouped]
    column = f"{field}_legend"
    df = df.assign(**{column: values})
    legend = legend or alt.Legend(orient="bottom", columns=1)
    colors = [CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i in range(len(domain))]
    channels = {"color": alt.Color(f"{column}:N", title=title, sort=domain, legend=legend,
                                   scale=alt.Scale(domain=domain, range=colors))}
    if shapes:
        channels["shape"] = alt.Shape(f"{column}:N", title=title, sort=domain, legend=legend,
                                      scale=alt.Scale(domain=domain,
                                                      range=[SHAPES[i // len(CATEGORY_COLORS)]
                                                             for i in range(len(domain))]))
    return df, channels


def data_table(chart: alt.TopLevelMixin, columns: dict[str, str]) -> alt.TopLevelMixin:
    """``chart`` naming the columns of the table under it ("Data behind this chart") and their headers, in order."""
    return chart.properties(usermeta={"table": [[name, header] for name, header in columns.items()]})


def axis_labels(full: list[str], lines: list[list[str]]) -> str:
    """A vega label expression that shows each value of ``full`` as the given lines (a lookup, not a cut)."""
    import json

    return json.dumps(dict(zip(full, lines, strict=True)), ensure_ascii=False) + "[datum.value]"


def wrapped_axis(labels, width: int, **kwargs) -> tuple[alt.Axis, int]:
    """An axis whose labels wrap onto lines of about ``width`` characters (never cut off), and the band step
    (pixels per row) that fits the longest of ``labels``."""
    import textwrap

    lines = max((len(textwrap.wrap(str(v), width, break_long_words=False, break_on_hyphens=False)) or 1
                 for v in labels), default=1)
    # vega draws a label given as a list of strings as one line each
    expr = f"split(trim(replace(datum.label, /(.{{1,{width}}})(\\s+|$)/g, '$1\\n')), '\\n')"
    return alt.Axis(labelExpr=expr, labelLimit=0, **kwargs), max(22, 12 * lines + 8)


def wrapped_title(text: str, subtitle: str = "", width: int = 40) -> alt.TitleParams:
    """A title from the chart's left edge, in lines of at most ``width`` characters: it fits a phone's width."""
    import textwrap

    lines = textwrap.wrap(text, width) or [text]
    params = {"anchor": "start", "frame": "bounds"}
    if subtitle:
        params["subtitle"] = textwrap.wrap(subtitle, width + 8) or [subtitle]
    return alt.TitleParams(lines if len(lines) > 1 else text, **params)


RANGE = "Reported range (min to max)"
SINGLE = "Single reported value"


def range_chart(df: pd.DataFrame, low: str, high: str, *, title: str, subtitle: str = "", x_title: str = "",
                y_title: str = "", log: bool = False, headers: dict[str, str] | None = None) -> alt.Chart:
    """One bar per ``row`` of ``df`` from ``low`` to ``high`` (see ``summaries.ranges``), on a log scale if ``log``;
    a range whose ends are equal is a point. The legend names only the kinds of mark drawn; ``headers`` names the
    columns of the table under the chart (by default the row's label column, the two ends and the studies)."""
    import math

    by = next(c for c in df.columns if c not in ("row", low, high, "studies"))
    headers = headers or {by: by.replace("_", " ").capitalize(), low: "Min", high: "Max", "studies": "Studies"}
    data = df.assign(kind=[SINGLE if lo == hi else RANGE for lo, hi in zip(df[low], df[high], strict=True)])
    kinds = [k for k in (RANGE, SINGLE) if k in set(data["kind"])]
    base = alt.Chart(data)
    values = pd.concat([data[low], data[high]]).dropna()
    axis: dict = {"labelOverlap": "greedy", "labelFlush": True}
    if log:
        values = values[values > 0]
        # labelled at powers of ten only: the 2 and 5 steps between them crowd each other at a phone's width
        powers = [10 ** e for e in range(math.ceil(math.log10(values.min())), math.floor(math.log10(values.max())) + 1)
                  ] if len(values) else []
        axis |= {"format": ",d", **({"values": powers} if len(powers) >= 2 else {})}
    # padded, so that a bar ending at the largest value or a point at the smallest is drawn whole
    x = alt.X(f"{low}:Q", scale=alt.Scale(type="log" if log else "linear", padding=12, nice=False), title=x_title,
              axis=alt.Axis(**axis))
    y_axis, step = wrapped_axis(data["row"], 26)
    y = alt.Y("row:N", sort=list(data["row"]), title=y_title, axis=y_axis)
    color = alt.Color("kind:N", title=None, sort=kinds,
                      scale=alt.Scale(domain=kinds, range=CATEGORY_COLORS[4:4 + len(kinds)]),
                      legend=alt.Legend(orient="bottom", columns=1))
    tooltip = [alt.Tooltip(f"{c}:{'Q' if c in (low, high) else 'N'}", title=t) for c, t in headers.items()]
    bars = base.transform_filter(f"datum.kind == '{RANGE}'").mark_bar(height=12, cornerRadius=3).encode(
        x=x, x2=f"{high}:Q", y=y, color=color, tooltip=tooltip)
    points = base.transform_filter(f"datum.kind == '{SINGLE}'").mark_point(
        filled=True, size=110, opacity=1, shape="circle").encode(x=x, y=y, color=color, tooltip=tooltip)
    chart = alt.layer(bars, points, title=wrapped_title(title, subtitle)).properties(
        width="container", height=alt.Step(step))
    return data_table(chart, headers)


#: what a count of each kind is, for titles, legends and tables: a row of a findings table states one finding
UNITS = {"rows": "Findings (rows)", "studies": "Studies"}


def count_heatmap(df: pd.DataFrame, x: str, y: str, title: str, x_title: str, y_title: str,
                  value: str = "rows", show_zero: bool = False, subtitle: str = "") -> alt.Chart:
    """A heat map of counts over two labelled categories; tooltips list the studies in each cell.

    It fills the column's width at any screen width; put the category with more values on ``y`` (down the page),
    so that the map grows in height, not sideways. The subtitle says what each number counts.
    """
    base = alt.Chart(df)
    tooltip = [alt.Tooltip(f"{y}:N", title=y_title), alt.Tooltip(f"{x}:N", title=x_title),
               alt.Tooltip("rows:Q", title=UNITS["rows"]), alt.Tooltip("studies:Q", title="Studies"),
               alt.Tooltip("study_list:N", title="Which studies")]
    scale = alt.Scale(scheme="blues", domainMin=0)
    rect = base.mark_rect(stroke="white").encode(
        color=alt.condition(f"datum.{value} > 0",
                            alt.Color(f"{value}:Q", title=UNITS[value], scale=scale,
                                      legend=alt.Legend(orient="bottom", tickMinStep=1, format="d")),
                            alt.value("#f4f4f4" if show_zero else "transparent")),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.condition(f"datum.{value} > 0", alt.Text(f"{value}:Q"), alt.value("")),
        color=alt.condition(f"datum.{value} > 3", alt.value("white"), alt.value("black")),
        tooltip=tooltip,
    )
    y_axis, step = wrapped_axis(df[y].astype(str).unique(), 24)
    # title and legend from the left edge and below: nothing is cut off at a phone's width
    subtitle = subtitle or ("number: findings (evidence rows) in each cell"
                            if value == "rows" else "number: studies in each cell")
    chart = alt.layer(rect, text, title=wrapped_title(title, subtitle)).encode(
        x=alt.X(f"{x}:N", sort=_order(df[x]), title=x_title, axis=alt.Axis(labelAngle=-90, labelLimit=0)),
        y=alt.Y(f"{y}:N", sort=_order(df[y]), title=y_title, axis=y_axis),
    ).properties(width="container", height=alt.Step(step))
    return data_table(chart, {y: y_title, x: x_title, "rows": UNITS["rows"], "studies": "Studies",
                              "study_list": "Which studies"})


def level_bars(df: pd.DataFrame, category: str, title: str, category_title: str) -> alt.Chart:
    """Horizontal bars of findings (rows) per category, stacked by evidence level."""
    column = df["evidence_level"]
    # the levels in the vocabulary's order (the summary keeps it as the column's categories), weakest first
    levels = [str(c) for c in column.cat.categories] if isinstance(column.dtype, pd.CategoricalDtype) else sorted(
        column.astype(str).unique())
    y_axis, step = wrapped_axis(df[category].astype(str).unique(), 24)
    chart = alt.Chart(df, title=wrapped_title(title, "bars: findings (rows), by evidence level")).mark_bar().encode(
        y=alt.Y(f"{category}:N", sort=_order(df[category]), title=category_title, axis=y_axis),
        x=alt.X("sum(rows):Q", title=UNITS["rows"], axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("evidence_level:N", title="Evidence level", sort=levels,
                        scale=alt.Scale(domain=levels, range=LEVEL_COLORS)),
        order=alt.Order("level_order:Q"),
        tooltip=[alt.Tooltip(f"{category}:N", title=category_title),
                 alt.Tooltip("evidence_level:N", title="Evidence level"),
                 alt.Tooltip("rows:Q", title=UNITS["rows"]), alt.Tooltip("study_list:N", title="Studies")],
    ).transform_calculate(
        level_order=f"indexof({levels!r}, datum.evidence_level)"
    ).properties(width="container", height=alt.Step(step))
    return data_table(chart, {category: category_title, "evidence_level": "Evidence level", "rows": UNITS["rows"],
                              "studies": "Studies", "study_list": "Which studies"})


def _title(text: str, df: pd.DataFrame, note: str = "", largest: str = "") -> alt.TitleParams:
    """The chart title at the left edge (nothing cut off on a phone), with a subtitle: ``note``, and how many
    points are shown when the data were capped (those with the most ``largest``)."""
    import textwrap

    total = int(df["points_total"].iloc[0]) if "points_total" in df and len(df) else len(df)
    lines = textwrap.wrap(note, 48) if note else []  # lines that fit a phone's width
    if total > len(df):
        which = f"with the most {largest}" if largest else "shown"
        lines += textwrap.wrap(f"The {len(df)} {which}, of {total}; all are in the table below", 48)
    if not lines:
        return alt.TitleParams(text, anchor="start", frame="bounds")
    return alt.TitleParams(text, subtitle=lines, anchor="start", frame="bounds")


#: pixels kept free inside each end of a 0-1 axis: the largest point (area 600, radius 14) is drawn whole at 0 or 1
EDGE_PADDING = 16
#: characters of a point's first label line on a dot plot's axis; the full text is in the tooltip and the table
MARKER_LABEL = 30


def cut_label(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters after a word or a slash, with an ellipsis when cut."""
    import re

    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    head = text[: width - 1]
    ends = [m.end() for m in re.finditer(r"[ /,;]", head) if m.end() > width // 3]
    return (head[: ends[-1]] if ends else head).rstrip(" ,;") + "\u2026"


def _size_legend_values(counts: pd.Series) -> dict:
    """Round sizes for a size legend, within the counts drawn (none: vega's own ticks)."""
    counts = counts.dropna()
    if counts.empty:
        return {}
    low, high = float(counts.min()), float(counts.max())
    values = [v for v in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000) if low <= v <= high]
    # the smallest, a middle and the largest: the range of sizes drawn, in three symbols
    return {"values": sorted({values[0], values[len(values) // 2], values[-1]})} if len(values) >= 2 else {}


def _fraction_scale() -> alt.Scale:
    """A 0-1 scale padded at both ends (not rounded outwards), so that points at 0 or 1 are drawn whole."""
    return alt.Scale(domain=[0, 1], nice=False, padding=EDGE_PADDING)


def _titles(df: pd.DataFrame, headers: dict[str, str] | None) -> dict[str, str]:
    """Each column's words: ``headers`` over the declared titles the summary carries, over the name in words."""
    return {**df.attrs.get("titles", {}), **(headers or {})}


def _word(titles: dict[str, str], column: str) -> str:
    return titles.get(column) or column.replace("_", " ").capitalize()


def dot_plot(df: pd.DataFrame, x: str, *, title: str, note: str = "", size: str | None = None,
             color: str | None = None, rule: float | None = None, rule_title: str = "", fraction: bool = False,
             headers: dict[str, str] | None = None) -> alt.Chart:
    """One point per row of ``df`` (see ``summaries.means``) at ``x``, labelled by its ``label`` over lines; sized
    by ``size`` (a row without it is a fixed diamond, never dropped), coloured by ``color``, with a dashed line at
    ``rule`` (e.g. chance). ``fraction`` draws a 0-1 axis padded so that points at its ends are whole."""
    titles = _titles(df, headers)
    by = df.attrs.get("by") or ["label"]
    channels: dict = {}
    if color is not None:
        df, channels = categories(df, color, _word(titles, color), other=f"other {plural(_word(titles, color))}",
                                  legend=alt.Legend(orient="bottom", direction="vertical"))
    base = alt.Chart(df)
    scale = _fraction_scale() if fraction else alt.Scale(zero=False)
    x_enc = alt.X(f"{x}:Q", scale=scale, title=_word(titles, x), axis=alt.Axis(tickCount=5))
    # one line per label column: the first cut at a word (the tooltip and the table keep it whole)
    labels = axis_labels(list(df["label"]), [[cut_label(str(v[0]), MARKER_LABEL), *map(str, v[1:])]
                                             for v in zip(*(df[c] for c in by), strict=True)])
    y = alt.Y("label:N", sort=list(df["label"]), title=None, axis=alt.Axis(labelExpr=labels, labelLimit=0))
    shown = [*by, x, *([size] if size else []), *([color] if color else [])]
    tooltip = [alt.Tooltip(f"{c}:{'Q' if c in (x, size) else 'N'}", title=_word(titles, c),
                           **({"format": ".3f"} if c == x else {})) for c in shown] + [
        alt.Tooltip("study:N", title="Study")]
    layers = []
    if rule is not None:
        layers.append(alt.Chart(pd.DataFrame({x: [rule]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
            x=f"{x}:Q", tooltip=[alt.Tooltip(f"{x}:Q", title=rule_title or _word(titles, x))]))
    point_color = {"color": channels["color"]} if channels else {}
    if size is not None:
        layers.append(base.transform_filter(f"isValid(datum.{size})").mark_circle(
            opacity=0.8, stroke="black", strokeWidth=0.5).encode(
            x=x_enc, y=y, tooltip=tooltip, **point_color,
            size=alt.Size(f"{size}:Q", title=_word(titles, size), scale=alt.Scale(range=[40, 600]),
                          legend=alt.Legend(orient="bottom", direction="vertical", symbolFillColor="#888888",
                                            symbolStrokeColor="black", format="d",
                                            **_size_legend_values(df[size])))))
        layers.append(base.transform_filter(f"!isValid(datum.{size})").mark_point(
            shape="diamond", filled=True, size=80, opacity=0.8).encode(x=x_enc, y=y, tooltip=tooltip, **point_color))
    else:
        layers.append(base.mark_circle(size=90, opacity=0.85).encode(x=x_enc, y=y, tooltip=tooltip, **point_color))
    chart = alt.layer(*layers, title=_title(title, df, note, _word(titles, size).lower() if size else "")).properties(
        width="container", height=alt.Step(28))
    table = {c: _word(titles, c) for c in [*by, *([color] if color else []), x, *([size] if size else [])]}
    table[x] = f"{_word(titles, x)} (mean)"
    return data_table(chart, {**table, "rows": UNITS["rows"], "study": "Studies"})


def scatter_chart(df: pd.DataFrame, x: str, y: str, *, title: str, note: str = "", color: str | None = None,
                  fraction: bool = False, headers: dict[str, str] | None = None) -> alt.Chart:
    """One point per row of ``df`` (see ``summaries.means``) at (``x``, ``y``), coloured by ``color`` and, past
    eight categories, shaped, so that no two legend entries look alike."""
    titles = _titles(df, headers)
    by, size = df.attrs.get("by") or ["label"], df.attrs.get("size")
    channels: dict = {}
    if color is not None:
        df, channels = categories(df, color, _word(titles, color), shapes=True,
                                  other=f"other {plural(_word(titles, color))}")
    scale = _fraction_scale if fraction else (lambda: alt.Scale(zero=False))
    chart = alt.Chart(df, title=_title(title, df, note)).mark_point(filled=True, size=90, opacity=0.85).encode(
        x=alt.X(f"{x}:Q", scale=scale(), title=_word(titles, x), axis=alt.Axis(tickCount=5)),
        y=alt.Y(f"{y}:Q", scale=scale(), title=_word(titles, y), axis=alt.Axis(tickCount=5)),
        **channels,
        tooltip=[*(alt.Tooltip(f"{c}:N", title=_word(titles, c)) for c in by),
                 alt.Tooltip(f"{y}:Q", title=_word(titles, y), format=".3f"),
                 alt.Tooltip(f"{x}:Q", title=_word(titles, x), format=".3f"), alt.Tooltip("study:N", title="Study")],
    ).properties(width="container", height=320)
    return data_table(chart, {**{c: _word(titles, c) for c in by}, y: f"{_word(titles, y)} (mean)",
                              x: f"{_word(titles, x)} (mean)", **({size: _word(titles, size)} if size else {}),
                              "rows": UNITS["rows"], "study": "Studies"})


def claims_chart(df: pd.DataFrame) -> alt.Chart:
    """Rows behind each claim stacked by evidence level; contradicting rows extend to the left."""
    levels = [*df.attrs.get("levels", []), "No evidence level", "Contradicting"]
    order = list(dict.fromkeys(df.sort_values("id")["short"])) if "short" in df else []
    # title and legend anchored at the left edge, so that nothing is cut off on a phone
    title = alt.TitleParams("Findings behind each claim", subtitle=["findings (rows) by evidence level;",
                                                                     "contradicting findings left of 0"],
                            anchor="start", frame="bounds")
    chart = alt.Chart(df, title=title).mark_bar().encode(
        y=alt.Y("short:N", title=None, sort=order, axis=alt.Axis(labelLimit=190)),
        x=alt.X("sum(rows):Q", title=UNITS["rows"], axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("evidence:N", title="Evidence", sort=levels,
                        scale=alt.Scale(domain=levels, range=[*LEVEL_COLORS[:len(levels) - 2], NOT_GRADED_COLOR,
                                                              CONTRADICTING_COLOR]),
                        legend=alt.Legend(orient="bottom", direction="vertical", columns=1, labelLimit=130)),
        tooltip=[alt.Tooltip("claim_label:N", title="Claim"), alt.Tooltip("evidence:N", title="Evidence"),
                 alt.Tooltip("rows:Q", title=UNITS["rows"])],
    ).properties(width="container")  # the bars fill the column at any screen width
    return data_table(chart, {"id": "Claim", "claim": "Statement", "evidence": "Evidence",
                              "rows": "Findings (rows; contradicting below 0)"})


def growth_chart(df: pd.DataFrame) -> alt.Chart:
    """Distinct studies per publication year (each study once), stacked by table; empty years shown."""
    years = list(range(int(df["year"].min()), int(df["year"].max()) + 1)) if len(df) else []
    ticks = [y for y in years if y % 5 == 0] or years
    # the subtitle keeps a reader from taking the review's own coverage for the growth of the field
    title = alt.TitleParams("Studies in the review by publication year",
                            subtitle=["each study counted once", "this review's coverage, not the field's output"],
                            anchor="start", frame="bounds")
    df, channels = categories(df, "table", "Cited in", other="other tables",
                              legend=alt.Legend(orient="bottom", columns=1, labelLimit=260))
    chart = alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("year:O", title="Publication year", scale=alt.Scale(domain=years),
                axis=alt.Axis(values=ticks, labelAngle=0)),
        y=alt.Y("sum(studies):Q", title="Studies", axis=alt.Axis(tickMinStep=1, format="d")),
        color=channels["color"],
        tooltip=[alt.Tooltip("year:O", title="Year"), alt.Tooltip("table:N", title="Table"),
                 alt.Tooltip("studies:Q", title="Studies")],
    ).properties(width="container")
    return data_table(chart, {"year": "Publication year", "table": "Cited in", "studies": "Studies"})


def vocabulary_title(vocab: Vocabulary) -> str:
    """Axis title for a vocabulary: its name in words."""
    return vocab.name.replace("_", " ").capitalize()


CERTAINTY_COLORS = {"Not graded": "#e0e0e0", "Very low": "#d6604d", "Low": "#f4a582", "Moderate": "#92c5de",
                    "High": "#2166ac"}


def trajectory_chart(df: pd.DataFrame, labels: dict[str, str] | None = None) -> alt.Chart:
    """Each claim's certainty (colour) and supporting studies (number) at every release and now."""
    labels = labels or {}
    data = df.assign(label=df["id"].map(lambda i: labels.get(i, i)))
    order = list(dict.fromkeys(data.sort_values("order")["release"]))
    # short labels and the legend below keep the chart within a phone's width
    y = alt.Y("label:N", sort=list(dict.fromkeys(data.sort_values("id")["label"])), title=None,
              axis=alt.Axis(labelLimit=190))
    x = alt.X("release:O", sort=order, title="Release", axis=alt.Axis(labelAngle=0))
    tooltip = [alt.Tooltip("label:N", title="Claim"), alt.Tooltip("release:O", title="Release"),
               alt.Tooltip("certainty:N", title="Certainty"), alt.Tooltip("studies:Q", title="Supporting studies"),
               alt.Tooltip("against:Q", title="Contradicting studies")]
    base = alt.Chart(data)
    rect = base.mark_rect(stroke="white").encode(
        x=x, y=y, tooltip=tooltip,
        color=alt.Color("certainty:N", title="Certainty", sort=list(CERTAINTY_COLORS),
                        scale=alt.Scale(domain=list(CERTAINTY_COLORS), range=list(CERTAINTY_COLORS.values())),
                        legend=alt.Legend(orient="bottom", columns=2)))
    dark = [name for name in ("High", "Very low") if name in CERTAINTY_COLORS]
    text = base.mark_text(fontSize=11).encode(
        x=x, y=y, text=alt.Text("studies:Q"), tooltip=tooltip,
        color=alt.condition(alt.FieldOneOfPredicate("certainty", dark), alt.value("white"), alt.value("black")))
    title = alt.TitleParams("Certainty of each claim by release", subtitle="number: supporting studies")
    chart = alt.layer(rect, text, title=title).properties(width="container", height=alt.Step(22))
    return data_table(chart, {"label": "Claim", "release": "Release", "certainty": "Certainty",
                              "studies": "Supporting studies", "against": "Contradicting studies"})
