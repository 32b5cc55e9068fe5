"""The one typed evidence object that every summary, figure and chapter takes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from pathlib import Path
from typing import TypeVar

import pandas as pd

from livingreview.checking.bib import BIB_PATH, Library
from livingreview.checking.rules import split_multi
from livingreview.checking.validate import Checked, check
from livingreview.model.declarations import DEFAULT_IDENTITY, Declarations, Identity, Roles
from livingreview.model.errors import Problem, ValidationError
from livingreview.model.schema import Kind, Table
from livingreview.model.vocab import Vocabulary


@dataclass(frozen=True)
class Evidence:
    """Every validated table (vocabulary columns as ordered categoricals) and the parsed library."""

    tables: Mapping[str, pd.DataFrame]
    library: Library
    fingerprint: str
    warnings: tuple[Problem, ...] = ()
    #: committed release snapshots (``releases.Release``), oldest first
    releases: tuple = ()
    #: the living cadence (``living.Cadence``), None if the review declares none
    cadence: object = None
    #: what the review declares about itself (``declarations.Declarations``): its tables, vocabularies and roles
    declarations: Declarations | None = None
    #: the review's folder (its book's pages are found from there)
    root: Path | None = None
    #: results of ``per_evidence`` functions, computed once per object (the tables never change)
    memo: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        # ``ev.trials`` for ``ev["trials"]``: a review's tables read as attributes, as a chapter names them
        tables = self.__dict__.get("tables")
        if tables is not None and name in tables:
            return tables[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute or table {name!r}")

    @property
    def identity(self) -> Identity:
        """Who the review is: its title and the slug its published files are named by."""
        return self.declarations.identity if self.declarations is not None else DEFAULT_IDENTITY

    @property
    def declared(self) -> dict[str, Table]:
        """The review's declared tables, by name."""
        return self.declarations.tables if self.declarations is not None else {}

    @property
    def roles(self) -> Roles:
        """What the engine makes of the review's columns (see ``declarations.Roles``)."""
        return self.declarations.roles if self.declarations is not None else Roles()

    @property
    def finding_tables(self) -> tuple[str, ...]:
        """The tables whose rows are findings, in declaration order."""
        return self.roles.findings

    def vocab(self, name: str) -> Vocabulary:
        """The declared vocabulary called ``name``."""
        return self.declarations.vocabularies[name]

    def findings_vocab(self, column: str) -> Vocabulary:
        """The vocabulary of a column every findings table shares (a facet, the evidence level)."""
        return self.declared[self.finding_tables[0]].column(column).vocab

    def column_vocab(self, table: str, column: str) -> Vocabulary | None:
        """The vocabulary of ``table``'s ``column`` (None for a column that is not a vocab column)."""
        return self.declared[table].column(column).vocab

    def table_title(self, name: str) -> str:
        """The title a table is shown under."""
        return self.declared[name].title

    def has(self, name: str) -> bool:
        """Whether the review declares a table called ``name`` (an optional table may hold no rows)."""
        return name in self.declared

    @property
    def claims(self) -> pd.DataFrame:
        """The review's claims (an empty frame for a review without a claims table)."""
        return self.tables["claims"] if "claims" in self.tables else pd.DataFrame(
            columns=["id", "section", "claim", "table", "where", "contradicted_by", "expected", "added"])

    def findings(self) -> pd.DataFrame:
        """The columns shared by all findings tables, stacked, with a ``table`` column."""
        names = self.finding_tables
        if not names:
            return pd.DataFrame({"id": pd.Series(dtype="string"), "citekeys": pd.Series(dtype=object),
                                 "finding": pd.Series(dtype="string"), "added": pd.Series(dtype="datetime64[ns]"),
                                 "table": pd.Series(dtype=object)})
        first = self.declared[names[0]]
        common = [c.name for c in first.columns if all(c.name in self.declared[t].column_names for t in names)]
        parts = [self.tables[t][common].assign(table=t) for t in names]
        out = pd.concat(parts, ignore_index=True)
        for col in common:
            declared = first.column(col)
            if declared.kind is Kind.VOCAB and not declared.multi and declared.vocab is not None:
                out[col] = pd.Categorical(out[col].astype(object), categories=declared.vocab.values)
        return out


T = TypeVar("T")


def per_evidence(func: Callable[[Evidence], T]) -> Callable[[Evidence], T]:
    """Compute ``func(ev)`` once per ``Evidence`` (a chapter asks for a claim's status several times).

    DataFrames are handed out as copies, so a caller that changes its result cannot change the next caller's.
    """
    @wraps(func)
    def wrapper(ev: Evidence) -> T:
        key = f"{func.__module__}.{func.__qualname__}"
        if key not in ev.memo:
            ev.memo[key] = func(ev)
        out = ev.memo[key]
        return out.copy() if isinstance(out, pd.DataFrame) else out

    return wrapper


def _typed_column(series: pd.Series, table: Table, name: str) -> pd.Series:
    col = table.column(name)
    if col.multi:
        return series.map(lambda cell: tuple(i for i in split_multi(cell) if i) if isinstance(cell, str) else ())
    if col.kind is Kind.VOCAB and col.vocab is not None:
        return pd.Series(pd.Categorical(series, categories=col.vocab.values), index=series.index)
    # numbers are parsed exactly as validation parsed them (int() and float() of ASCII text), so no valid value
    # is rounded or refused here; a column with empty cells would go through float64 in pd.to_numeric
    if col.kind is Kind.INTEGER:
        return pd.Series(pd.array([int(x) if isinstance(x, str) else pd.NA for x in series], dtype="Int64"),
                         index=series.index)
    if col.kind is Kind.NUMBER:
        return pd.Series(pd.array([float(x) if isinstance(x, str) else pd.NA for x in series], dtype="Float64"),
                         index=series.index)
    if col.kind is Kind.DATE:
        return pd.to_datetime(series, format="%Y-%m-%d")
    return series.astype("string")


def typed_table(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """Convert a validated string frame into typed columns in schema order, indexed 0..n-1."""
    out = pd.DataFrame({name: _typed_column(frame[name], table, name) for name in table.column_names})
    return out.reset_index(drop=True)


def fingerprint(root: Path | str) -> str:
    """SHA-256 over the bytes of every table and the library: changes if and only if the data does."""
    root = Path(root)
    digest = hashlib.sha256()
    from livingreview.model.declarations import load

    try:
        tables = [t.path for t in load(root).tables.values()]
    except ValidationError:
        tables = []  # unreadable declarations: their bytes (hashed below) are what changes
    # the data alone: a change of declarations that leaves every file as it was leaves the fingerprint too (what
    # the declarations change is caught where it matters: chapters re-execute on it, see book.chapter_fingerprints)
    for rel in [*tables, BIB_PATH, "living.toml"]:
        path = root / rel
        digest.update(rel.encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()


def load(root: Path | str = ".") -> Evidence:
    """Load and validate the review under ``root``; raise ``ValidationError`` listing every error."""
    return from_checked(root, check(root))


def from_checked(root: Path | str, checked: Checked) -> Evidence:
    """The typed evidence of a check that kept its frames; raise ``ValidationError`` if it found errors."""
    if checked.errors:
        raise ValidationError(checked.problems)
    declared = checked.declarations
    tables = {name: typed_table(declared.tables[name], frame) for name, frame in checked.frames.items()}
    return Evidence(tables, checked.library, fingerprint(root), tuple(checked.warnings), checked.releases,
                    checked.cadence, declared, Path(root).resolve())


def check_key(root: Path | str) -> str:
    """A hash of everything ``check`` reads: the tables, the library, ``living.toml``, the releases and the keys
    the chapters cite. Equal keys mean an equal check, so a server may keep a validated review while it holds."""
    from livingreview.checking.releases import FOLDER as RELEASES_FOLDER
    from livingreview.checking.validate import cited_in_chapters

    root = Path(root)
    digest = hashlib.sha256(fingerprint(root).encode())
    digest.update("\0".join(sorted(cited_in_chapters(root))).encode() + b"\0\0")
    folder = root / RELEASES_FOLDER
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    declared = root / "review.yml"
    if declared.exists():
        digest.update(b"review.yml\0" + declared.read_bytes())
    return digest.hexdigest()
