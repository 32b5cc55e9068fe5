"""Bringing a table saved by a spreadsheet back to the canonical form, and changing nothing else.

Excel's "CSV UTF-8" adds a byte-order mark; spreadsheets leave empty rows at the end, mix line endings and may
reorder columns. ``tidy`` undoes exactly those, keeps every other byte, and leaves a canonical file untouched.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from livingreview.csvfile import BOM
from livingreview.errors import UsageError
from livingreview.fileio import atomic_write, inside, review_lock
from livingreview.schema import TABLES


@dataclass(frozen=True)
class Tidied:
    """What ``tidy`` changed in one table (nothing when ``changes`` is empty)."""

    path: str
    changes: tuple[str, ...]
    written: bool


def tidy_bytes(data: bytes, columns: list[str]) -> tuple[bytes, list[str]]:
    """The canonical form of a table's bytes and the list of what was changed."""
    changes = []
    if data.startswith(BOM):
        data = data[len(BOM):]
        changes.append("removed the UTF-8 byte-order mark")
    text = data.decode("utf-8")
    crlf, bare_cr = text.count("\r\n"), len(re.findall(r"\r(?!\n)", text))
    lf = text.count("\n") - crlf
    ending = "\r\n" if crlf > max(lf, bare_cr) else "\n"
    if (crlf and ending == "\n") or (lf and ending == "\r\n") or bare_cr:
        text = re.sub(r"\r\n|\r|\n", ending, text)
        changes.append(f"line endings made {'CRLF' if ending == chr(13) + chr(10) else 'LF'} throughout")
    pieces = re.split(r"(?<=\n)", text)
    if pieces and pieces[-1] == "":
        pieces.pop()
    reader = csv.reader(iter(pieces))
    out: list[str] = []
    consumed = 0
    header: list[str] | None = None
    order: list[int] | None = None
    empty = 0
    for cells in reader:
        raw = "".join(pieces[consumed:reader.line_num])
        consumed = reader.line_num
        if not cells or all(c == "" for c in cells):
            empty += 1
            continue
        if header is None:
            header = cells
            if sorted(cells) == sorted(columns) and cells != columns:
                order = [cells.index(c) for c in columns]
                changes.append("columns put back in the declared order")
        if order is not None:
            buf = io.StringIO()
            csv.writer(buf, lineterminator=ending).writerow([cells[i] for i in order])
            raw = buf.getvalue()
        if not raw.endswith(("\n", "\r")):
            raw += ending  # a canonical file ends with a line ending
        out.append(raw)
    if empty:
        changes.append(f"removed {empty} empty row(s)")
    result = "".join(out).encode("utf-8")
    if result != data and not changes:
        changes.append("added the missing final line ending")
    return result, changes


def tidy_table(root: Path, table_name: str, dry_run: bool = False) -> Tidied:
    """Rewrite one table in canonical form (atomically), unless it already is."""
    if table_name not in TABLES:
        raise UsageError(f"unknown table '{table_name}'; expected one of: {', '.join(TABLES)}")
    table = TABLES[table_name]
    root = Path(root)
    with review_lock(root):
        path = inside(root, root / table.path)
        if not path.exists():
            raise UsageError(f"{table.path} does not exist")
        data = path.read_bytes()
        try:
            result, changes = tidy_bytes(data, table.column_names)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UsageError(f"{table.path} cannot be tidied ({exc}); run livingreview validate for the located "
                             "problem") from None
        if changes and not dry_run:
            atomic_write(path, result)
    return Tidied(table.path, tuple(changes), bool(changes) and not dry_run)
