"""The BibTeX library: one strict wrapper around bibtexparser 2, and the library's own rules."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
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


def parse_library(text: str, rel: str = BIB_PATH) -> tuple[Library, list[Problem]]:
    """Parse BibTeX text strictly: every failed block is a located problem, not a log line.

    bibtexparser parses the blocks and resolves @string macros; values are decoded here, LaTeX only where a
    value has a macro, and author lists are split lazily, which keeps 20,000 entries within seconds.
    """
    problems: list[Problem] = []
    parsed = bibtexparser.parse_string(text)
    problems += [_failed_block_problem(b, rel) for b in parsed.failed_blocks]
    broken = frozenset(m.group(1) for b in parsed.failed_blocks
                       if (m := re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)\s*,", b.raw or "")))
    refs: dict[str, Reference] = {}
    for entry in parsed.entries:
        fields: dict[str, str] = {}
        lines: dict[str, int] = {}
        author_raw = ""
        for f in entry.fields:
            name = f.key.lower()
            line = (f.start_line or entry.start_line or 0) + 1
            lines[name] = line
            value = str(f.value)
            if getattr(f, "enclosing", None) == "no-enclosing" and not value.isdigit() \
                    and value.lower() not in MONTHS:
                problems.append(Problem(rel, line, name or "-", f"undefined @string macro '{value}'; expected a "
                                                                "braced "
                                                         "value or a macro defined with @string"))
            if name == "author":
                author_raw = value
                fields[name] = decode_latex(value)
            elif name in RAW_FIELDS:
                fields[name] = _unescape_raw(value)
            else:
                fields[name] = decode_latex(value)
        refs[entry.key] = Reference(entry.key, entry.entry_type.lower(), (entry.start_line or 0) + 1,
                                    fields, author_raw, lines)
    return Library(rel, refs, broken), problems


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


PARALLEL_BYTES = 2_000_000  # below this, forking costs more than it saves
STRING_START_RE = re.compile(r"^@string\s*([{(])", re.IGNORECASE | re.MULTILINE)


def _string_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of every @string block, found by balancing its braces."""
    spans = []
    for m in STRING_START_RE.finditer(text):
        close = "}" if m.group(1) == "{" else ")"
        depth, i = 1, m.end()
        while i < len(text) and depth:
            ch = text[i]
            if ch == "{" or (ch == "(" and close == ")"):
                depth += 1
            elif ch == "}" or (ch == ")" and close == ")"):
                depth -= 1
            i += 1
        spans.append((m.start(), i))
    return spans


def _chunks(text: str, parts: int) -> list[tuple[int, str]]:
    """Split at entry starts into ``parts`` pieces of similar size: (first line number - 1, text)."""
    starts = [m.start() for m in re.finditer(r"^@", text, flags=re.MULTILINE)]
    bounds = [0] + [min((i for i in starts if i >= len(text) * k // parts), default=len(text))
                    for k in range(1, parts)] + [len(text)]
    pieces = []
    for a, b in itertools.pairwise(bounds):
        if a < b:
            pieces.append((text.count("\n", 0, a), text[a:b]))
    return pieces


def _parse_piece(args: tuple[int, str, str, str]) -> tuple[Library, list[Problem]]:
    offset, piece, strings, rel = args
    # @string definitions go after the piece so that line numbers inside it stay true
    lib, problems = parse_library(piece + "\n" + strings, rel)
    shift = lambda p: Problem(p.path, p.line + offset, p.column, p.message, p.severity)  # noqa: E731
    refs = {k: dataclasses.replace(r, line=r.line + offset, field_lines={f: n + offset for f, n in
                                                                       r.field_lines.items()})
            for k, r in lib.references.items()}
    return Library(rel, refs, lib.broken_keys), [shift(p) for p in problems]


def parse_library_parallel(text: str, rel: str = BIB_PATH) -> tuple[Library, list[Problem]]:
    """``parse_library`` spread over the machine's cores for large libraries (same result, same lines)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(text) < PARALLEL_BYTES or workers < 2:
        return parse_library(text, rel)
    spans = _string_blocks(text)
    strings = "\n".join(text[a:b] for a, b in spans)
    body = text
    for a, b in reversed(spans):  # blank them out, keeping every line number
        body = body[:a] + "\n" * text.count("\n", a, b) + body[b:]
    pieces = [(offset, piece, strings, rel) for offset, piece in _chunks(body, workers)]
    with ProcessPoolExecutor(len(pieces), mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_parse_piece, pieces))
    refs: dict[str, Reference] = {}
    problems: list[Problem] = []
    broken: set[str] = set()
    for lib, part in results:
        problems += part
        broken |= lib.broken_keys
        for key, ref in lib.references.items():
            if key in refs:  # a duplicate that fell into another piece
                problems.append(Problem(rel, ref.line, "-", f"duplicate entry key '{key}'; expected each key once"))
            else:
                refs[key] = ref
    return Library(rel, refs, frozenset(broken)), problems


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
    lib, problems = parse_library_parallel(text, rel)
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
