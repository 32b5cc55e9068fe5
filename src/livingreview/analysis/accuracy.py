"""Diagnostic accuracy that can be pooled: rows reporting a marker's sensitivity and specificity with the sizes of
the groups they were measured in, grouped so that only the same marker in the same stratum (the columns the chapter
names: a population, a sample, a use) is ever pooled, and only where at least two studies report it.

A row's 2x2 table is rebuilt from what it reports: true positives = sensitivity x cases and true negatives =
specificity x controls, rounded to whole participants; the pooled measure is the diagnostic odds ratio (metafor's
``escalc("OR")`` on that table). The chapter names the columns, so nothing here is about one review.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from livingreview.checking.evidence import Evidence

__all__ = ["Columns", "accuracy_rows", "marker_groups", "note", "strata_words"]


@dataclass(frozen=True)
class Columns:
    """Which columns of the table hold what the accuracy of a marker needs."""

    marker: str = "marker"
    #: columns whose values must be equal for rows to be pooled (never pooling different populations or samples)
    strata: tuple[str, ...] = ()
    sensitivity: str = "sensitivity"
    specificity: str = "specificity"
    cases: str = "n_patients"
    controls: str = "n_controls"


def _key(text: object) -> str:
    """A marker as compared: case and spacing ignored, nothing else (two wordings of one marker stay apart)."""
    return " ".join(str(text).split()).casefold()


def accuracy_rows(ev: Evidence, table: str, cols: Columns = Columns()) -> pd.DataFrame:
    """The rows with every value the 2x2 table needs (their strata may be unrecorded), with ``tp``, ``fn``,
    ``fp``, ``tn`` and ``study`` (their cited studies, sorted and joined: one paper's two rows are one study)."""
    df = ev[table]
    needed = [cols.marker, cols.sensitivity, cols.specificity, cols.cases, cols.controls]
    usable = df[df[needed].notna().all(axis=1).to_numpy()]
    usable = usable[(pd.to_numeric(usable[cols.cases]) > 0).to_numpy()
                    & (pd.to_numeric(usable[cols.controls]) > 0).to_numpy()]
    cases = pd.to_numeric(usable[cols.cases]).to_numpy(dtype=float)
    controls = pd.to_numeric(usable[cols.controls]).to_numpy(dtype=float)
    tp = np.rint(pd.to_numeric(usable[cols.sensitivity]).to_numpy(dtype=float) * cases)
    tn = np.rint(pd.to_numeric(usable[cols.specificity]).to_numpy(dtype=float) * controls)
    study = usable["citekeys"].map(lambda keys: ";".join(sorted(keys)) if isinstance(keys, tuple) else str(keys))
    return usable.assign(tp=tp, fn=cases - tp, fp=controls - tn, tn=tn, study=study.to_numpy(),
                         marker_key=usable[cols.marker].map(_key).to_numpy()).reset_index(drop=True)


def marker_groups(ev: Evidence, table: str, cols: Columns = Columns()) -> list[tuple[tuple[str, ...], pd.DataFrame]]:
    """((marker, *strata), rows) for every marker reported with its 2x2 data by at least two studies in the same
    stratum (every stratum column recorded), in the table's order of first appearance."""
    rows = accuracy_rows(ev, table, cols)
    # a row whose stratum is not recorded (no sample stated) cannot be shown to match another: it is never pooled
    rows = rows[rows[list(cols.strata)].notna().all(axis=1).to_numpy()]
    out = []
    for _, group in rows.groupby(["marker_key", *cols.strata], observed=True, sort=False):
        if group["study"].nunique() >= 2:
            first = group.iloc[0]
            out.append(((str(first[cols.marker]), *(str(first[s]) for s in cols.strata)), group))
    return out


def strata_words(ev: Evidence, table: str, cols: Columns = Columns()) -> str:
    """The strata as a reader names them ('population, sample and use'), from the columns' declared headings."""
    names = [ev.declared[table].column(s).heading.lower() for s in cols.strata]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


def note(ev: Evidence, table: str, cols: Columns = Columns()) -> str:
    """One sentence, computed from the data: how many rows have what pooling needs and how many markers qualify."""
    rows = accuracy_rows(ev, table, cols)
    total = len(ev[table])
    groups = marker_groups(ev, table, cols)
    same = strata_words(ev, table, cols)
    what = (f"{len(rows)} of the {total} rows report sensitivity and specificity together with the numbers of "
            "patients and controls they were measured in")
    if not groups:
        return (f"{what}; no marker is reported so by two studies for the same {same}, so no diagnostic accuracy "
                "is pooled.")
    return (f"{what}; {len(groups)} marker{'s are' if len(groups) != 1 else ' is'} reported so by at least two "
            f"studies for the same {same}, and each is pooled below on its own.")
