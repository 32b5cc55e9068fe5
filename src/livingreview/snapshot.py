"""A normalised dump of every summary table and chart spec the book shows, to prove builds reproducible."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from livingreview import figures as f
from livingreview import summaries as s
from livingreview.evidence import Evidence
from livingreview.vocab import HALLMARK


def _records(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.astype(object).where(df.notna(), None).to_json(orient="records", date_format="iso"))


def tables(ev: Evidence) -> dict[str, pd.DataFrame]:
    """Every summary table of the book, by name."""
    return {
        "subtypes": s.subtypes(ev), "size_ranges": s.size_ranges(ev),
        "hallmark_by_cancer": s.hallmark_by_cancer(ev, include_empty=True),
        "hallmark_levels": s.level_by(ev, "mechanisms", HALLMARK), "mechanisms": s.mechanism_summary(ev),
        "organ_by_cancer": s.organ_by_cancer(ev, include_empty=True), "process_by_organ": s.process_by_organ(ev),
        "pmn": s.pmn_summary(ev), "pipeline": s.strategy_by_stage(ev), "therapies": s.therapy_summary(ev),
        "auc": s.auc_points(ev), "sens_spec": s.sens_spec_points(ev), "biomarkers": s.biomarker_summary(ev),
        "claims": s.claim_support(ev), "claim_levels": s.claim_levels(ev), "growth": s.studies_per_year(ev),
        "explorer": s.explorer(ev), "whats_new": s.whats_new(ev),
    }


def charts(ev: Evidence) -> dict[str, dict]:
    """Every chart spec of the book, by name."""
    t = tables(ev)
    return {
        "subtype-sizes": f.size_range_chart(t["size_ranges"]).to_dict(),
        "hallmark-by-cancer": f.count_heatmap(s.hallmark_by_cancer(ev), "cancer_type", "hallmark", "", "",
                                              "").to_dict(),
        "hallmark-levels": f.level_bars(t["hallmark_levels"], "hallmark", "", "").to_dict(),
        "therapy-pipeline": f.pipeline_chart(t["pipeline"]).to_dict(),
        "biomarker-auc": f.auc_dotplot(t["auc"]).to_dict(),
        "biomarker-sens-spec": f.sens_spec_chart(t["sens_spec"]).to_dict(),
        "claims-evidence": f.claims_chart(t["claim_levels"]).to_dict(),
        "studies-per-year": f.growth_chart(t["growth"]).to_dict(),
    }


def snapshot(ev: Evidence) -> dict:
    """Tables as records and chart specs, with keys sorted: equal inputs give byte-equal JSON."""
    return {"fingerprint": ev.fingerprint,
            "tables": {name: _records(df) for name, df in tables(ev).items()},
            "charts": charts(ev)}


def digest(ev: Evidence) -> str:
    """SHA-256 of the canonical JSON of ``snapshot``."""
    text = json.dumps(snapshot(ev), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
