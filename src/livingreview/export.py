"""Export as a Frictionless data package: every table with a schema generated from the one declared schema."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

from livingreview import __version__
from livingreview.bib import BIB_PATH, Library
from livingreview.evidence import Evidence, load
from livingreview.fileio import atomic_write
from livingreview.rules import KEY_RE
from livingreview.schema import FORMULA_PREFIXES, TABLES, Column, Kind, Table

PACKAGE_NAME = "ev-metastasis-living-review"


def field_descriptor(col: Column, table: Table) -> dict:
    """A Frictionless Table Schema field for ``col``: type, description and constraints."""
    field: dict = {"name": col.name, "description": col.description}
    constraints: dict = {}
    if col.required:
        constraints["required"] = True
    if col.kind is Kind.INTEGER:
        field["type"] = "integer"
    elif col.kind is Kind.NUMBER:
        field["type"] = "number"
    elif col.kind is Kind.DATE:
        field["type"] = "date"
    else:
        field["type"] = "string"
    if col.minimum is not None:
        constraints["minimum"] = col.minimum if col.kind is Kind.NUMBER else int(col.minimum)
    if col.maximum is not None:
        constraints["maximum"] = col.maximum
    if col.kind is Kind.ID:
        constraints["pattern"] = rf"{table.id_prefix}-\d{{4,}}"
        constraints["unique"] = True
    elif col.kind is Kind.VOCAB and col.vocab is not None:
        if col.multi:
            term = "(?:" + "|".join(re.escape(t) for t in col.vocab.values) + ")"
            constraints["pattern"] = rf"{term}(?:\s*;\s*{term})*"
        else:
            constraints["enum"] = col.vocab.values
        field["vocabulary"] = {t: col.vocab.label(t) for t in col.vocab.values}
    elif col.kind is Kind.CITEKEYS:
        constraints["pattern"] = rf"{KEY_RE}(?:\s*;\s*{KEY_RE})*"
    if constraints:
        field["constraints"] = constraints
    return field


def table_schema(table: Table) -> dict:
    """The Frictionless Table Schema of ``table``."""
    return {"fields": [field_descriptor(c, table) for c in table.columns], "primaryKey": ["id"],
            "missingValues": [""]}


def _neutral(cell: str) -> str:
    # a spreadsheet runs a cell starting with one of these as a formula; a leading quote makes it text
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) and not re.fullmatch(r"-?\d+(\.\d+)?", cell) else cell


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _table_rows(root: Path, table: Table) -> list[list[str]]:
    text = (root / table.path).read_text(encoding="utf-8")
    return [[_neutral(c) for c in row] for row in csv.reader(io.StringIO(text, newline="")) if row]


def references_rows(library: Library) -> list[list[str]]:
    """The library as a flat table: key, authors, title, journal, year, DOI, PMID, URL, retracted."""
    header = ["key", "authors", "title", "journal", "year", "doi", "pmid", "url", "retracted"]
    rows = [header]
    for key in sorted(library.references):
        r = library[key]
        rows.append([_neutral(v) for v in (key, r.fields.get("author", ""), r.title, r.venue,
                                           str(r.year or ""), r.doi, r.pmid, r.url, "yes" if r.retracted else "")])
    return rows


def csl_json(library: Library) -> list[dict]:
    """The library as CSL-JSON items."""
    items = []
    for key in sorted(library.references):
        r = library[key]
        item: dict = {"id": key, "type": "article-journal", "title": r.title, "container-title": r.venue,
                      "author": [{"family": last, "given": first} for last, first in r.authors]}
        if r.year:
            item["issued"] = {"date-parts": [[r.year]]}
        for field, name in (("volume", "volume"), ("number", "issue"), ("pages", "page")):
            if r.fields.get(field):
                item[name] = r.fields[field]
        if r.doi:
            item["DOI"] = r.doi
        if r.pmid:
            item["PMID"] = r.pmid
        items.append(item)
    return items


def descriptor(ev: Evidence) -> dict:
    """The ``datapackage.json`` descriptor."""
    resources = []
    for table in TABLES.values():
        resources.append({"name": table.name, "title": table.title, "description": table.description,
                          "path": table.path, "profile": "tabular-data-resource", "format": "csv",
                          "mediatype": "text/csv", "encoding": "utf-8", "schema": table_schema(table)})
    ref_fields = [{"name": n, "type": "string"} for n in
                  ("key", "authors", "title", "journal", "year", "doi", "pmid", "url", "retracted")]
    resources.append({"name": "references", "title": "References", "path": "references.csv",
                      "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv",
                      "encoding": "utf-8", "schema": {"fields": ref_fields, "primaryKey": ["key"],
                                                      "missingValues": [""]}})
    resources.append({
        "name": "citations", "title": "Which row cites which reference", "path": "citations.csv",
        "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "schema": {"fields": [{"name": "table", "type": "string", "constraints": {"enum": list(TABLES)}},
                              {"name": "row_id", "type": "string"}, {"name": "citekey", "type": "string"}],
                   "missingValues": [""],
                   "foreignKeys": [{"fields": ["citekey"], "reference": {"resource": "references",
                                                                        "fields": ["key"]}}]},
    })
    return {"name": PACKAGE_NAME, "title": "EV Metastasis Living Review: evidence tables",
            "version": __version__, "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}],
            "description": "Findings on extracellular vesicles in cancer metastasis, each row citing verified papers.",
            "fingerprint": ev.fingerprint, "profile": "tabular-data-package", "resources": resources}


def export_package(root: Path, out: Path) -> Path:
    """Write the data package for the review under ``root`` into ``out``; return the descriptor's path."""
    root, out = Path(root), Path(out)
    ev = load(root)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "data").mkdir(parents=True)
    for table in TABLES.values():
        (staging / table.path).write_bytes(_csv(_table_rows(root, table)))
    (staging / "references.csv").write_bytes(_csv(references_rows(ev.library)))
    citations = [["table", "row_id", "citekey"]]
    for name, df in ev.tables.items():
        if "citekeys" in df.columns:
            citations += [[name, row_id, key] for row_id, keys in zip(df["id"], df["citekeys"], strict=True)
                          for key in keys]
    (staging / "citations.csv").write_bytes(_csv(citations))
    shutil.copyfile(root / BIB_PATH, staging / "references.bib")
    (staging / "references.csl.json").write_text(json.dumps(csl_json(ev.library), indent=1, ensure_ascii=False),
                                                 encoding="utf-8")
    atomic_write(staging / "datapackage.json",
                 json.dumps(descriptor(ev), indent=1, ensure_ascii=False).encode("utf-8"))
    # the finished package replaces the old one in one step, so a reader never sees half of it
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old)
    else:
        staging.rename(out)
    return out / "datapackage.json"
