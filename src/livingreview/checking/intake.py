"""The intake ledger: how records were found (``searches``) and screened (``screening``), checked both ways.

A record found twice is recorded as a duplicate, never dropped; every paper cited as evidence has a screening
record that included it; a retracted paper cannot be included.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

from livingreview.checking.bib import Library
from livingreview.checking.rules import split_multi
from livingreview.model.errors import Problem, Severity, quote

#: where the intake tables live (their names are the engine's: see ``declarations.RESERVED``)
SEARCHES, SCREENING = "data/searches.csv", "data/screening.csv"
NOT_ALNUM_RE = re.compile(r"[^a-z0-9]")


def normal_title(title: str) -> str:
    """A title reduced to lower-case letters and digits, so that case, accents and punctuation do not hide a repeat."""
    # the accents NFKD splits off are combining marks, which the filter drops with the punctuation (a generator over
    # every character to drop them first cost most of a search's merge on a large ledger)
    return NOT_ALNUM_RE.sub("", unicodedata.normalize("NFKD", title).lower())


def record_keys(doi: object, pmid: object, title: object) -> list[tuple[str, str]]:
    """The (kind, value) pairs by which two records are the same paper."""
    keys = []
    if isinstance(doi, str) and doi:
        keys.append(("DOI", doi.lower()))
    if isinstance(pmid, str) and pmid:
        keys.append(("PMID", pmid))
    if isinstance(title, str) and len(normal := normal_title(title)) >= 20:  # a short title says too little
        keys.append(("title", normal))
    return keys


Rows = list[tuple[int, dict[str, str | None]]]


def _duplicates(screening: Rows) -> list[Problem]:
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    problems = []
    for line, row in screening:
        if row.get("reason") == "duplicate":
            continue
        for kind, value in record_keys(row.get("doi"), row.get("pmid"), row.get("title")):
            if (kind, value) in seen:
                first_line, first_id = seen[(kind, value)]
                shown = "title" if kind == "title" else f"{kind} {value}"
                problems.append(Problem(SCREENING, line, "doi" if kind == "DOI" else kind.lower(),
                                        f"{row['id']} has the same {shown} as {first_id} (line {first_line}); "
                                        f"expected it recorded as decision=exclude, reason=duplicate, "
                                        f"duplicate_of={first_id}"))
                break
            seen[(kind, value)] = (line, str(row["id"]))
    return problems


def _references(screening: Rows, searches: Rows, library: Library, cited: set[str]) -> list[Problem]:
    problems = []
    search_ids = {row["id"] for _, row in searches}
    record_ids = {row["id"] for _, row in screening}
    for line, row in screening:
        rid = row["id"]
        for ref in split_multi(row["search"] or ""):
            if ref and ref not in search_ids:
                problems.append(Problem(SCREENING, line, "search", f"{rid}: search {quote(ref)} is not an id of "
                                                                         f"{SEARCHES}; expected a SRCH id there"))
        dup = row.get("duplicate_of")
        if dup and dup not in record_ids:
            problems.append(Problem(SCREENING, line, "duplicate_of",
                                    f"{rid}: {quote(dup)} is not an id of {SCREENING}; expected the record it repeats"))
        key = row.get("citekey")
        if not key:
            continue
        if key not in library:
            problems.append(Problem(SCREENING, line, "citekey", f"{rid}: unknown citekey {quote(key)}; expected an "
                                                                       "entry of references.bib"))
            continue
        entry = library[key]
        if row["decision"] == "include" and entry.retracted:
            problems.append(Problem(SCREENING, line, "decision", f"{rid}: {quote(key)} is retracted and cannot be "
                                                                        "included; expected decision=exclude, "
                                                                        "reason=retracted"))
        for column in ("doi", "pmid"):
            mine, theirs = row.get(column), entry.fields.get(column, "")
            if mine and theirs and mine.lower() != theirs.lower():
                problems.append(Problem(SCREENING, line, column, f"{rid}: {column} {mine} differs from "
                                                                        f"{quote(key)} in references.bib ({theirs})"))
    included = {row["citekey"]: line for line, row in screening if row["decision"] == "include" and row["citekey"]}
    for key in sorted(cited - set(included)):
        if key in library:
            problems.append(Problem(library.path, library[key].line, "-",
                                    f"entry {quote(key)} is cited as evidence but no screening record includes it; "
                                    f"expected a row of {SCREENING} with decision=include, citekey={key}"))
    for key in sorted(set(included) - cited):
        if key in library:
            problems.append(Problem(SCREENING, included[key], "citekey",
                                    f"{quote(key)} is included but no evidence row cites it yet (awaiting extraction)",
                                    Severity.WARNING))
    return problems


def _search_counts(screening: Rows, searches: Rows) -> list[Problem]:
    """Each search's ``records`` is the number of ledger rows that name it: a count no record stands behind fails.

    A search writes every record it returns to the ledger (a repeat as a duplicate), and a manual search counts
    only the records it wrote down, so the two agree. A ledger holding more records than its search claims is
    only warned about: a record may have been written down after the count was.
    """
    held: dict[str, int] = {}
    for _, row in screening:
        for ref in split_multi(row["search"] or ""):
            held[ref] = held.get(ref, 0) + 1
    problems = []
    for line, row in searches:
        claimed, sid = row.get("records"), str(row["id"])
        if not claimed or not claimed.isdigit():
            continue  # the column's own rule reports a missing or malformed count
        found = held.get(sid, 0)
        if int(claimed) > found:
            problems.append(Problem(SEARCHES, line, "records", f"{sid} claims {claimed} records but {SCREENING} "
                                                               f"holds {found} found by it; expected every record "
                                                               "the search returned written to the ledger"))
        elif int(claimed) < found:
            problems.append(Problem(SEARCHES, line, "records", f"{sid} claims {claimed} records but {SCREENING} "
                                                               f"holds {found} found by it; expected the count "
                                                               "of the records it returned", Severity.WARNING))
    return problems


def records(frame: pd.DataFrame) -> list[tuple[int, dict[str, str | None]]]:
    """(file line, row) for each row, every cell a non-empty string or None (frames may hold NaN when empty)."""
    # column lists zipped, not to_dict (which boxes every cell through pandas: most of the ledger check at scale)
    names = [str(c) for c in frame.columns]
    columns = [frame[c].tolist() for c in frame.columns]
    return [(line, {k: (v if isinstance(v, str) and v else None) for k, v in zip(names, values, strict=True)})
            for line, *values in zip(frame.index.tolist(), *columns, strict=True)]


def ledger_problems(searches: pd.DataFrame | None, screening: pd.DataFrame | None, library: Library,
                    cited: Iterable[str]) -> list[Problem]:
    """Every problem of the intake ledger against itself, the search log and the library.

    A review with no screening records keeps no ledger, and nothing is required of it but that its search log
    claims no records.
    """
    if screening is None or searches is None:
        return []
    if screening.empty:  # only a search that claims records it never wrote down can be wrong here
        return _search_counts([], records(searches))
    ledger, log = records(screening), records(searches)
    return _duplicates(ledger) + _references(ledger, log, library, set(cited)) + _search_counts(ledger, log)
