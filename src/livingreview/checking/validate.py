"""Validation of a whole review: every table, the library, and the links between them."""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import functools
import gc
import hashlib
import multiprocessing
import os
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from livingreview.checking.bib import BIB_PATH, Library, load_library
from livingreview.checking.claims import parse_selector, pooled_selector_errors, selector_errors
from livingreview.checking.csvfile import read_table
from livingreview.checking.intake import ledger_problems
from livingreview.checking.living import Cadence, read_cadence
from livingreview.checking.releases import read_releases
from livingreview.checking.rules import check_cells, split_multi
from livingreview.model.declarations import DECLARATIONS, Declarations, Synthesis, library_policy
from livingreview.model.declarations import load as load_declarations
from livingreview.model.errors import Problem, Severity, ValidationError, quote
from livingreview.model.fileio import unsafe_links
from livingreview.model.schema import Kind, Table

CITE_ROLE_RE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


@dataclass(frozen=True)
class Checked:
    """What validation read: string frames by table (indexed by file line), the library, and all problems.

    ``frames`` is empty when the check was asked for problems only; ``rows`` counts every table's rows.
    """

    frames: dict[str, pd.DataFrame]
    library: Library
    problems: list[Problem]
    rows: dict[str, int] = field(default_factory=dict)
    #: the committed release snapshots, oldest first
    releases: tuple = ()
    #: the living cadence declared in living.toml (None if none is declared)
    cadence: Cadence | None = None
    #: what was read, by file, with a hash of the bytes read: a later ``check`` may reuse what did not change
    parts: dict[str, tuple[str, object]] = field(default_factory=dict)
    #: the review's declarations (None when its review.yml could not be read: then nothing else was)
    declarations: Declarations | None = None

    @property
    def errors(self) -> list[Problem]:
        """Problems that fail validation."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems reported but not failing."""
        return [p for p in self.problems if p.severity is Severity.WARNING]


class Suggester:
    """'Did you mean' for unknown keys, bounded: only keys of a length that could match are compared, and only
    the first ``limit`` distinct unknown keys get a fuzzy suggestion (difflib is quadratic in the worst case)."""

    def __init__(self, library: Library, limit: int = 50):
        self.library = library
        self.limit = limit
        self.done: dict[str, str] = {}

    @functools.cached_property
    def lower(self) -> dict[str, str]:
        """Library keys by their lower case (built at the first unknown key: most tables have none)."""
        return {k.lower(): k for k in self.library.references}

    @functools.cached_property
    def by_length(self) -> dict[int, list[str]]:
        """Library keys by length."""
        by_length: dict[int, list[str]] = {}
        for k in self.library.references:
            by_length.setdefault(len(k), []).append(k)
        return by_length

    def __call__(self, key: str) -> str:
        if key.lower() in self.lower:
            return f"; did you mean {quote(self.lower[key.lower()])}? (keys are case-sensitive)"
        if key in self.done or len(self.done) >= self.limit:
            return self.done.get(key, "")
        # a difflib ratio of 0.8 needs the shorter string at least 2/3 as long as the longer one
        n = len(key)
        candidates = [k for length in range((2 * n + 2) // 3, (3 * n) // 2 + 1) for k in self.by_length.get(length, ())]
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.8)
        self.done[key] = f"; did you mean {quote(close[0])}?" if close else ""
        return self.done[key]


def _cell_citation_messages(cell: str, library: Library, suggest: Suggester) -> list[str]:
    messages = []
    for key in split_multi(cell):
        if not key or key in library.broken_keys:
            continue
        if key not in library:
            messages.append(f"unknown citekey {quote(key)}; expected a key of references.bib{suggest(key)}")
        elif library[key].retracted:
            messages.append(f"citekey {quote(key)} is a retracted paper; retracted papers cannot support a finding")
    return messages


def _citation_problems(path: str, citations: dict[str, list[int]], library: Library) -> list[Problem]:
    if not library.readable:
        return []  # an unreadable library is reported once, not once per citation
    # cells repeat (one paper supports many rows), so each distinct cell is looked up once
    suggest = Suggester(library)
    return [Problem(path, line, "citekeys", message)
            for cell, lines in citations.items() if (messages := _cell_citation_messages(cell, library, suggest))
            for line in lines for message in messages]


def _record_id(item: str) -> str:
    """One ``source`` item in the form ``Reference.record_ids`` gives (DOIs are case-insensitive)."""
    return "doi:" + item[4:].lower() if item[:4].lower() == "doi:" else item.upper()


def _keys_with_bad_ids(library: Library, bib_problems: list[Problem]) -> set[str]:
    """Entries with a problem in an identifier field (or none at all): their ids cannot be matched."""
    starts = sorted((ref.line, key) for key, ref in library.references.items())
    lines = [line for line, _ in starts]
    bad = set()
    for p in bib_problems:
        if p.column in ("doi", "pmid", "pmcid") and (i := bisect.bisect_right(lines, p.line)) > 0:
            bad.add(starts[i - 1][1])
    return bad


def _source_problems(path: str, sources: dict[tuple[str, str], list[int]], library: Library,
                     skip: set[str]) -> list[Problem]:
    """A row's ``source`` must name a record of a paper it cites: its DOI, PMID or PMCID in the library."""
    if not library.readable:
        return []
    problems = []
    for (cell, source), lines in sources.items():
        keys = [k for k in split_multi(cell) if k]
        if any(k not in library or library[k].retracted or k in skip for k in keys):
            continue  # an unknown, broken or retracted key, or a bad id, is reported on its own (each fault once)
        known = set().union(*(library[k].record_ids for k in keys))
        for item in split_multi(source):
            if item and _record_id(item) not in known:
                cited = ", ".join(keys)
                problems += [Problem(path, line, "source", f"source '{item}' is not an id of the cited "
                                                           f"{'entry' if len(keys) == 1 else 'entries'} ({cited}); "
                                                           "expected the doi, pmid or pmcid of a cited entry (add the "
                                                           "id to the entry, or cite the paper it names)")
                             for line in lines]
    return problems


def _withdrawn_problems(tables: dict[str, Table], log: pd.DataFrame | None,
                        ids: dict[str, frozenset[str]]) -> list[Problem]:
    """A withdrawn row is out of its table, withdrawn once, and its id has its table's prefix."""
    if log is None:
        return []
    path = tables["withdrawn"].path
    problems = []
    seen: dict[str, int] = {}
    for line, row in log.iterrows():
        row_id, table_name = row.get("row_id"), row.get("table")
        if not isinstance(row_id, str) or table_name not in tables:
            continue  # already reported by the cell rules
        table = tables[table_name]
        if not row_id.startswith(table.id_prefix + "-"):
            problems.append(Problem(path, int(line), "row_id", f"row {quote(row_id)} is not an id of {table.path}; "
                                                               f"expected '{table.id_prefix}-' and digits"))
        elif row_id in ids.get(table_name, frozenset()):
            problems.append(Problem(path, int(line), "row_id", f"row {quote(row_id)} is withdrawn but still in "
                                                               f"{table.path}; expected it taken out of the table"))
        if row_id in seen:
            problems.append(Problem(path, int(line), "row_id", f"row {quote(row_id)} is withdrawn twice (first on line "
                                                               f"{seen[row_id]}); expected once"))
        seen.setdefault(row_id, int(line))
    return problems


def withdrawn_ids(log: pd.DataFrame | None) -> dict[str, int]:
    """Withdrawn row id -> its line in the log."""
    if log is None or "row_id" not in log:
        return {}
    return {rid: int(line) for line, rid in log["row_id"].items() if isinstance(rid, str)}


def _claim_problems(tables: dict[str, Table], claims: pd.DataFrame | None, ids: dict[str, frozenset[str]],
                    withdrawn: dict[str, int] | None = None,
                    syntheses: dict[str, Synthesis] | None = None) -> list[Problem]:
    if claims is None:
        return []
    withdrawn = withdrawn or {}
    syntheses = syntheses or {}
    path = tables["claims"].path
    problems = []
    for line, row in claims.iterrows():
        table_name = row.get("table")
        if table_name not in tables or table_name == "claims":
            continue
        table = tables[table_name]
        pooled = row.get("synthesis")
        pooled = pooled.strip() if isinstance(pooled, str) and pooled.strip() else None
        if pooled is not None and pooled not in syntheses:
            problems.append(Problem(path, int(line), "synthesis",
                                    f"unknown synthesis {quote(pooled)}; expected one of the syntheses review.yml "
                                    f"declares: {', '.join(syntheses) or 'none declared'}"))
            continue
        if pooled is not None and syntheses[pooled].table != table_name:
            problems.append(Problem(path, int(line), "table",
                                    f"the synthesis {quote(pooled)} pools the {syntheses[pooled].table} table, not "
                                    f"{table_name}; expected table {syntheses[pooled].table}"))
        try:
            conditions = parse_selector(split_multi(row["where"])) if isinstance(row.get("where"), str) else []
        except ValueError:
            conditions = None  # already reported by the cell rules
        if conditions is not None:
            messages = (pooled_selector_errors(pooled, conditions, syntheses[pooled].moderators)
                        if pooled is not None
                        else selector_errors(table, conditions))
            for message in messages:
                problems.append(Problem(path, int(line), "where", message))
        known = ids.get(table_name)
        if isinstance(row.get("contradicted_by"), str) and known is not None:
            for ref in split_multi(row["contradicted_by"]):
                if ref and ref in withdrawn:
                    problems.append(Problem(path, int(line), "contradicted_by",
                                            f"row {quote(ref)} was withdrawn ({_path(tables, 'withdrawn')} line "
                                            f"{withdrawn[ref]}); expected rows still in the evidence"))
                elif ref and ref not in known:
                    problems.append(Problem(path, int(line), "contradicted_by",
                                            f"row {quote(ref)} is not an id of {table.path}; expected ids of the "
                                            "claim's table"))
    return problems


def cited_in_chapters(root: Path) -> set[str]:
    """The library keys the chapters cite with a {cite} role (they count as cited)."""
    keys: set[str] = set()
    chapters = root / "chapters"
    if not chapters.is_dir():
        return keys
    for path in sorted(chapters.rglob("*")):
        if path.suffix in {".md", ".ipynb"} and path.is_file():
            for match in CITE_ROLE_RE.finditer(path.read_text(encoding="utf-8", errors="replace")):
                keys.update(k.strip() for k in match.group(1).split(","))
    return keys


def _uncited_warnings(cited_cells: set[str], library: Library, root: Path) -> list[Problem]:
    cited = cited_in_chapters(root)
    for cell in cited_cells:
        cited.update(split_multi(cell))
    return [
        Problem(library.path, ref.line, "-", f"entry {quote(ref.key)} is cited by no row or chapter", Severity.WARNING)
        for ref in library.references.values()
        if ref.key not in cited and not ref.retracted
    ]


@dataclass(frozen=True)
class TableCheck:
    """What checking one table found; ``frame`` is None when only problems were asked for."""

    name: str
    problems: list[Problem]
    rows: int = 0
    readable: bool = False
    #: each distinct ``citekeys`` cell and the lines holding it (lines whose cell broke a rule left out)
    citations: dict[str, list[int]] = field(default_factory=dict)
    ids: frozenset[str] | None = None
    frame: pd.DataFrame | None = None
    #: each distinct (``citekeys``, ``source``) pair and the lines holding it (lines whose cells broke a rule left out)
    sources: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    #: the problems as five columns, while the check crosses from a worker process (see ``_columns``)
    packed: tuple[list, ...] | None = None


def _path(tables: dict[str, Table], name: str) -> str:
    return tables[name].path if name in tables else f"data/{name}.csv"


def check_table(root: Path, table: Table, keep_frame: bool = True, packed: bool = False) -> TableCheck:
    """Read and check one table; what later cross-table checks need travels with it (its problems as columns
    with ``packed``, for a worker process to send)."""
    name = table.name
    raw, problems = read_table(root, table)
    if raw is None:
        return TableCheck(name, problems)
    frame, cell_problems = check_cells(table, raw)
    problems += cell_problems
    repeats = _repeated_rows(table, frame)
    if not packed:
        problems += _repeat_warnings(table, *repeats)
    citations: dict[str, list[int]] = {}
    if "citekeys" in frame.columns and any(c.kind is Kind.CITEKEYS for c in table.columns):
        flagged = {p.line for p in cell_problems if p.column == "citekeys"}
        cells = frame["citekeys"].dropna()
        # a plain pass, not groupby().groups (an Index per distinct cell: seconds for a large table)
        for line, cell in zip(cells.index.tolist(), cells.tolist(), strict=True):
            lines = citations.setdefault(cell, [])
            if line not in flagged:  # a cell that broke a rule is not looked up again, but its keys count as cited
                lines.append(int(line))
    sources: dict[tuple[str, str], list[int]] = {}
    if {"citekeys", "source"} <= set(frame.columns) and table.column("source").kind is Kind.IDENTIFIER:
        flagged = {p.line for p in cell_problems if p.column in ("citekeys", "source")}
        pairs = frame[["citekeys", "source"]].dropna()
        for line, keys, source in zip(pairs.index.tolist(), pairs["citekeys"].tolist(), pairs["source"].tolist(),
                                      strict=True):
            if line not in flagged:
                sources.setdefault((keys, source), []).append(int(line))
    ids = frozenset(frame["id"].dropna()) if "id" in frame.columns else None
    keep = keep_frame or name in ("claims", "withdrawn", "searches", "screening")  # read by the cross-table checks
    if keep:
        frame = frame.astype(object).where(frame.notna(), None)
    columns = None
    if packed:
        # a repeated row's warning goes straight into the columns: a large table may have hundreds of thousands
        template = Problem(table.path, 1, "-", "", Severity.WARNING)  # the path and column as a problem keeps them
        lines, firsts = repeats
        columns = _columns(problems)
        for column, values in zip(columns, ([template.path] * len(lines), lines, [template.column] * len(lines),
                                            [REPEAT_MESSAGE.format(first) for first in firsts],
                                            [Severity.WARNING.value] * len(lines)), strict=True):
            column += values
        problems = []
    return TableCheck(name, problems, len(frame), True, citations, ids, frame if keep else None, sources, columns)


REPEAT_MESSAGE = "row repeats line {} in every column but id and date; expected each finding once"


def _repeated_rows(table: Table, frame: pd.DataFrame) -> tuple[list[int], list[int]]:
    """(lines, lines they repeat): each row that repeats an earlier one in every column but its id and date (one
    finding entered twice), and the line of the first such row."""
    cols = [c for c in table.column_names if c not in ("id", "added") and c in frame.columns]
    if len(frame) < 2 or not cols:
        return [], []
    # one group per distinct combination of values (exact: each column's values are factorized, not hashed)
    groups = frame.groupby(cols, sort=False, dropna=False).ngroup().to_numpy()
    repeated = pd.Series(groups).duplicated(keep="first").to_numpy()
    if not repeated.any():
        return [], []
    lines = frame.index.to_numpy()
    first = np.zeros(groups.max() + 1, dtype=lines.dtype)
    first[groups[~repeated]] = lines[~repeated]
    return lines[repeated].tolist(), first[groups[repeated]].tolist()


def _repeat_warnings(table: Table, lines: list[int], firsts: list[int]) -> list[Problem]:
    """The warning for each repeated row."""
    return [Problem(table.path, line, "-", REPEAT_MESSAGE.format(first), Severity.WARNING)
            for line, first in zip(lines, firsts, strict=True)]


PARALLEL_BYTES = 8_000_000  # below this, forking costs more than it saves


def _columns(problems: list[Problem]) -> tuple[list, ...]:
    """Problems as five columns: a large table's hundreds of thousands of problems cross from a worker several
    times faster as five lists than as objects."""
    return ([p.path for p in problems], [p.line for p in problems], [p.column for p in problems],
            [p.message for p in problems], [p.severity.value for p in problems])


def _unpacked(result: TableCheck) -> TableCheck:
    """``result`` with its problems made again from the columns a worker sent."""
    if result.packed is None:
        return result
    severity = {s.value: s for s in Severity}
    paths, lines, columns, messages, severities = result.packed
    # each field is already as a Problem keeps it: made again as it is, not checked (and escaped) once more
    problems = [Problem.checked(path, line, column, message, severity[level])
                for path, line, column, message, level in zip(paths, lines, columns, messages, severities, strict=True)]
    return dataclasses.replace(result, problems=problems, packed=None)


def _problems_only(args: tuple[Path, Table]) -> TableCheck:
    return check_table(*args, keep_frame=False, packed=True)


def _with_frame(args: tuple[Path, Table]) -> TableCheck:
    return check_table(*args, keep_frame=True, packed=True)


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def check(root: Path | str, frames: bool = True, reuse: dict[str, tuple[str, object]] | None = None) -> Checked:
    """Read and check every table and the library under ``root``; never raises for bad data.

    The library is also read by pybtex, as the book build will, and must read the same.
    With ``frames=False`` only problems and row counts are kept, and large tables are checked on two cores.
    ``reuse`` is an earlier check's ``parts``: a table or library whose bytes are unchanged is not read again
    (what one file gives depends on its bytes alone; the checks across files always run).
    """
    # the check makes many objects (a problem per repeated row of a large table) and keeps them: the collector's
    # passes over them, looking for cycles that validation does not make, cost more than the check itself
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _check(Path(root), frames, reuse)
    finally:
        if collecting:
            gc.enable()


def _check(root: Path, frames: bool, reuse: dict[str, tuple[str, object]] | None) -> Checked:
    try:
        declared = load_declarations(root)
    except ValidationError as exc:
        # without its declarations nothing else of a review can be read: say so, and what the library holds
        library, bib_problems = load_library(root, library_policy(root))
        return Checked({}, library, sorted(set(exc.problems) | set(bib_problems), key=Problem.sort_key))
    if reuse is not None and frames:
        return _check_reusing(root, declared, reuse)
    tables = declared.tables
    # the effect checks of a declared synthesis read its table's cells
    effect_tables = {s.table for s in declared.synthesis.values()}
    sizes = {name: (root / t.path).stat().st_size if (root / t.path).is_file() else 0 for name, t in tables.items()}
    workers = min(os.cpu_count() or 1, 2)
    # forking is safe only while this process runs one thread (a Jupyter kernel, for one, runs several)
    if not frames and workers > 1 and sum(sizes.values()) >= PARALLEL_BYTES and threading.active_count() == 1:
        # only problems and summaries come back from the workers, and the largest tables go first so that
        # both finish together, while this process parses the library
        order = sorted(tables, key=lambda n: -sizes[n])
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {name: pool.submit(_with_frame if name in effect_tables else _problems_only,
                                         (root, tables[name]))
                       for name in order}
            library, bib_problems = load_library(root, declared.library)
            results = [_unpacked(futures[name].result()) for name in tables]
    else:
        # one thread: parsing the library is Python, which a second thread cannot run beside the tables (the GIL),
        # and on a busy machine every hand-over of the GIL between them waits for the scheduler
        results = [check_table(root, table, frames or table.name in effect_tables) for table in tables.values()]
        library, bib_problems = load_library(root, declared.library)
    return _across_files(root, declared, results, library, bib_problems, frames)


def _check_reusing(root: Path, declared: Declarations, reuse: dict[str, tuple[str, object]]) -> Checked:
    def part(rel: str, read, declared_as: str = "") -> tuple[str, object]:
        # what one table's check gives depends on its bytes and on its declaration
        digest = _file_hash(root / rel) + declared_as
        old = reuse.get(rel)
        if old is not None and old[0] == digest:
            return old
        result = read()
        # kept for reuse only if the file did not change while it was read (its hash must name what was read)
        return (digest if _file_hash(root / rel) + declared_as == digest else "", result)

    parts = {table.path: part(table.path, functools.partial(check_table, root, table), repr(table))
             for table in declared.tables.values()}
    # the library's check depends on its bytes and on the review's library policy
    parts[BIB_PATH] = part(BIB_PATH, functools.partial(load_library, root, declared.library), repr(declared.library))
    library, bib_problems = parts[BIB_PATH][1]
    results = [parts[table.path][1] for table in declared.tables.values()]
    checked = _across_files(root, declared, results, library, bib_problems, True)
    return dataclasses.replace(checked, parts=parts)


def _undeclared_problems(root: Path, declared: Declarations) -> list[Problem]:
    """A CSV under ``data/`` that no table declares is an error: its rows would silently count for nothing."""
    folder = root / "data"
    known = {t.path for t in declared.tables.values()}
    return [Problem(path.relative_to(root).as_posix(), 1, "-",
                    f"no table is declared for this file; expected a table '{path.stem}' in {DECLARATIONS} "
                    f"(tables: {', '.join(declared.tables) or 'none'}), or the file removed")
            for path in sorted(folder.glob("*.csv")) if folder.is_dir() and path.relative_to(root).as_posix()
            not in known]


def _across_files(root: Path, declared: Declarations, results: list[TableCheck], library: Library,
                  bib_problems: list[Problem], frames: bool) -> Checked:
    """The checks across files, on every table's and the library's own check; the whole ``Checked``."""
    tables = declared.tables
    problems: list[Problem] = list(bib_problems)
    problems += _undeclared_problems(root, declared)
    bad_ids = _keys_with_bad_ids(library, bib_problems)
    for result in results:
        problems += result.problems
        problems += _citation_problems(tables[result.name].path, result.citations, library)
        problems += _source_problems(tables[result.name].path, result.sources, library, bad_ids)
    by_name = {r.name: r for r in results}
    claims = by_name["claims"].frame if "claims" in by_name else None
    log = by_name["withdrawn"].frame if "withdrawn" in by_name else None
    ids = {r.name: r.ids for r in results if r.ids is not None}
    problems += _claim_problems(tables, claims, ids, withdrawn_ids(log), declared.synthesis)
    problems += _effect_problems(declared, by_name)
    problems += _withdrawn_problems(tables, log, ids)
    cited = {cell for r in results for cell in r.citations}
    problems += _uncited_warnings(cited, library, root)
    evidence_keys = {k for r in results if r.name in declared.cited_tables for cell in r.citations
                     for k in split_multi(cell)}
    problems += ledger_problems(by_name["searches"].frame if "searches" in by_name else None,
                                by_name["screening"].frame if "screening" in by_name else None, library,
                                evidence_keys - {""})
    kept = {r.name: r.frame for r in results if frames and r.frame is not None}
    rows = {r.name: r.rows for r in results if r.readable}
    releases, release_problems = read_releases(root)
    problems += release_problems
    cadence, cadence_problems = read_cadence(root)
    problems += cadence_problems
    problems += link_problems(root)
    # duplicates dropped in order (not through a set), so the runs each check made in line order stay sorted runs
    return Checked(kept, library, sorted(dict.fromkeys(problems), key=Problem.sort_key), rows, releases, cadence,
                   declarations=declared)


def _effect_problems(declared: Declarations, by_name: dict[str, TableCheck]) -> list[Problem]:
    """Impossible effect inputs (negative counts, events above totals, SD <= 0, ...) of each declared synthesis,
    each at its file line and column."""
    if not declared.synthesis:
        return []
    from livingreview.checking.effects import effect_problems  # numpy and scipy only for a review that pools

    problems: list[Problem] = []
    for s in declared.synthesis.values():
        result = by_name.get(s.table)
        if result is None or result.frame is None:
            continue
        flagged = [(p.line, p.column) for p in result.problems if p.severity is Severity.ERROR]
        problems += effect_problems(declared.tables[s.table].path, result.frame, s, flagged)
    return problems


def link_problems(root: Path) -> list[Problem]:
    """A located error for each symlink the book build would follow out of the review (see ``unsafe_links``)."""
    from livingreview.checking.layout import toc_sources

    try:
        pages = toc_sources(root)
    except Exception:  # a broken TOC is the build's to report, with its own message
        pages = []
    return [Problem(link.relative_to(root).as_posix(), 1, "-",
                    f"symlink {why} ({os.readlink(link)!r}); the build copies what links point to, so it refuses "
                    "them: replace the link with the file itself, or remove it")
            for link, why in unsafe_links(root, pages)]


def validate(root: Path | str) -> list[Problem]:
    """Every problem (errors and warnings) of the review under ``root``, sorted by file and line."""
    return check(root, frames=False).problems
