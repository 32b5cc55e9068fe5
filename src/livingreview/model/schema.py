"""What a table and a column are: the types a review declares its tables with (in its ``review.yml``).

Validation, typed loading, the contributor docs and exports are all derived from a review's declared tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from livingreview.model.vocab import Vocabulary

MULTI_SEPARATOR = ";"
FORMULA_PREFIXES = ("=", "+", "-", "@")
#: a BibTeX key as cited from a table: ASCII, starting with a letter, digit or '_' (never a formula prefix)
KEY_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_:.+\-]*"
#: characters that change how text displays without being seen: controls, zero-width and bidi overrides
#: (and the characters XML 1.0 forbids, which would make the feed and the pages ill-formed: lone surrogates,
#: U+FFFE and U+FFFF)
INVISIBLE_PATTERN = (r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                     r"\ud800-\udfff\ufffe\uffff]")
INT64_MAX = 2**63 - 1
#: the largest selector (``claims.where``) a claim may have: every certainty computation matches it against every
#: row, so its size is bounded (the review's longest is under 100 characters and 5 terms)
SELECTOR_MAX_CHARS = 2_000
SELECTOR_MAX_TERMS = 100
# identifiers and links, ASCII only: a DOI or PMID in other digits or with invisible characters is a broken link
DOI_PATTERN = r"10\.[0-9]{4,9}/[!-~]+"
PMID_PATTERN = r"[1-9][0-9]{0,8}"
URL_PATTERN = r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"  # the characters RFC 3986 allows
#: one published record: 'PMID:n', 'PMCn' or 'doi:10.x/y' (a ';' inside a DOI would split the list, so refuse it)
RECORD_PATTERN = r"PMID:[1-9][0-9]{0,8}|PMC[1-9][0-9]{0,9}|doi:10\.[0-9]{4,9}/[!-:<-~]+"
#: a trial registry id as registries print it: ClinicalTrials.gov, ISRCTN, EudraCT, ChiCTR, jRCT/UMIN
TRIAL_PATTERN = (r"NCT[0-9]{8}|ISRCTN[0-9]{8}|EudraCT [0-9]{4}-[0-9]{6}-[0-9]{2}|ChiCTR[0-9A-Za-z-]{6,20}"
                 r"|jRCT[0-9a-z]{8,12}|UMIN[0-9]{9}")


class Kind(StrEnum):
    """What a column holds; decides its checks and its typed representation."""

    ID = "id"
    TEXT = "text"
    VOCAB = "vocab"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    CITEKEYS = "citekeys"
    IDREFS = "idrefs"
    SELECTOR = "selector"
    IDENTIFIER = "identifier"


@dataclass(frozen=True)
class Column:
    """One column of an evidence table."""

    name: str
    kind: Kind
    description: str
    required: bool = True
    vocab: Vocabulary | None = None
    multi: bool = False
    minimum: float | None = None
    maximum: float | None = None
    #: for IDENTIFIER columns: the regular expression each item must match, and how to say it to a contributor
    pattern: str | None = None
    pattern_hint: str = ""
    #: (column, term): the cell belongs only to rows whose ``column`` is ``term`` (there ``required`` applies) and
    #: must be empty in every other row
    only_when: tuple[str, str] | None = None
    #: for TEXT columns: the cell quotes an outside source as it stands (a database query, a record's title), so
    #: the rules for prose written by curators (formula prefixes, curation words) do not apply; what publishes it
    #: escapes it (HTML, Markdown) or formula-neutralises it (exports)
    verbatim: bool = False
    #: the column's human title (a Table Schema field's ``title``), for headers, filters and legends
    title: str = ""
    #: for NUMBER and INTEGER columns: the unit its values are in ('nm', 'years'), printed after them
    unit: str = ""

    @property
    def heading(self) -> str:
        """How the column is headed where readers see it: its declared title, else its name in words."""
        return self.title or self.name.replace("_", " ").capitalize()

    @property
    def always_required(self) -> bool:
        """Whether every row must fill this cell (a column that belongs to some rows only never is)."""
        return self.required and self.only_when is None

    @property
    def expected(self) -> str:
        """A short human description of what a valid cell looks like."""
        if self.kind is Kind.VOCAB and self.vocab is not None:
            what = "one of: " + self.vocab.listing()
            return ("one or more terms separated by ';', each " if self.multi else "") + what
        if self.kind is Kind.INTEGER:
            if self.minimum is not None and self.maximum is not None:
                return f"a whole number from {self.minimum:g} to {self.maximum:g}"
            return f"a whole number >= {self.minimum:g}" if self.minimum is not None else "a whole number"
        if self.kind is Kind.NUMBER:
            return f"a number from {self.minimum:g} to {self.maximum:g}"
        if self.kind is Kind.DATE:
            return "an ISO date YYYY-MM-DD"
        if self.kind is Kind.CITEKEYS:
            return "one or more BibTeX keys separated by ';'"
        if self.kind is Kind.ID:
            return "a row id: the table's prefix, '-' and four to nine digits (e.g. ABC-0001)"
        if self.kind is Kind.IDREFS:
            return "row ids separated by ';'"
        if self.kind is Kind.SELECTOR:
            return ("conditions 'column=term|term' (or '!=' is none of, '~' contains any of, '!~' contains none of; "
                    "'>', '>=', '<', '<=' compare a number or date column with one value) "
                    f"separated by ';', at most {SELECTOR_MAX_CHARS:,} characters and {SELECTOR_MAX_TERMS} terms")
        if self.kind is Kind.IDENTIFIER:
            return ("one or more of " if self.multi else "") + self.pattern_hint + (
                ", separated by ';'" if self.multi else "")
        return "text"


@dataclass(frozen=True)
class Table:
    """One evidence table: a CSV file under ``data/`` with a declared column list."""

    name: str
    title: str
    id_prefix: str
    description: str
    columns: tuple[Column, ...]
    row_checks: tuple[str, ...] = field(default=())
    #: a review without this file has an empty table (a review need not keep an intake ledger)
    optional: bool = False

    @property
    def path(self) -> str:
        """Path of the table's CSV file, relative to the review root."""
        return f"data/{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        """Column names in declaration (and file) order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The declared column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def date_column(self) -> str:
        """The column that dates each row (``added``; ``withdrawn`` in the withdrawal log)."""
        return next(c.name for c in self.columns if c.kind is Kind.DATE)
