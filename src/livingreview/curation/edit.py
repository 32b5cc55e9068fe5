"""Correcting and withdrawing one row: the other rows stay byte-identical, and nothing is ever lost.

``edit`` replaces one record's bytes; ``withdraw`` moves a row into ``data/withdrawn.csv`` with the date and the
reason, so its id is never used again. Both validate the whole review with the change before writing anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from livingreview.checking.validate import check
from livingreview.curation.add import AUTOMATIC, check_candidate, check_columns, encode_row, near_duplicate
from livingreview.model.declarations import load as load_declarations
from livingreview.model.errors import Problem, UsageError, ValidationError, quote
from livingreview.model.fileio import atomic_write, inside, line_ending, review_lock
from livingreview.model.schema import Kind, Table


@dataclass(frozen=True)
class Record:
    """One CSV record: its cells, the 1-based line it starts on, and its byte span in the file."""

    cells: list[str]
    line: int
    start: int
    end: int


def records(data: bytes) -> list[Record]:
    """Every record of a CSV file (the header first) with its exact byte span, line endings included."""
    text = data.decode("utf-8")
    lines = re.split(r"(?<=\n)", text)
    if lines and lines[-1] == "":
        lines.pop()
    offsets = [0]
    for piece in lines:
        offsets.append(offsets[-1] + len(piece.encode("utf-8")))
    reader = csv.reader(iter(lines), strict=True)
    out, consumed = [], 0
    for cells in reader:
        first = consumed
        consumed = reader.line_num
        if cells:
            out.append(Record(cells, first + 1, offsets[first], offsets[consumed]))
    return out


@dataclass(frozen=True)
class Change:
    """What ``edit`` or ``withdraw`` did (or, in a dry run, would do)."""

    table: str
    row_id: str
    diff: str
    written: bool


def _find(table: Table, data: bytes, row_id: str) -> Record:
    found = [r for r in records(data)[1:] if r.cells and r.cells[0] == row_id]
    if not found:
        raise UsageError(f"no row {quote(row_id)} in {table.path}")
    return found[0]


def _diff(rel: str, before: bytes, after: bytes) -> str:
    return "".join(difflib.unified_diff(before.decode("utf-8").splitlines(keepends=True),
                                        after.decode("utf-8").splitlines(keepends=True), rel, rel))


def _prepare(root: Path, table_name: str, frames: bool = False) -> tuple[Table, Path, bytes, object]:
    tables = load_declarations(root).tables
    if table_name not in tables:
        raise UsageError(f"unknown table {quote(table_name)}; expected one of: {', '.join(tables)}")
    table = tables[table_name]
    before = check(root, frames=frames)
    if before.errors:
        raise ValidationError(before.errors)
    path = inside(root, root / table.path)
    return table, path, path.read_bytes(), before


def edit_row(root: Path, table_name: str, row_id: str, values: dict[str, str], dry_run: bool = False) -> Change:
    """Set ``values`` in one row of ``table_name``, validated with the whole review; other rows byte-identical."""
    root = Path(root)
    if table_name == "withdrawn":
        raise UsageError("data/withdrawn.csv is the withdrawal log, written only by livingreview withdraw; "
                         "a withdrawal is never edited")
    with review_lock(root):
        table, path, data, before = _prepare(root, table_name, frames=True)
        check_columns(table, values)
        fixed = [c for c in values if c in AUTOMATIC]
        if fixed:
            raise UsageError(f"{', '.join(fixed)} cannot be edited (a row keeps its id and the date it was added); "
                             "withdraw the row and add a new one instead")
        record = _find(table, data, row_id)
        cells = dict(zip(table.column_names, record.cells, strict=True))
        cells.update({c: v.strip() for c, v in values.items()})
        frame = before.frames[table.name]
        others = frame[frame["id"].astype(str) != row_id]
        duplicate = near_duplicate(table, others, cells)
        if duplicate is not None:
            # the same check as add's: an edit must not turn a row into a copy of another
            raise ValidationError([Problem(table.path, record.line, "-", f"the edited row would repeat line "
                                                                          f"{duplicate} in every column but id and "
                                                                          "date (ignoring case and spacing); "
                                                                          "expected a distinct finding")])
        ending = data[record.start:record.end]
        newline = b"\r\n" if ending.endswith(b"\r\n") else b"\n" if ending.endswith(b"\n") else line_ending(data)
        new = encode_row([cells[c] for c in table.column_names], newline)
        if not ending.endswith((b"\n", b"\r")):
            new = new.rstrip(b"\r\n")  # the last record had no line ending; it still has none
        candidate = data[:record.start] + new + data[record.end:]
        problems = check_candidate(root, {table.path: candidate})
        if problems:
            raise ValidationError(problems)
        if not dry_run and candidate != data:
            atomic_write(path, candidate)
    return Change(table_name, row_id, _diff(table.path, data, candidate), written=not dry_run)


def withdraw_row(root: Path, table_name: str, row_id: str, reason: str, dry_run: bool = False,
                 today: dt.date | None = None) -> Change:
    """Take one row out of the evidence into ``data/withdrawn.csv`` (id, table, finding, studies, reason, date)."""
    from livingreview.curation.add import next_id

    root = Path(root)
    if not reason.strip():
        raise UsageError("give the reason for withdrawing the row with --reason")
    with review_lock(root):
        table, path, data, _ = _prepare(root, table_name)
        if table.name == "withdrawn":
            raise UsageError("a withdrawal record is never withdrawn; the log only grows")
        record = _find(table, data, row_id)
        cells = dict(zip(table.column_names, record.cells, strict=True))
        log_table = load_declarations(root).tables.get("withdrawn")
        if log_table is None:
            raise UsageError("the review declares no withdrawn table in review.yml; a withdrawal is recorded there")
        log_path = inside(root, root / log_table.path)
        log = log_path.read_bytes()
        log_ids = [r.cells[0] for r in records(log)[1:]]
        entry = {"id": next_id(log_table, log_ids), "row_id": row_id, "table": table.name,
                 # what the row said: its finding or claim, else its first text cell after the citations
                 "finding": cells.get("finding") or cells.get("claim") or next(
                     (cells[c.name] for c in table.columns if c.kind is Kind.TEXT and cells.get(c.name)), row_id),
                 "studies": cells.get("citekeys", ""), "reason": " ".join(reason.split()),
                 "withdrawn": (today or dt.date.today()).isoformat()}
        newline = line_ending(log)
        prefix = log if log.endswith((b"\n", b"\r")) else log + newline
        new_log = prefix + encode_row([entry[c] for c in log_table.column_names], newline)
        new_table = data[:record.start] + data[record.end:]
        problems = check_candidate(root, {table.path: new_table, log_table.path: new_log})
        if problems:
            raise ValidationError(problems)
        if not dry_run:
            # the log first: if the second write fails, the row is in both files (an error validate reports),
            # never in neither
            atomic_write(log_path, new_log)
            atomic_write(path, new_table)
    diff = _diff(table.path, data, new_table) + _diff(log_table.path, log, new_log)
    return Change(table_name, row_id, diff, written=not dry_run)

