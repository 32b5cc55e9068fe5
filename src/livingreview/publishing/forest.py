"""Forest plots of a meta-analysis as altair charts: pure functions, a DataFrame and a fitted model in, a chart out.

One row per study (its estimate as a square sized by its weight, its confidence interval as a line), the pooled
estimate as a diamond spanning its confidence interval, the prediction interval on a row of its own, and the
line of no effect. Ratio measures are drawn on their own scale (exp of the log ratio) on a log axis with round
ticks (0.1, 0.2, 0.5, 1, 2, 5, ...). Charts take the width of their container (a phone's 390 px or a 1400 px
screen); rows are labelled through a lookup on a numeric axis, so the diamond can span its interval in data
units. Every chart has a title, a subtitle with the heterogeneity line, a description (its text alternative)
and names the columns of its data table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from livingreview.meta import RATIO_MEASURES, RMAResult, SubgroupResult
from livingreview.publishing.figures import axis_labels, data_table

#: pixels per row; the chart's height follows its number of rows
ROW = 24
#: half the diamond's height, in rows
DIAMOND = 0.4
#: candidate ticks of a ratio axis: round numbers a reader recognises
RATIO_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
STUDY_COLOR = "#4d4d4d"
POOLED_COLOR = "#08306b"
SUBGROUP_COLOR = "#2171b5"

METHOD_NAMES = {"EE": "Equal-effects model", "DL": "Random-effects model (DerSimonian-Laird)",
                "HE": "Random-effects model (Hedges)", "SJ": "Random-effects model (Sidik-Jonkman)",
                "PM": "Random-effects model (Paule-Mandel)", "ML": "Random-effects model (ML)",
                "REML": "Random-effects model (REML)"}


def _is_ratio(measure: str | None, ratio: bool | None) -> bool:
    return bool(ratio) if ratio is not None else str(measure or "").upper() in RATIO_MEASURES


def _num(x: float, digits: int = 2) -> str:
    """A number for a sentence: ``digits`` decimals, or 3 significant digits when that would show 0."""
    if x != x:
        return "n/a"
    text = f"{x:.{digits}f}"
    return f"{x:.3g}" if float(text) == 0 and x != 0 else text


#: a space a subtitle never breaks at, so "p < 0.001" or "0.34 to 0.70" stays on one line
NBSP = "\u00a0"


def _p(p: float) -> str:
    return f"p{NBSP}<{NBSP}0.001" if p < 0.001 else f"p{NBSP}={NBSP}{p:.3f}"


def _range(lo: float, hi: float) -> str:
    return f"{_num(lo)}{NBSP}to{NBSP}{_num(hi)}"


def heterogeneity_line(res: RMAResult) -> str:
    """tau^2, I^2 and the Q test of a fitted model in one line (empty for a single study)."""
    if not res.pooled:
        return ""
    parts = [] if res.method == "EE" else [f"τ²{NBSP}={NBSP}{_num(res.tau2, 3)}"]
    parts += [f"I²{NBSP}={NBSP}{res.I2:.1f}%",
              f"Q{NBSP}={NBSP}{res.QE:.2f} (df{NBSP}={NBSP}{res.k - 1}, {_p(res.QEp)})"]
    return "; ".join(parts)


def pooled_sentence(res: RMAResult, ratio: bool, name: str = "estimate") -> str:
    """The pooled estimate with its confidence and prediction intervals, on the measure's own scale."""
    p = res.transf(np.exp) if ratio else res.predict()
    level = f"{res.level:g}%"
    if not res.pooled:
        return f"one study ({name} {_num(p.pred)}, {level} CI {_range(p.ci_lb, p.ci_ub)}): nothing to pool"
    text = f"{name} {_num(p.pred)} ({level} CI {_range(p.ci_lb, p.ci_ub)})"
    if res.method != "EE":
        text += f", {level} prediction interval {_range(p.pi_lb, p.pi_ub)}"
    return text


def _study_frame(studies: pd.DataFrame, label: str, yi: str, vi: str | None, ci_lb: str | None,
                 ci_ub: str | None, weight: str | None, res: RMAResult | None, level: float,
                 ratio: bool) -> pd.DataFrame:
    y = studies[yi].to_numpy(dtype=float)
    if ci_lb is not None and ci_ub is not None:
        lo, hi = studies[ci_lb].to_numpy(dtype=float), studies[ci_ub].to_numpy(dtype=float)
    elif vi is not None:
        half = stats.norm.ppf(1 - (1 - level / 100) / 2) * np.sqrt(studies[vi].to_numpy(dtype=float))
        lo, hi = y - half, y + half
    else:
        raise ValueError("a forest plot needs each study's interval: give vi, or ci_lb and ci_ub")
    if weight is not None:
        w = studies[weight].to_numpy(dtype=float)
    elif res is not None and res.pooled and len(res.weights) == len(studies):
        w = np.asarray(res.weights)
    else:
        w = np.full(len(studies), 100 / max(1, len(studies)))
    f = np.exp if ratio else (lambda a: a)
    return pd.DataFrame({"label": [str(v) for v in studies[label]], "estimate": f(y), "ci_lb": f(lo),
                         "ci_ub": f(hi), "weight": w})


def _diamond(res: RMAResult, row: float, ratio: bool, name: str) -> pd.DataFrame:
    p = res.transf(np.exp) if ratio else res.predict()
    return pd.DataFrame({"x": [p.ci_lb, p.pred, p.ci_ub], "top": [row, row - DIAMOND, row],
                         "bottom": [row, row + DIAMOND, row], "model": name, "estimate": p.pred,
                         "ci_lb": p.ci_lb, "ci_ub": p.ci_ub})


def _ticks(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """The domain of a ratio axis (padded to round ticks, always holding 1) and its ticks."""
    finite = [v for v in values if v > 0 and math.isfinite(v)] + [1.0]
    lo, hi = min(finite), max(finite)
    below = [t for t in RATIO_TICKS if t <= lo]
    above = [t for t in RATIO_TICKS if t >= hi]
    lo_t = below[-1] if below else lo
    hi_t = above[0] if above else hi
    ticks = [t for t in RATIO_TICKS if lo_t <= t <= hi_t]
    if len(ticks) > 9:  # a phone's axis has room for about nine labels: keep the 1-2-5 steps that are powers of 10
        ticks = [t for t in ticks if math.isclose(math.log10(t), round(math.log10(t))) or t == 1]
    return [lo_t, hi_t], ticks


def _chart(rows: list[tuple[float, str]], studies: pd.DataFrame, diamonds: list[pd.DataFrame],
           intervals: pd.DataFrame, ratio: bool, null: float | None, title: str, subtitle: list[str],
           xlabel: str, description: str, headers: Sequence[float] = (), sized: bool = True) -> alt.LayerChart:
    """Layer the study rows, diamonds and prediction intervals on one numeric row axis labelled by lookup."""
    positions = [r for r, _ in rows]
    labels = axis_labels([str(int(r)) for r in positions], [[text] for _, text in rows])
    y_scale = alt.Scale(domain=[min(positions) - 0.8, max(positions) + 0.8], reverse=True, nice=False, zero=False)
    bold = alt.ExprRef(f"indexof({[int(h) for h in headers]}, datum.value) >= 0 ? 'bold' : 'normal'")
    y_axis = alt.Axis(values=positions, labelExpr=labels.replace("[datum.value]", "[''+datum.value]"), title=None,
                      grid=False, ticks=False, domain=False, labelLimit=0, labelFontSize=11, labelFontWeight=bold)
    values = [*studies["ci_lb"], *studies["ci_ub"], *(v for d in diamonds for v in d["x"]),
              *intervals.get("lo", []), *intervals.get("hi", [])]
    if ratio:
        domain, ticks = _ticks(values)
        x_scale = alt.Scale(type="log", domain=domain, nice=False)
        # on a phone the small ratios crowd together: vega then drops every other label rather than overlap them
        x_axis = alt.Axis(values=ticks, format="~g", title=xlabel, grid=False, labelOverlap="greedy",
                          labelSeparation=6)
    else:
        finite = [v for v in values if math.isfinite(v)] + ([null] if null is not None else [])
        x_scale = alt.Scale(domain=[min(finite), max(finite)], nice=True, zero=False)
        x_axis = alt.Axis(title=xlabel, grid=False, tickCount=6)
    x = alt.X("estimate:Q", scale=x_scale, axis=x_axis)
    y = alt.Y("row:Q", scale=y_scale, axis=y_axis)
    fmt = ".3f"
    tooltip = [alt.Tooltip("label:N", title="Study"), alt.Tooltip("estimate:Q", title="Estimate", format=fmt),
               alt.Tooltip("ci_lb:Q", title="CI lower", format=fmt),
               alt.Tooltip("ci_ub:Q", title="CI upper", format=fmt),
               alt.Tooltip("weight:Q", title="Weight (%)", format=".1f")]
    base = alt.Chart(studies)
    layers: list[alt.Chart] = []
    if null is not None:
        layers.append(alt.Chart(pd.DataFrame({"estimate": [null]})).mark_rule(color="#999999", strokeDash=[4, 3])
                      .encode(x=x))
    layers.append(base.mark_rule(color=STUDY_COLOR).encode(x=alt.X("ci_lb:Q", scale=x_scale, axis=x_axis),
                                                           x2="ci_ub:Q", y=y, tooltip=tooltip))
    size = (alt.Size("weight:Q", scale=alt.Scale(range=[15, 260], zero=False), legend=None) if sized
            else alt.value(70))
    layers.append(base.mark_square(color=STUDY_COLOR, opacity=0.9).encode(x=x, y=y, tooltip=tooltip, size=size))
    if len(intervals):
        pi_tip = [alt.Tooltip("label:N", title="Interval"), alt.Tooltip("lo:Q", title="Lower", format=fmt),
                  alt.Tooltip("hi:Q", title="Upper", format=fmt)]
        layers.append(alt.Chart(intervals).mark_rule(color=POOLED_COLOR, strokeWidth=2, strokeDash=[6, 3]).encode(
            x=alt.X("lo:Q", scale=x_scale, axis=x_axis), x2="hi:Q", y=y, tooltip=pi_tip))
    for d in diamonds:
        color = POOLED_COLOR if d["kind"].iloc[0] == "overall" else SUBGROUP_COLOR
        d_tip = [alt.Tooltip("model:N", title="Model"), alt.Tooltip("estimate:Q", title="Pooled", format=fmt),
                 alt.Tooltip("ci_lb:Q", title="CI lower", format=fmt), alt.Tooltip("ci_ub:Q", title="CI upper",
                                                                                 format=fmt)]
        layers.append(alt.Chart(d).mark_area(color=color, opacity=0.95, line={"color": color}).encode(
            x=alt.X("x:Q", scale=x_scale, axis=x_axis), y=alt.Y("top:Q", scale=y_scale, axis=y_axis),
            y2="bottom:Q", tooltip=d_tip))
    chart = alt.layer(*layers, title=alt.TitleParams(title, subtitle=subtitle, anchor="start", frame="bounds"))
    chart = chart.properties(width="container", height=ROW * (max(positions) - min(positions) + 2),
                             description=description)
    return data_table(chart, {"label": "Study", "estimate": "Estimate", "ci_lb": "CI lower", "ci_ub": "CI upper",
                              "weight": "Weight (%)"})


def _wrap(text: str, width: int = 52) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [text]


def forest(studies: pd.DataFrame, result: RMAResult | None, *, label: str = "label", yi: str = "yi",
           vi: str | None = "vi", ci_lb: str | None = None, ci_ub: str | None = None, weight: str | None = None,
           measure: str | None = None, ratio: bool | None = None, title: str = "Forest plot",
           xlabel: str | None = None, model_label: str | None = None) -> alt.LayerChart:
    """A forest plot of ``studies`` (one row each, in the frame's order) with the pooled ``result``.

    ``yi`` and ``vi`` (or ``ci_lb`` and ``ci_ub``) are on the analysis scale (log ratios for ``RR``/``OR`` or
    ``ratio=True``, which are drawn as ratios on a log axis). ``weight`` defaults to the model's weights. A
    ``result`` that pooled nothing (one study) or is None draws no diamond and says so.
    """
    is_ratio = _is_ratio(measure, ratio)
    level = result.level if result is not None else 95
    frame = _study_frame(studies, label, yi, vi, ci_lb, ci_ub, weight, result, level, is_ratio)
    n = len(frame)
    frame["row"] = np.arange(n, dtype=float)
    rows = list(zip(frame["row"], frame["label"], strict=True))
    diamonds: list[pd.DataFrame] = []
    intervals = pd.DataFrame(columns=["row", "lo", "hi", "label"])
    name = (measure or "estimate").upper() if measure else "estimate"
    subtitle: list[str] = []
    if result is not None and result.pooled:
        model = model_label or METHOD_NAMES.get(result.method, result.method)
        diamonds.append(_diamond(result, n + 1, is_ratio, model).assign(kind="overall"))
        rows.append((n + 1, model))
        sentence = pooled_sentence(result, is_ratio, name)
        if result.method != "EE":
            p = result.transf(np.exp) if is_ratio else result.predict()
            intervals = pd.DataFrame({"row": [n + 2], "lo": [p.pi_lb], "hi": [p.pi_ub],
                                      "label": [f"{result.level:g}% prediction interval"]})
            rows.append((n + 2, f"{result.level:g}% prediction interval"))
        subtitle = _wrap(f"{model}: {sentence}") + _wrap(heterogeneity_line(result))
    else:
        sentence = (pooled_sentence(result, is_ratio, name) if result is not None
                    else "no pooled estimate")
        subtitle = _wrap(f"{n} {'study' if n == 1 else 'studies'}: {sentence}" if result is None else sentence)
    description = (f"{title}. {n} {'study' if n == 1 else 'studies'}, each a square (size: weight) with its "
                   f"confidence interval; {'ratio scale, log axis' if is_ratio else 'linear axis'}. "
                   + " ".join(subtitle))
    xlabel = xlabel or (f"{name} (log scale)" if is_ratio else name)
    return _chart(rows, frame, diamonds, intervals, is_ratio, 1.0 if is_ratio else 0.0, title, subtitle, xlabel,
                  description)


def cumulative_plot(cum: pd.DataFrame, *, measure: str | None = None, ratio: bool | None = None,
                    title: str = "Cumulative meta-analysis", xlabel: str | None = None) -> alt.LayerChart:
    """The pooled estimate and its CI after each study is added (rows of ``meta.cumulative``), top to bottom."""
    is_ratio = _is_ratio(measure, ratio)
    f = np.exp if is_ratio else (lambda a: a)
    frame = pd.DataFrame({"label": ["+ " + str(v) for v in cum["added"]],
                          "estimate": f(cum["estimate"].to_numpy(dtype=float)),
                          "ci_lb": f(cum["ci_lb"].to_numpy(dtype=float)),
                          "ci_ub": f(cum["ci_ub"].to_numpy(dtype=float)),
                          "weight": np.full(len(cum), 100.0), "k": cum["k"].to_numpy()})
    frame["row"] = np.arange(len(frame), dtype=float)
    rows = list(zip(frame["row"], frame["label"], strict=True))
    name = (measure or "estimate").upper() if measure else "estimate"
    last = frame.iloc[-1] if len(frame) else None
    subtitle = _wrap("each row pools the studies down to it; "
                     + (f"all {int(last['k'])}: {name} {_num(last['estimate'])} "
                        f"(CI {_range(last['ci_lb'], last['ci_ub'])})" if last is not None else "no study"))
    description = (f"{title}. {len(frame)} rows, the pooled {name} with its confidence interval as each study is "
                   f"added. " + " ".join(subtitle))
    chart = _chart(rows, frame, [], pd.DataFrame(columns=["row", "lo", "hi", "label"]), is_ratio,
                   1.0 if is_ratio else 0.0, title, subtitle, xlabel or (f"{name} (log scale)" if is_ratio else name),
                   description, sized=False)
    return data_table(chart, {"label": "Study added", "k": "Studies pooled", "estimate": "Pooled estimate",
                              "ci_lb": "CI lower", "ci_ub": "CI upper"})


def pooled_trajectory_plot(points: pd.DataFrame, *, measure: str | None = None, ratio: bool | None = None,
                           title: str = "Pooled estimate by release", xlabel: str | None = None) -> alt.LayerChart:
    """A claim's pooled estimate and its CI at each release and now (``points``: ``release``, ``estimate``,
    ``lower``, ``upper``, ``pooled_studies``, already on the printed scale), oldest at the top."""
    is_ratio = _is_ratio(measure, ratio)
    frame = pd.DataFrame({"label": [str(r) for r in points["release"]],
                          "estimate": points["estimate"].to_numpy(dtype=float),
                          "ci_lb": points["lower"].to_numpy(dtype=float),
                          "ci_ub": points["upper"].to_numpy(dtype=float),
                          "weight": np.full(len(points), 100.0),
                          "k": points["pooled_studies"].to_numpy()})
    frame["row"] = np.arange(len(frame), dtype=float)
    rows = list(zip(frame["row"], frame["label"], strict=True))
    name = (measure or "estimate").upper() if measure else "estimate"
    last = frame.iloc[-1]
    subtitle = _wrap(f"now: {name} {_num(last['estimate'])} (CI {_range(last['ci_lb'], last['ci_ub'])}), "
                     f"{int(last['k'])} studies")
    description = (f"{title}. {len(frame)} rows, one per release and the current build, each the pooled {name} "
                   "with its confidence interval. " + " ".join(subtitle))
    chart = _chart(rows, frame, [], pd.DataFrame(columns=["row", "lo", "hi", "label"]), is_ratio,
                   1.0 if is_ratio else 0.0, title, subtitle, xlabel or (f"{name} (log scale)" if is_ratio else name),
                   description, sized=False)
    return data_table(chart, {"label": "Release", "k": "Studies pooled", "estimate": "Pooled estimate",
                              "ci_lb": "CI lower", "ci_ub": "CI upper"})


def subgroup_forest(studies: pd.DataFrame, group: str, result: SubgroupResult, overall: RMAResult | None = None, *,
                    label: str = "label", yi: str = "yi", vi: str = "vi", measure: str | None = None,
                    ratio: bool | None = None, title: str = "Forest plot by subgroup",
                    xlabel: str | None = None) -> alt.LayerChart:
    """A forest plot with a block per subgroup (its studies and its diamond), the overall diamond and the test for
    subgroup differences; subgroups in the order of ``result.groups``."""
    is_ratio = _is_ratio(measure, ratio)
    name = (measure or "estimate").upper() if measure else "estimate"
    parts, rows, diamonds, headers, row = [], [], [], [], 0.0
    for level_name, fit in result.groups.items():
        members = studies[studies[group].astype(str) == level_name]
        headers.append(row)
        rows.append((row, f"{level_name} ({fit.k} {'study' if fit.k == 1 else 'studies'})"))
        row += 1
        block = _study_frame(members, label, yi, vi, None, None, None, fit, fit.level, is_ratio)
        block["row"] = row + np.arange(len(block), dtype=float)
        block["subgroup"] = level_name
        rows += list(zip(block["row"], block["label"], strict=True))
        parts.append(block)
        row += len(block)
        if fit.pooled:
            diamonds.append(_diamond(fit, row, is_ratio, f"{level_name}: {METHOD_NAMES.get(fit.method, fit.method)}")
                            .assign(kind="subgroup"))
            rows.append((row, f"{level_name}: pooled"))
            row += 1
        row += 1
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["label", "estimate", "ci_lb", "ci_ub", "weight", "row", "subgroup"])
    subtitle = []
    if overall is not None and overall.pooled:
        model = METHOD_NAMES.get(overall.method, overall.method)
        diamonds.append(_diamond(overall, row, is_ratio, f"All studies: {model}").assign(kind="overall"))
        rows.append((row, "All studies"))
        headers.append(row)
        subtitle += _wrap(f"All studies, {model}: {pooled_sentence(overall, is_ratio, name)}")
    if result.QMdf:
        subtitle += _wrap(f"Test for subgroup differences: QM{NBSP}={NBSP}{result.QM:.2f} "
                          f"(df{NBSP}={NBSP}{result.QMdf}, {_p(result.QMp)})")
    pooled = "; ".join(f"{g}: {pooled_sentence(fit, is_ratio, name)}" for g, fit in result.groups.items())
    description = (f"{title}. {len(frame)} studies in {len(result.groups)} subgroups, each with its pooled "
                   f"diamond ({pooled}). " + " ".join(subtitle))
    chart = _chart(rows, frame, diamonds, pd.DataFrame(columns=["row", "lo", "hi", "label"]), is_ratio,
                   1.0 if is_ratio else 0.0, title, subtitle, xlabel or (f"{name} (log scale)" if is_ratio else name),
                   description, headers=headers)
    return data_table(chart, {"subgroup": "Subgroup", "label": "Study", "estimate": "Estimate", "ci_lb": "CI lower",
                              "ci_ub": "CI upper", "weight": "Weight in subgroup (%)"})
