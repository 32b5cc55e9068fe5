"""Claims that rest on a pooled estimate: the pooled result a claim's selector reads, whether the claim holds,
the studies it rests on, and its certainty (``certainty.rate_pooled``) with its fragility.

A claim names a declared synthesis in its ``synthesis`` cell and compares fields of the pooled result in its
``where`` cell (``checking.claims.POOLED_FIELDS``); validation has refused unknown syntheses and fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from livingreview import meta
from livingreview.analysis import synthesis as syn
from livingreview.analysis.certainty import RATINGS, Basis, PooledSummary, Rating, rate_pooled
from livingreview.checking.claims import moderator_of, parse_selector, pooled_holds
from livingreview.checking.evidence import Evidence

__all__ = ["Pooled", "claim_pooled", "claim_rows", "rate_claim", "synthesis_of"]


@dataclass(frozen=True)
class Pooled:
    """One synthesis pooled as its review declares it, on the scale the book prints (ratios back-transformed)."""

    synthesis: str
    measure: str
    ratio: bool
    estimate: float
    lower: float
    upper: float
    pi_lower: float
    pi_upper: float
    i_squared: float
    tau_squared: float
    p: float
    studies: int
    #: the value of no effect on the printed scale (1 for a ratio, 0 for a difference; None for a proportion)
    null: float | None
    #: participants in the studies pooled, where the measure's columns count them (None otherwise)
    participants: int | None
    #: ids of the rows pooled, in the table's order
    rows: tuple[str, ...]
    #: the confidence level of its intervals, in percent
    level: float = 95
    #: (moderator, slope, its CI's lower and upper limits, p) of each declared moderator's meta-regression
    slopes: tuple[tuple[str, float, float, float, float], ...] = ()

    def values(self) -> dict[str, float]:
        """Field -> value, as a claim's selector compares them."""
        out = {"estimate": self.estimate, "lower": self.lower, "upper": self.upper, "pi_lower": self.pi_lower,
               "pi_upper": self.pi_upper, "i_squared": self.i_squared, "tau_squared": self.tau_squared,
               "p": self.p, "studies": float(self.studies)}
        for m, slope, lower, upper, p in self.slopes:
            out |= {f"slope_{m}": slope, f"slope_{m}_lower": lower, f"slope_{m}_upper": upper, f"slope_{m}_p": p}
        return out

    def summary(self, holds: bool = True, moderator: str | None = None) -> PooledSummary:
        """What the certainty rule reads of this result; of the slope of ``moderator`` for a claim comparing it."""
        def crosses(lo: float, hi: float) -> bool | None:
            return None if self.null is None else bool(lo <= self.null <= hi)

        slope = next((s for s in self.slopes if s[0] == moderator), None)
        if moderator is not None:
            crossing = None if slope is None else bool(slope[2] <= 0 <= slope[3])
            return PooledSummary(self.studies, self.i_squared, crossing, None, self.participants,
                                 holds and slope is not None, between=True)
        return PooledSummary(self.studies, self.i_squared, crosses(self.lower, self.upper),
                             crosses(self.pi_lower, self.pi_upper), self.participants, holds)


#: escalc arguments whose sum is the participants of a study, by measure (the first set the synthesis declares)
_PARTICIPANTS = {**dict.fromkeys(("RR", "OR", "RD"), (("n1i", "n2i"), ("ai", "bi", "ci", "di"))),
                 **dict.fromkeys(("MD", "SMD"), (("n1i", "n2i"),)),
                 **dict.fromkeys(("ZCOR", "PLO", "PR"), (("ni",),))}


def _participants(dat: pd.DataFrame, s) -> int | None:
    args = s.arguments
    for names in _PARTICIPANTS.get(s.measure, ()):
        if all(n in args for n in names):
            cells = dat[[args[n] for n in names]].apply(pd.to_numeric, errors="coerce")
            return int(cells.to_numpy(dtype=float).sum()) if cells.notna().all().all() else None
    return None


def _fit(ev: Evidence, name: str, drop: str | None = None) -> Pooled | None:
    """The pooled result of ``name`` (without the row ``drop``), or None when fewer than two studies have data."""
    s = syn.analysis(ev, name)
    dat = syn.effects(ev, name)
    if drop is not None:
        dat = dat[dat["id"].astype(str) != drop].reset_index(drop=True)
    if len(dat) < 2:
        return None
    res = meta.rma(dat["yi"], dat["vi"], method=s.method, test=s.test, level=s.level)
    ratio = syn.is_ratio(s)
    pred = res.predict(np.exp if ratio else None)
    null = None if s.measure in ("PLO", "PR") else 1.0 if ratio else 0.0
    return Pooled(name, s.measure, ratio, pred.pred, pred.ci_lb, pred.ci_ub, pred.pi_lb, pred.pi_ub, res.I2,
                  res.tau2, res.pval, res.k, null, _participants(dat, s), tuple(dat["id"].astype(str)), s.level,
                  tuple(_slope(dat, s, m) for m in s.moderators if _slope(dat, s, m) is not None))


def _slope(dat: pd.DataFrame, s, moderator: str) -> tuple[str, float, float, float, float] | None:
    """(moderator, slope, CI, p) of the mixed-effects meta-regression on ``moderator``, as ``synthesis.regression``
    fits it (studies with a value of it); None where it cannot be fitted (too few studies, a constant)."""
    rows = dat[dat[moderator].notna()].reset_index(drop=True)
    try:
        fit = meta.metareg(rows["yi"], rows["vi"], pd.Series(rows[moderator].astype(float).to_numpy(), name=moderator),
                           method=s.method, test=s.test, level=s.level)
    except (meta.CannotPool, meta.EffectSizeError):
        return None
    i = fit.names.index(moderator)
    return moderator, fit.beta[i], fit.ci_lb[i], fit.ci_ub[i], fit.pval[i]


def moderator_compared(ev: Evidence, claim: pd.Series | dict) -> str | None:
    """The moderator whose slope a claim's selector compares (None: it compares the pooled result)."""
    moderators = syn.analysis(ev, synthesis_of(claim)).moderators
    return next((m for m in (moderator_of(c.column, moderators) for c in parse_selector(claim["where"])) if m), None)


def synthesis_of(claim: pd.Series | dict) -> str | None:
    """The synthesis a claim rests on (its ``synthesis`` cell), or None for a claim that selects rows."""
    name = claim.get("synthesis")
    return name.strip() if isinstance(name, str) and name.strip() else None


def claim_pooled(ev: Evidence, claim: pd.Series | dict) -> tuple[Pooled | None, bool]:
    """The pooled result a claim rests on (None when there is nothing to pool yet) and whether it meets the
    claim's selector."""
    name = synthesis_of(claim)
    if name is None:
        raise ValueError(f"claim {claim.get('id')} rests on no synthesis")
    pooled = _fit(ev, name)
    return pooled, bool(pooled is not None and pooled_holds(pooled.values(), parse_selector(claim["where"])))


def claim_rows(ev: Evidence, claim: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(supporting rows, contradicting rows) of a claim resting on a pooled estimate: the rows pooled when the
    pooled result meets the selector (none otherwise), and the rows it marks as contradicting."""
    rows = ev[claim["table"]]
    pooled, holds = claim_pooled(ev, claim)
    ids = set(pooled.rows) if pooled is not None and holds else set()
    against = set(claim["contradicted_by"])
    return rows[rows["id"].astype(str).isin(ids - against)], rows[rows["id"].isin(against)]


def _study_keys(ev: Evidence, table: str) -> dict[str, frozenset[str]]:
    """Row id -> the independent studies the row is evidence from, as ``summaries.claim_basis`` counts them: its
    valid citations, or (a declared study column) the one study it reports."""
    study = ev.roles.study
    out = {}
    for row in ev[table].to_dict(orient="records"):
        keys = frozenset(k for k in row["citekeys"] if k in ev.library and not ev.library[k].retracted)
        if study is not None and study in row and row[study] is not None and not pd.isna(row[study]):
            keys = frozenset({f"{study} {row[study]}"}) if keys else frozenset()
        out[str(row["id"])] = keys
    return out


def rate_claim(ev: Evidence, claim: pd.Series, basis: Basis) -> tuple[Rating, str, Pooled | None]:
    """A pooled claim's rating, its fragility and the pooled result it read.

    Fragility is "1" when leaving out some one pooled study (re-pooling the rest) lowers the rating or breaks the
    selector, "2+" when none does, "-" at the floor.
    """
    pooled, holds = claim_pooled(ev, claim)
    study_of = _study_keys(ev, claim["table"])
    if pooled is None:
        return rate_pooled(basis, PooledSummary(0, 0.0, None, None, None, holds=False)), "-", None
    moderator = moderator_compared(ev, claim)
    rating = rate_pooled(basis, pooled.summary(holds, moderator))
    if rating.certainty is None or rating.certainty == RATINGS[0]:
        return rating, "-", pooled
    conditions = parse_selector(claim["where"])
    for row in pooled.rows:
        without = _fit(ev, pooled.synthesis, drop=row)
        after = rate_pooled(basis.without(study_of.get(row, frozenset())), without.summary(
            pooled_holds(without.values(), conditions), moderator) if without is not None else PooledSummary(
            0, 0.0, None, None, None, holds=False))
        if after.below(rating.certainty):
            return rating, "1", pooled
    return rating, "2+", pooled
