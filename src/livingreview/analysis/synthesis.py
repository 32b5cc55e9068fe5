"""A review's declared quantitative syntheses, computed from its evidence: pure functions, ``Evidence`` in, frames
and fitted models (``livingreview.meta``) out.

A review declares each synthesis in its ``review.yml`` (``synthesis:``: the table, the ``escalc`` measure and the
column of each of its arguments, the study label, the model, and the columns of its subgroups, meta-regressions
and cumulative order); chapters name it. Rows whose effect cells are all empty hold no effect data and are left
out; validation has already refused impossible values and half-filled rows (``effect_problems``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from livingreview import meta
from livingreview.checking.evidence import Evidence
from livingreview.model.declarations import Synthesis

__all__ = ["accumulated", "analysis", "by_subgroup", "effects", "pooled", "regression"]


def analysis(ev: Evidence, name: str) -> Synthesis:
    """The synthesis ``name`` as the review declares it."""
    declared = ev.declarations.synthesis if ev.declarations is not None else {}
    if name not in declared:
        raise KeyError(f"no synthesis {name!r} is declared in review.yml; declared: {', '.join(declared) or 'none'}")
    return declared[name]


def is_ratio(s: Synthesis) -> bool:
    """Whether the synthesis pools log ratios, shown as ratios."""
    return s.measure in meta.RATIO_MEASURES or (s.measure == "GEN" and s.ratio)


def _labels(frame: pd.DataFrame, s: Synthesis) -> list[str]:
    names = [str(v) if not pd.isna(v) else "" for v in frame[s.label]]
    if s.label_year is None:
        return names
    years = [("" if pd.isna(v) else str(v.year) if hasattr(v, "year") else str(v)) for v in frame[s.label_year]]
    return [f"{n} {y}".strip() for n, y in zip(names, years, strict=True)]


def _with_effect_data(frame: pd.DataFrame, s: Synthesis) -> pd.DataFrame:
    """The rows that hold effect data (any of the declared effect cells filled)."""
    cells = frame[[c for _, c in s.columns]]
    return frame[cells.notna().any(axis=1).to_numpy()]


def effects(ev: Evidence, name: str) -> pd.DataFrame:
    """One row per study with effect data: the table's columns, ``label``, ``yi`` and ``vi`` (``escalc``), and
    the study's estimate and confidence interval on the measure's own scale (``estimate``, ``ci_lb``, ``ci_ub``)."""
    from scipy import stats

    s = analysis(ev, name)
    rows = _with_effect_data(ev[s.table], s).reset_index(drop=True)
    labels = _labels(rows, s)
    numeric = pd.DataFrame({arg: pd.to_numeric(rows[column].astype(object), errors="coerce").astype(float)
                            for arg, column in s.columns})
    out = meta.escalc(s.measure, numeric, slab=labels, ratio=s.ratio, level=s.level,
                      **{arg: arg for arg, _ in s.columns})
    half = stats.norm.ppf(1 - (1 - s.level / 100) / 2) * np.sqrt(out["vi"].to_numpy())
    back = np.exp if is_ratio(s) else (lambda a: a)
    result = rows.assign(label=labels, yi=out["yi"].to_numpy(), vi=out["vi"].to_numpy())
    result = result.assign(estimate=back(result["yi"].to_numpy()), ci_lb=back(result["yi"].to_numpy() - half),
                           ci_ub=back(result["yi"].to_numpy() + half))
    result.attrs.update(measure=s.measure, synthesis=name, ratio=is_ratio(s))
    return result


def pooled(ev: Evidence, name: str, method: str | None = None) -> meta.RMAResult:
    """The pooled estimate of every study with effect data, by the declared model (or ``method``); one study gives
    a result with ``pooled`` False, none raises ``meta.CannotPool``."""
    s = analysis(ev, name)
    dat = effects(ev, name)
    return meta.rma(dat["yi"], dat["vi"], method=method or s.method, test=s.test, level=s.level)


def _in_vocabulary_order(dat: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows with a value in ``column``, its terms in their declared order, each group's rows in the data's order."""
    dat = dat[dat[column].notna()]
    codes = dat[column].cat.codes if isinstance(dat[column].dtype, pd.CategoricalDtype) else None
    if codes is None:
        return dat.reset_index(drop=True)
    return dat.iloc[np.argsort(codes.to_numpy(), kind="stable")].reset_index(drop=True)


def by_subgroup(ev: Evidence, name: str, column: str) -> tuple[pd.DataFrame, meta.SubgroupResult]:
    """The studies in subgroups of ``column`` (declared order of its terms) and each subgroup's pooled result with
    the test for subgroup differences."""
    s = analysis(ev, name)
    dat = _in_vocabulary_order(effects(ev, name), column)
    if dat.empty:
        raise meta.CannotPool(f"no study with effect data has a value in {column!r}")
    dat[column] = dat[column].astype(str)
    return dat, meta.subgroups(dat["yi"], dat["vi"], dat[column], method=s.method, test=s.test, level=s.level)


def regression(ev: Evidence, name: str, column: str) -> tuple[pd.DataFrame, meta.MetaRegResult]:
    """The studies with a value of the moderator ``column`` and the mixed-effects meta-regression on it."""
    s = analysis(ev, name)
    dat = effects(ev, name)
    dat = dat[dat[column].notna()].reset_index(drop=True)
    x = pd.Series(dat[column].astype(float).to_numpy(), name=column)
    return dat, meta.metareg(dat["yi"], dat["vi"], x, method=s.method, test=s.test, level=s.level)


def accumulated(ev: Evidence, name: str) -> pd.DataFrame:
    """The cumulative meta-analysis: the model refitted as each study is added in the declared order (its column,
    e.g. the year; the table's order without one), ties in the table's order."""
    s = analysis(ev, name)
    dat = effects(ev, name)
    order = None
    if s.cumulative is not None:
        dat = dat[dat[s.cumulative].notna()].reset_index(drop=True)
        order = list(dat[s.cumulative].astype(object))
    if dat.empty:
        raise meta.CannotPool("no study has effect data yet")
    out = meta.cumulative(dat["yi"], dat["vi"], order=order, method=s.method, test=s.test, level=s.level,
                          labels=dat["label"])
    out.attrs.update(measure=s.measure, ratio=is_ratio(s))
    return out
