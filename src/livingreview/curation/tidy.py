"""Bringing a table saved by a spreadsheet back to the canonical form, and changing nothing else.

Excel's "CSV UTF-8" adds a byte-order mark and ends records with CRLF; spreadsheets leave empty rows at the end,
may reorder columns and quote cells that need no quotes. ``tidy`` undoes exactly those (records end with LF, as
committed; a cell is quoted only where it must be, as ``export`` writes it), keeps every cell's text (a line break
inside a quoted cell too), refuses a file whose records do not match the header, and leaves a canonical file
untouched.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from livingreview.checking.csvfile import BOM
from livingreview.model.declarations import load as load_declarations
from livingreview.model.errors import UsageError
from livingreview.model.fileio import atomic_write, inside, review_lock


@dataclass(frozen=True)
class Tidied:
    """What ``tidy`` changed in one table (nothing when ``changes`` is empty)."""

    path: str
    changes: tuple[str, ...]
    written: bool


def tidy_bytes(data: bytes, columns: list[str], path: str = "table") -> tuple[bytes, list[str]]:
    """The canonical form of a table's bytes and the list of what was changed.

    Each record ends with LF, as the tables are committed; a line break inside a quoted cell is part of the cell and
    is kept byte for byte. A record whose number of fields differs from the header's is a ``UsageError`` naming
    its line: tidy cannot know which cell is missing, and must neither drop the row nor guess.
    """
    changes = []
    if data.startswith(BOM):
        data = data[len(BOM):]
        changes.append("removed the UTF-8 byte-order mark")
    text = data.decode("utf-8")
    # one piece per physical line, each with its own ending (CRLF, LF or a bare CR), for the csv reader to join
    pieces = re.findall(r"[^\r\n]*(?:\r\n|\r|\n|$)", text)
    if pieces and pieces[-1] == "":
        pieces.pop()
    reader = csv.reader(iter(pieces))
    out: list[str] = []
    consumed = 0
    header: list[str] | None = None
    order: list[int] | None = None
    empty = endings = requoted = 0
    for cells in reader:
        line = consumed + 1
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
        elif len(cells) != len(header):
            raise UsageError(f"{path}:{line}: record has {len(cells)} field(s) but the header has {len(header)}; "
                             "expected one cell per column (tidy changes no cell: correct the row, then run it "
                             "again); nothing was written")
        body = re.sub(r"(\r\n|\r|\n)$", "", raw)
        endings += raw[len(body):] not in ("\n", "")
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([cells[i] for i in order] if order is not None else cells)
        if order is None and buf.getvalue()[:-1] != body:
            requoted += 1  # the same cells, quoted only where a cell must be
        body = buf.getvalue()[:-1]
        out.append(body + "\n")  # a canonical file ends every record, the last one too, with LF
    if endings:
        changes.append(f"line endings made LF ({endings} record(s) ended otherwise)")
    if empty:
        changes.append(f"removed {empty} empty row(s)")
    if requoted:
        changes.append(f"quotes made minimal in {requoted} record(s)")
    result = "".join(out).encode("utf-8")
    if result != data and not changes:
        changes.append("added the missing final line ending")
    return result, changes


def tidy_table(root: Path, table_name: str, dry_run: bool = False) -> Tidied:
    """Rewrite one table in canonical form (atomically), unless it already is."""
    root = Path(root)
    tables = load_declarations(root).tables
    if table_name not in tables:
        raise UsageError(f"unknown table '{table_name}'; expected one of: {', '.join(tables)}")
    table = tables[table_name]
    with review_lock(root):
        path = inside(root, root / table.path)
        if not path.exists():
            raise UsageError(f"{table.path} does not exist")
        data = path.read_bytes()
        try:
            result, changes = tidy_bytes(data, table.column_names, table.path)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UsageError(f"{table.path} cannot be tidied ({exc}); run livingreview validate for the located "
                             "problem") from None
        if changes and not dry_run:
            atomic_write(path, result)
    return Tidied(table.path, tuple(changes), bool(changes) and not dry_run)
