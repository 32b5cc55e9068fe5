"""Declarative selectors: which evidence rows bear on a claim of the review.

A selector is a list of conditions, all of which a row must meet:
``column=term|term`` (the cell is, or for multi-valued cells contains, one of the terms),
``column!=term|term`` (it is not / contains none), ``column~text|text`` (the text contains any of the
alternatives, ignoring case) and ``column!~text|text`` (it contains none of them; an empty cell contains none).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from livingreview.errors import quote
from livingreview.rules import parse_condition
from livingreview.schema import Kind, Table


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
        if cond.op in ("~", "!~"):
            continue
        if col.kind is Kind.VOCAB and col.vocab is not None:
            for value in cond.values:
                if value not in col.vocab:
                    errors.append(f"selector value {quote(value)} is not a {col.name} term; expected one of: "
                                  + col.vocab.listing())
    return errors


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
