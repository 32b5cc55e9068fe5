"""Pure chart builders: a summary DataFrame in, an ``alt.Chart`` out.

Every chart has a title, labelled axes and legends in the vocabulary's words, and tooltips.
Data arrive aggregated (see ``summaries``), so no chart carries more than a few hundred rows.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from livingreview.vocab import EVIDENCE_LEVEL, Vocabulary

#: colour palettes, each checked for colour-blind safety (tests/test_figures.py): evidence levels are ordered, so one
#: hue from light to dark; categories use Okabe and Ito's palette (repeating past eight)
LEVEL_COLORS = ["#c6dbef", "#6baed6", "#2171b5", "#08306b"]
NOT_GRADED_COLOR = "#bdbdbd"
CONTRADICTING_COLOR = "#e6550d"
CATEGORY_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
CATEGORIES = alt.Scale(range=CATEGORY_COLORS)
WIDTH = 640


def _order(series: pd.Series) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = set(series.astype(str))
        return [c for c in series.cat.categories if c in present]
    return sorted(series.astype(str).unique())


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


def size_range_chart(df: pd.DataFrame) -> alt.Chart:
    """Interval marks from minimum to maximum reported diameter per EV subtype (log scale)."""
    base = alt.Chart(df, title=wrapped_title("Reported size ranges of EV subtypes"))
    x = alt.X("size_nm_min:Q", scale=alt.Scale(type="log"), title="Diameter (nm, log scale)",
              axis=alt.Axis(labelOverlap="greedy", labelFlush=True))
    y_axis, step = wrapped_axis(df["row"], 26)
    y = alt.Y("row:N", sort=list(df["row"]), title="Subtype (source)", axis=y_axis)
    tooltip = [alt.Tooltip("subtype:N", title="Subtype"), alt.Tooltip("size_nm_min:Q", title="Min (nm)"),
               alt.Tooltip("size_nm_max:Q", title="Max (nm)"), alt.Tooltip("studies:N", title="Studies")]
    bars = base.mark_bar(height=12, cornerRadius=3).encode(x=x, x2="size_nm_max:Q", y=y,
                                                           color=alt.Color("subtype:N", title="Subtype",
                                                                           scale=CATEGORIES,
                                                                           sort=_order(df["subtype"]),
                                                                           legend=alt.Legend(orient="bottom",
                                                                                             columns=1)),
                                                           tooltip=tooltip)
    ticks = base.mark_tick(thickness=2, size=16, color="black").encode(x=x, y=y, tooltip=tooltip)
    return (bars + ticks).properties(width="container", height=alt.Step(step))


def count_heatmap(df: pd.DataFrame, x: str, y: str, title: str, x_title: str, y_title: str,
                  value: str = "rows", show_zero: bool = False) -> alt.Chart:
    """A heat map of counts over two labelled categories; tooltips list the studies in each cell.

    It fills the column's width at any screen width; put the category with more values on ``y`` (down the page),
    so that the map grows in height, not sideways.
    """
    base = alt.Chart(df)
    tooltip = [alt.Tooltip(f"{y}:N", title=y_title), alt.Tooltip(f"{x}:N", title=x_title),
               alt.Tooltip("rows:Q", title="Rows"), alt.Tooltip("studies:Q", title="Studies"),
               alt.Tooltip("study_list:N", title="Which")]
    scale = alt.Scale(scheme="blues", domainMin=0)
    rect = base.mark_rect(stroke="white").encode(
        color=alt.condition(f"datum.{value} > 0",
                            alt.Color(f"{value}:Q", title="Rows" if value == "rows" else "Studies", scale=scale,
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
    return alt.layer(rect, text, title=wrapped_title(title)).encode(
        x=alt.X(f"{x}:N", sort=_order(df[x]), title=x_title, axis=alt.Axis(labelAngle=-90, labelLimit=0)),
        y=alt.Y(f"{y}:N", sort=_order(df[y]), title=y_title, axis=y_axis),
    ).properties(width="container", height=alt.Step(step))


def level_bars(df: pd.DataFrame, category: str, title: str, category_title: str) -> alt.Chart:
    """Horizontal bars of rows per category, stacked by evidence level."""
    levels = [EVIDENCE_LEVEL.label(t) for t in EVIDENCE_LEVEL.values]
    y_axis, step = wrapped_axis(df[category].astype(str).unique(), 24)
    return alt.Chart(df, title=wrapped_title(title)).mark_bar().encode(
        y=alt.Y(f"{category}:N", sort=_order(df[category]), title=category_title, axis=y_axis),
        x=alt.X("sum(rows):Q", title="Rows"),
        color=alt.Color("evidence_level:N", title="Evidence level", sort=levels,
                        scale=alt.Scale(domain=levels, range=LEVEL_COLORS)),
        order=alt.Order("level_order:Q"),
        tooltip=[alt.Tooltip(f"{category}:N", title=category_title),
                 alt.Tooltip("evidence_level:N", title="Evidence level"), alt.Tooltip("rows:Q", title="Rows"),
                 alt.Tooltip("study_list:N", title="Studies")],
    ).transform_calculate(
        level_order=f"indexof({levels!r}, datum.evidence_level)"
    ).properties(width="container", height=alt.Step(step))


def pipeline_chart(df: pd.DataFrame) -> alt.Chart:
    """Strategy x development stage: how far each therapeutic strategy has come."""
    return count_heatmap(df, "stage", "strategy", "Therapeutic strategies by furthest stage reached",
                         "Development stage", "Strategy", show_zero=True)


def _title(text: str, df: pd.DataFrame, note: str = "") -> alt.TitleParams:
    """The chart title at the left edge (nothing cut off on a phone), with a subtitle: ``note``, and how many
    points are shown when the data were capped."""
    total = int(df["points_total"].iloc[0]) if "points_total" in df and len(df) else len(df)
    lines = [note] if note else []
    if total > len(df):
        lines.append(f"The {len(df)} with the most patients, of {total}; all are in the table below")
    if not lines:
        return alt.TitleParams(text, anchor="start", frame="bounds")
    return alt.TitleParams(text, subtitle=lines, anchor="start", frame="bounds")


def auc_dotplot(df: pd.DataFrame) -> alt.Chart:
    """AUC per marker and cancer: size = patients, colour = cargo class, with a 0.5 (chance) line.

    Rows whose study gives no patient count are drawn as fixed-size diamonds rather than dropped.
    """
    base = alt.Chart(df, title=_title("Diagnostic accuracy (AUC) of EV markers", df,
                                      "size: patients; diamond: no count; dashed: chance"))
    x = alt.X("auc:Q", scale=alt.Scale(domain=[0, 1]), title="AUC", axis=alt.Axis(tickCount=5))
    # marker descriptions run to several lines; wrapped, each row would be as tall as the longest: they are
    # shortened here and given in full in the tooltip and the table under the chart
    y = alt.Y("label:N", sort=list(df["label"]), title=None, axis=alt.Axis(labelLimit=170))
    color = alt.Color("cargo_class:N", title="Cargo class", scale=CATEGORIES,
                      legend=alt.Legend(orient="bottom", columns=1))
    tooltip = [alt.Tooltip("marker:N", title="Marker"), alt.Tooltip("cancer:N", title="Cancer"),
               alt.Tooltip("auc:Q", title="AUC", format=".3f"), alt.Tooltip("n_patients:Q", title="Patients"),
               alt.Tooltip("cargo_class:N", title="Cargo class"), alt.Tooltip("study:N", title="Study")]
    sized = base.transform_filter("isValid(datum.n_patients)").mark_circle(
        opacity=0.8, stroke="black", strokeWidth=0.5).encode(
        x=x, y=y, color=color, tooltip=tooltip,
        # the subtitle says what size means; a second legend beside the first would not fit a phone
        size=alt.Size("n_patients:Q", title="Patients", scale=alt.Scale(range=[40, 600]), legend=None))
    unsized = base.transform_filter("!isValid(datum.n_patients)").mark_point(
        shape="diamond", filled=True, size=80, opacity=0.8).encode(x=x, y=y, color=color, tooltip=tooltip)
    chance = alt.Chart(pd.DataFrame({"auc": [0.5]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
        x="auc:Q", tooltip=[alt.Tooltip("auc:Q", title="Chance (AUC)")])
    return (chance + sized + unsized).properties(width="container")


def sens_spec_chart(df: pd.DataFrame) -> alt.Chart:
    """Reported sensitivity against specificity, one point per biomarker row."""
    return alt.Chart(df, title=_title("Sensitivity and specificity where reported", df)).mark_point(
        filled=True, size=90).encode(
        x=alt.X("specificity:Q", scale=alt.Scale(domain=[0, 1]), title="Specificity", axis=alt.Axis(tickCount=5)),
        y=alt.Y("sensitivity:Q", scale=alt.Scale(domain=[0, 1]), title="Sensitivity", axis=alt.Axis(tickCount=5)),
        color=alt.Color("cancer:N", title="Cancer", scale=CATEGORIES, legend=alt.Legend(orient="bottom", columns=1)),
        tooltip=[alt.Tooltip("marker:N", title="Marker"), alt.Tooltip("cancer:N", title="Cancer"),
                 alt.Tooltip("sensitivity:Q", title="Sensitivity", format=".3f"),
                 alt.Tooltip("specificity:Q", title="Specificity", format=".3f"),
                 alt.Tooltip("study:N", title="Study")],
    ).properties(width="container", height=320)


def claims_chart(df: pd.DataFrame) -> alt.Chart:
    """Rows behind each claim stacked by evidence level; contradicting rows extend to the left."""
    levels = [EVIDENCE_LEVEL.label(t) for t in EVIDENCE_LEVEL.values] + ["No evidence level", "Contradicting"]
    order = list(dict.fromkeys(df.sort_values("id")["short"])) if "short" in df else []
    # title and legend anchored at the left edge, so that nothing is cut off on a phone
    title = alt.TitleParams("Evidence behind each claim", subtitle="rows by evidence level; contradicting rows "
                                                                   "left of 0", anchor="start", frame="bounds")
    return alt.Chart(df, title=title).mark_bar().encode(
        y=alt.Y("short:N", title=None, sort=order, axis=alt.Axis(labelLimit=150)),
        x=alt.X("sum(rows):Q", title="Rows"),
        color=alt.Color("evidence:N", title="Evidence", sort=levels,
                        scale=alt.Scale(domain=levels, range=[*LEVEL_COLORS, NOT_GRADED_COLOR, CONTRADICTING_COLOR]),
                        legend=alt.Legend(orient="bottom", direction="vertical", columns=1, labelLimit=130)),
        tooltip=[alt.Tooltip("claim_label:N", title="Claim"), alt.Tooltip("evidence:N", title="Evidence"),
                 alt.Tooltip("rows:Q", title="Rows")],
    ).properties(width="container")  # the bars fill the column at any screen width


def growth_chart(df: pd.DataFrame) -> alt.Chart:
    """Distinct studies per publication year (each study once), stacked by table; empty years shown."""
    years = list(range(int(df["year"].min()), int(df["year"].max()) + 1)) if len(df) else []
    ticks = [y for y in years if y % 5 == 0] or years
    # the subtitle keeps a reader from taking the review's own coverage for the growth of the field
    title = alt.TitleParams("Studies in the review by publication year",
                            subtitle=["each study counted once", "this review's coverage, not the field's output"],
                            anchor="start", frame="bounds")
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("year:O", title="Publication year", scale=alt.Scale(domain=years),
                axis=alt.Axis(values=ticks, labelAngle=0)),
        y=alt.Y("sum(studies):Q", title="Studies", axis=alt.Axis(tickMinStep=1, format="d")),
        color=alt.Color("table:N", title="Cited in", scale=CATEGORIES,
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=260)),
        tooltip=[alt.Tooltip("year:O", title="Year"), alt.Tooltip("table:N", title="Table"),
                 alt.Tooltip("studies:Q", title="Studies")],
    ).properties(width="container")


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
    title = alt.TitleParams("Certainty by release", subtitle="number: supporting studies")
    return alt.layer(rect, text, title=title).properties(width="container", height=alt.Step(22))
