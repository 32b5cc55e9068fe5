"""Appending one evidence row: next free id, today's date, validated with the whole review before writing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from livingreview.checking.bib import BIB_PATH
from livingreview.checking.validate import check
from livingreview.model.declarations import DECLARATIONS
from livingreview.model.declarations import load as load_declarations
from livingreview.model.errors import Problem, UsageError, ValidationError, quote
from livingreview.model.fileio import atomic_write, inside, line_ending, review_lock
from livingreview.model.schema import Table

AUTOMATIC = ("id", "added")
__all__ = ["AUTOMATIC", "Added", "UsageError", "add_row"]


@dataclass(frozen=True)
class Added:
    """The row that was (or, in a dry run, would be) appended, and where."""

    table: str
    path: str
    line: int
    row: dict[str, str]
    written: bool


def next_id(table: Table, ids: list[str]) -> str:
    """The next free id: one more than the highest number in use, so no id is ever reused."""
    # (validation allows nine digits; a longer id is refused there, and int() of thousands of digits would raise)
    numbers = [int(m.group(1)) for i in ids if (m := re.fullmatch(rf"{table.id_prefix}-([0-9]{{1,18}})", i or ""))]
    return f"{table.id_prefix}-{max(numbers, default=0) + 1:04d}"


def encode_row(values: list[str], newline: bytes) -> bytes:
    """One CSV record, quoted only where needed, ending with the file's own line ending."""
    out = io.StringIO()
    csv.writer(out, lineterminator=newline.decode()).writerow(values)
    return out.getvalue().encode("utf-8")


def check_columns(table: Table, values: dict[str, str]) -> None:
    """Refuse (UsageError) values for columns ``table`` does not declare."""
    unknown = [c for c in values if c not in table.column_names]
    if unknown:
        raise UsageError(f"unknown column(s) for {table.name}: {', '.join(unknown)}; expected: "
                         + ", ".join(c for c in table.column_names if c not in AUTOMATIC))


def build_row(table: Table, values: dict[str, str], existing_ids: list[str], today: dt.date) -> dict[str, str]:
    """The full row: given values, the next id and today's date; every declared column present."""
    check_columns(table, values)
    auto = [c for c in values if c in AUTOMATIC]
    if auto:
        raise UsageError(f"{', '.join(auto)} is filled in automatically; do not --set it")
    row = {c: values.get(c, "").strip() for c in table.column_names}
    row["id"] = next_id(table, existing_ids)
    row["added"] = today.isoformat()
    return row


def add_row(root: Path, table_name: str, values: dict[str, str], dry_run: bool = False,
            today: dt.date | None = None) -> Added:
    """Validate ``values`` as a new row of ``table_name`` together with the whole review, then append it.

    Raises ``ValidationError`` (nothing written) when the review, with the row, would be invalid.
    """
    root = Path(root)
    tables = load_declarations(root).tables
    if table_name not in tables:
        raise UsageError(f"unknown table {quote(table_name)}; expected one of: {', '.join(tables)}")
    if table_name == "withdrawn":  # a record there without the row leaving its table would be a false history
        raise UsageError(f"{tables['withdrawn'].path} is the withdrawal log, written only by livingreview withdraw")
    table = tables[table_name]
    with review_lock(root):
        before = check(root)
        if before.errors:
            raise ValidationError(before.errors)
        frame = before.frames[table_name]
        used = list(frame["id"].dropna()) + used_ids(before, table)
        row = build_row(table, values, used, today or dt.date.today())
        duplicate = near_duplicate(table, frame, row)
        if duplicate is not None:
            raise ValidationError([Problem(table.path, duplicate, "-", f"the new row repeats line {duplicate} in "
                                                                        "every column but id and date (ignoring case "
                                                                        "and spacing); expected a new finding")])
        path = inside(root, root / table.path)
        data = path.read_bytes()
        newline = line_ending(data)
        prefix = data if data.endswith((b"\n", b"\r")) else data + newline
        record = encode_row([row[c] for c in table.column_names], newline)
        candidate = prefix + record
        line = prefix.count(b"\n") + 1
        problems = check_candidate(root, {table.path: candidate})
        if problems:
            raise ValidationError(problems)
        if not dry_run:
            atomic_write(path, candidate)
    return Added(table_name, table.path, line, row, written=not dry_run)


def used_ids(checked, table: Table) -> list[str]:
    """Ids of ``table`` that were withdrawn: never given out again."""
    log = checked.frames.get("withdrawn")
    if log is None or log.empty:
        return []
    return [str(i) for i, t in zip(log["row_id"], log["table"], strict=True) if t == table.name and i]


def _normal(value: object) -> str:
    return " ".join(str(value).casefold().split()).rstrip(".") if value is not None else ""


def near_duplicate(table: Table, frame, row: dict[str, str]) -> int | None:
    """The line of an existing row equal to ``row`` in every column but id and date, ignoring case and spacing."""
    columns = [c for c in table.column_names if c not in AUTOMATIC and c in frame.columns]
    if not columns or frame.empty:
        return None
    want = tuple(_normal(row.get(c) or None) for c in columns)
    for line, values in zip(frame.index, frame[columns].itertuples(index=False, name=None), strict=True):
        if tuple(_normal(v) for v in values) == want:
            return int(line)
    return None


def check_candidate(root: Path, files: dict[str, bytes]) -> list[Problem]:
    """Validate a copy of the review in which ``files`` (path -> new bytes) replace their originals."""
    with tempfile.TemporaryDirectory(prefix="livingreview-candidate-") as tmp:
        copy = Path(tmp)
        (copy / "data").mkdir()
        for t in load_declarations(root).tables.values():
            src = root / t.path
            if src.exists():
                shutil.copyfile(src, copy / t.path)
        shutil.copyfile(root / BIB_PATH, copy / BIB_PATH)
        shutil.copyfile(root / DECLARATIONS, copy / DECLARATIONS)
        for rel, data in files.items():
            (copy / rel).write_bytes(data)
        return check(copy, frames=False).errors
