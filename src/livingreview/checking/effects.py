"""The effect inputs of a declared synthesis, checked before anything is pooled: half-filled rows, and every value
``meta.escalc`` refuses (negative counts, events above totals, SD <= 0, a correlation outside [-1, 1] ...), each as a
located error of the table's file."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from livingreview import meta
from livingreview.model.declarations import Synthesis
from livingreview.model.errors import Problem

#: at most this many effect problems per synthesis (the first say what is wrong; thousands say no more)
MAX_PROBLEMS = 50


def effect_problems(path: str, frame: pd.DataFrame, s: Synthesis, flagged: Sequence[tuple[int, str]] = ()
                    ) -> list[Problem]:
    """Located errors for the impossible effect inputs of synthesis ``s`` in ``frame`` (text cells as read, indexed
    by file line): half-filled rows, then what ``meta.escalc`` refuses, one problem per row.

    ``flagged`` holds (line, column) cells the table's own checks already reported; those rows are not checked
    again here, so one mistake gives one message.
    """
    columns = [c for _, c in s.columns]
    bad_lines = {line for line, column in flagged if column in columns}
    problems: list[Problem] = []
    rows = frame[[c for c in columns if c in frame.columns]]
    rows = rows[[line not in bad_lines for line in rows.index]]
    empty = rows.isna() | (rows.astype(object) == "")
    for line, missing in zip(rows.index, empty.to_numpy(), strict=True):
        if missing.any() and not missing.all():
            gaps = [c for c, m in zip(rows.columns, missing, strict=True) if m]
            problems += [Problem(path, int(line), c, f"missing; synthesis '{s.name}' ({s.measure}) needs a number "
                                                     f"here, as the row gives its other effect columns")
                         for c in gaps]
    rows = rows[~empty.any(axis=1).to_numpy()]
    numeric = rows.apply(lambda col: pd.to_numeric(col, errors="coerce"))
    numeric = numeric[numeric.notna().all(axis=1).to_numpy()].astype(float)
    lines = list(numeric.index)
    data = numeric.reset_index(drop=True)
    args = {arg: column for arg, column in s.columns}
    while len(data) and len(problems) < MAX_PROBLEMS:
        try:
            meta.escalc(s.measure, data, ratio=s.ratio, level=s.level, **args)
            break
        except meta.EffectSizeError as exc:
            if exc.row is None:  # not about one study: the declaration itself, which reading it has checked
                problems.append(Problem(path, 1, "-", f"synthesis '{s.name}': {exc}"))
                break
            i = exc.row - 1
            column = exc.column if exc.column in frame.columns else columns[0]
            problems.append(Problem(path, int(lines[i]), column, f"synthesis '{s.name}' ({s.measure}): {exc.reason}"))
            data = data.drop(index=data.index[i]).reset_index(drop=True)
            del lines[i]
    return problems
