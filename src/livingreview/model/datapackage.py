"""A review's declarations as a Frictionless Data Package, and back, without loss.

Each table is a resource whose Table Schema says in standard terms what a plain Frictionless tool can check:
``type`` (string, integer, number, date, list), ``constraints`` (``required``, ``unique``, ``enum``, ``minimum``,
``maximum``, ``pattern``), v2 ``categories`` with labels and ``categoriesOrdered`` for a vocabulary, and ``list``
with ``delimiter: ";"`` and ``itemType`` for a multi-valued column. What only the engine needs (a column's kind,
its vocabulary's name and definitions, ``only_when``, ``verbatim``, a table's id prefix, the roles, the certainty
rule's inputs) travels under keys prefixed ``livingreview:``, which Frictionless tools ignore.

Reading goes the other way and also accepts a package written elsewhere: a field with ``enum`` or ``categories``
becomes a vocabulary, one named ``citekeys`` cites the library. The result is checked by ``declarations.read``
itself, and every problem is reported at its place in the descriptor (``datapackage.json:LINE:key``).
"""

from __future__ import annotations

import json
import re

import yaml

from livingreview.model.declarations import NAME_RE, PREFIX_RE, Declarations, _Reader, dump, read
from livingreview.model.errors import Problem, ValidationError
from livingreview.model.schema import KEY_PATTERN, MULTI_SEPARATOR, Column, Kind, Table

DESCRIPTOR = "datapackage.json"
NS = "livingreview:"
#: Table Schema types the engine reads, and the kind each becomes when nothing more is said
TYPES = {"string": Kind.TEXT, "integer": Kind.INTEGER, "number": Kind.NUMBER, "date": Kind.DATE, "list": Kind.TEXT}
#: kinds a field's Table Schema type cannot say: named under ``livingreview:kind``
NAMED_KINDS = {Kind.ID, Kind.CITEKEYS, Kind.IDREFS, Kind.SELECTOR, Kind.IDENTIFIER}
LICENCE_URLS = {"CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
                "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
                "ODC-BY-1.0": "https://opendatacommons.org/licenses/by/1-0/"}


# --- declarations -> descriptor -----------------------------------------------------------------------------------

def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def to_field(col: Column, table: Table) -> dict:
    """The Table Schema field of ``col`` (of ``table``): standard type and constraints, the engine's extras."""
    field: dict = {"name": col.name, **({"title": col.title} if col.title else {}), "description": col.description}
    constraints: dict = {}
    if col.always_required:
        constraints["required"] = True
    if col.multi:
        field.update({"type": "list", "delimiter": MULTI_SEPARATOR, "itemType": "string"})
    else:
        field["type"] = {Kind.INTEGER: "integer", Kind.NUMBER: "number", Kind.DATE: "date"}.get(col.kind, "string")
    if col.kind in NAMED_KINDS:
        field[NS + "kind"] = col.kind.value
    # a list's items cannot be constrained in Table Schema: the engine keeps their pattern to itself
    where = NS + "itemConstraints" if col.multi else "constraints"
    items: dict = {}
    for key in ("minimum", "maximum"):
        if getattr(col, key) is not None:
            constraints[key] = _number(getattr(col, key))
    if col.kind is Kind.ID:
        constraints.update({"unique": True, "pattern": rf"{table.id_prefix}-[0-9]{{4,9}}"})
    elif col.kind is Kind.CITEKEYS:
        (items if col.multi else constraints)["pattern"] = KEY_PATTERN
    if col.pattern is not None:
        (items if col.multi else constraints)["pattern"] = col.pattern
    if col.pattern_hint:
        field[NS + "pattern_hint"] = col.pattern_hint
    if col.vocab is not None:
        v = col.vocab
        if not col.multi:
            constraints["enum"] = v.values
        else:
            items["enum"] = v.values
        # on a list the categories describe its items (Frictionless tools ignore them there)
        field["categories"] = [{"value": t, "label": label} for t, label in v.terms.items()]
        field["categoriesOrdered"] = True
        field[NS + "vocabulary"] = {"name": v.name, "description": v.description,
                                    **({"definitions": dict(v.definitions)} if v.definitions else {}),
                                    **({"uncounted": list(v.uncounted)} if v.uncounted else {})}
    if col.only_when is not None:
        field[NS + "only_when"] = {col.only_when[0]: col.only_when[1]}
        field[NS + "required"] = col.required
    if col.verbatim:
        field[NS + "verbatim"] = True
    if col.unit:
        field[NS + "unit"] = col.unit
    if constraints:
        field["constraints"] = constraints
    if items:
        field[where] = items
    return field


def to_table_schema(table: Table) -> dict:
    """The Frictionless Table Schema of ``table``."""
    return {"fields": [to_field(c, table) for c in table.columns], "primaryKey": ["id"], "missingValues": [""]}


def to_resource(table: Table) -> dict:
    """The tabular data resource of ``table``: its file, title, description, id prefix and schema."""
    return {"name": table.name, "title": table.title, "description": table.description, "path": table.path,
            "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            NS + "id_prefix": table.id_prefix,
            **({NS + "optional": True} if table.optional else {}),
            **({NS + "row_checks": list(table.row_checks)} if table.row_checks else {}),
            "schema": to_table_schema(table)}


def _declared_parts(decl: Declarations) -> dict:
    """The identity, roles, certainty inputs, library policy, syntheses and unused vocabularies, as ``review.yml``
    writes them."""
    used = {c.vocab.name for t in decl.tables.values() for c in t.columns if c.vocab is not None}
    unused = {n: v for n, v in decl.vocabularies.items() if n not in used}
    data = yaml.safe_load(dump(decl.identity, {}, decl.roles, decl.certainty, library=decl.library,
                               synthesis=decl.synthesis))
    if unused:
        # dump writes only the vocabularies its tables use: a table of one column per vocabulary carries the rest
        carrier = {n: Table(n, n, "X", "", (Column(n, Kind.VOCAB, "", vocab=v),)) for n, v in unused.items()}
        data["vocabularies"] = yaml.safe_load(dump(decl.identity, carrier))["vocabularies"]
    data.pop("tables", None)
    return data


def to_descriptor(decl: Declarations) -> dict:
    """The ``datapackage.json`` descriptor of a review's declarations (``from_descriptor`` gives them back)."""
    who = decl.identity
    parts = _declared_parts(decl)
    out: dict = {"name": who.slug, "title": who.title, "profile": "tabular-data-package",
                 "contributors": [{"title": a, "roles": ["author"]} for a in who.authors],
                 "licenses": [{"name": who.licence, **({"path": LICENCE_URLS[who.licence]}
                                                       if who.licence in LICENCE_URLS else {})}] if who.licence else [],
                 NS + "review": parts["review"]}
    for key in ("roles", "certainty", "library", "synthesis", "vocabularies"):
        if key in parts:
            out[NS + key] = parts[key]
    out["resources"] = [to_resource(t) for t in decl.tables.values()]
    return out


# --- descriptor -> declarations -----------------------------------------------------------------------------------

def parse(text: str, path: str = DESCRIPTOR) -> tuple[dict, dict[str, int]]:
    """The descriptor in ``text`` and the line of every key path in it (``resources[0].schema.fields[2]``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError([Problem(path, exc.lineno, "-", f"not valid JSON: {exc.msg} (column {exc.colno})")]) \
            from None
    if not isinstance(data, dict):
        raise ValidationError([Problem(path, 1, "-", "expected a JSON object (a data package descriptor)")])
    reader = _Reader(path)
    try:  # JSON is YAML's flow style: YAML's nodes know their lines, which json's values do not
        reader.value(yaml.compose(text, Loader=yaml.SafeLoader), "")
    except (yaml.YAMLError, ValueError, TypeError):
        pass  # a construct YAML reads otherwise (tabs, escapes): problems are then reported at line 1
    return data, reader.lines


def parent(key: str) -> str:
    """The key path that holds ``key``: ``a.b[2]`` -> ``a.b`` -> ``a`` -> ``''``."""
    shorter = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", key)
    return shorter if shorter != key else ""  # a top-level key ('title') has no holder but the descriptor


def line_of(lines: dict[str, int], key: str) -> int:
    """The line of ``key`` in the descriptor, or of the nearest key that holds it (1 if none is known)."""
    probe = key
    while probe and probe not in lines:
        probe = parent(probe)
    return lines.get(probe, 1)


class _Converter:
    """Builds ``review.yml``'s data from a descriptor, remembering where in the descriptor each part came from."""

    def __init__(self, path: str, lines: dict[str, int]):
        self.path, self.lines = path, lines
        self.problems: list[Problem] = []
        self.origin: dict[str, str] = {}  # review.yml key path -> descriptor key path
        self.added: dict[str, tuple[bool, bool]] = {}  # table -> (an id column added, an added column added)

    def line(self, where: str) -> int:
        return line_of(self.lines, where)

    def at(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.path, self.line(where), where or "-", message))

    def vocabulary(self, field: dict, where: str, table: str, vocabularies: dict) -> str | None:
        """The name of the vocabulary ``field`` declares (added to ``vocabularies``), or None if it declares none."""
        items = field.get(NS + "itemConstraints") if field.get("type") == "list" else field.get("constraints")
        enum = (items or {}).get("enum") if isinstance(items, dict) else None
        categories = field.get("categories")
        if categories is None and enum is None:
            return None
        if enum is not None and (not isinstance(enum, list) or not enum
                                 or not all(isinstance(t, (str, int)) and not isinstance(t, bool) for t in enum)):
            self.at(f"{where}.constraints.enum", "expected a list of values")
            return None
        terms: dict[str, str] = {}
        if categories is not None:
            if not isinstance(categories, list) or not categories:
                self.at(f"{where}.categories", "expected a list of categories, each a value or {value, label}")
                return None
            for i, c in enumerate(categories):
                value, label = (c.get("value"), c.get("label")) if isinstance(c, dict) else (c, None)
                if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
                    self.at(f"{where}.categories[{i}]", "expected a category value (text or a whole number)")
                    continue
                if str(value) in terms:
                    self.at(f"{where}.categories[{i}]", f"category '{value}' is declared twice")
                terms[str(value)] = label if isinstance(label, str) and label else str(value)
        else:
            terms = {str(t): str(t) for t in enum}
            for twice in sorted({str(t) for t in enum if [str(x) for x in enum].count(str(t)) > 1}):
                self.at(f"{where}.constraints.enum", f"value '{twice}' is listed twice")
        if enum is not None and categories is not None and [str(t) for t in enum] != list(terms):
            self.at(f"{where}.constraints.enum", "the enum and the categories name different values")
        extra = field.get(NS + "vocabulary", {})
        if not isinstance(extra, dict):
            self.at(f"{where}.{NS}vocabulary", "expected {name, description, definitions, uncounted}")
            extra = {}
        name = extra.get("name", field.get("name"))
        if not isinstance(name, str):
            self.at(f"{where}.{NS}vocabulary.name", "expected a vocabulary name")
            return None
        definitions = extra.get("definitions", {})
        uncounted = extra.get("uncounted", [])
        entry = {"description": extra.get("description", field.get("description", "")),
                 "terms": [{"value": t, "label": label,
                            **({"definition": definitions[t]} if isinstance(definitions, dict) and t in definitions
                               else {}),
                            **({"counted": False} if isinstance(uncounted, list) and t in uncounted else {})}
                           for t, label in terms.items()]}
        if NS + "vocabulary" not in field and name in vocabularies and vocabularies[name] != entry:
            name = f"{table}_{name}"  # another package's same-named field with other terms: a vocabulary of its own
        if name in vocabularies and vocabularies[name] != entry:
            self.at(where, f"vocabulary '{name}' is declared by another field with other terms, labels or "
                           "definitions")
        vocabularies.setdefault(name, entry)
        self.origin.setdefault(f"vocabularies.{name}", where)
        return name

    def column(self, field: object, where: str, table: str, vocabularies: dict, first: bool) -> dict | None:
        """``review.yml``'s declaration of one Table Schema field."""
        if not isinstance(field, dict):
            self.at(where, "expected a field: an object with a name and a type")
            return None
        name, ftype = field.get("name"), field.get("type", "string")
        if not isinstance(name, str) or not name:
            self.at(f"{where}.name", "expected the field's name")
            return None
        if not isinstance(ftype, str) or ftype not in TYPES:
            self.at(f"{where}.type", f"type '{ftype}' is not one the review's tables hold; expected one of: "
                                     f"{', '.join(TYPES)}")
            return None
        multi = ftype == "list"
        if multi and field.get("delimiter", ",") != MULTI_SEPARATOR:
            self.at(f"{where}.delimiter", f"a list's items are separated by '{MULTI_SEPARATOR}' in a review's "
                                          f"tables; expected delimiter \"{MULTI_SEPARATOR}\"")
        if multi and field.get("itemType", "string") != "string":
            self.at(f"{where}.itemType", "expected itemType string")
        constraints = field.get("constraints", {})
        if not isinstance(constraints, dict):
            self.at(f"{where}.constraints", "expected an object of constraints")
            constraints = {}
        items = field.get(NS + "itemConstraints", {}) if multi else constraints
        kind_text = field.get(NS + "kind")
        if kind_text is not None and (not isinstance(kind_text, str)
                                      or kind_text not in {k.value for k in NAMED_KINDS}):
            self.at(f"{where}.{NS}kind", f"unknown kind '{kind_text}'; expected one of: "
                                         f"{', '.join(k.value for k in NAMED_KINDS)}")
            kind_text = None
        vocabulary = self.vocabulary(field, where, table, vocabularies)
        if kind_text is not None:
            kind = Kind(kind_text)
        elif vocabulary is not None:
            kind = Kind.VOCAB
        elif name == "citekeys":  # a package from elsewhere cites its references.bib by this name
            kind, multi = Kind.CITEKEYS, True
        elif first and name == "id":
            kind = Kind.ID
        elif ftype in ("string", "list") and isinstance(items, dict) and "pattern" in items:
            kind = Kind.IDENTIFIER
        else:
            kind = TYPES[ftype]
        out: dict = {"name": name, "type": kind.value, "description": field.get("description", "")}
        if isinstance(field.get("title"), str) and field["title"]:
            out["title"] = field["title"]
        required = constraints.get("required", False) is True
        if NS + "only_when" in field:
            out["only_when"] = field[NS + "only_when"]
            required = field.get(NS + "required", True)
        if not required:
            out["required"] = False
        if vocabulary is not None:
            out["vocabulary"] = vocabulary
        if multi and kind is not Kind.ID:
            out["multiple"] = True
        for key in ("minimum", "maximum"):
            if key in constraints:
                out[key] = constraints[key]
        pattern = items.get("pattern") if isinstance(items, dict) else None
        if pattern is not None and kind not in (Kind.ID, Kind.CITEKEYS):
            out["pattern"] = pattern
            default = "" if NS + "kind" in field else f"text matching {pattern}"
            out["pattern_hint"] = field.get(NS + "pattern_hint", default)
        elif NS + "pattern_hint" in field:
            out["pattern_hint"] = field[NS + "pattern_hint"]
        if field.get(NS + "verbatim"):
            out["verbatim"] = True
        if isinstance(field.get(NS + "unit"), str) and field[NS + "unit"]:
            out["unit"] = field[NS + "unit"]
        return out

    def table(self, resource: object, where: str, vocabularies: dict, prefixes: set[str]) -> tuple[str, dict] | None:
        """``review.yml``'s declaration of one tabular resource, under its table name."""
        if not isinstance(resource, dict):
            self.at(where, "expected a resource: an object with a name, a path and a schema")
            return None
        name = resource.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name.replace("-", "_")):
            self.at(f"{where}.name", "expected a resource name of lower case letters, digits, '_' and '-'")
            return None
        name = name.replace("-", "_")
        schema = resource.get("schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list) or not schema["fields"]:
            self.at(f"{where}.schema" if "schema" in resource else where,
                    "expected an inline Table Schema with a list of fields")
            return None
        prefix = resource.get(NS + "id_prefix")
        if prefix is None:
            prefix = re.sub(r"[^A-Z]", "", name.upper())[:10]
            if len(prefix) < 2 or prefix in prefixes:
                self.at(where, f"cannot derive a row id prefix from the name '{name}'; declare "
                               f"\"{NS}id_prefix\" (2 to 10 capital letters)")
        elif not (isinstance(prefix, str) and PREFIX_RE.match(prefix)):
            self.at(f"{where}.{NS}id_prefix", "expected 2 to 10 capital letters, e.g. STUDY")
        prefixes.add(prefix if isinstance(prefix, str) else "")
        self.origin[f"tables.{name}"] = where
        columns = []
        for j, field in enumerate(schema["fields"]):
            col = self.column(field, f"{where}.schema.fields[{j}]", name, vocabularies, first=j == 0)
            if col is not None:
                self.origin[f"tables.{name}.columns[{len(columns)}]"] = f"{where}.schema.fields[{j}]"
                columns.append(col)
        names = [c["name"] for c in columns]
        numbered = not (columns and columns[0]["name"] == "id" and columns[0]["type"] == "id")
        if numbered and "id" in names:
            self.at(f"{where}.schema.fields[{names.index('id')}]", "a field named id is the table's row id and "
                                                                   "comes first; rename or move it")
        dated = not any(c["type"] == "date" for c in columns)
        if numbered:  # a table from elsewhere: its rows are numbered as they are copied in
            columns.insert(0, {"name": "id", "type": "id", "description": f"Stable row id, '{prefix}-' and four to "
                                                                          "nine digits; never reused."})
            self.origin = {k: v for k, v in self.origin.items() if not k.startswith(f"tables.{name}.columns[")}
            for j in range(len(schema["fields"])):
                self.origin[f"tables.{name}.columns[{j + 1}]"] = f"{where}.schema.fields[{j}]"
        if dated:  # and dated the day they enter the review
            columns.append({"name": "added", "type": "date", "description": "Date the row entered the review (ISO)."})
        self.added[name] = (numbered, dated)
        # a package from elsewhere may name a resource without a title: its name reads as one
        out: dict = {"title": resource.get("title") or name.replace("_", " ").capitalize(), "id_prefix": prefix,
                     "description": resource.get("description", "")}
        if resource.get(NS + "optional"):
            out["optional"] = True
        if resource.get(NS + "row_checks"):
            out["row_checks"] = resource[NS + "row_checks"]
        out["columns"] = columns
        return name, out

    def located(self, problem: Problem) -> Problem:
        """``read``'s problem at ``review.yml``'s key, moved to the descriptor's place it came from."""
        where = problem.column
        probe = where
        while probe and probe not in self.origin:
            probe = parent(probe)
        place = self.origin.get(probe, where)
        return Problem(self.path, self.line(place), place, problem.message)


def convert(descriptor: dict, path: str = DESCRIPTOR, lines: dict[str, int] | None = None) -> tuple[dict, dict]:
    """``review.yml``'s data for ``descriptor``, and for each table: its resource, the resource's index in the
    descriptor, and whether the table adds a row id (``numbered``) and an ``added`` date (``dated``) to its rows.

    Raises a ``ValidationError`` with every problem at its place in the descriptor; ``declarations.read`` has not
    yet checked the result (``from_descriptor`` does both).
    """
    conv = _Converter(path, lines or {})
    data, resources = _convert(conv, descriptor)
    if conv.problems:
        raise ValidationError(sorted(set(conv.problems), key=Problem.sort_key))
    return data, resources


def _identity(conv: _Converter, descriptor: dict) -> dict:
    review = descriptor.get(NS + "review")
    if isinstance(review, dict):
        conv.origin["review"] = NS + "review"
        return review
    title = descriptor.get("title") or descriptor.get("name") or ""
    slug = re.sub(r"[^a-z0-9]+", "-", str(descriptor.get("name") or title).lower()).strip("-")
    authors = [c.get("title") for c in descriptor.get("contributors", []) or []
               if isinstance(c, dict) and isinstance(c.get("title"), str)]
    licences = [x.get("name") for x in descriptor.get("licenses", []) or [] if isinstance(x, dict)]
    conv.origin["review"] = "title"
    return {"title": title, "slug": slug, "authors": authors,
            **({"licence": licences[0]} if licences and isinstance(licences[0], str) else {})}


def _convert(conv: _Converter, descriptor: dict) -> tuple[dict, dict[str, dict]]:
    """``review.yml``'s data, and what ``convert`` says of each table's resource."""
    resources = descriptor.get("resources")
    if not isinstance(resources, list) or not resources:
        conv.at("resources" if "resources" in descriptor else "", "expected a list of resources (the tables)")
        resources = []
    vocabularies: dict = {}
    declared = descriptor.get(NS + "vocabularies") or {}
    if isinstance(declared, dict):
        for name, entry in declared.items():
            vocabularies[name] = entry
            conv.origin[f"vocabularies.{name}"] = f"{NS}vocabularies.{name}"
    tables, paths, prefixes = {}, {}, set()
    for i, resource in enumerate(resources):
        if isinstance(resource, dict) and resource.get(NS + "library"):
            continue  # the library as a table, which export adds: the review's references.bib is its source
        got = conv.table(resource, f"resources[{i}]", vocabularies, prefixes)
        if got is None:
            continue
        name, table = got
        if name in tables:
            conv.at(f"resources[{i}].name", f"a second resource called {name}")
        tables[name] = table
        paths[name] = {"index": i, "resource": resource, "numbered": conv.added[name][0],
                       "dated": conv.added[name][1]}
    data: dict = {"review": _identity(conv, descriptor), "vocabularies": vocabularies, "tables": tables}
    for key in ("roles", "certainty", "library", "synthesis"):
        if NS + key in descriptor:
            data[key] = descriptor[NS + key]
            conv.origin[key] = NS + key
    return data, paths


def from_descriptor(descriptor: dict | str, path: str = DESCRIPTOR) -> Declarations:
    """The declarations a data package descriptor (a dict, or ``datapackage.json``'s text) declares.

    Every problem (an unknown type, a missing schema, a vocabulary declared two ways, and whatever
    ``declarations.read`` finds in the result) is reported at its line and key in the descriptor.
    """
    descriptor, lines = parse(descriptor, path) if isinstance(descriptor, str) else (descriptor, {})
    conv = _Converter(path, lines)
    data, _ = _convert(conv, descriptor)
    if conv.problems:
        raise ValidationError(sorted(set(conv.problems), key=Problem.sort_key))
    try:
        return read(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    except ValidationError as exc:
        raise ValidationError(sorted({conv.located(p) for p in exc.errors}, key=Problem.sort_key)) from None


def from_table_schema(schema: dict, name: str, title: str = "", id_prefix: str | None = None,
                      description: str = "") -> Table:
    """The table a Table Schema declares (its vocabularies from its fields' categories or enums)."""
    resource = {"name": name, "title": title or name, "description": description, "path": f"data/{name}.csv",
                "schema": schema, **({NS + "id_prefix": id_prefix} if id_prefix else {})}
    decl = from_descriptor({"name": name, "title": title or name, "resources": [resource]})
    return decl.tables[name]


