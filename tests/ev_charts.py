"""The EV review's chart calls, as its chapters make them (02 subtypes, 05 therapies, 06 biomarkers), for tests."""

from __future__ import annotations

import pandas as pd

from livingreview.analysis import summaries as s
from livingreview.publishing import figures as f


def auc_points(ev, **kw) -> pd.DataFrame:
    return s.means(ev, "biomarkers", ["auc"], by=["marker", "cancer_type"], size="n_patients", first="cargo_class",
                   sort=["cancer_type", "auc"], descending=("auc",), **kw)


def sens_spec_points(ev, **kw) -> pd.DataFrame:
    return s.means(ev, "biomarkers", ["sensitivity", "specificity"], by=["marker", "cancer_type"], size="n_patients",
                   **kw)


def size_ranges(ev) -> pd.DataFrame:
    return s.ranges(ev, "ev_subtypes", "size_nm_min", "size_nm_max", by="name")


def _by(df: pd.DataFrame) -> pd.DataFrame:
    """A frame made by hand names its label columns as ``means`` would."""
    if "by" not in df.attrs:
        df.attrs["by"] = ["marker", "cancer_type" if "cancer_type" in df else "cancer"]
        df.attrs.setdefault("size", "n_patients")
    return df


def auc_dotplot(df: pd.DataFrame):
    return f.dot_plot(_by(df), "auc", title="Diagnostic accuracy (AUC) of EV markers",
                      note="one point per marker and cancer type (mean AUC of its findings); size: patients; "
                           "diamond: no patient count; dashed: chance",
                      size="n_patients", color="cargo_class", rule=0.5, rule_title="Chance (AUC)", fraction=True,
                      headers={"auc": "AUC", "n_patients": "Patients", "cargo_class": "Cargo class"})


def sens_spec_chart(df: pd.DataFrame):
    df = _by(df)
    color = "cancer_type" if "cancer_type" in df else "cancer"
    return f.scatter_chart(df, "specificity", "sensitivity", title="Sensitivity and specificity of EV markers",
                           note="one point per marker and cancer type (mean of its findings)", color=color,
                           fraction=True, headers={color: "Cancer type"})


def size_range_chart(df: pd.DataFrame):
    return f.range_chart(df, "size_nm_min", "size_nm_max", title="Reported sizes of EV subtypes",
                         subtitle="one row per subtype and source", x_title="Diameter (nm, log scale)",
                         y_title="Subtype (source)", log=True,
                         headers={"name": "Subtype", "size_nm_min": "Min (nm)", "size_nm_max": "Max (nm)",
                                  "studies": "Studies"})


def pipeline_chart(df: pd.DataFrame):
    return f.count_heatmap(df, "stage", "strategy", "Therapy findings by strategy and development stage",
                           "Development stage", "Strategy", show_zero=True,
                           subtitle="number: findings (rows) at each stage; a strategy can have findings at several")
