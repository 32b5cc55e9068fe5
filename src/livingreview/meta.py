"""Quantitative synthesis in metafor's vocabulary: effect sizes (``escalc``), pooling (``rma``), subgroups,
leave-one-out, cumulative meta-analysis and meta-regression.

Every definition is metafor's (Viechtbauer 2010, J Stat Softw 36(3); the package's ``escalc`` and ``rma.uni``),
so a user who knows metafor writes the same analysis here, and the tests compare each number with output that
metafor or Stata's ``metan`` printed for published datasets:

- ``escalc`` adds ``yi`` and ``vi`` to a table. Counts of 2x2 tables (``RR``, ``OR``, ``RD``) and proportions
  (``PLO``, ``PR``) get metafor's default continuity correction: 1/2 is added to every cell of a study only where
  one of its cells is zero (``add=1/2, to="only0"``; for a proportion, where ``xi`` is 0 or ``ni``). metafor
  applies it to ``RD`` as well, and so does this module.
- ``rma`` fits the equal-effects model (``EE``, also ``FE``) or a random-effects model whose tau^2 is estimated by
  ``DL``, ``HE``, ``SJ``, ``PM``, ``ML`` or ``REML``; ``test="knha"`` is Hartung-Knapp's adjustment (t with k - p
  degrees of freedom, the variance scaled without truncation, as metafor does). tau^2 is truncated at 0. I^2 and
  H^2 use metafor's typical within-study variance; the prediction interval is ``predict.rma``'s (z, or t with
  k - p degrees of freedom under ``knha``). ML and REML follow metafor's Fisher scoring step by step (start at the
  HE estimate, stop when tau^2 changes by less than 1e-5), so they reproduce metafor's iterates, not only its
  limit; PM's root is found to 1e-12.
- A single study cannot be pooled: ``rma`` then returns a result with ``pooled=False`` that carries the study's
  own estimate and confidence interval (what metafor reports for k = 1, and the first step of a cumulative
  meta-analysis) and no heterogeneity; charts draw no diamond for it. No study at all raises ``CannotPool``.

Bad input raises ``EffectSizeError`` (a ``ValueError``) naming the study (row number and label), the column and
what was expected; nothing here lets a traceback from numpy reach a user.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from livingreview.model.errors import one_line, quote

__all__ = [
    "METHODS",
    "CannotPool",
    "EffectSizeError",
    "MetaRegResult",
    "Prediction",
    "RMAResult",
    "SubgroupResult",
    "cumulative",
    "escalc",
    "leave1out",
    "metareg",
    "rma",
    "subgroups",
]

#: tau^2 estimators, as metafor names them ("FE" is accepted as metafor's older name of "EE")
METHODS = ("EE", "DL", "HE", "SJ", "PM", "ML", "REML")
#: measures ``escalc`` computes, with the columns each needs (alternatives separated by "|")
MEASURES = {
    "RR": "ai, bi | n1i, ci, di | n2i",
    "OR": "ai, bi | n1i, ci, di | n2i",
    "RD": "ai, bi | n1i, ci, di | n2i",
    "MD": "m1i, sd1i, n1i, m2i, sd2i, n2i",
    "SMD": "m1i, sd1i, n1i, m2i, sd2i, n2i",
    "ZCOR": "ri, ni",
    "PLO": "xi, ni",
    "PR": "xi, ni",
    "GEN": "yi and one of vi | sei | ci_lb, ci_ub",
}
#: measures whose yi is a log ratio: ``transf=np.exp`` gives them back on their natural scale
RATIO_MEASURES = frozenset({"RR", "OR"})
#: metafor's convergence threshold for the Fisher scoring of ML and REML (its default ``control``): iterating
#: exactly as metafor does reproduces its estimates, not merely the converged value
THRESHOLD = 1e-5
#: how much higher the likelihood at tau^2 = 0 must be to replace a scoring result (metafor's ``tol``, eps^0.25)
LL0_TOL = float(np.finfo(float).eps) ** 0.25
#: Paule-Mandel's root is found to this tolerance (metafor's ``uniroot`` default is looser, 1.2e-4)
_TOL = 1e-12
_MAXITER = 1000


class EffectSizeError(ValueError):
    """Input that cannot give an effect size: names the study row, the column and what was expected."""

    def __init__(self, message: str, *, row: int | None = None, label: str | None = None,
                 column: str | None = None):
        self.row, self.label, self.column, self.reason = row, label, column, message
        where = []
        if row is not None:
            where.append(f"study {row}" + (f" ({one_line(label)})" if label else ""))
        if column is not None:
            where.append(f"column {quote(column)}")
        super().__init__(one_line(", ".join(where) + ": " + message if where else message))


class CannotPool(ValueError):
    """There is nothing to pool: no study, or no study with an effect size and a positive variance."""


# ---------------------------------------------------------------------------------------------------- escalc


class _Columns:
    """The columns of one ``escalc`` call, each resolved to floats, with the names a message should use."""

    def __init__(self, data: pd.DataFrame | None, columns: dict[str, Any], labels: list[str]):
        self.data, self.columns, self.labels = data, columns, labels
        self.k: int | None = None if data is None else len(data)
        self.names: dict[str, str] = {}

    def has(self, arg: str) -> bool:
        return self.columns.get(arg) is not None

    def get(self, arg: str) -> np.ndarray:
        """Column ``arg`` as floats; a missing or non-numeric cell is a located error."""
        spec = self.columns.get(arg)
        if spec is None:
            raise EffectSizeError(f"this measure needs column {arg!r}", column=arg)
        if isinstance(spec, str):
            if self.data is None or spec not in self.data.columns:
                raise EffectSizeError(f"{quote(spec)} is not a column of the data", column=arg)
            raw = self.data[spec]
            self.names[arg] = spec
        else:
            raw = pd.Series(np.atleast_1d(np.asarray(spec, dtype=object)))
            self.names[arg] = arg
        if self.k is None:
            self.k = len(raw)
        elif len(raw) != self.k:
            raise EffectSizeError(f"has {len(raw)} values, but the data have {self.k} studies", column=self.names[arg])
        values = pd.to_numeric(pd.Series(list(raw)), errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(~np.isfinite(values)):
            cell = list(raw)[i]
            missing = cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NA
            self.fail(i, arg, "missing value; expected a number" if missing
                      else f"expected a finite number, got {quote(cell)}")
        return values

    def label(self, i: int) -> str | None:
        return self.labels[i] if i < len(self.labels) else None

    def fail(self, i: int, arg: str, message: str) -> None:
        raise EffectSizeError(message, row=i + 1, label=self.label(i), column=self.names.get(arg, arg))

    def check(self, bad: np.ndarray, arg: str, message: Callable[[int], str]) -> None:
        """Raise for the first study where ``bad`` holds."""
        hits = np.flatnonzero(bad)
        if hits.size:
            self.fail(int(hits[0]), arg, message(int(hits[0])))


def _labels(data: pd.DataFrame | None, slab: Any) -> list[str]:
    if slab is not None:
        if isinstance(slab, str) and data is not None and slab in data.columns:
            return [str(v) for v in data[slab]]
        return [str(v) for v in np.atleast_1d(np.asarray(slab, dtype=object))]
    if data is not None and not isinstance(data.index, pd.RangeIndex):
        return [str(v) for v in data.index]
    return []


def _fmt(x: float) -> str:
    return f"{x:g}"


def _two_by_two(cols: _Columns, measure: str, add: float, to: str) -> tuple[np.ndarray, np.ndarray]:
    ai, ci = cols.get("ai"), cols.get("ci")
    if cols.has("bi"):
        bi = cols.get("bi")
    else:
        n1i = cols.get("n1i")
        cols.check(ai > n1i, "ai", lambda i: f"expected events <= the group's total n1i ({_fmt(n1i[i])}), "
                                             f"got {_fmt(ai[i])}")
        bi = n1i - ai
        cols.names.setdefault("bi", cols.names["n1i"])
    if cols.has("di"):
        di = cols.get("di")
    else:
        n2i = cols.get("n2i")
        cols.check(ci > n2i, "ci", lambda i: f"expected events <= the group's total n2i ({_fmt(n2i[i])}), "
                                             f"got {_fmt(ci[i])}")
        di = n2i - ci
        cols.names.setdefault("di", cols.names["n2i"])
    for arg, v in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di)):
        cols.check(v < 0, arg, lambda i, v=v: f"expected a count >= 0, got {_fmt(v[i])}")
    cols.check(ai + bi == 0, "ai", lambda i: "the first group is empty (ai + bi = 0)")
    cols.check(ci + di == 0, "ci", lambda i: "the second group is empty (ci + di = 0)")
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    fix = zero if to == "only0" else np.full(ai.shape, to == "all" or (to == "if0all" and zero.any()))
    a, b, c, d = (v + add * fix for v in (ai, bi, ci, di))
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        else:
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    cols.check(bad, "ai", lambda i: "a zero cell with add=0 gives no finite effect size; use add=0.5")
    return yi, vi


def _means(cols: _Columns, measure: str) -> tuple[np.ndarray, np.ndarray]:
    m1, sd1, n1 = cols.get("m1i"), cols.get("sd1i"), cols.get("n1i")
    m2, sd2, n2 = cols.get("m2i"), cols.get("sd2i"), cols.get("n2i")
    for arg, sd in (("sd1i", sd1), ("sd2i", sd2)):
        cols.check(sd <= 0, arg, lambda i, sd=sd: f"expected a standard deviation > 0, got {_fmt(sd[i])}")
    for arg, n in (("n1i", n1), ("n2i", n2)):
        cols.check(n < 2, arg, lambda i, n=n: f"expected a group size >= 2, got {_fmt(n[i])}")
    if measure == "MD":
        return m1 - m2, sd1**2 / n1 + sd2**2 / n2
    # Hedges' g with the exact bias correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2,
    # and metafor's default large-sample variance ("LS")
    m = n1 + n2 - 2
    sdp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
    cm = np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
    yi = cm * (m1 - m2) / sdp
    return yi, 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))


def _proportion(cols: _Columns, measure: str, add: float, to: str) -> tuple[np.ndarray, np.ndarray]:
    xi, ni = cols.get("xi"), cols.get("ni")
    cols.check(xi < 0, "xi", lambda i: f"expected a count >= 0, got {_fmt(xi[i])}")
    cols.check(ni <= 0, "ni", lambda i: f"expected a sample size > 0, got {_fmt(ni[i])}")
    cols.check(xi > ni, "xi", lambda i: f"expected events <= the total ni ({_fmt(ni[i])}), got {_fmt(xi[i])}")
    mi = ni - xi
    zero = (xi == 0) | (mi == 0)
    fix = zero if to == "only0" else np.full(xi.shape, to == "all" or (to == "if0all" and zero.any()))
    x, mm = xi + add * fix, mi + add * fix
    n = x + mm
    p = x / n
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "PR":
            yi, vi = p, p * (1 - p) / n
        else:
            yi, vi = np.log(p / (1 - p)), 1 / x + 1 / mm
    cols.check(~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0), "xi",
               lambda i: "0 or all events with add=0 gives no usable effect size; use add=0.5")
    return yi, vi


def _correlation(cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
    ri, ni = cols.get("ri"), cols.get("ni")
    cols.check(np.abs(ri) > 1, "ri", lambda i: f"expected a correlation in [-1, 1], got {_fmt(ri[i])}")
    cols.check(np.abs(ri) == 1, "ri", lambda i: f"Fisher's z of a correlation of {_fmt(ri[i])} is infinite")
    cols.check(ni < 4, "ni", lambda i: f"expected a sample size >= 4 (the variance is 1/(ni - 3)), got {_fmt(ni[i])}")
    return np.arctanh(ri), 1 / (ni - 3)


def _generic(cols: _Columns, ratio: bool, level: float) -> tuple[np.ndarray, np.ndarray]:
    yi = cols.get("yi")
    if ratio:
        cols.check(yi <= 0, "yi", lambda i: f"expected a ratio > 0 (ratio=True), got {_fmt(yi[i])}")
    if cols.has("vi"):
        vi = cols.get("vi")
        cols.check(vi <= 0, "vi", lambda i: f"expected a sampling variance > 0, got {_fmt(vi[i])}")
        return (np.log(yi) if ratio else yi), vi
    if cols.has("sei"):
        sei = cols.get("sei")
        cols.check(sei <= 0, "sei", lambda i: f"expected a standard error > 0, got {_fmt(sei[i])}")
        return (np.log(yi) if ratio else yi), sei**2
    if not (cols.has("ci_lb") and cols.has("ci_ub")):
        raise EffectSizeError("GEN needs 'yi' and one of 'vi', 'sei', or both 'ci_lb' and 'ci_ub'")
    lb, ub = cols.get("ci_lb"), cols.get("ci_ub")
    if ratio:
        cols.check(lb <= 0, "ci_lb", lambda i: f"expected a ratio > 0 (ratio=True), got {_fmt(lb[i])}")
    cols.check(lb >= ub, "ci_lb", lambda i: f"expected a lower limit below the upper limit {_fmt(ub[i])}, "
                                            f"got {_fmt(lb[i])}")
    cols.check((yi < lb) | (yi > ub), "yi", lambda i: f"expected an estimate inside its confidence interval "
                                                      f"[{_fmt(lb[i])}, {_fmt(ub[i])}], got {_fmt(yi[i])}")
    if ratio:
        yi, lb, ub = np.log(yi), np.log(lb), np.log(ub)
    # metafor's conv.wald: the interval is a Wald interval, so its width is 2 z_(1 - alpha/2) standard errors
    crit = stats.norm.ppf(1 - (1 - level / 100) / 2)
    return yi, ((ub - lb) / (2 * crit)) ** 2


def escalc(measure: str, data: pd.DataFrame | None = None, *, slab: Any = None, add: float = 0.5,
           to: str = "only0", ratio: bool = False, level: float = 95, **columns: Any) -> pd.DataFrame:
    """Effect sizes ``yi`` and sampling variances ``vi`` of each study, appended to ``data`` (metafor's ``escalc``).

    ``columns`` name columns of ``data`` (``ai="tpos"``) or give the values (``ai=[4, 6]``). ``GEN`` takes ``yi``
    with ``vi``, ``sei`` or ``ci_lb`` and ``ci_ub`` (a Wald interval at ``level``); ``ratio=True`` reads a ratio and
    its interval on their own scale and gives the log ratio. ``slab`` labels the studies in error messages.
    """
    measure = str(measure).upper()
    if measure not in MEASURES:
        raise EffectSizeError(f"unknown measure {quote(measure)}; expected one of: {', '.join(MEASURES)}")
    if to not in ("only0", "all", "if0all", "none"):
        raise EffectSizeError(f"unknown to={quote(to)}; expected one of: only0, all, if0all, none")
    if data is not None and not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(data)
    cols = _Columns(data, columns, _labels(data, slab))
    if measure in ("RR", "OR", "RD"):
        yi, vi = _two_by_two(cols, measure, add, to)
    elif measure in ("MD", "SMD"):
        yi, vi = _means(cols, measure)
    elif measure == "ZCOR":
        yi, vi = _correlation(cols)
    elif measure in ("PLO", "PR"):
        yi, vi = _proportion(cols, measure, add, to)
    else:
        yi, vi = _generic(cols, ratio, level)
    out = data.copy() if data is not None else pd.DataFrame(index=range(len(yi)))
    out["yi"], out["vi"] = yi, vi
    out.attrs["measure"] = measure
    return out


# ---------------------------------------------------------------------------------------------------- models


@dataclass(frozen=True)
class Prediction:
    """A pooled estimate with its confidence and prediction intervals, possibly back-transformed."""

    pred: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float


@dataclass(frozen=True)
class RMAResult:
    """A fitted meta-analytic model (metafor's ``rma.uni`` without moderators)."""

    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    I2: float
    H2: float
    QE: float
    QEp: float
    k: int
    pi_lb: float
    pi_ub: float
    method: str
    test: str
    level: float
    #: degrees of freedom of the t distribution under ``test="knha"`` (None for z)
    df: int | None
    #: False when k = 1: the estimate is the study's own and nothing was pooled
    pooled: bool
    yi: tuple[float, ...] = field(repr=False)
    vi: tuple[float, ...] = field(repr=False)
    #: each study's weight in percent of the total (the model's inverse-variance weights)
    weights: tuple[float, ...] = field(repr=False)

    @property
    def tval(self) -> float:
        """The test statistic under ``test="knha"`` (metafor prints it as ``tval``)."""
        return self.zval

    @property
    def tau(self) -> float:
        """The estimated standard deviation of the true effects."""
        return math.sqrt(self.tau2) if self.tau2 == self.tau2 else math.nan

    def predict(self, transf: Callable[[Any], Any] | None = None) -> Prediction:
        """The estimate with its confidence and prediction intervals, through ``transf`` (metafor's ``predict``)."""
        values = [self.beta, self.ci_lb, self.ci_ub, self.pi_lb, self.pi_ub]
        if transf is not None:
            values = [float(transf(v)) for v in values]
        pred, c1, c2, p1, p2 = values
        return Prediction(pred, min(c1, c2), max(c1, c2), min(p1, p2), max(p1, p2))

    def transf(self, func: Callable[[Any], Any]) -> Prediction:
        """Back-transformed estimate, CI and PI, e.g. ``transf(numpy.exp)`` for a log ratio."""
        return self.predict(func)


@dataclass(frozen=True)
class MetaRegResult:
    """A mixed-effects meta-regression (metafor's ``rma.uni`` with ``mods``)."""

    names: tuple[str, ...]
    beta: tuple[float, ...]
    se: tuple[float, ...]
    zval: tuple[float, ...]
    pval: tuple[float, ...]
    ci_lb: tuple[float, ...]
    ci_ub: tuple[float, ...]
    #: omnibus test of the moderators: chi^2 with ``QMdf`` df, or under ``knha`` F with (``QMdf``, k - p) df
    QM: float
    QMdf: int
    QMp: float
    QE: float
    QEp: float
    tau2: float
    I2: float
    H2: float
    k: int
    method: str
    test: str
    df: int | None
    #: the covariance matrix of the coefficients (rows and columns in the order of ``names``)
    vcov: tuple[tuple[float, ...], ...] = ()

    def anova(self, btt: Sequence[str]) -> tuple[float, int, float]:
        """Wald test that the coefficients named ``btt`` are all zero (metafor's ``anova(res, btt=...)``):
        (QM, its df, p), chi^2 under ``test="z"``, F with (df, k - p) df under ``knha``."""
        unknown = [n for n in btt if n not in self.names]
        if unknown or not btt:
            raise ValueError(f"no coefficient {unknown[0] if unknown else ''!r}; expected some of: "
                             + ", ".join(self.names))
        idx = [self.names.index(n) for n in btt]
        b = np.asarray(self.beta)[idx]
        qm = float(b @ np.linalg.solve(np.asarray(self.vcov)[np.ix_(idx, idx)], b))
        if self.df is None:
            return qm, len(idx), float(stats.chi2.sf(qm, len(idx)))
        return qm / len(idx), len(idx), float(stats.f.sf(qm / len(idx), len(idx), self.df))

    def coef(self, name: str) -> dict[str, float]:
        """One coefficient's row: estimate, se, statistic, p value and CI."""
        i = self.names.index(name)
        return {"estimate": self.beta[i], "se": self.se[i], "stat": self.zval[i], "pval": self.pval[i],
                "ci_lb": self.ci_lb[i], "ci_ub": self.ci_ub[i]}


def _arrays(yi: Any, vi: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float).ravel()
    v = np.asarray(vi, dtype=float).ravel()
    if y.shape != v.shape:
        raise EffectSizeError(f"yi has {y.size} values but vi has {v.size}")
    for name, arr in (("yi", y), ("vi", v)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise EffectSizeError("missing or infinite value; expected a number", row=int(bad[0]) + 1, column=name)
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise EffectSizeError(f"expected a sampling variance > 0, got {_fmt(v[bad[0]])}", row=int(bad[0]) + 1,
                              column="vi")
    return y, v


def _method(method: str) -> str:
    m = str(method).upper()
    m = "EE" if m in ("FE", "CE") else m
    if m not in METHODS:
        raise ValueError(f"unknown method {quote(method)}; expected one of: {', '.join(METHODS)} (or FE)")
    return m


def _test(test: str) -> str:
    t = str(test).lower()
    if t not in ("z", "knha"):
        raise ValueError(f"unknown test {quote(test)}; expected 'z' or 'knha'")
    return t


def _wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares: coefficients, (X'WX)^-1 and the residuals."""
    xtwx_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    b = xtwx_inv @ (X.T @ (w * y))
    return b, xtwx_inv, y - X @ b


class _Model:
    """The quantities an estimator needs at one tau^2, from k x p products only: P = W - W X (X'WX)^-1 X'W is
    never built, so 10,000 studies cost milliseconds, with or without moderators."""

    def __init__(self, X: np.ndarray, y: np.ndarray, v: np.ndarray):
        self.X, self.y, self.v = X, y, v
        self.k, self.p = X.shape

    def gram(self, d: np.ndarray) -> np.ndarray:
        """X' diag(d) X."""
        return self.X.T @ (d[:, None] * self.X)

    def py(self, w: np.ndarray) -> tuple[np.ndarray, float, float]:
        """P y, tr(P) and tr(P P) for weights ``w``."""
        a_inv = np.linalg.inv(self.gram(w))
        _, _, res = _wls(self.X, self.y, w)
        b2 = a_inv @ self.gram(w**2)
        tr_p = float(w.sum() - np.trace(b2))
        tr_pp = float((w**2).sum() - 2 * np.trace(a_inv @ self.gram(w**3)) + np.trace(b2 @ b2))
        return w * res, tr_p, tr_pp

    def rss(self, w: np.ndarray) -> float:
        """y' P y for weights ``w`` (the weighted residual sum of squares, Q for w = 1/vi)."""
        _, _, res = _wls(self.X, self.y, w)
        return float((w * res**2).sum())

    def tr_pv(self, w: np.ndarray) -> float:
        """tr(P V) for weights ``w``."""
        a_inv = np.linalg.inv(self.gram(w))
        return float((w * self.v).sum() - np.trace(a_inv @ self.gram(w**2 * self.v)))


def _tau2(model: _Model, method: str) -> float:
    """metafor's estimate of tau^2 (residual, with moderators) for ``method``, truncated at 0."""
    k, p, v = model.k, model.p, model.v
    if method == "EE":
        return 0.0
    w0 = 1 / v
    if method == "DL":
        _, trp, _ = model.py(w0)
        return max(0.0, (model.rss(w0) - (k - p)) / trp)
    ones = np.ones(k)
    he = max(0.0, (model.rss(ones) - model.tr_pv(ones)) / (k - p))
    if method == "HE":
        return he
    if method == "SJ":
        # initial value: the variance of yi with divisor k (metafor's default, with or without moderators)
        t0 = float(np.var(model.y))
        if t0 <= 0:
            return 0.0
        return t0 * model.rss(1 / (v + t0)) / (k - p)
    if method == "PM":
        def excess(t: float) -> float:
            return model.rss(1 / (v + t)) - (k - p)
        if excess(0.0) <= 0:
            return 0.0
        hi = max(1e-8, he, float(np.var(model.y)))
        while excess(hi) > 0:
            hi *= 2
        return float(optimize.brentq(excess, 0.0, hi, xtol=_TOL, rtol=4 * np.finfo(float).eps, maxiter=_MAXITER))
    # ML and REML: metafor's Fisher scoring, from the (truncated) HE estimate, halving a step that would leave
    # [0, inf), until tau^2 changes by no more than metafor's threshold: the same iterates give the same digits
    tau2 = he
    for _ in range(_MAXITER):
        w = 1 / (v + tau2)
        py, trp, trpp = model.py(w)
        if method == "REML":
            adj = (float(py @ py) - trp) / trpp
        else:
            adj = (float(py @ py) - float(w.sum())) / float((w**2).sum())
        while tau2 + adj < 0:
            adj /= 2
        tau2 += adj
        if abs(adj) <= THRESHOLD:
            tau2 = max(0.0, tau2)
            # metafor's ll0check: scoring can stop at a local maximum when the likelihood is higher at tau^2 = 0
            if tau2 > THRESHOLD and _loglik(model, 0.0, method) - _loglik(model, tau2, method) > LL0_TOL:
                return 0.0
            return tau2
    raise CannotPool(f"the {method} estimate of tau^2 did not converge in {_MAXITER} iterations")


def _loglik(model: _Model, tau2: float, method: str) -> float:
    """The (restricted, for REML) log-likelihood of the model at ``tau2``, as metafor writes it."""
    w = 1 / (model.v + tau2)
    n = model.k - model.p if method == "REML" else model.k
    ll = -0.5 * n * math.log(2 * math.pi) - 0.5 * float(np.log(model.v + tau2).sum()) - 0.5 * model.rss(w)
    if method == "REML":
        ll -= 0.5 * float(np.linalg.slogdet(model.gram(w))[1])
    return ll


def _crit(level: float, df: int | None) -> float:
    q = 1 - (1 - level / 100) / 2
    return float(stats.norm.ppf(q) if df is None else stats.t.ppf(q, df))


def _pval(stat: float, df: int | None) -> float:
    return float(2 * (stats.norm.sf(abs(stat)) if df is None else stats.t.sf(abs(stat), df)))


def _heterogeneity(model: _Model, method: str, tau2: float) -> tuple[float, float, float, float]:
    """QE and its p value, I^2 and H^2 as metafor computes them."""
    k, p = model.k, model.p
    w0 = 1 / model.v
    qe = model.rss(w0)
    qep = float(stats.chi2.sf(qe, k - p)) if k > p else 1.0
    if method == "EE":
        i2 = 100 * max(0.0, (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p) if k > p else 1.0
        return qe, qep, i2, h2
    _, trp, _ = model.py(w0)
    # metafor's "typical" within-study variance: (k - p) / tr(P) with P built on the weights 1/vi
    vt = (k - p) / trp
    return qe, qep, 100 * tau2 / (vt + tau2), (vt + tau2) / vt


def rma(yi: Any, vi: Any, method: str = "REML", test: str = "z", level: float = 95) -> RMAResult:
    """Fit metafor's equal- or random-effects model to effect sizes ``yi`` with sampling variances ``vi``."""
    y, v = _arrays(yi, vi)
    method, test = _method(method), _test(test)
    k = y.size
    if k == 0:
        raise CannotPool("no study to pool")
    if k == 1:
        crit = _crit(level, None)
        se = math.sqrt(v[0])
        lo, hi = y[0] - crit * se, y[0] + crit * se
        return RMAResult(beta=float(y[0]), se=se, zval=float(y[0] / se), pval=_pval(y[0] / se, None),
                         ci_lb=float(lo), ci_ub=float(hi), tau2=math.nan, I2=math.nan, H2=math.nan, QE=math.nan,
                         QEp=math.nan, k=1, pi_lb=float(lo), pi_ub=float(hi), method=method, test="z", level=level,
                         df=None, pooled=False, yi=(float(y[0]),), vi=(float(v[0]),), weights=(100.0,))
    model = _Model(np.ones((k, 1)), y, v)
    tau2 = _tau2(model, method)
    w = 1 / (v + tau2)
    sw = float(w.sum())
    beta = float((w * y).sum() / sw)
    var_b = 1 / sw
    df = None
    if test == "knha":
        df = k - 1
        var_b *= float((w * (y - beta) ** 2).sum()) / df
    se = math.sqrt(var_b)
    crit = _crit(level, df)
    qe, qep, i2, h2 = _heterogeneity(model, method, tau2)
    half_pi = crit * math.sqrt(var_b + tau2)
    return RMAResult(beta=beta, se=se, zval=beta / se, pval=_pval(beta / se, df), ci_lb=beta - crit * se,
                     ci_ub=beta + crit * se, tau2=tau2, I2=i2, H2=h2, QE=qe, QEp=qep, k=k, pi_lb=beta - half_pi,
                     pi_ub=beta + half_pi, method=method, test=test, level=level, df=df, pooled=True,
                     yi=tuple(map(float, y)), vi=tuple(map(float, v)), weights=tuple(map(float, 100 * w / sw)))


def _design(x: Any, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(x, pd.DataFrame):
        names, mat = tuple(str(c) for c in x.columns), x.to_numpy(dtype=float)
    elif isinstance(x, pd.Series):
        names, mat = (str(x.name or "x"),), x.to_numpy(dtype=float)[:, None]
    else:
        mat = np.asarray(x, dtype=float)
        mat = mat[:, None] if mat.ndim == 1 else mat
        names = ("x",) if mat.shape[1] == 1 else tuple(f"x{j + 1}" for j in range(mat.shape[1]))
    if mat.shape[0] != k:
        raise EffectSizeError(f"the moderator has {mat.shape[0]} values but there are {k} studies", column="x")
    bad = np.argwhere(~np.isfinite(mat))
    if bad.size:
        raise EffectSizeError("missing or infinite value; expected a number", row=int(bad[0][0]) + 1,
                              column=names[int(bad[0][1])])
    return np.column_stack([np.ones(k), mat]), ("intrcpt", *names)


def metareg(yi: Any, vi: Any, x: Any, method: str = "REML", test: str = "z", level: float = 95) -> MetaRegResult:
    """Mixed-effects meta-regression on moderators ``x`` (metafor's ``rma(yi, vi, mods = ~ x)``)."""
    y, v = _arrays(yi, vi)
    method, test = _method(method), _test(test)
    X, names = _design(x, y.size)
    k, p = X.shape
    if k <= p:
        raise CannotPool(f"{k} studies cannot estimate {p} coefficients")
    if np.linalg.matrix_rank(X) < p:
        raise EffectSizeError("the moderators are collinear (or constant): their coefficients are not identified")
    model = _Model(X, y, v)
    tau2 = _tau2(model, method)
    w = 1 / (v + tau2)
    b, vb, res = _wls(X, y, w)
    df = None
    if test == "knha":
        df = k - p
        vb = vb * float((w * res**2).sum()) / df
    se = np.sqrt(np.diag(vb))
    crit = _crit(level, df)
    m = p - 1
    bm = b[1:]
    qm = float(bm @ np.linalg.solve(vb[1:, 1:], bm))
    if df is None:
        qmp = float(stats.chi2.sf(qm, m))
    else:
        qm /= m
        qmp = float(stats.f.sf(qm, m, df))
    qe, qep, i2, h2 = _heterogeneity(model, method, tau2)
    z = b / se
    return MetaRegResult(names=names, beta=tuple(map(float, b)), se=tuple(map(float, se)), zval=tuple(map(float, z)),
                         pval=tuple(_pval(s, df) for s in z), ci_lb=tuple(map(float, b - crit * se)),
                         ci_ub=tuple(map(float, b + crit * se)), QM=qm, QMdf=m, QMp=qmp, QE=qe, QEp=qep, tau2=tau2,
                         I2=i2, H2=h2, k=k, method=method, test=test, df=df,
                         vcov=tuple(tuple(map(float, row)) for row in vb))


@dataclass(frozen=True)
class SubgroupResult:
    """Pooled results per subgroup and the two tests for subgroup differences."""

    groups: dict[str, RMAResult]
    #: metafor's test of the group moderator in a mixed-effects model (``rma(yi, vi, mods = ~ group)``)
    QM: float
    QMdf: int
    QMp: float
    #: the fixed-effect test between subgroups: Q of all studies minus the within-subgroup Qs (equal-effects)
    Qbet: float
    Qbetdf: int
    Qbetp: float
    method: str
    test: str


def subgroups(yi: Any, vi: Any, groups: Sequence[Any], method: str = "REML", test: str = "z",
              level: float = 95) -> SubgroupResult:
    """Pool each subgroup separately and test whether the subgroups differ (order of first appearance)."""
    y, v = _arrays(yi, vi)
    method, test = _method(method), _test(test)
    g = pd.Series(list(groups), dtype=object)
    if len(g) != y.size:
        raise EffectSizeError(f"groups has {len(g)} values but there are {y.size} studies", column="groups")
    if g.isna().any():
        raise EffectSizeError("missing value; expected a subgroup", row=int(np.flatnonzero(g.isna())[0]) + 1,
                              column="groups")
    g = g.astype(str)
    levels = list(dict.fromkeys(g))
    fits = {lev: rma(y[(g == lev).to_numpy()], v[(g == lev).to_numpy()], method=method, test=test, level=level)
            for lev in levels}
    if len(levels) < 2:
        return SubgroupResult(groups=fits, QM=math.nan, QMdf=0, QMp=math.nan, Qbet=math.nan, Qbetdf=0,
                              Qbetp=math.nan, method=method, test=test)
    dummies = pd.DataFrame({lev: (g == lev).astype(float) for lev in levels[1:]})
    reg = metareg(y, v, dummies, method=method, test=test, level=level)
    q_all = rma(y, v, method="EE").QE
    q_within = sum(rma(y[(g == lev).to_numpy()], v[(g == lev).to_numpy()], method="EE").QE
                   for lev in levels if (g == lev).sum() > 1)
    qbet = float(q_all - q_within)
    dfb = len(levels) - 1
    return SubgroupResult(groups=fits, QM=reg.QM, QMdf=reg.QMdf, QMp=reg.QMp, Qbet=qbet, Qbetdf=dfb,
                          Qbetp=float(stats.chi2.sf(qbet, dfb)), method=method, test=test)


def _row(res: RMAResult) -> dict[str, float]:
    return {"estimate": res.beta, "se": res.se, "zval": res.zval, "pval": res.pval, "ci_lb": res.ci_lb,
            "ci_ub": res.ci_ub, "pi_lb": res.pi_lb, "pi_ub": res.pi_ub, "QE": res.QE, "QEp": res.QEp,
            "tau2": res.tau2, "I2": res.I2, "H2": res.H2, "k": res.k}


def _slab(labels: Sequence[Any] | None, k: int) -> list[str]:
    if labels is None:
        return [str(i + 1) for i in range(k)]
    out = [str(s) for s in labels]
    if len(out) != k:
        raise EffectSizeError(f"labels has {len(out)} values but there are {k} studies", column="labels")
    return out


def leave1out(yi: Any, vi: Any, method: str = "REML", test: str = "z", level: float = 95,
              labels: Sequence[Any] | None = None) -> pd.DataFrame:
    """The model refitted without each study in turn (metafor's ``leave1out``), one row per omitted study."""
    y, v = _arrays(yi, vi)
    slab = _slab(labels, y.size)
    if y.size < 2:
        raise CannotPool("leave-one-out needs at least two studies")
    rows = []
    for i in range(y.size):
        keep = np.arange(y.size) != i
        rows.append({"omitted": slab[i], **_row(rma(y[keep], v[keep], method=method, test=test, level=level))})
    return pd.DataFrame(rows)


def cumulative(yi: Any, vi: Any, order: Sequence[Any] | None = None, method: str = "REML", test: str = "z",
               level: float = 95, labels: Sequence[Any] | None = None) -> pd.DataFrame:
    """Cumulative meta-analysis (metafor's ``cumul``): the model refitted as each study is added in ``order``.

    ``order`` holds a sort key per study (a year, the release a row entered in); ties keep the given order.
    Row i pools the first i studies; its first row is the first study alone (``pooled`` False).
    """
    y, v = _arrays(yi, vi)
    slab = _slab(labels, y.size)
    if order is None:
        idx = np.arange(y.size)
    else:
        keys = pd.Series(list(order))
        if len(keys) != y.size:
            raise EffectSizeError(f"order has {len(keys)} values but there are {y.size} studies", column="order")
        if keys.isna().any():
            raise EffectSizeError("missing value; expected a sort key", row=int(np.flatnonzero(keys.isna())[0]) + 1,
                                  column="order")
        idx = np.argsort(keys.to_numpy(), kind="stable")
    rows = []
    for j in range(1, y.size + 1):
        take = idx[:j]
        res = rma(y[take], v[take], method=method, test=test, level=level)
        rows.append({"added": slab[idx[j - 1]], **_row(res), "pooled": res.pooled})
    return pd.DataFrame(rows)
