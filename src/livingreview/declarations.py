"""A review's declarations (``review.yml``): who it is, its vocabularies and its tables, read with located errors.

One file declares what the engine must know about a review: its identity (title, slug, authors, licence), every
vocabulary (terms, labels, definitions, in order) and every table (its columns, their kinds and constraints). It
is YAML, so that a maintainer writes it without Python; every problem is reported as ``review.yml:LINE:key``.
``dump`` writes the declarations of tables and vocabularies as such a file, and ``read`` gives back the same
objects, so a review's declarations can move out of code without changing what they declare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from livingreview.errors import Problem, ValidationError
from livingreview.schema import Column, Kind, Table
from livingreview.vocab import Vocabulary

DECLARATIONS = "review.yml"
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PREFIX_RE = re.compile(r"^[A-Z]{2,10}$")
#: the keys each part may hold: anything else is a located error (a typo must never be silently ignored)
COLUMN_KEYS = {"name", "type", "description", "required", "vocabulary", "multiple", "minimum", "maximum", "pattern",
               "pattern_hint", "only_when", "verbatim"}
TABLE_KEYS = {"title", "id_prefix", "description", "optional", "row_checks", "columns"}
VOCABULARY_KEYS = {"description", "terms"}
TERM_KEYS = {"value", "label", "definition"}
REVIEW_KEYS = {"title", "slug", "authors", "licence"}
TOP_KEYS = {"review", "vocabularies", "tables"}
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
class Declarations:
    """Everything a review declares about itself."""

    identity: Identity
    vocabularies: dict[str, Vocabulary]
    tables: dict[str, Table]


# --- writing -------------------------------------------------------------------------------------------------------

def _column(col: Column) -> dict:
    out: dict = {"name": col.name, "type": col.kind.value, "description": col.description}
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
    return out


def dump(identity: Identity, tables: dict[str, Table]) -> str:
    """The declarations of ``tables`` (and of every vocabulary their columns use) as ``review.yml`` text."""
    vocabularies: dict[str, Vocabulary] = {}
    for table in tables.values():
        for col in table.columns:
            if col.vocab is not None:
                vocabularies.setdefault(col.vocab.name, col.vocab)
    data = {
        "review": {"title": identity.title, "slug": identity.slug, "authors": list(identity.authors),
                   "licence": identity.licence},
        "vocabularies": {name: {"description": v.description, "terms": [
            {"value": t, "label": label, **({"definition": v.definitions[t]} if t in v.definitions else {})}
            for t, label in v.terms.items()]} for name, v in vocabularies.items()},
        "tables": {name: {"title": t.title, "id_prefix": t.id_prefix, "description": t.description,
                          **({"optional": True} if t.optional else {}),
                          **({"row_checks": list(t.row_checks)} if t.row_checks else {}),
                          "columns": [_column(c) for c in t.columns]} for name, t in tables.items()},
    }
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
    return Vocabulary(name, r.text(data.get("description", ""), f"{where}.description", required=False), terms,
                      definitions)


def _number(r: _Reader, value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        r.at(where, "expected a number")
        return None
    return float(value)


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
    return Column(name, kind, r.text(data.get("description", ""), f"{where}.description", required=False),
                  required=flags["required"], vocab=vocab, multi=flags["multiple"],
                  minimum=_number(r, data.get("minimum"), f"{where}.minimum"),
                  maximum=_number(r, data.get("maximum"), f"{where}.maximum"), pattern=pattern,
                  pattern_hint=r.text(data.get("pattern_hint", ""), f"{where}.pattern_hint", required=False),
                  only_when=only_when, verbatim=flags["verbatim"])


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


def read(text: str, path: str = DECLARATIONS) -> Declarations:
    """The declarations in ``text``; a ``ValidationError`` lists every problem, each at its line and key."""
    r = _Reader(path)
    if len(text) > MAX_BYTES:
        raise ValidationError([Problem(path, 1, "-", f"the declarations are {len(text):,} characters; expected at "
                                                     f"most {MAX_BYTES:,}")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ValidationError([Problem(path, mark.line + 1 if mark else 1, "-",
                                       f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from None
    data = r.mapping(r.value(node, "") if node is not None else None, "", TOP_KEYS, {"review", "tables"})
    who = r.mapping(data.get("review", {}), "review", REVIEW_KEYS, {"title", "slug"})
    slug = r.text(who.get("slug", ""), "review.slug") if "slug" in who else ""
    if slug and not SLUG_RE.match(slug):
        r.at("review.slug", "expected lower case words joined by '-', e.g. ev-metastasis")
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
    if r.problems:
        raise ValidationError(sorted(set(r.problems), key=Problem.sort_key))
    return Declarations(identity, vocabularies, tables)


#: what a review without declarations is called (its published files are named by the slug)
DEFAULT_IDENTITY = Identity("Living review", "living-review")


def identity(root: Path | str) -> Identity:
    """Who the review at ``root`` is: its ``review.yml``'s identity, or ``DEFAULT_IDENTITY`` without one."""
    return load(root).identity if (Path(root) / DECLARATIONS).exists() else DEFAULT_IDENTITY


def load(root: Path | str) -> Declarations:
    """The declarations of the review at ``root`` (its ``review.yml``)."""
    path = Path(root) / DECLARATIONS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([Problem(DECLARATIONS, 1, "-", f"cannot read the review's declarations: {exc}")]) \
            from None
    return read(text)
