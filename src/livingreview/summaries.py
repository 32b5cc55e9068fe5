"""Pure functions from the evidence object to summary tables (DataFrames)."""

from __future__ import annotations

import pandas as pd

from livingreview.evidence import Evidence
from livingreview.schema import EVIDENCE_TABLES, TABLES


def cited_keys(ev: Evidence) -> set[str]:
    """Every BibTeX key cited by at least one row of any table."""
    keys: set[str] = set()
    for df in ev.tables.values():
        if "citekeys" in df.columns:
            for cell in df["citekeys"]:
                keys.update(cell)
    return keys


def table_counts(ev: Evidence) -> pd.DataFrame:
    """Rows, distinct references and last-added date per table."""
    records = []
    for name, table in TABLES.items():
        df = ev.tables[name]
        refs = {k for cell in df["citekeys"] for k in cell} if "citekeys" in df.columns else set()
        last = df["added"].max() if len(df) else pd.NaT
        records.append({
            "table": name,
            "title": table.title,
            "rows": len(df),
            "references": len(refs),
            "last_added": None if pd.isna(last) else last.date().isoformat(),
        })
    return pd.DataFrame.from_records(records)


def status(ev: Evidence) -> dict[str, object]:
    """Headline numbers of the review: rows, references, coverage, cancer types, fingerprint."""
    cited = cited_keys(ev)
    refs = ev.library.references
    findings = ev.findings()
    lasts = [ev.tables[t]["added"].max() for t in TABLES if len(ev.tables[t])]
    return {
        "rows": int(sum(len(ev.tables[t]) for t in EVIDENCE_TABLES)),
        "claims": len(ev.claims),
        "references": len(refs),
        "cited_references": len(cited & set(refs)),
        "citation_coverage": round(len(cited & set(refs)) / len(refs), 3) if refs else 0.0,
        "retracted": sorted(k for k, r in refs.items() if r.retracted),
        "cancer_types": int(findings["cancer_type"].nunique()),
        "last_added": max(lasts).date().isoformat() if lasts else None,
        "fingerprint": ev.fingerprint[:12],
    }
