"""Contributor documentation generated from a review's declared tables: columns, meanings, allowed values."""

from __future__ import annotations

import pandas as pd

from livingreview.model.schema import Kind, Table

KIND_WORDS = {
    Kind.ID: "id", Kind.TEXT: "text", Kind.VOCAB: "term", Kind.INTEGER: "whole number", Kind.NUMBER: "number",
    Kind.DATE: "date (YYYY-MM-DD)", Kind.CITEKEYS: "BibTeX keys", Kind.IDREFS: "row ids", Kind.SELECTOR: "selector",
    Kind.IDENTIFIER: "record or registry id",
}


def data_model(table: Table) -> pd.DataFrame:
    """One row per column of ``table``: name, required, type, meaning, allowed values."""
    records = []
    for col in table.columns:
        kind = KIND_WORDS[col.kind] + (", several separated by ';'" if col.multi else "")
        if col.kind is Kind.VOCAB and col.vocab is not None:
            defined = col.vocab.definitions
            allowed = "; ".join(f"{t} ({col.vocab.label(t)}" + (f": {defined[t]})" if t in defined else ")")
                                for t in col.vocab.values)
        elif col.kind is Kind.ID and table.id_prefix:
            allowed = f"a row id: '{table.id_prefix}-' and four to nine digits (e.g. {table.id_prefix}-0001)"
        elif col.kind in (Kind.NUMBER, Kind.INTEGER, Kind.DATE, Kind.ID, Kind.IDENTIFIER):
            allowed = col.expected
        elif col.verbatim:
            allowed = "text as the database gives it, which may start with '=', '+', '-' or '@'"
        else:
            allowed = ""
        if col.name in ("id", "added"):
            allowed = (allowed + "; filled in by livingreview add").lstrip("; ")
        if col.only_when is not None:
            other, term = col.only_when
            required = f"{'yes' if col.required else 'no'} for {other} {term}; empty otherwise"
        else:
            required = "yes" if col.required else "no"
        if col.unit:
            allowed = (allowed + f"; in {col.unit}").lstrip("; ")
        records.append({"column": col.name, "required": required, "type": kind,
                        "meaning": col.description, "allowed values": allowed})
    return pd.DataFrame.from_records(records)


def data_models(tables: dict[str, Table]) -> dict[str, pd.DataFrame]:
    """The data model of every table in ``tables``, by table title."""
    return {f"{t.title} ({t.path})": data_model(t) for t in tables.values()}
