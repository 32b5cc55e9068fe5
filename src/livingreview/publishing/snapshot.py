"""A normalised dump of every summary table and chart spec the book shows, to prove builds reproducible."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from livingreview.analysis import summaries as s
from livingreview.checking.evidence import Evidence
from livingreview.publishing import figures as f


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.astype(object).where(df.notna(), None).to_json(orient="records", date_format="iso"))


def tables(ev: Evidence) -> dict[str, pd.DataFrame]:
    """Every summary table the engine derives from the review's declarations, by name."""
    out: dict[str, pd.DataFrame] = {}
    facet = ev.roles.facets[0] if ev.roles.facets else None
    for name in ev.finding_tables:
        out[name] = s.summary(ev, name, [c for c in ev.declared[name].column_names if c not in ("citekeys", "source")])
        group = ev.roles.group(name)
        if group and facet and group != facet:
            out[f"{group}_by_{facet}"] = s.crosstab(ev, name, group, facet, include_empty=True)
        if group and ev.roles.evidence_level:
            out[f"{group}_levels"] = s.level_by(ev, name, group)
    if ev.roles.findings:
        out |= {"growth": s.studies_per_year(ev), "explorer": s.explorer(ev), "whats_new": s.whats_new(ev)}
    if "claims" in ev.tables:
        out |= {"claims": s.claim_support(ev), "claim_levels": s.claim_levels(ev)}
    return out


def charts(ev: Evidence) -> dict[str, dict]:
    """Every generic chart spec, by name."""
    out: dict[str, dict] = {}
    for name, df in tables(ev).items():
        if name.endswith("_levels") and name != "claim_levels":
            group = name.removesuffix("_levels")
            out[name] = f.level_bars(df, group, "", "").to_dict()
        elif "_by_" in name:
            group, facet = name.split("_by_", 1)
            out[name] = f.count_heatmap(df, facet, group, "", "", "").to_dict()
    if "claim_levels" in tables(ev):
        out["claims-evidence"] = f.claims_chart(tables(ev)["claim_levels"]).to_dict()
    if ev.roles.findings:
        out["studies-per-year"] = f.growth_chart(tables(ev)["growth"]).to_dict()
    return out


def snapshot(ev: Evidence) -> dict:
    """Tables as records and chart specs, with keys sorted: equal inputs give byte-equal JSON."""
    return {"fingerprint": ev.fingerprint,
            "tables": {name: _records(df) for name, df in tables(ev).items()},
            "charts": charts(ev)}


def digest(ev: Evidence) -> str:
    """SHA-256 of the canonical JSON of ``snapshot``."""
    text = json.dumps(snapshot(ev), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
