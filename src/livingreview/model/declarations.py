"""A review's declarations (``review.yml``): who it is, its vocabularies and its tables, read with located errors.

One file declares what the engine must know about a review: its identity (title, slug, authors, licence), every
vocabulary (terms, labels, definitions, in order), every table (its columns, their kinds and constraints) and its
library policy (which identifiers count as an entry's published record, which fields every entry needs). It
is YAML, so that a maintainer writes it without Python; every problem is reported as ``review.yml:LINE:key``.
A review may also declare its quantitative syntheses (``synthesis:``): which table holds effect data and how
``livingreview.meta`` reads and pools it.
``dump`` writes the declarations of tables and vocabularies as such a file, and ``read`` gives back the same
objects, so a review's declarations can move out of code without changing what they declare.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from livingreview.model.errors import Problem, ValidationError
from livingreview.model.schema import Column, Kind, Table
from livingreview.model.vocab import Vocabulary

DECLARATIONS = "review.yml"
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PREFIX_RE = re.compile(r"^[A-Z]{2,10}$")
#: the keys each part may hold: anything else is a located error (a typo must never be silently ignored)
COLUMN_KEYS = {"name", "type", "title", "description", "required", "vocabulary", "multiple", "minimum", "maximum",
               "pattern", "pattern_hint", "only_when", "verbatim", "unit"}
TABLE_KEYS = {"title", "id_prefix", "description", "optional", "row_checks", "columns"}
VOCABULARY_KEYS = {"description", "terms"}
TERM_KEYS = {"value", "label", "definition", "counted"}
REVIEW_KEYS = {"title", "slug", "authors", "licence"}
ROLE_KEYS = {"findings", "reference_tables", "evidence_level", "finding", "groups", "facets", "study", "shown"}
CERTAINTY_KEYS = {"population", "caveats", "streams", "directness", "trial", "randomised", "controlled", "patients",
                  "min_studies", "min_patients", "wording"}
#: what the review check (``validate --review``) reads a finding's words for, besides the engine's own words:
#: results in people, results in animals, and material whose donor is not where a result was measured
WORDING_KEYS = ("people", "animals", "material")
#: the study designs the certainty rule knows (GRADE's starting points), weakest first: each evidence-level term of a
#: review maps to one
DESIGNS = ("in_vitro", "animal", "human_observational", "clinical_trial")
STREAM_NAMES = DESIGNS
TOP_KEYS = {"review", "vocabularies", "tables", "roles", "certainty", "library", "synthesis"}
LIBRARY_KEYS = {"records", "required"}
#: the identifiers an entry's published record can be known by (the library policy declares which count)
RECORD_KINDS = ("doi", "pmid", "pmcid", "arxiv", "isbn")
#: the fields a library policy may require of every entry: BibTeX's own, the identifiers the engine reads, and
#: 'venue' (a journal, booktitle or publisher: whichever the entry's type has)
LIBRARY_FIELDS = frozenset({
    "address", "annote", "author", "booktitle", "chapter", "edition", "editor", "howpublished", "institution",
    "journal", "month", "note", "number", "organization", "pages", "publisher", "school", "series", "title", "type",
    "volume", "year", "doi", "pmid", "pmcid", "url", "eprint", "archiveprefix", "primaryclass", "arxiv", "isbn",
    "issn", "abstract", "keywords", "language", "venue"})
SYNTHESIS_KEYS = {"table", "measure", "columns", "ratio", "label", "label_year", "method", "test", "level",
                  "subgroups", "moderators", "cumulative"}
#: escalc's arguments, each with the column types that can hold it: counts are whole numbers, the rest any number
EFFECT_ARGUMENTS = {**dict.fromkeys(("ai", "bi", "ci", "di", "n1i", "n2i", "xi", "ni"), ("integer",)),
                    **dict.fromkeys(("m1i", "m2i", "sd1i", "sd2i", "ri", "yi", "vi", "sei", "ci_lb", "ci_ub"),
                                    ("integer", "number"))}
#: what each measure needs: every group must be given by one of its alternatives (``meta.MEASURES``, kept here so
#: that reading a review's declarations does not import scipy)
MEASURE_NEEDS = {
    **dict.fromkeys(("RR", "OR", "RD"), (("ai",), ("bi", "n1i"), ("ci",), ("di", "n2i"))),
    **dict.fromkeys(("MD", "SMD"), (("m1i",), ("sd1i",), ("n1i",), ("m2i",), ("sd2i",), ("n2i",))),
    "ZCOR": (("ri",), ("ni",)),
    **dict.fromkeys(("PLO", "PR"), (("xi",), ("ni",))),
    "GEN": (("yi",), ("vi", "sei", "ci_lb")),
}
#: tau^2 estimators ``meta.rma`` knows ("FE" is metafor's older name of "EE") and its tests
SYNTHESIS_METHODS = ("EE", "FE", "DL", "HE", "SJ", "PM", "ML", "REML")
SYNTHESIS_TESTS = ("z", "knha")
#: tables whose name gives them a meaning to the engine (each optional): what they hold is fixed by the engine
RESERVED = {"claims": ("id", "claim", "table", "where", "contradicted_by", "expected", "added"),
            "withdrawn": ("id", "row_id", "table", "finding", "reason", "withdrawn"),
            "searches": ("id", "date", "source", "query", "records"),
            "screening": ("id", "title", "search", "stage", "decision", "reason", "citekey", "screened")}
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Identity:
    """Who the review is: its title, the slug its published files are named by, its authors and licence."""

    title: str
    slug: str
    authors: tuple[str, ...] = ()
    licence: str = ""

    @property
    def pdf_name(self) -> str:
        """The file the whole book is printed to."""
        return f"{self.slug}.pdf"

    @property
    def data_archive(self) -> str:
        """The zip of the review's data package."""
        return f"{self.slug}-data.zip"

    @property
    def feed_id(self) -> str:
        """The Atom feed's id (a tag URI, stable for the review's life)."""
        return f"tag:{self.slug}.org,2026:feed"

    @property
    def contributors(self) -> str:
        """Who the review's published files name as its authors."""
        return "; ".join(self.authors) or f"The {self.title} contributors"


@dataclass(frozen=True)
class Roles:
    """What the engine makes of a review's columns: which tables hold findings, which column grades them, how rows
    group and filter, and what makes two rows one study. Every role is optional."""

    #: tables whose rows are findings: counted, listed in the explorer and the appendix, selected by claims
    findings: tuple[str, ...] = ()
    #: other tables whose rows cite the library (e.g. a table of definitions): cited and listed, not findings
    reference_tables: tuple[str, ...] = ()
    #: the vocab column (in every findings table) that says how a finding was measured, weakest term first
    evidence_level: str | None = None
    #: the text column that states a row's finding
    finding: str | None = None
    #: table -> the vocab column its findings are grouped by on its page and in the appendix
    groups: tuple[tuple[str, str], ...] = ()
    #: vocab columns shared by the findings tables, offered as the explorer's filters and columns
    facets: tuple[str, ...] = ()
    #: the column whose value is one study (rows with equal values count once); None: the rows' citations
    study: str | None = None
    #: columns shared by the findings tables that the explorer shows as text besides the facets (e.g. what was
    #: measured); searched, not filtered
    shown: tuple[str, ...] = ()

    def group(self, table: str) -> str | None:
        """The column ``table``'s findings are grouped by, if it declares one."""
        return dict(self.groups).get(table)


@dataclass(frozen=True)
class CertaintyInputs:
    """What the certainty rule reads of a review: which evidence-level term is which study design, the facets a
    claim's scope is judged against (indirectness), and the trial design columns (imprecision)."""

    #: the population every claim is about, as the rule's text says it (e.g. 'adults at risk of tuberculosis')
    population: str = ""
    #: sentences the rule's text adds to what the rating is not (how the review's own designs are rated)
    caveats: tuple[str, ...] = ()
    #: evidence-level term -> design (one of STREAM_NAMES)
    streams: tuple[tuple[str, str], ...] = ()
    #: facet column -> how the rule names it ('country')
    directness: tuple[tuple[str, str], ...] = ()
    randomised: str | None = None
    controlled: str | None = None
    patients: str | None = None
    min_studies: int = 3
    min_patients: int = 100
    #: (key of WORDING_KEYS, regular expressions): the review's own words for the review check
    wording: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def declared(self) -> bool:
        """Whether the review grades its claims at all (it maps its evidence levels to study designs)."""
        return bool(self.streams)


@dataclass(frozen=True)
class LibraryPolicy:
    """What every library entry must have: one identifier of a kind that counts as its published record, and the
    declared fields. The defaults: a DOI or PMID, and author, title, year and venue."""

    #: identifier kinds (of RECORD_KINDS) any one of which makes an entry's published record
    records: tuple[str, ...] = ("doi", "pmid")
    #: fields every entry must have (of LIBRARY_FIELDS; 'venue': a journal, booktitle or publisher)
    required: tuple[str, ...] = ("author", "title", "year", "venue")


@dataclass(frozen=True)
class Synthesis:
    """One quantitative synthesis a review declares: which table holds the effect data, how ``meta.escalc`` reads
    it, how ``meta.rma`` pools it, and the columns its subgroups, meta-regressions and cumulative view use."""

    name: str
    table: str
    measure: str
    #: escalc argument -> column of ``table``, in declaration order
    columns: tuple[tuple[str, str], ...]
    #: the study label column, and the column of its year (shown after the label) if any
    label: str
    label_year: str | None = None
    method: str = "REML"
    test: str = "z"
    level: float = 95
    #: GEN only: the estimate and interval are ratios, pooled as log ratios
    ratio: bool = False
    subgroups: tuple[str, ...] = ()
    moderators: tuple[str, ...] = ()
    cumulative: str | None = None

    @property
    def arguments(self) -> dict[str, str]:
        """escalc's keyword arguments: argument -> column."""
        return dict(self.columns)


@dataclass(frozen=True)
class Declarations:
    """Everything a review declares about itself."""

    identity: Identity
    vocabularies: dict[str, Vocabulary]
    tables: dict[str, Table]
    roles: Roles = Roles()
    certainty: CertaintyInputs = CertaintyInputs()
    library: LibraryPolicy = LibraryPolicy()
    #: the review's quantitative syntheses, by the name its chapters use
    synthesis: dict[str, Synthesis] = field(default_factory=dict)

    @property
    def findings(self) -> tuple[str, ...]:
        """The findings tables, in declaration order."""
        return self.roles.findings

    @property
    def cited_tables(self) -> tuple[str, ...]:
        """Every table whose rows cite studies as evidence: the findings tables and the reference tables."""
        return (*self.roles.reference_tables, *self.roles.findings)

    def has(self, name: str) -> bool:
        """Whether the review declares a table called ``name``."""
        return name in self.tables


# --- writing -------------------------------------------------------------------------------------------------------

def _column(col: Column) -> dict:
    out: dict = {"name": col.name, "type": col.kind.value, **({"title": col.title} if col.title else {}),
                 "description": col.description}
    if not col.required:
        out["required"] = False
    if col.vocab is not None:
        out["vocabulary"] = col.vocab.name
    if col.multi:
        out["multiple"] = True
    for key in ("minimum", "maximum"):
        value = getattr(col, key)
        if value is not None:
            out[key] = int(value) if float(value).is_integer() else value
    if col.pattern is not None:
        out["pattern"] = col.pattern
    if col.pattern_hint:
        out["pattern_hint"] = col.pattern_hint
    if col.only_when is not None:
        out["only_when"] = {col.only_when[0]: col.only_when[1]}
    if col.verbatim:
        out["verbatim"] = True
    if col.unit:
        out["unit"] = col.unit
    return out


def _synthesis_dict(s: Synthesis) -> dict:
    defaults = Synthesis(s.name, s.table, s.measure, s.columns, s.label)
    out: dict = {"table": s.table, "measure": s.measure, "columns": dict(s.columns), "label": s.label}
    for key in ("label_year", "method", "test", "level", "ratio"):
        if getattr(s, key) != getattr(defaults, key):
            out[key] = getattr(s, key)
    for key in ("subgroups", "moderators"):
        if getattr(s, key):
            out[key] = list(getattr(s, key))
    if s.cumulative:
        out["cumulative"] = s.cumulative
    return out


def dump(identity: Identity, tables: dict[str, Table], roles: Roles | None = None,
         certainty: CertaintyInputs | None = None, library: LibraryPolicy | None = None,
         synthesis: dict[str, Synthesis] | None = None) -> str:
    """The declarations of ``tables`` (and of every vocabulary their columns use, the roles, the certainty
    rule's inputs, the library policy and the syntheses) as ``review.yml`` text."""
    vocabularies: dict[str, Vocabulary] = {}
    for table in tables.values():
        for col in table.columns:
            if col.vocab is not None:
                vocabularies.setdefault(col.vocab.name, col.vocab)
    data = {
        "review": {"title": identity.title, "slug": identity.slug, "authors": list(identity.authors),
                   "licence": identity.licence},
        "vocabularies": {name: {"description": v.description, "terms": [
            {"value": t, "label": label, **({"definition": v.definitions[t]} if t in v.definitions else {}),
             **({"counted": False} if t in v.uncounted else {})}
            for t, label in v.terms.items()]} for name, v in vocabularies.items()},
        "tables": {name: {"title": t.title, "id_prefix": t.id_prefix, "description": t.description,
                          **({"optional": True} if t.optional else {}),
                          **({"row_checks": list(t.row_checks)} if t.row_checks else {}),
                          "columns": [_column(c) for c in t.columns]} for name, t in tables.items()},
    }
    if roles is not None and roles != Roles():
        data["roles"] = {key: (list(value) if isinstance(value, tuple) and key != "groups" else value)
                         for key, value in (("findings", roles.findings), ("reference_tables", roles.reference_tables),
                                            ("evidence_level", roles.evidence_level), ("finding", roles.finding),
                                            ("groups", dict(roles.groups)), ("facets", roles.facets),
                                            ("study", roles.study), ("shown", roles.shown)) if value}
    if certainty is not None and certainty.declared:
        data["certainty"] = {key: value for key, value in (
            ("population", certainty.population), ("caveats", list(certainty.caveats)),
            ("streams", dict(certainty.streams)),
            ("directness", dict(certainty.directness)), ("randomised", certainty.randomised),
            ("controlled", certainty.controlled), ("patients", certainty.patients),
            ("min_studies", certainty.min_studies), ("min_patients", certainty.min_patients),
            ("wording", {key: list(words) for key, words in certainty.wording})) if value}
    if library is not None:
        data["library"] = {"records": list(library.records), "required": list(library.required)}
    if synthesis:
        data["synthesis"] = {name: _synthesis_dict(s) for name, s in synthesis.items()}
    head = ("# What this review declares about itself: read by `livingreview` (validation, the book, exports).\n"
            "# Types: id, text, vocab, integer, number, date, citekeys, idrefs, selector, identifier.\n"
            "# verbatim: true marks a column kept as written (a search query, a record title), exempt from the formula "
            "rules.\n")
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=118)


# --- reading, with a line for every key ------------------------------------------------------------------------------

class _Reader:
    """Turns YAML nodes into plain values, remembering the line of every key path, and collects problems."""

    def __init__(self, path: str):
        self.path = path
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []
        self.constructor = yaml.constructor.SafeConstructor()  # a scalar's value by its resolved tag

    def value(self, node: yaml.Node, where: str) -> object:
        self.lines[where] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                sub = f"{where}.{key}" if where else key
                if key in out:
                    self.problem(key_node.start_mark.line + 1, sub, f"'{key}' is declared twice")
                out[key] = self.value(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, f"{where}[{i}]") for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node)

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, where or "-", message))

    def at(self, where: str, message: str) -> None:
        probe = where
        while probe and probe not in self.lines:
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        self.problem(self.lines.get(probe, 1), where, message)

    def mapping(self, value: object, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            self.at(where, f"expected a mapping with keys: {', '.join(sorted(allowed))}")
            return {}
        for key in value:
            if key not in allowed:
                self.at(f"{where}.{key}", f"unknown key '{key}'; expected one of: {', '.join(sorted(allowed))}")
        for key in sorted(required - set(value)):
            self.at(where, f"missing '{key}'")
        return value

    def text(self, value: object, where: str, required: bool = True) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.at(where, "expected text")
            return ""
        return value


def _vocabulary(r: _Reader, name: str, data: object, where: str) -> Vocabulary | None:
    data = r.mapping(data, where, VOCABULARY_KEYS, {"terms"})
    if not NAME_RE.match(name):
        r.at(where, f"vocabulary name '{name}' must be lower case letters, digits and '_'")
    terms: dict[str, str] = {}
    definitions: dict[str, str] = {}
    uncounted: list[str] = []
    items = data.get("terms")
    if not isinstance(items, list) or not items:
        if "terms" in data:
            r.at(f"{where}.terms", "expected a list of terms, each with a value and a label")
        return None
    for i, item in enumerate(items):
        at = f"{where}.terms[{i}]"
        item = r.mapping(item, at, TERM_KEYS, {"value"})
        value = item.get("value")
        if not isinstance(value, str) or not value:
            if "value" in item:
                r.at(f"{at}.value", "expected the term as text")
            continue
        if value in terms:
            r.at(f"{at}.value", f"term '{value}' is declared twice")
        terms[value] = r.text(item.get("label", value), f"{at}.label")
        if "definition" in item:
            definitions[value] = r.text(item["definition"], f"{at}.definition")
        if item.get("counted", True) is False:
            uncounted.append(value)
        elif not isinstance(item.get("counted", True), bool):
            r.at(f"{at}.counted", "expected true or false")
    return Vocabulary(name, r.text(data.get("description", ""), f"{where}.description", required=False), terms,
                      definitions, tuple(uncounted))


def _number(r: _Reader, value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        r.at(where, "expected a number")
        return None
    return value  # as written: a bound declared 0 is published as 0, not 0.0


def _column_from(r: _Reader, data: object, where: str, vocabularies: dict[str, Vocabulary]) -> Column | None:
    data = r.mapping(data, where, COLUMN_KEYS, {"name", "type"})
    name, kind_text = data.get("name"), data.get("type")
    if not isinstance(name, str) or not NAME_RE.match(name):
        if "name" in data:
            r.at(f"{where}.name", "expected a column name: lower case letters, digits and '_'")
        return None
    kinds = [k.value for k in Kind]
    if kind_text not in kinds:
        if "type" in data:
            r.at(f"{where}.type", f"unknown type '{kind_text}'; expected one of: {', '.join(kinds)}")
        return None
    kind = Kind(kind_text)
    vocab = None
    if kind is Kind.VOCAB:
        vocab = vocabularies.get(data.get("vocabulary", ""))
        if vocab is None:
            r.at(f"{where}.vocabulary", f"a vocab column names one of the declared vocabularies: "
                                        f"{', '.join(vocabularies) or 'none declared'}")
    elif "vocabulary" in data:
        r.at(f"{where}.vocabulary", "only a column of type vocab names a vocabulary")
    pattern = data.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            r.at(f"{where}.pattern", f"not a regular expression: {exc}")
            pattern = None
    only_when = data.get("only_when")
    if only_when is not None:
        if not (isinstance(only_when, dict) and len(only_when) == 1
                and all(isinstance(x, str) for x in (*only_when, *only_when.values()))):
            r.at(f"{where}.only_when", "expected one 'column: term' pair")
            only_when = None
        else:
            only_when = next(iter(only_when.items()))
    flags = {}
    for key, default in (("required", True), ("multiple", False), ("verbatim", False)):
        value = data.get(key, default)
        if not isinstance(value, bool):
            r.at(f"{where}.{key}", "expected true or false")
            value = default
        flags[key] = value
    if data.get("unit") and kind not in (Kind.NUMBER, Kind.INTEGER):
        r.at(f"{where}.unit", f"a unit belongs to a number or integer column, not a {kind.value} column")
    return Column(name, kind, r.text(data.get("description", ""), f"{where}.description", required=False),
                  required=flags["required"], vocab=vocab, multi=flags["multiple"],
                  minimum=_number(r, data.get("minimum"), f"{where}.minimum"),
                  maximum=_number(r, data.get("maximum"), f"{where}.maximum"), pattern=pattern,
                  pattern_hint=r.text(data.get("pattern_hint", ""), f"{where}.pattern_hint", required=False),
                  only_when=only_when, verbatim=flags["verbatim"],
                  title=r.text(data.get("title", ""), f"{where}.title", required=False),
                  unit=r.text(data.get("unit", ""), f"{where}.unit", required=False))


def _table(r: _Reader, name: str, data: object, where: str, vocabularies: dict[str, Vocabulary]) -> Table | None:
    data = r.mapping(data, where, TABLE_KEYS, {"title", "id_prefix", "columns"})
    if not NAME_RE.match(name):
        r.at(where, f"table name '{name}' must be lower case letters, digits and '_'")
    prefix = data.get("id_prefix", "")
    if "id_prefix" in data and not (isinstance(prefix, str) and PREFIX_RE.match(prefix)):
        r.at(f"{where}.id_prefix", "expected 2 to 10 capital letters, e.g. MECH")
    items = data.get("columns")
    if not isinstance(items, list) or not items:
        if "columns" in data:
            r.at(f"{where}.columns", "expected a list of columns")
        return None
    columns = [c for i, item in enumerate(items) if (c := _column_from(r, item, f"{where}.columns[{i}]",
                                                                          vocabularies)) is not None]
    seen: set[str] = set()
    for i, col in enumerate(columns):
        if col.name in seen:
            r.at(f"{where}.columns[{i}].name", f"column '{col.name}' is declared twice")
        seen.add(col.name)
    if columns and (columns[0].name != "id" or columns[0].kind is not Kind.ID):
        r.at(f"{where}.columns[0]", "the first column of a table is its row id: name id, type id")
    checks = data.get("row_checks", [])
    if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
        r.at(f"{where}.row_checks", "expected a list of row check names")
        checks = []
    optional = data.get("optional", False)
    if not isinstance(optional, bool):
        r.at(f"{where}.optional", "expected true or false")
        optional = False
    title = r.text(data["title"], f"{where}.title") if "title" in data else ""
    return Table(name, title, prefix if isinstance(prefix, str) else "",
                 r.text(data.get("description", ""), f"{where}.description", required=False), tuple(columns),
                 row_checks=tuple(checks), optional=optional)


def _names(r: _Reader, value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        r.at(where, "expected a list of names")
        return ()
    return tuple(value)


def _pairs(r: _Reader, value: object, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in value.items()):
        r.at(where, "expected a mapping of names to names")
        return ()
    return tuple(value.items())


def _column_of(r: _Reader, tables: dict[str, Table], names: tuple[str, ...], column: str | None, where: str,
               kind: Kind | None = None) -> None:
    """Report ``column`` unless every table in ``names`` declares it (of ``kind``, if given)."""
    if column is None:
        return
    for name in names:
        table = tables.get(name)
        if table is None:
            continue
        if column not in table.column_names:
            r.at(where, f"'{column}' is not a column of {name}")
        elif kind is not None and table.column(column).kind is not kind:
            r.at(where, f"'{column}' of {name} is of type {table.column(column).kind.value}; expected {kind.value}")


def _roles(r: _Reader, data: object, tables: dict[str, Table]) -> Roles:
    data = r.mapping(data if data is not None else {}, "roles", ROLE_KEYS)
    text = {key: (r.text(data[key], f"roles.{key}") or None) if key in data else None
            for key in ("evidence_level", "finding", "study")}
    roles = Roles(_names(r, data.get("findings"), "roles.findings"),
                  _names(r, data.get("reference_tables"), "roles.reference_tables"),
                  text["evidence_level"], text["finding"], _pairs(r, data.get("groups"), "roles.groups"),
                  _names(r, data.get("facets"), "roles.facets"), text["study"],
                  _names(r, data.get("shown"), "roles.shown"))
    for key in ("findings", "reference_tables"):
        for i, name in enumerate(getattr(roles, key)):
            if name not in tables:
                r.at(f"roles.{key}[{i}]", f"'{name}' is not a declared table")
            elif name in RESERVED:
                r.at(f"roles.{key}[{i}]", f"'{name}' is a table the engine keeps itself; expected a table of the "
                                          "review's evidence")
    _column_of(r, tables, roles.findings, roles.evidence_level, "roles.evidence_level", Kind.VOCAB)
    _column_of(r, tables, roles.findings, roles.finding, "roles.finding", Kind.TEXT)
    _column_of(r, tables, roles.findings, roles.study, "roles.study")
    for i, facet in enumerate(roles.facets):
        _column_of(r, tables, roles.findings, facet, f"roles.facets[{i}]", Kind.VOCAB)
    for i, column in enumerate(roles.shown):
        _column_of(r, tables, roles.findings, column, f"roles.shown[{i}]")
    for table, column in roles.groups:
        if table not in tables:
            r.at(f"roles.groups.{table}", f"'{table}' is not a declared table")
        else:
            _column_of(r, tables, (table,), column, f"roles.groups.{table}", Kind.VOCAB)
    return roles


def _certainty(r: _Reader, data: object, tables: dict[str, Table], roles: Roles) -> CertaintyInputs:
    if data is None:
        return CertaintyInputs()
    data = r.mapping(data, "certainty", CERTAINTY_KEYS, {"streams"})
    if roles.evidence_level is None:
        r.at("certainty", "the certainty rule grades by the evidence level: declare roles.evidence_level first")
    streams = _pairs(r, data.get("streams"), "certainty.streams")
    levels = next((tables[t].column(roles.evidence_level).vocab for t in roles.findings
                   if roles.evidence_level and t in tables and roles.evidence_level in tables[t].column_names), None)
    for term, design in streams:
        if design not in STREAM_NAMES:
            r.at(f"certainty.streams.{term}", f"unknown design '{design}'; expected one of: {', '.join(STREAM_NAMES)}")
        if levels is not None and term not in levels:
            r.at(f"certainty.streams.{term}", f"'{term}' is not a term of {levels.name}")
    if levels is not None and streams and set(levels.values) - {t for t, _ in streams}:
        missing = ", ".join(sorted(set(levels.values) - {t for t, _ in streams}))
        r.at("certainty.streams", f"every evidence level needs a design; missing: {missing}")
    directness = _pairs(r, data.get("directness"), "certainty.directness")
    for column, _ in directness:
        if not any(column in tables[t].column_names for t in roles.findings if t in tables):
            r.at(f"certainty.directness.{column}", f"'{column}' is not a column of any findings table")
    columns = {}
    for key in ("randomised", "controlled", "patients"):
        columns[key] = r.text(data[key], f"certainty.{key}") or None if key in data else None
        if columns[key] and not any(columns[key] in tables[t].column_names for t in roles.findings if t in tables):
            r.at(f"certainty.{key}", f"'{columns[key]}' is not a column of any findings table")
    limits = {}
    for key, default in (("min_studies", 3), ("min_patients", 100)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            r.at(f"certainty.{key}", "expected a whole number of at least 1")
            value = default
        limits[key] = value
    caveats = _names(r, data.get("caveats"), "certainty.caveats")
    return CertaintyInputs(r.text(data.get("population", ""), "certainty.population", required=False), caveats,
                           streams,
                           directness, columns["randomised"], columns["controlled"], columns["patients"],
                           limits["min_studies"], limits["min_patients"], _wording(r, data.get("wording")))


def _wording(r: _Reader, data: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The review check's own words: for each key, a list of regular expressions (matched case-insensitively)."""
    if data is None:
        return ()
    data = r.mapping(data, "certainty.wording", set(WORDING_KEYS))
    out = []
    for key in WORDING_KEYS:
        if key not in data:
            continue
        words = _names(r, data[key], f"certainty.wording.{key}")
        for i, word in enumerate(words):
            try:
                re.compile(word)
            except re.error as exc:
                r.at(f"certainty.wording.{key}[{i}]", f"not a regular expression: {exc}")
                words = ()
                break
        if words:
            out.append((key, words))
    return tuple(out)


def _kinds(r: _Reader, value: object, where: str, allowed: Iterable[str], what: str) -> tuple[str, ...]:
    """A list of names from ``allowed`` (lower-cased: BibTeX field names ignore case), each once."""
    allowed = list(allowed)
    if not isinstance(value, list):
        r.at(where, f"expected a list of {what}s of: {', '.join(allowed)}")
        return ()
    names: list[str] = []
    for i, item in enumerate(value):
        name = item.strip().lower() if isinstance(item, str) else ""
        if name not in allowed:
            r.at(f"{where}[{i}]", f"unknown {what} {item!r}; expected one of: {', '.join(allowed)}")
        elif name in names:
            r.at(f"{where}[{i}]", f"{what} '{name}' is declared twice")
        else:
            names.append(name)
    return tuple(names)


def _library(r: _Reader, data: object) -> LibraryPolicy:
    if data is None:
        return LibraryPolicy()
    data = r.mapping(data, "library", LIBRARY_KEYS)
    default = LibraryPolicy()
    records = (_kinds(r, data["records"], "library.records", RECORD_KINDS, "identifier kind") if "records" in data
               else default.records)
    if "records" in data and isinstance(data["records"], list) and not data["records"]:
        # an entry with no identifier could never be checked against a published record
        r.at("library.records", f"expected at least one identifier kind of: {', '.join(RECORD_KINDS)}")
    required = (_kinds(r, data["required"], "library.required", sorted(LIBRARY_FIELDS), "field") if "required" in data
                else default.required)
    return LibraryPolicy(records or default.records, required)


def _synthesis_column(r: _Reader, table: Table | None, column: object, where: str, kinds: tuple[str, ...],
                      what: str) -> str | None:
    """``column`` if it is a column of ``table`` of one of ``kinds``; otherwise a located problem and None."""
    if not isinstance(column, str) or not column:
        r.at(where, f"expected the name of a column ({what})")
        return None
    if table is None:
        return column
    if column not in table.column_names:
        r.at(where, f"'{column}' is not a column of {table.name}; expected {what}")
        return None
    col = table.column(column)
    if col.kind.value not in kinds or col.multi:
        r.at(where, f"'{column}' of {table.name} is of type {col.kind.value}"
                    f"{' (multiple)' if col.multi else ''}; expected {what} (type {' or '.join(kinds)})")
        return None
    return column


def _one_synthesis(r: _Reader, name: str, data: object, tables: dict[str, Table]) -> Synthesis | None:
    where = f"synthesis.{name}"
    data = r.mapping(data, where, SYNTHESIS_KEYS, {"table", "measure", "columns", "label"})
    if not NAME_RE.match(name):
        r.at(where, f"synthesis name '{name}' must be lower case letters, digits and '_'")
    table_name = data.get("table")
    table = tables.get(table_name) if isinstance(table_name, str) else None
    if "table" in data:
        if table is None:
            r.at(f"{where}.table", f"'{table_name}' is not a declared table; expected one of: "
                                   f"{', '.join(tables) or 'none declared'}")
        elif table_name in RESERVED:
            r.at(f"{where}.table", f"'{table_name}' is a table the engine keeps itself; expected a table of effect "
                                   "data")
            table = None
    measure = data.get("measure")
    if "measure" in data and measure not in MEASURE_NEEDS:
        r.at(f"{where}.measure", f"unknown measure {measure!r}; expected one of: {', '.join(MEASURE_NEEDS)}")
        measure = None
    columns: dict[str, str] = {}
    given = data.get("columns")
    if "columns" in data:
        if not isinstance(given, dict) or not given:
            r.at(f"{where}.columns", "expected a mapping of escalc arguments to columns, e.g. {ai: tpos, bi: tneg}")
            given = {}
        for arg, column in given.items():
            if arg not in EFFECT_ARGUMENTS:
                r.at(f"{where}.columns.{arg}", f"unknown escalc argument '{arg}'; expected one of: "
                                               f"{', '.join(EFFECT_ARGUMENTS)}")
                continue
            kinds = EFFECT_ARGUMENTS[arg]
            found = _synthesis_column(r, table, column, f"{where}.columns.{arg}", kinds,
                                      "a column of counts" if kinds == ("integer",) else "a column of numbers")
            if found is not None:
                columns[arg] = found
        if isinstance(measure, str) and isinstance(given, dict):
            for group in MEASURE_NEEDS[measure]:
                if not any(arg in given for arg in group):
                    r.at(f"{where}.columns", f"measure {measure} needs column {' or '.join(group)}"
                                             + (" (with ci_ub)" if "ci_lb" in group else ""))
            if measure == "GEN" and ("ci_lb" in given) != ("ci_ub" in given):
                r.at(f"{where}.columns", "an interval needs both ci_lb and ci_ub")
            needed = {arg for group in MEASURE_NEEDS[measure] for arg in group} | (
                {"ci_ub"} if measure == "GEN" else set())
            for arg in given:
                if arg in EFFECT_ARGUMENTS and arg not in needed:
                    r.at(f"{where}.columns.{arg}", f"measure {measure} does not read '{arg}'; expected some of: "
                                                   f"{', '.join(sorted(needed))}")
    label = (_synthesis_column(r, table, data["label"], f"{where}.label", tuple(k.value for k in Kind),
                               "the study label") if "label" in data else None)
    year = (_synthesis_column(r, table, data["label_year"], f"{where}.label_year", ("integer", "date"),
                              "the study's year") if data.get("label_year") is not None else None)
    method = data.get("method", "REML")
    if method not in SYNTHESIS_METHODS:
        r.at(f"{where}.method", f"unknown method {method!r}; expected one of: {', '.join(SYNTHESIS_METHODS)}")
        method = "REML"
    test = data.get("test", "z")
    if test not in SYNTHESIS_TESTS:
        r.at(f"{where}.test", f"unknown test {test!r}; expected one of: {', '.join(SYNTHESIS_TESTS)}")
        test = "z"
    level = data.get("level", 95)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 50 <= level < 100:
        r.at(f"{where}.level", "expected a confidence level in percent, from 50 to below 100 (e.g. 95)")
        level = 95
    ratio = data.get("ratio", False)
    if not isinstance(ratio, bool):
        r.at(f"{where}.ratio", "expected true or false")
        ratio = False
    elif ratio and measure != "GEN":
        r.at(f"{where}.ratio", "only a GEN synthesis reads ratios (RR and OR are ratios already)")
    subgroups = tuple(c for i, c in enumerate(_names(r, data.get("subgroups"), f"{where}.subgroups"))
                      if _synthesis_column(r, table, c, f"{where}.subgroups[{i}]", ("vocab",),
                                           "a vocabulary column") is not None)
    moderators = tuple(c for i, c in enumerate(_names(r, data.get("moderators"), f"{where}.moderators"))
                       if _synthesis_column(r, table, c, f"{where}.moderators[{i}]", ("integer", "number"),
                                            "a numeric moderator") is not None)
    order = (_synthesis_column(r, table, data["cumulative"], f"{where}.cumulative", ("integer", "number", "date"),
                               "the column the studies are added in the order of")
             if data.get("cumulative") is not None else None)
    if table is None or measure is None or label is None or not columns:
        return None
    return Synthesis(name, table.name, measure, tuple(columns.items()), label, year, "EE" if method == "FE" else method,
                     test, level, ratio, subgroups, moderators, order)


def _synthesis(r: _Reader, data: object, tables: dict[str, Table]) -> dict[str, Synthesis]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        r.at("synthesis", "expected a mapping of synthesis names to their declarations (table, measure, columns, "
                          "label)")
        return {}
    out = {}
    for name, item in data.items():
        found = _one_synthesis(r, str(name), item, tables)
        if found is not None:
            out[str(name)] = found
    return out


def _reserved(r: _Reader, tables: dict[str, Table]) -> None:
    """A table named as one the engine keeps must hold the columns the engine reads."""
    for name, needed in RESERVED.items():
        if name in tables:
            missing = [c for c in needed if c not in tables[name].column_names]
            if missing:
                r.at(f"tables.{name}", f"the {name} table needs the column(s) {', '.join(missing)}")


def compose(text: str) -> yaml.Node | None:
    """The YAML node tree of ``text``, by libyaml where it is there (the pure-Python composer takes a fifth of a
    second for a review's declarations); a document libyaml refuses is composed again in Python, so that an error
    is always the pure parser's, with its message and line."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def read(text: str, path: str = DECLARATIONS) -> Declarations:
    """The declarations in ``text``; a ``ValidationError`` lists every problem, each at its line and key."""
    r = _Reader(path)
    if len(text) > MAX_BYTES:
        raise ValidationError([Problem(path, 1, "-", f"the declarations are {len(text):,} characters; expected at "
                                                     f"most {MAX_BYTES:,}")])
    try:
        node = compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError([Problem(path, mark.line + 1 if mark else 1, "-",
                                       f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from None
    data = r.mapping(r.value(node, "") if node is not None else None, "", TOP_KEYS, {"review", "tables"})
    who = r.mapping(data.get("review", {}), "review", REVIEW_KEYS, {"title", "slug"})
    slug = r.text(who.get("slug", ""), "review.slug") if "slug" in who else ""
    if slug and not SLUG_RE.match(slug):
        r.at("review.slug", "expected lower case words joined by '-', e.g. bcg-vaccine")
    authors = who.get("authors", [])
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        r.at("review.authors", "expected a list of names")
        authors = []
    identity = Identity(r.text(who.get("title", ""), "review.title") if "title" in who else "", slug,
                        tuple(authors), r.text(who.get("licence", ""), "review.licence", required=False))
    vocabularies = {}
    for name, item in (data.get("vocabularies") or {}).items():
        vocab = _vocabulary(r, name, item, f"vocabularies.{name}")
        if vocab is not None:
            vocabularies[name] = vocab
    tables = {}
    declared = data.get("tables") or {}
    if not isinstance(declared, dict):
        r.at("tables", "expected a mapping of table names to tables")
        declared = {}
    for name, item in declared.items():
        table = _table(r, name, item, f"tables.{name}", vocabularies)
        if table is not None:
            tables[name] = table
    prefixes: dict[str, str] = {}
    for name, table in tables.items():
        if table.id_prefix in prefixes:
            r.at(f"tables.{name}.id_prefix", f"prefix {table.id_prefix} is also {prefixes[table.id_prefix]}'s")
        prefixes[table.id_prefix] = name
        for i, col in enumerate(table.columns):
            if col.only_when and col.only_when[0] not in table.column_names:
                r.at(f"tables.{name}.columns[{i}].only_when", f"'{col.only_when[0]}' is not a column of {name}")
    _reserved(r, tables)
    roles = _roles(r, data.get("roles"), tables)
    certainty = _certainty(r, data.get("certainty"), tables, roles)
    library = _library(r, data.get("library"))
    synthesis = _synthesis(r, data.get("synthesis"), tables)
    if r.problems:
        raise ValidationError(sorted(set(r.problems), key=Problem.sort_key))
    return Declarations(identity, vocabularies, tables, roles, certainty, library, synthesis)


#: what a review without declarations is called (its published files are named by the slug)
DEFAULT_IDENTITY = Identity("Living review", "living-review")


def identity(root: Path | str) -> Identity:
    """Who the review at ``root`` is: its ``review.yml``'s identity, or ``DEFAULT_IDENTITY`` without one."""
    return load(root).identity if (Path(root) / DECLARATIONS).exists() else DEFAULT_IDENTITY


def library_policy(root: Path | str) -> LibraryPolicy:
    """The library policy of the review at ``root``, read on its own: the defaults where it cannot be read.

    A mistake elsewhere in ``review.yml`` must not turn every entry of an arXiv library into an error as well.
    """
    try:
        text = (Path(root) / DECLARATIONS).read_text(encoding="utf-8")
        node = compose(text) if len(text) <= MAX_BYTES else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return LibraryPolicy()
    r = _Reader(DECLARATIONS)
    data = r.value(node, "") if node is not None else None
    if not isinstance(data, dict):
        return LibraryPolicy()
    r.problems.clear()  # only the library section's own problems decide
    policy = _library(r, data.get("library"))
    return LibraryPolicy() if r.problems else policy


@functools.lru_cache(maxsize=16)
def _read_cached(text: str) -> Declarations:
    return read(text)


def load(root: Path | str) -> Declarations:
    """The declarations of the review at ``root`` (its ``review.yml``)."""
    path = Path(root) / DECLARATIONS
    if not path.exists():
        raise ValidationError([Problem(DECLARATIONS, 1, "-", "no review.yml: a review declares its tables and "
                                                             "vocabularies there (livingreview new DIR writes one)")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([Problem(DECLARATIONS, 1, "-", f"cannot read the review's declarations: {exc}")]) \
            from None
    # the declarations are immutable, so one parse serves every command and chapter that reads the same text
    return _read_cached(text)
