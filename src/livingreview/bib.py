"""The BibTeX library: one strict wrapper around bibtexparser 2, and the library's own rules."""

from __future__ import annotations

import functools
import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
from bibtexparser import model
from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts, split_multiple_persons_names
from pylatexenc.latex2text import LatexNodes2Text

from livingreview.errors import Problem

BIB_PATH = "references.bib"
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
PMID_RE = re.compile(r"^\d{1,9}$")
YEAR_RE = re.compile(r"^\d{4}$")
URL_RE = re.compile(r"^https?://\S+$", re.IGNORECASE)
KEY_RE = re.compile(r"[A-Za-z0-9_:.+\-]+")
VENUE_FIELDS = ("journal", "booktitle", "publisher")

RAW_FIELDS = {"doi", "pmid", "pmcid", "url", "file", "eprint"}

logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)


def _unescape_raw(value: str) -> str:
    """Identifiers and links are not LaTeX text: undo only the escapes managers add (\\_ \\% \\& \\#), drop braces."""
    value = re.sub(r"\{?\\([_%&#$~])\}?", r"\1", value)
    return value.replace("{", "").replace("}", "").strip()


MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}


@functools.lru_cache(maxsize=1)
def _latex() -> LatexNodes2Text:
    return LatexNodes2Text()


@functools.lru_cache(maxsize=131_072)
def decode_latex(value: str) -> str:
    """Text of a BibTeX value: LaTeX decoded only where it has a macro (pylatexenc is slow), braces dropped."""
    if "\\" not in value:
        text = value.replace("{", "").replace("}", "").replace("---", "\u2014").replace("--", "\u2013")
        return " ".join(text.split())
    return " ".join(_latex().latex_to_text(value).split())


@functools.lru_cache(maxsize=131_072)
def split_name(name: str) -> tuple[str, str]:
    """(last, first) of one BibTeX name, braces grouping multi-word surnames, LaTeX decoded."""
    try:
        parts = parse_single_name_into_parts(name, strict=False)
    except InvalidNameError:
        return decode_latex(name), ""
    return decode_latex(" ".join([*parts.von, *parts.last])), decode_latex(" ".join(parts.first))


@dataclass(frozen=True)
class Reference:
    """One entry of the library, LaTeX-decoded, with its authors split into (last, first) names."""

    key: str
    entry_type: str
    line: int
    fields: dict[str, str]
    author_raw: str = ""
    field_lines: dict[str, int] = field(default_factory=dict)

    @functools.cached_property
    def authors(self) -> tuple[tuple[str, str], ...]:
        """(last, first) per author, split only when asked for (name splitting dominates parse time)."""
        if not self.author_raw:
            return ()
        names = split_multiple_persons_names(self.author_raw)
        return tuple(split_name(n) for n in names if n.strip().lower() != "others")

    @property
    def title(self) -> str:
        """The decoded title."""
        return self.fields.get("title", "")

    @property
    def year(self) -> int | None:
        """Publication year, if it is a 4-digit number."""
        y = self.fields.get("year", "")
        return int(y) if YEAR_RE.match(y) else None

    @property
    def venue(self) -> str:
        """Journal, else book title, else publisher."""
        return next((self.fields[f] for f in VENUE_FIELDS if self.fields.get(f)), "")

    @property
    def doi(self) -> str:
        """The DOI, or ''."""
        return self.fields.get("doi", "")

    @property
    def pmid(self) -> str:
        """The PubMed id, or ''."""
        return self.fields.get("pmid", "")

    @property
    def retracted(self) -> bool:
        """True if the entry carries a ``retracted`` field: it may be listed but never cited as support."""
        return bool(self.fields.get("retracted", "").strip())

    @property
    def first_author(self) -> str:
        """Surname of the first author."""
        return self.authors[0][0] if self.authors else ""

    @property
    def url(self) -> str:
        """A link to the paper: DOI, else PubMed, else the entry's own http(s) URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        u = self.fields.get("url", "")
        return u if URL_RE.match(u) else ""


@dataclass(frozen=True)
class Library:
    """Every reference of ``references.bib``, by key."""

    path: str
    references: dict[str, Reference]
    #: keys of entries that exist but failed to parse: their citations are not reported again as unknown
    broken_keys: frozenset[str] = frozenset()
    #: False when the file could not be read or decoded at all
    readable: bool = True

    def __contains__(self, key: object) -> bool:
        return key in self.references

    def __getitem__(self, key: str) -> Reference:
        return self.references[key]

    def __len__(self) -> int:
        return len(self.references)


def _failed_block_problem(block: model.Block, rel: str) -> Problem:
    line = (block.start_line or 0) + 1
    if isinstance(block, model.DuplicateBlockKeyBlock):
        return Problem(rel, line, "-", f"duplicate entry key '{block.key}'; expected each key once")
    if isinstance(block, model.DuplicateFieldKeyBlock):
        dup = ", ".join(sorted(block.duplicate_keys))
        return Problem(rel, line, "-", f"duplicate field(s) {dup} in one entry; expected each field once")
    if isinstance(block, model.MiddlewareErrorBlock):
        return Problem(rel, line, "-", f"entry could not be decoded ({block.error}); check LaTeX and names")
    raw = (block.raw or "").strip().splitlines()
    head = raw[0][:60] if raw else ""
    return Problem(rel, line, "-", f"malformed BibTeX block starting '{head}'; expected "
                                   "@type{key, field = {value}, ...} with balanced braces")


def _decode(data: bytes, rel: str) -> tuple[str | None, list[Problem]]:
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start: exc.start + 1].hex()
        return None, [Problem(rel, line, "-", f"not valid UTF-8 (byte 0x{bad}); expected the file saved as UTF-8")]


# One entry in the plain form reference managers and ``format_entry`` write: braced (to depth 3), simply
# quoted or numeric values, no macros. Such entries are read here; anything else goes to bibtexparser.
_BRACED = r"\{[^{}]*(?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}[^{}]*)*\}"
ENTRY_HEAD_RE = re.compile(r"@([A-Za-z]\w*)[ \t]*\{\s*([A-Za-z0-9_:.+\-]+)\s*,")
FIELD_RE = re.compile(rf"\s*([A-Za-z][\w\-]*)\s*=\s*({_BRACED}|\"[^\"{{}}\\]*\"|\d+)\s*([,}}])")
ENTRY_END_RE = re.compile(r"\s*}")
ENTRY_START_RE = re.compile(r"^@", re.MULTILINE)
SPECIAL_BLOCKS = {"string", "comment", "preamble"}

RawField = tuple[str, str, int, str | None]  # name, value without its enclosing, 0-based line, enclosing


def _plain_entry(piece: str, line0: int) -> tuple[str, str, int, list[RawField]] | None:
    """(type, key, 0-based line, fields) of a piece holding exactly one plain entry, else None."""
    head = ENTRY_HEAD_RE.match(piece)
    if head is None or head.group(1).lower() in SPECIAL_BLOCKS:
        return None
    fields: list[RawField] = []
    seen: set[str] = set()
    pos = head.end()
    while True:
        m = FIELD_RE.match(piece, pos)
        if m is None:
            end = ENTRY_END_RE.match(piece, pos) if fields else None
            if end is None or piece[end.end():].strip():
                return None
            break
        name, value = m.group(1), m.group(2)
        if name.lower() in seen or "\\{" in value or "\\}" in value or value[:-1].endswith("\\"):
            return None  # duplicate fields and escaped braces: bibtexparser's rules decide
        seen.add(name.lower())
        if value[0] in "{\"":
            value = value[1:-1]
        fields.append((name, value, line0 + piece.count("\n", 0, m.start(1)), None))
        pos = m.end()
        if m.group(3) == "}":
            if piece[pos:].strip():
                return None
            break
    return head.group(1), head.group(2), line0, fields


def _reference(key: str, entry_type: str, line0: int, raw_fields: list[RawField], rel: str,
               problems: list[Problem]) -> Reference:
    """A Reference from parsed fields: values decoded, undefined macros reported."""
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    author_raw = ""
    for raw_name, value, field_line0, enclosing in raw_fields:
        name = raw_name.lower()
        line = field_line0 + 1
        lines[name] = line
        if enclosing == "no-enclosing" and "#" in value:
            problems.append(Problem(rel, line, name or "-", f"string concatenation '{value}' is not supported; "
                                                            "expected one braced value"))
        elif enclosing == "no-enclosing" and not value.isdigit() and value.lower() not in MONTHS:
            problems.append(Problem(rel, line, name or "-", f"undefined @string macro '{value}'; expected a "
                                                            "braced value or a macro defined with @string"))
        if name == "author":
            author_raw = value
            fields[name] = decode_latex(value)
        elif name in RAW_FIELDS:
            fields[name] = _unescape_raw(value)
        else:
            fields[name] = decode_latex(value)
    return Reference(key, entry_type.lower(), line0 + 1, fields, author_raw, lines)


def _parse_with_bibtexparser(text: str, rel: str) -> tuple[Library, list[Problem], bool]:
    """Parse with bibtexparser; the flag says whether any block failed."""
    problems: list[Problem] = []
    parsed = bibtexparser.parse_string(text)
    problems += [_failed_block_problem(b, rel) for b in parsed.failed_blocks]
    broken = frozenset(m.group(1) for b in parsed.failed_blocks
                       if (m := re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)\s*,", b.raw or "")))
    refs: dict[str, Reference] = {}
    for entry in parsed.entries:
        raw_fields = [(f.key, str(f.value), f.start_line or entry.start_line or 0, getattr(f, "enclosing", None))
                      for f in entry.fields]
        refs[entry.key] = _reference(entry.key, entry.entry_type, entry.start_line or 0, raw_fields, rel,
                                     problems)
    return Library(rel, refs, broken), problems, bool(parsed.failed_blocks)


def parse_library(text: str, rel: str = BIB_PATH) -> tuple[Library, list[Problem]]:
    """Parse BibTeX text strictly: every failed block is a located problem, not a log line.

    Plain entries are read by one regular expression each; the rest (macros, @string, @comment, anything
    unusual) by bibtexparser, which also re-reads the whole text if any block fails, so that errors and
    their lines are exactly bibtexparser's. Values are LaTeX-decoded only where they hold a macro and
    author lists are split lazily, which keeps 20,000 entries within a second or two.
    """
    starts = [m.start() for m in ENTRY_START_RE.finditer(text)] + [len(text)]
    plain: list[tuple[str, str, int, list[RawField]]] = []
    rest: list[str] = [text[:starts[0]]]
    line0 = text.count("\n", 0, starts[0])
    for a, b in itertools.pairwise(starts):
        piece = text[a:b]
        entry = _plain_entry(piece, line0)
        if entry is None:
            rest.append(piece)
        else:
            plain.append(entry)
            rest.append("\n" * piece.count("\n"))  # keeps the line numbers of what bibtexparser reads
        line0 += piece.count("\n")
    problems: list[Problem] = []
    residue = "".join(rest)
    if "@" not in residue:  # no block starts, so bibtexparser would find nothing
        other = Library(rel, {})
    else:
        other, problems, failed = _parse_with_bibtexparser(residue, rel)
        if failed:
            # a broken block may swallow the entries after it; only the whole text gives bibtexparser's answer
            lib, problems, _ = _parse_with_bibtexparser(text, rel)
            return lib, problems
    found = [(line, key, (entry_type, fields)) for entry_type, key, line, fields in plain]
    found += [(ref.line - 1, key, ref) for key, ref in other.references.items()]
    refs: dict[str, Reference] = {}
    broken = set(other.broken_keys)
    for line, key, item in sorted(found, key=lambda f: f[0]):
        if key in refs:
            problems.append(Problem(rel, line + 1, "-", f"duplicate entry key '{key}'; expected each key once"))
            broken.add(key)
            continue
        refs[key] = item if isinstance(item, Reference) else _reference(key, item[0], line, item[1], rel, problems)
    return Library(rel, refs, frozenset(broken)), problems


def check_library(lib: Library) -> list[Problem]:
    """The library's own rules: unique keys (ignoring case), required fields, DOI/PMID/URL syntax, unique DOIs."""
    rel = lib.path
    problems: list[Problem] = []
    by_lower: dict[str, Reference] = {}
    by_doi: dict[str, Reference] = {}
    for ref in sorted(lib.references.values(), key=lambda r: r.line):
        other = by_lower.get(ref.key.lower())
        if other is not None:
            problems.append(Problem(rel, ref.line, "-", f"key '{ref.key}' differs only in case from "
                                                        f"'{other.key}' (line {other.line}); expected keys "
                                                        "unique ignoring case (pybtex drops entries after it)"))
        by_lower.setdefault(ref.key.lower(), ref)
        if not KEY_RE.fullmatch(ref.key):
            problems.append(Problem(rel, ref.line, "-", f"key '{ref.key}' has characters a BibTeX key cannot hold; "
                                                        "expected letters, digits and _:.+- only"))

        def at(name: str, ref: Reference = ref) -> int:
            return ref.field_lines.get(name, ref.line)

        for name in ("author", "title", "year"):
            if not ref.fields.get(name):
                problems.append(Problem(rel, ref.line, name, f"entry '{ref.key}' has no {name}; expected one"))
        if not ref.venue:
            problems.append(Problem(rel, ref.line, "journal", f"entry '{ref.key}' has no journal, booktitle or "
                                                              "publisher; expected one"))
        year = ref.fields.get("year", "")
        if year and not YEAR_RE.match(year):
            problems.append(Problem(rel, at("year"), "year", f"year '{year}' is not a 4-digit year"))
        doi, pmid = ref.doi, ref.pmid
        if not doi and not pmid and not (ref.retracted and URL_RE.match(ref.fields.get("url", ""))):
            # a retracted paper is only listed, never cited as support: the record of its retraction may stand in
            problems.append(Problem(rel, ref.line, "doi", f"entry '{ref.key}' has neither doi nor pmid; "
                                                          "expected a verified DOI or PMID"))
        if doi:
            if not DOI_RE.match(doi):
                problems.append(Problem(rel, at("doi"), "doi", f"malformed DOI '{doi}'; expected '10.NNNN/suffix' "
                                                               "without 'https://doi.org/'"))
            twin = by_doi.get(doi.lower())
            if twin is not None:
                problems.append(Problem(rel, at("doi"), "doi", f"DOI '{doi}' is also on entry '{twin.key}' "
                                                               f"(line {twin.line}); expected each paper once"))
            by_doi.setdefault(doi.lower(), ref)
        if pmid and not PMID_RE.match(pmid):
            problems.append(Problem(rel, at("pmid"), "pmid", f"malformed PMID '{pmid}'; expected digits only"))
        url = ref.fields.get("url", "")
        if url and not URL_RE.match(url):
            problems.append(Problem(rel, at("url"), "url", f"URL '{url[:60]}' is not http(s); expected an "
                                                           "https:// link"))
    return problems


def check_with_pybtex(text: str, rel: str = BIB_PATH) -> list[Problem]:
    """Parse with pybtex, as Sphinx will, and report what it rejects."""
    from pybtex import errors as pybtex_errors
    from pybtex.database import parse_string
    from pybtex.scanner import PybtexSyntaxError

    pybtex_errors.set_strict_mode(True)
    try:
        parse_string(text, "bibtex")
    except PybtexSyntaxError as exc:
        return [Problem(rel, getattr(exc, "lineno", 1) or 1, "-", f"pybtex (used by the book) rejects this: {exc}")]
    except Exception as exc:
        return [Problem(rel, 1, "-", f"pybtex (used by the book) rejects the library: {exc}")]
    return []


def load_library(root: Path, pybtex: bool = False) -> tuple[Library, list[Problem]]:
    """Read, parse and check ``references.bib`` under ``root``; with ``pybtex`` also parse it as Sphinx will."""
    rel = BIB_PATH
    try:
        data = (root / rel).read_bytes()
    except FileNotFoundError:
        return Library(rel, {}), [Problem(rel, 1, "-", "file not found; expected the BibTeX library")]
    except OSError as exc:
        return Library(rel, {}, readable=False), [Problem(rel, 1, "-", f"cannot read file ({exc.strerror or exc})")]
    text, problems = _decode(data, rel)
    if text is None:
        return Library(rel, {}, readable=False), problems
    lib, problems = parse_library(text, rel)
    problems += check_library(lib)
    if pybtex and not any(p.column == "-" for p in problems):
        problems += check_with_pybtex(text, rel)
    return lib, problems


FIELD_ORDER = ("author", "title", "journal", "booktitle", "publisher", "year", "volume", "number", "pages",
               "doi", "pmid", "pmcid", "url", "note", "retracted")
_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_"}
LATEX_SPECIALS = str.maketrans({**_ESCAPES, "{": "", "}": ""})
# braces in author lists group a multi-word surname ({Di Vizio}); keep them
AUTHOR_SPECIALS = str.maketrans(_ESCAPES)


def format_entry(key: str, entry_type: str, fields: dict[str, str]) -> str:
    """One normalised BibTeX entry: known fields in a fixed order, LaTeX specials escaped, title protected.

    The title is wrapped in a second pair of braces so that bibliography styles keep its capitals
    (gene names such as miR-105 or PD-L1 must not be lower-cased).
    """
    names = [f for f in FIELD_ORDER if fields.get(f)] + sorted(f for f in fields if f not in FIELD_ORDER
                                                               and fields[f])
    width = max((len(n) for n in names), default=0)
    lines = [f"@{entry_type}{{{key},"]
    for name in names:
        value = str(fields[name]).strip()
        if name == "author":
            value = value.translate(AUTHOR_SPECIALS) if value.count("{") == value.count("}") else value.translate(
                LATEX_SPECIALS)
        elif name not in RAW_FIELDS:
            value = value.translate(LATEX_SPECIALS)
        if name == "title":
            value = "{" + value + "}"
        lines.append(f"  {name.ljust(width)} = {{{value}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"
