"""Validation of a whole review: every table, the library, and the links between them."""

from __future__ import annotations

import difflib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from livingreview.bib import Library, load_library
from livingreview.claims import parse_selector, selector_errors
from livingreview.csvfile import read_table
from livingreview.errors import Problem, Severity
from livingreview.rules import check_cells, split_multi
from livingreview.schema import TABLES, Kind

CITE_ROLE_RE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


@dataclass(frozen=True)
class Checked:
    """What validation read: string frames by table (indexed by file line), the library, and all problems."""

    frames: dict[str, pd.DataFrame]
    library: Library
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """Problems that fail validation."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems reported but not failing."""
        return [p for p in self.problems if p.severity is Severity.WARNING]


def _suggest(key: str, library: Library) -> str:
    lower = {k.lower(): k for k in library.references}
    if key.lower() in lower:
        return f"; did you mean '{lower[key.lower()]}'? (keys are case-sensitive)"
    close = difflib.get_close_matches(key, list(library.references), n=1, cutoff=0.8)
    return f"; did you mean '{close[0]}'?" if close else ""


def _citation_problems(name: str, df: pd.DataFrame, library: Library, flagged: set[int]) -> list[Problem]:
    path = TABLES[name].path
    problems = []
    if "citekeys" not in df.columns or not library.readable:
        return problems  # an unreadable library is reported once, not once per citation
    for line, cell in df["citekeys"].dropna().items():
        if line in flagged:
            continue
        for key in split_multi(cell):
            if not key or key in library.broken_keys:
                continue
            if key not in library:
                problems.append(Problem(path, int(line), "citekeys", f"unknown citekey '{key}'; expected a key of "
                                                                     f"references.bib{_suggest(key, library)}"))
            elif library[key].retracted:
                problems.append(Problem(path, int(line), "citekeys", f"citekey '{key}' is a retracted paper; "
                                                                     "retracted papers cannot support a finding"))
    return problems


def _claim_problems(frames: dict[str, pd.DataFrame]) -> list[Problem]:
    claims = frames.get("claims")
    if claims is None:
        return []
    path = TABLES["claims"].path
    problems = []
    for line, row in claims.iterrows():
        table_name = row.get("table")
        if table_name not in TABLES or table_name == "claims":
            continue
        table = TABLES[table_name]
        if isinstance(row.get("where"), str):
            try:
                conditions = parse_selector(split_multi(row["where"]))
            except ValueError:
                conditions = []  # already reported by the cell rules
            for message in selector_errors(table, conditions):
                problems.append(Problem(path, int(line), "where", message))
        target = frames.get(table_name)
        if isinstance(row.get("contradicted_by"), str) and target is not None and "id" in target.columns:
            known = set(target["id"].dropna())
            for ref in split_multi(row["contradicted_by"]):
                if ref and ref not in known:
                    problems.append(Problem(path, int(line), "contradicted_by",
                                            f"row '{ref}' is not an id of {table.path}; expected ids of the "
                                            "claim's table"))
    return problems


def _cited_in_chapters(root: Path) -> set[str]:
    keys: set[str] = set()
    chapters = root / "chapters"
    if not chapters.is_dir():
        return keys
    for path in sorted(chapters.rglob("*")):
        if path.suffix in {".md", ".ipynb"} and path.is_file():
            for match in CITE_ROLE_RE.finditer(path.read_text(encoding="utf-8", errors="replace")):
                keys.update(k.strip() for k in match.group(1).split(","))
    return keys


def _uncited_warnings(frames: dict[str, pd.DataFrame], library: Library, root: Path) -> list[Problem]:
    cited = _cited_in_chapters(root)
    for df in frames.values():
        if "citekeys" in df.columns:
            for cell in df["citekeys"].dropna():
                cited.update(split_multi(cell))
    return [
        Problem(library.path, ref.line, "-", f"entry '{ref.key}' is cited by no row or chapter", Severity.WARNING)
        for ref in library.references.values()
        if ref.key not in cited and not ref.retracted
    ]


def check(root: Path | str, pybtex: bool = False) -> Checked:
    """Read and check every table and the library under ``root``; never raises for bad data.

    With ``pybtex`` the library is also parsed by pybtex, as the book build will (slower on large libraries).
    """
    root = Path(root)
    # the library parses in worker processes while this one checks the tables
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(load_library, root, pybtex)
        problems: list[Problem] = []
        frames: dict[str, pd.DataFrame] = {}
        flagged: dict[str, set[int]] = {}
        for name, table in TABLES.items():
            raw, read_problems = read_table(root, table)
            problems += read_problems
            if raw is None:
                continue
            frame, cell_problems = check_cells(table, raw)
            problems += cell_problems
            frames[name] = frame
            flagged[name] = {p.line for p in cell_problems if p.column == "citekeys"}
        library, bib_problems = pending.result()
    problems += bib_problems
    for name, frame in frames.items():
        if any(c.kind is Kind.CITEKEYS for c in TABLES[name].columns):
            problems += _citation_problems(name, frame, library, flagged[name])
    problems += _claim_problems(frames)
    problems += _uncited_warnings(frames, library, root)
    return Checked(frames, library, sorted(set(problems)))


def validate(root: Path | str, pybtex: bool = False) -> list[Problem]:
    """Every problem (errors and warnings) of the review under ``root``, sorted by file and line."""
    return check(root, pybtex=pybtex).problems
