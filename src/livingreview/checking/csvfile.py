"""Reading one evidence CSV into cells that remember the file line they came from."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from livingreview.model.errors import Problem, quote
from livingreview.model.schema import Table

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class RawTable:
    """The cells of one CSV file as strings, with the 1-based start line of every record.

    ``data`` holds the cells as a DataFrame (indexed by line, empty cells as NA) when the fast reader
    could be used; otherwise ``rows`` and ``lines`` hold them.
    """

    path: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    data: pd.DataFrame | None = None


# a whole quoted field (from a separator or line start to a separator or line end), its doubled quotes included;
# written as an unrolled loop so re scans runs of text in C. Quotes anywhere else are left for the strict reader
QUOTED_RE = re.compile(r'(?<![^,\n])"[^"]*(?:""[^"]*)*"(?![^,\n])')
BARE_CR_RE = re.compile(r"\r(?!\n)")


def _one_record_per_line(data: bytes, fields: int, start: int = 0, end: int | None = None) -> bool:
    """Whether every line of ``data[start:end]`` is one record of ``fields`` fields, each quote opening or closing
    a whole quoted field (``QUOTED_RE``), no line break inside one: the test ``QUOTED_RE`` makes, in numpy.

    Reading quotes in order, even ones open a field and odd ones close it, unless two are adjacent (a doubled
    quote inside the field). If every opening quote follows a separator, a line start or a doubled quote's first
    half, and every closing one precedes a separator, a line end or a doubled quote's second half, ``QUOTED_RE``
    removes exactly the spans between each opening and its closing quote: a character is inside a quoted field
    exactly when an odd number of quotes precede it. UTF-8 never uses the bytes of '"', ',' or a line break
    inside another character, so bytes stand for characters.
    """
    import numpy as np

    end = len(data) if end is None else end
    # the body in place (``data[start:end]`` would copy a large file once more)
    arr = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    quotes = np.flatnonzero(arr == 34)
    if len(quotes) % 2:
        return False
    lines = data.count(b"\n", start, end) + 1
    if len(quotes):
        n = len(arr)
        opening, closing = quotes[0::2], quotes[1::2]
        before = arr[np.maximum(opening - 1, 0)]
        after = arr[np.minimum(closing + 1, n - 1)]
        # a doubled quote's halves: the closing quote right before an opening one
        doubled_open = np.zeros(len(opening), dtype=bool)
        doubled_open[1:] = opening[1:] == closing[:-1] + 1
        doubled_close = np.zeros(len(closing), dtype=bool)
        doubled_close[:-1] = doubled_open[1:]
        if not (((opening == 0) | (before == 44) | (before == 10) | doubled_open).all()
                and ((closing == n - 1) | (after == 44) | (after == 10) | doubled_close).all()):
            return False
        if (np.searchsorted(quotes, np.flatnonzero(arr == 10)) % 2).any():
            return False  # a line break inside a quoted field
        outside = int((np.searchsorted(quotes, np.flatnonzero(arr == 44)) % 2 == 0).sum())
    else:
        outside = data.count(b",", start, end)
    return outside == (fields - 1) * lines


def _fast_frame(text: str, data: bytes, header: list[str]) -> pd.DataFrame | None:
    """The cells via pandas' C parser, when every line is exactly one complete record; else None.

    Only clean files qualify (no blank lines, no line breaks inside cells, the header's field count on
    every line), so the slower reader still produces the located message for anything unusual.
    """
    start = data.find(b"\n") + 1 if b"\n" in data else len(data)
    end = len(data) - 1 if data.endswith(b"\n") and len(data) > start else len(data)
    if start >= end:
        return None
    # with every quoted field taken out, each line must hold exactly the header's separators; a line break
    # inside a quoted field or an unbalanced quote changes the line count or leaves a quote.
    # No line has more separators than the header (pandas rejects such a line, or, for the first, takes
    # its first field as an index), so the right total means the right count on every line.
    if not _one_record_per_line(data, len(header), start, end):
        return None
    count = data.count(b"\n", start, end) + 1
    try:
        df = pd.read_csv(io.BytesIO(data), encoding="utf-8", dtype=object, header=0, keep_default_na=False,
                         na_values=[""], skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        return None
    if len(df) != count or list(df.columns) != header or not isinstance(df.index, pd.RangeIndex):
        return None
    df.index = pd.RangeIndex(2, len(df) + 2, name="line")
    return df


def _decode(data: bytes, rel: str, problems: list[Problem]) -> str | None:
    if data.startswith(BOM):
        problems.append(Problem(rel, 1, "-", "file starts with a UTF-8 byte-order mark (BOM); "
                                             "expected plain UTF-8 without BOM (livingreview tidy removes it)"))
        data = data[len(BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start: exc.start + 1].hex()
        problems.append(Problem(rel, line, "-", f"not valid UTF-8 (byte 0x{bad} at offset {exc.start}); "
                                                "expected the file saved as UTF-8"))
        return None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problems.append(Problem(rel, line, "-", "NUL byte in file; expected a text CSV file"))
        return None
    if "\r" in text and (cr := BARE_CR_RE.search(text)) is not None:  # the regex only where a CR is
        # one message for the file: CR-only files (old Mac format) would otherwise be misnumbered line by line
        line = len(re.findall(r"\r\n|\r|\n", text[: cr.start()])) + 1
        problems.append(Problem(rel, line, "-", "line break is a bare carriage return (CR); expected LF or CRLF "
                                                "line endings (save the file again as CSV UTF-8)"))
        return None
    return text


def _check_header(header: list[str], table: Table, rel: str, problems: list[Problem]) -> None:
    expected = table.column_names
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "';'" if ";" in header[0] else "a tab"
        problems.append(Problem(rel, 1, "-", f"header is separated by {sep}; expected ',' between columns: "
                                             + ",".join(expected)))
        return
    seen: set[str] = set()
    for name in header:
        if name != name.strip():
            problems.append(Problem(rel, 1, name.strip() or "-", f"stray whitespace around header {quote(name)}"))
        if name in seen:
            problems.append(Problem(rel, 1, name.strip() or "-", f"duplicate header {quote(name)}; each column appears "
                                                                 "once"))
        elif name.strip() not in expected:
            shown = name.strip() or "(empty)"
            problems.append(Problem(rel, 1, shown or "-", f"unknown column {quote(shown)}; expected columns: "
                                                          + ", ".join(expected)))
        seen.add(name)
    stripped = {h.strip() for h in header}
    for name in expected:
        if name not in stripped:
            problems.append(Problem(rel, 1, name, f"missing column {quote(name)}; expected columns: "
                                                  + ", ".join(expected)))
    if sorted(h.strip() for h in header) == sorted(expected) and [h.strip() for h in header] != expected:
        # add and edit write values in the declared order, so the file must keep it
        problems.append(Problem(rel, 1, "-", "columns are out of order; expected: " + ",".join(expected)
                                             + " (livingreview tidy restores the order)"))


def read_table(root: Path, table: Table) -> tuple[RawTable | None, list[Problem]]:
    """Read ``table``'s CSV under ``root``; return its cells (or None if unusable) and located problems."""
    rel = table.path
    problems: list[Problem] = []
    try:
        data = (root / rel).read_bytes()
    except FileNotFoundError:
        if table.optional:  # a review that keeps no such table has an empty one
            return RawTable(rel, table.column_names, [], []), problems
        return None, [Problem(rel, 1, "-", "file not found; expected a CSV with header: "
                                           + ",".join(table.column_names))]
    except OSError as exc:
        return None, [Problem(rel, 1, "-", f"cannot read file ({exc.strerror or exc})")]
    text = _decode(data, rel, problems)
    if text is None:
        return None, problems
    if not text.strip():
        problems.append(Problem(rel, 1, "-", "empty file; expected a header row: " + ",".join(table.column_names)))
        return None, problems

    try:
        # the first line sliced off, not split (which would copy the rest of a large file too)
        first = next(csv.reader(io.StringIO(text[:nl] if (nl := text.find("\n")) >= 0 else text, newline="")),
                     []) if "\r" not in text else []
    except csv.Error:
        first = []
    if first and len(set(first)) == len(first) and [h.strip() for h in first] == first:
        header_problems: list[Problem] = []
        _check_header(first, table, rel, header_problems)
        fast = None if header_problems else _fast_frame(text, data.removeprefix(BOM), first)
        if fast is not None:
            return RawTable(rel, first, [], [], fast), problems

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    last_line = 0
    try:
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            if not record:  # a blank line carries no data
                continue
            if header is None:
                header = record
                _check_header(header, table, rel, problems)
                continue
            if len(record) != len(header):
                problems.append(Problem(rel, start, "-", f"row has {len(record)} fields; expected "
                                                         f"{len(header)} as in the header"))
                continue
            rows.append(record)
            lines.append(start)
    except csv.Error as exc:
        start = last_line + 1
        msg = str(exc)
        if "unexpected end of data" in msg or "EOF" in msg:
            msg = "unbalanced quote: a quoted field that starts in this record is never closed"
        else:
            msg = f"malformed CSV ({msg}); expected fields separated by ',' and quoted with '\"'"
        problems.append(Problem(rel, start, "-", msg))
        return None, problems
    if header is None:
        problems.append(Problem(rel, 1, "-", "empty file; expected a header row"))
        return None, problems
    return RawTable(rel, [h.strip() for h in header], rows, lines), problems
