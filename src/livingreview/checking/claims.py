"""Declarative selectors: which evidence rows bear on a claim of the review.

A selector is a list of conditions, all of which a row must meet:
``column=term|term`` (the cell is, or for multi-valued cells contains, one of the terms),
``column!=term|term`` (it is not / contains none), ``column~text|text`` (the text contains any of the
alternatives, ignoring case), ``column!~text|text`` (it contains none of them; an empty cell contains none), and
``column>value`` (also ``>=``, ``<``, ``<=``) for number and date columns (``auc>=0.8``, ``added<2026-12-01``; an
empty cell meets no comparison).

A claim may instead rest on the pooled estimate of a synthesis the review declares (its ``synthesis`` cell names
it): then its selector compares fields of the pooled result (``POOLED_FIELDS``: ``upper<1`` says the upper
confidence limit of a pooled risk ratio is below 1), the claim holds when every comparison does, and the studies
pooled are its supporting rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from livingreview.checking.rules import COMPARISONS, parse_condition
from livingreview.model.errors import quote
from livingreview.model.schema import Kind, Table


@dataclass(frozen=True)
class Condition:
    """One condition of a selector."""

    column: str
    op: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.column}{self.op}{'|'.join(self.values)}"


def parse_selector(items: tuple[str, ...] | list[str]) -> list[Condition]:
    """Parse the items of a ``where`` cell (already split on ';') into conditions."""
    out = []
    for item in items:
        parsed = parse_condition(item)
        if parsed is None:
            raise ValueError(f"malformed condition {quote(item)}")
        column, op, values = parsed
        out.append(Condition(column, op, tuple(values)))
    return out


def selector_errors(table: Table, conditions: list[Condition]) -> list[str]:
    """Why ``conditions`` cannot be applied to ``table`` (unknown column, term outside the vocabulary)."""
    errors = []
    for cond in conditions:
        if cond.column not in table.column_names:
            errors.append(f"selector column {quote(cond.column)} is not a column of {table.name}; expected one of: "
                          + ", ".join(table.column_names))
            continue
        col = table.column(cond.column)
        if cond.op in COMPARISONS:
            if col.kind not in (Kind.INTEGER, Kind.NUMBER, Kind.DATE):
                errors.append(f"selector {quote(str(cond))} compares, but {col.name} holds {col.kind.value}; expected "
                              "a number or date column")
            elif _bound(col.kind, cond.values[0]) is None:
                errors.append(f"selector {quote(str(cond))} compares {col.name} with {quote(cond.values[0])}; "
                              f"expected {'an ISO date YYYY-MM-DD' if col.kind is Kind.DATE else 'a number'}")
            continue
        if cond.op in ("~", "!~"):
            continue
        if col.kind is Kind.VOCAB and col.vocab is not None:
            for value in cond.values:
                if value not in col.vocab:
                    errors.append(f"selector value {quote(value)} is not a {col.name} term; expected one of: "
                                  + col.vocab.listing())
    return errors


#: the fields of a pooled result a claim's selector may compare; ratio measures are back-transformed (a risk ratio,
#: not its logarithm), as the book prints them
POOLED_FIELDS = {
    "estimate": "the pooled estimate",
    "lower": "the lower limit of its confidence interval",
    "upper": "the upper limit of its confidence interval",
    "pi_lower": "the lower limit of its prediction interval",
    "pi_upper": "the upper limit of its prediction interval",
    "i_squared": "I² in percent",
    "tau_squared": "the between-study variance τ² (on the scale pooled)",
    "p": "the p value of the test that the pooled effect is null",
    "studies": "the number of studies pooled",
}


#: for each moderator ``m`` a synthesis declares, the fields of its meta-regression (on the scale pooled: a log risk
#: ratio per unit of ``m`` for a ratio measure); a claim comparing them is about a difference between studies
SLOPE_FIELDS = {
    "slope_{m}": "the meta-regression slope of {m} (change per unit of {m}, on the scale pooled)",
    "slope_{m}_lower": "the lower limit of the slope's confidence interval",
    "slope_{m}_upper": "the upper limit of the slope's confidence interval",
    "slope_{m}_p": "the p value of the test that the slope is zero",
}


def pooled_fields(moderators: tuple[str, ...] = ()) -> dict[str, str]:
    """Every field a claim resting on a synthesis with ``moderators`` may compare, with what it is."""
    return {**POOLED_FIELDS, **{name.format(m=m): text.format(m=m) for m in moderators
                                for name, text in SLOPE_FIELDS.items()}}


def moderator_of(field: str, moderators: tuple[str, ...]) -> str | None:
    """The moderator whose meta-regression ``field`` reads (None for a field of the pooled result)."""
    return next((m for m in moderators if field.startswith(f"slope_{m}")
                 and field in {n.format(m=m) for n in SLOPE_FIELDS}), None)


def pooled_selector_errors(synthesis: str, conditions: list[Condition],
                           moderators: tuple[str, ...] = ()) -> list[str]:
    """Why ``conditions`` cannot be applied to the pooled result of ``synthesis`` (an unknown field, not a
    comparison, a bound that is not a number, no condition at all, slopes of two moderators)."""
    fields = pooled_fields(moderators)
    if not conditions:
        return [f"a claim resting on the pooled estimate of {quote(synthesis)} needs a selector of what the estimate "
                "must meet; expected e.g. 'upper<1' (the upper confidence limit of a ratio below 1)"]
    errors = []
    for cond in conditions:
        if cond.column not in fields:
            errors.append(f"selector field {quote(cond.column)} is not a field of a pooled result; expected one of: "
                          + ", ".join(fields))
        elif cond.op not in COMPARISONS:
            errors.append(f"selector {quote(str(cond))} does not compare; expected {cond.column} compared with a "
                          "number by >, >=, < or <=")
        elif _bound(Kind.NUMBER, cond.values[0]) is None:
            errors.append(f"selector {quote(str(cond))} compares {cond.column} with {quote(cond.values[0])}; "
                          "expected a number")
    used = sorted({moderator_of(c.column, moderators) for c in conditions} - {None})
    if len(used) > 1:
        errors.append(f"the selector compares slopes of {' and '.join(map(quote, used))}; expected the slope of one "
                      "moderator (each is a meta-regression of its own)")
    return errors


def pooled_holds(values: dict[str, float], conditions: list[Condition]) -> bool:
    """Whether the pooled result ``values`` (field -> number) meets every condition (a missing value meets none)."""
    for cond in conditions:
        value, bound = values.get(cond.column), _bound(Kind.NUMBER, cond.values[0])
        if value is None or bound is None or value != value:
            return False
        if not {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}[cond.op]:
            return False
    return True


def _bound(kind: Kind, text: str) -> float | dt.date | None:
    """The value a comparison compares with, read as the column's kind holds it (None if it cannot be)."""
    try:
        return dt.date.fromisoformat(text) if kind is Kind.DATE else float(text)
    except ValueError:
        return None


def _compared(series: pd.Series, op: str, bound: float | dt.date) -> pd.Series:
    """Which cells of a number or date column meet ``op bound`` (an empty cell meets none)."""
    if isinstance(bound, dt.date):
        values = pd.to_datetime(series, errors="coerce")
        bound = pd.Timestamp(bound)
    else:
        values = pd.to_numeric(series, errors="coerce")
    hit = {">": values > bound, ">=": values >= bound, "<": values < bound, "<=": values <= bound}[op]
    return hit.fillna(False).astype(bool)


def _cell_values(cell: object) -> tuple[str, ...]:
    if isinstance(cell, tuple):
        return tuple(str(x) for x in cell)
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
        return ()
    return (str(cell),)


def matches(df: pd.DataFrame, conditions: list[Condition]) -> pd.Series:
    """Boolean mask of the rows of ``df`` that meet every condition."""
    mask = pd.Series(True, index=df.index)
    for cond in conditions:
        if cond.op in COMPARISONS:
            kind = Kind.DATE if pd.api.types.is_datetime64_any_dtype(df[cond.column]) else Kind.NUMBER
            bound = _bound(kind, cond.values[0])
            mask &= _compared(df[cond.column], cond.op, bound) if bound is not None else False
            continue
        cells = df[cond.column].map(_cell_values)
        if cond.op in ("~", "!~"):
            needles = tuple(v.lower() for v in cond.values)
            hit = cells.map(lambda vals, ns=needles: any(n in v.lower() for v in vals for n in ns))
        else:
            wanted = set(cond.values)
            hit = cells.map(lambda vals, w=wanted: any(v in w for v in vals))
        if cond.op.startswith("!"):
            hit = ~hit.astype(bool)
        mask &= hit.astype(bool)
    return mask
