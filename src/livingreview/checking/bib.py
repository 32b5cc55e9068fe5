"""The BibTeX library: one strict wrapper around bibtexparser 2, and the library's own rules."""

from __future__ import annotations

import functools
import itertools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from livingreview.model.declarations import RECORD_KINDS, LibraryPolicy
from livingreview.model.errors import Problem, quote
from livingreview.model.schema import DOI_PATTERN, INVISIBLE_PATTERN, KEY_PATTERN, PMID_PATTERN, URL_PATTERN

if TYPE_CHECKING:
    from bibtexparser import model
    from pylatexenc.latex2text import LatexNodes2Text

BIB_PATH = "references.bib"
DOI_RE = re.compile(rf"^{DOI_PATTERN}$")
PMID_RE = re.compile(rf"^{PMID_PATTERN}$")
YEAR_RE = re.compile(r"^[0-9]{4}$")
PMCID_RE = re.compile(r"^PMC[1-9][0-9]{0,9}$")
URL_RE = re.compile(rf"^{URL_PATTERN}$", re.IGNORECASE)
KEY_RE = re.compile(KEY_PATTERN)
INVISIBLE_RE = re.compile(INVISIBLE_PATTERN)
MAX_BRACE_DEPTH = 8  # deeper nesting is never needed in a bibliography and makes LaTeX decoding recurse
VENUE_FIELDS = ("journal", "booktitle", "publisher")
# arXiv's two identifier schemes (arxiv.org/help/arxiv_identifier): YYMM.NNNN from April 2007, YYMM.NNNNN from
# January 2015; before April 2007 archive(.SUBJECT-CLASS)/YYMMNNN. Either may carry a version, vN.
ARXIV_NEW_RE = re.compile(r"^(?P<yymm>[0-9]{4})\.(?P<number>[0-9]{4,5})(?:v[1-9][0-9]*)?$")
ARXIV_OLD_RE = re.compile(r"^[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/(?P<yymm>[0-9]{4})[0-9]{3}(?:v[1-9][0-9]*)?$")
ARXIV_VERSION_RE = re.compile(r"v[1-9][0-9]*$")
#: how messages name each record kind, and the field that holds it
RECORD_LABELS = {"doi": "DOI", "pmid": "PMID", "pmcid": "PMCID", "arxiv": "arXiv id", "isbn": "ISBN"}
RECORD_NAMES = {"doi": "doi", "pmid": "pmid", "pmcid": "pmcid", "arxiv": "arXiv id", "isbn": "isbn"}

RAW_FIELDS = {"doi", "pmid", "pmcid", "url", "file", "eprint"}
RAW_ESCAPE_RE = re.compile(r"\{?\\([_%&#$~])\}?")

logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)


@functools.lru_cache(maxsize=131_072)
def _unescape_raw(value: str) -> str:
    """Identifiers and links are not LaTeX text: undo only the escapes managers add (\\_ \\% \\& \\#), drop braces."""
    if "\\" in value:
        value = RAW_ESCAPE_RE.sub(r"\1", value)
    return value.replace("{", "").replace("}", "").strip()


MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"))}


@functools.lru_cache(maxsize=1)
def _latex() -> LatexNodes2Text:
    # imported here: a library of plain entries never needs it, and the import costs a cold command
    from pylatexenc.latex2text import LatexNodes2Text

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
    from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts

    try:
        parts = parse_single_name_into_parts(name, strict=False)
    except InvalidNameError:
        return decode_latex(name), ""
    return decode_latex(" ".join([*parts.von, *parts.last])), decode_latex(" ".join(parts.first))


def arxiv_problem(identifier: str) -> str | None:
    """What is wrong with an arXiv identifier's form (None if it is one arXiv could have issued)."""
    if identifier.lower().startswith("arxiv:"):
        return "expected the id without 'arXiv:', e.g. 1902.08570"
    if m := ARXIV_NEW_RE.match(identifier):
        yymm, digits = m.group("yymm"), len(m.group("number"))
        if not ("0704" <= yymm and "01" <= yymm[2:] <= "12"):
            return f"'{yymm}' is not a year and month of the new scheme (April 2007 on)"
        if digits != (5 if yymm >= "1501" else 4):
            return f"ids of {yymm} have {5 if yymm >= '1501' else 4} digits after the dot"
        return None
    if m := ARXIV_OLD_RE.match(identifier):
        yymm = m.group("yymm")
        if not (("9108" <= yymm or yymm <= "0703") and "01" <= yymm[2:] <= "12"):
            return f"'{yymm}' is not a year and month of the old scheme (August 1991 to March 2007)"
        return None
    return "expected YYMM.NNNNN (e.g. 1902.08570, optionally with a version such as v2) or archive/YYMMNNN " \
           "(e.g. hep-th/9901001)"


def isbn_problem(isbn: str) -> str | None:
    """What is wrong with an ISBN (None if it is a valid ISBN-10 or ISBN-13: its check digit agrees)."""
    digits = re.sub(r"[\s-]", "", isbn).upper()
    if re.fullmatch(r"[0-9]{9}[0-9X]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        return None if total % 11 == 0 else "its check digit does not agree (ISBN-10)"
    if re.fullmatch(r"97[89][0-9]{10}", digits):
        total = sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits))
        return None if total % 10 == 0 else "its check digit does not agree (ISBN-13)"
    return "expected one ISBN-10 or ISBN-13 (digits and hyphens, e.g. 978-0-306-40615-7)"


def _alternatives(names: list[str], word: str) -> str:
    """'a', 'a or b', 'a, b or c' (``word`` joins the last two)."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _no_record_message(ref: Reference, policy: LibraryPolicy) -> str:
    """Why ``ref`` has no record the policy accepts (the default DOI-or-PMID policy keeps its long-standing wording)."""
    names = [RECORD_NAMES[k] for k in policy.records]
    labels = [RECORD_LABELS[k] for k in policy.records]
    if len(names) == 1:
        has = f"has no {names[0]}"
    elif len(names) == 2:
        has = f"has neither {names[0]} nor {names[1]}"
    else:
        has = f"has none of {', '.join(names)}"
    return f"entry {quote(ref.key)} {has}; expected a verified {_alternatives(labels, 'or')}"


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
        from bibtexparser.middlewares.names import split_multiple_persons_names

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
    def pmcid(self) -> str:
        """The PubMed Central id ('PMC' and digits), or ''."""
        return self.fields.get("pmcid", "")

    @property
    def arxiv(self) -> str:
        """The arXiv id: an ``arxiv`` field, else ``eprint`` when ``archivePrefix`` (or ``eprinttype``) is arXiv."""
        if self.fields.get("arxiv"):
            return self.fields["arxiv"]
        prefix = self.fields.get("archiveprefix") or self.fields.get("eprinttype", "")
        return self.fields.get("eprint", "") if prefix.strip().lower() == "arxiv" else ""

    @property
    def arxiv_field(self) -> str:
        """The field the arXiv id is read from (where a problem with it is located)."""
        return "arxiv" if self.fields.get("arxiv") else "eprint"

    @property
    def isbn(self) -> str:
        """The ISBN as written, or ''."""
        return self.fields.get("isbn", "")

    def record(self, kind: str) -> str:
        """The entry's identifier of ``kind`` (one of RECORD_KINDS), or ''."""
        return getattr(self, kind)

    @functools.cached_property
    def record_ids(self) -> frozenset[str]:
        """The entry's record ids as a row's ``source`` names them: 'doi:...' (lower case), 'PMID:n', 'PMCn'."""
        ids = {f"doi:{self.doi.lower()}" if self.doi else "", f"PMID:{self.pmid}" if self.pmid else "",
               self.pmcid.upper()}
        return frozenset(ids - {""})

    @property
    def retracted(self) -> bool:
        """True if the entry carries a ``retracted`` field: it may be listed but never cited as support.

        The field's presence decides, whatever its value (``{\\relax}`` decodes to nothing): validation refuses a
        value that says nothing or "no", so a field can never silently mean "not retracted".
        """
        return "retracted" in self.fields

    @property
    def first_author(self) -> str:
        """Surname of the first author."""
        return self.authors[0][0] if self.authors else ""

    @property
    def url(self) -> str:
        """A link to the paper: DOI, else arXiv, else PubMed, else the entry's own http(s) URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.arxiv and arxiv_problem(self.arxiv) is None:
            return f"https://arxiv.org/abs/{self.arxiv}"
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
    from bibtexparser import model

    line = (block.start_line or 0) + 1
    if isinstance(block, model.DuplicateBlockKeyBlock):
        return Problem(rel, line, "-", f"duplicate entry key {quote(block.key)}; expected each key once")
    if isinstance(block, model.DuplicateFieldKeyBlock):
        dup = ", ".join(sorted(block.duplicate_keys))
        return Problem(rel, line, "-", f"duplicate field(s) {dup} in one entry; expected each field once")
    if isinstance(block, model.MiddlewareErrorBlock):
        return Problem(rel, line, "-", f"entry could not be decoded ({block.error}); check LaTeX and names")
    raw = (block.raw or "").strip().splitlines()
    head = raw[0][:60] if raw else ""
    return Problem(rel, line, "-", f"malformed BibTeX block starting {quote(head)}; expected "
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


PlainEntry = tuple[str, str, int, list[RawField], "dict[str, str] | None"]
#: pybtex's reading of whitespace in a value (pybtex.textutils.normalize_whitespace)
PYBTEX_SPACE_RE = re.compile(r"\s+")


def _space_normal(value: str) -> bool:
    """Whether pybtex's whitespace normalisation leaves ``value`` as it is, decided without it: every whitespace
    character but the space is unprintable, so a printable value with no leading, trailing or double space is
    already normal."""
    return value.isprintable() and "  " not in value and value[:1] != " " and value[-1:] != " "


def _plain_entry(piece: str, line0: int) -> PlainEntry | None:
    """(type, key, 0-based line, fields, what pybtex reads) of a piece holding exactly one plain entry, else None.

    What pybtex reads is its raw value of each field, by lower-case name, where ``_pybtex_would_read`` says the
    model covers the entry (else None), made in the same pass.
    """
    head = ENTRY_HEAD_RE.match(piece)
    if head is None or head.group(1).lower() in SPECIAL_BLOCKS:
        return None
    fields: list[RawField] = []
    seen: set[str] = set()
    # the plain grammar allows ``\w`` in names: ASCII ones are exactly those pybtex reads whole
    read: dict[str, str] | None = {} if head.group(1).isascii() else None
    pos = head.end()
    line, counted = line0, 0
    while True:
        m = FIELD_RE.match(piece, pos)
        if m is None:
            end = ENTRY_END_RE.match(piece, pos) if fields else None
            if end is None or piece[end.end():].strip():
                return None
            break
        name, value, close = m.groups()
        lower = name.lower()
        if lower in seen or "\\{" in value or "\\}" in value or value[:-1].endswith("\\"):
            return None  # duplicate fields and escaped braces: bibtexparser's rules decide
        seen.add(lower)
        if value[0] in "{\"":
            value = value[1:-1]
        # bibtexparser locates a field at its "=" sign (lines counted on from the last field's)
        eq = piece.index("=", m.end(1))
        line += piece.count("\n", counted, eq)
        counted = eq
        fields.append((name, value, line, None))
        if read is not None:
            if not name.isascii() or (value.isdigit() and not value.isascii()):
                read = None
            else:
                read[lower] = value if _space_normal(value) else PYBTEX_SPACE_RE.sub(" ", value.strip())
        pos = m.end()
        if close == "}":
            if piece[pos:].strip():
                return None
            break
    return head.group(1), head.group(2), line0, fields, read


#: what a ``retracted`` field may not say (after LaTeX decoding): nothing, or that the paper is not retracted
NOT_RETRACTED = frozenset({"", "no", "n", "false", "0", "none", "not retracted"})


def field_text(name: str, value: str) -> str:
    """The text of one field's raw value: identifiers and links unescaped, everything else LaTeX-decoded."""
    return _unescape_raw(value) if name in RAW_FIELDS else decode_latex(value)


def _brace_depth(value: str) -> int:
    depth = deepest = 0
    for ch in value:
        if ch == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "}":
            depth -= 1
    return deepest


def _balanced(value: str) -> bool:
    depth = 0
    for ch in value:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0


def _reference(key: str, entry_type: str, line0: int, raw_fields: list[RawField], rel: str,
               problems: list[Problem]) -> Reference:
    """A Reference from parsed fields: values decoded, undefined macros and unsafe values reported."""
    fields: dict[str, str] = {}
    lines: dict[str, int] = {}
    author_raw = ""
    for raw_name, value, field_line0, enclosing in raw_fields:
        name = raw_name.lower()
        line = field_line0 + 1
        lines[name] = line
        if "\\{" in value or "\\}" in value:
            # bibtexparser and pybtex end such a value in different places (one could hide a field in it)
            problems.append(Problem(rel, line, name or "-", "escaped brace '\\{' or '\\}' in a value; "
                                                            "expected plain text without literal braces"))
            fields[name] = ""
            continue
        if value.count("{") > MAX_BRACE_DEPTH and _brace_depth(value) > MAX_BRACE_DEPTH:
            problems.append(Problem(rel, line, name or "-", f"braces nested more than {MAX_BRACE_DEPTH} deep; "
                                                            "expected at most a protected word or two"))
            fields[name] = ""
            continue
        if enclosing == "no-enclosing" and "#" in value:
            problems.append(Problem(rel, line, name or "-", f"string concatenation {quote(value)} is not supported; "
                                                            "expected one braced value"))
        elif enclosing == "no-enclosing" and not value.isdigit() and value.lower() not in MONTHS:
            problems.append(Problem(rel, line, name or "-", f"undefined @string macro {quote(value)}; expected a "
                                                            "braced value or a macro defined with @string"))
        if name == "author":
            author_raw = value
        try:
            fields[name] = field_text(name, value)
        except RecursionError:
            problems.append(Problem(rel, line, name or "-", "LaTeX in this value cannot be decoded (nested too "
                                                            "deeply); expected plain text"))
            fields[name] = ""
            continue
        if bad := INVISIBLE_RE.search(fields[name]):
            problems.append(Problem(rel, line, name or "-", f"invisible or control character U+{ord(bad.group()):04X} "
                                                            "in the value; expected visible text only"))
        if name == "retracted" and fields[name].strip().lower() in NOT_RETRACTED:
            problems.append(Problem(rel, line, name, f"retracted {quote(value)} reads as {quote(fields[name].strip())}"
                                                     "; expected the retraction (e.g. 'yes' or the notice's DOI), or "
                                                     "no retracted field for a paper that is not retracted"))
    return Reference(key, entry_type.lower(), line0 + 1, fields, author_raw, lines)


def _parse_with_bibtexparser(text: str, rel: str) -> tuple[Library, list[Problem], bool]:
    """Parse with bibtexparser; the flag says whether any block failed."""
    import bibtexparser

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


Piece = tuple[int, str, "PlainEntry | None"]  # 0-based line, text, its plain entry


@functools.lru_cache(maxsize=2)
def _pieces(text: str) -> tuple[str, tuple[Piece, ...]]:
    """The text before the first line that opens with '@', and each piece from one such line to the next, with
    the plain entry it holds (None if it is not exactly one plain entry). Cached: validation splits the same text
    for its own reading and for the comparison with pybtex."""
    starts = [m.start() for m in ENTRY_START_RE.finditer(text)] + [len(text)]
    line0 = text.count("\n", 0, starts[0])
    pieces = []
    for a, b in itertools.pairwise(starts):
        piece = text[a:b]
        pieces.append((line0, piece, _plain_entry(piece, line0)))
        line0 += piece.count("\n")
    return text[:starts[0]], tuple(pieces)


def parse_library(text: str, rel: str = BIB_PATH) -> tuple[Library, list[Problem]]:
    """Parse BibTeX text strictly: every failed block is a located problem, not a log line.

    Plain entries are read by one regular expression each; the rest (macros, @string, @comment, anything
    unusual) by bibtexparser, which also re-reads the whole text if any block fails, so that errors and
    their lines are exactly bibtexparser's. Values are LaTeX-decoded only where they hold a macro and
    author lists are split lazily, which keeps 20,000 entries within a second or two.
    """
    head, pieces = _pieces(text)
    plain: list[PlainEntry] = []
    rest: list[str] = [head]
    for _, piece, entry in pieces:
        if entry is None:
            rest.append(piece)
        else:
            plain.append(entry)
            rest.append("\n" * piece.count("\n"))  # keeps the line numbers of what bibtexparser reads
    problems: list[Problem] = []
    residue = "".join(rest)
    if "@" not in residue:  # no block starts, so bibtexparser would find nothing
        other = Library(rel, {})
    else:
        other, problems, failed = _parse_with_bibtexparser(residue, rel)
        if failed or problems:
            # a broken block may swallow the entries after it, and a value bibtexparser reads oddly (a macro
            # spanning lines) shifts its line count: only the whole text gives bibtexparser's answer
            lib, problems, _ = _parse_with_bibtexparser(text, rel)
            return lib, problems
    found = [(line, key, (entry_type, fields)) for entry_type, key, line, fields, _ in plain]
    found += [(ref.line - 1, key, ref) for key, ref in other.references.items()]
    refs: dict[str, Reference] = {}
    broken = set(other.broken_keys)
    for line, key, item in sorted(found, key=lambda f: f[0]):
        if key in refs:
            problems.append(Problem(rel, line + 1, "-", f"duplicate entry key {quote(key)}; expected each key once"))
            broken.add(key)
            continue
        refs[key] = item if isinstance(item, Reference) else _reference(key, item[0], line, item[1], rel, problems)
    return Library(rel, refs, frozenset(broken)), problems


def check_library(lib: Library, policy: LibraryPolicy | None = None) -> list[Problem]:
    """The library's own rules: unique keys (ignoring case), the policy's required fields and records, identifier
    and URL syntax, each paper once."""
    policy = policy or LibraryPolicy()
    rel = lib.path
    problems: list[Problem] = []
    by_lower: dict[str, Reference] = {}
    by_doi: dict[str, Reference] = {}
    by_pmid: dict[str, Reference] = {}
    by_pmcid: dict[str, Reference] = {}
    by_arxiv: dict[str, Reference] = {}
    for ref in sorted(lib.references.values(), key=lambda r: r.line):
        other = by_lower.get(ref.key.lower())
        if other is not None:
            problems.append(Problem(rel, ref.line, "-", f"key {quote(ref.key)} differs only in case from "
                                                        f"{quote(other.key)} (line {other.line}); expected keys "
                                                        "unique ignoring case (pybtex drops entries after it)"))
        by_lower.setdefault(ref.key.lower(), ref)
        if not KEY_RE.fullmatch(ref.key):
            problems.append(Problem(rel, ref.line, "-", f"key {quote(ref.key)} is not a plain BibTeX key; expected a "
                                                        "letter, digit or _ first, then letters, digits and _:.+-"))

        def at(name: str, ref: Reference = ref) -> int:
            return ref.field_lines.get(name, ref.line)

        for name in policy.required:
            if name == "venue" and not ref.venue:
                problems.append(Problem(rel, ref.line, "journal", f"entry {quote(ref.key)} has no journal, booktitle "
                                                                  "or publisher; expected one"))
            elif name != "venue" and not ref.fields.get(name):
                problems.append(Problem(rel, ref.line, name, f"entry {quote(ref.key)} has no {name}; expected one"))
        pages = ref.fields.get("pages", "")
        if pages and re.search(r"[-\u2013]\s*$|^\s*[-\u2013]", pages):
            problems.append(Problem(rel, at("pages"), "pages", f"pages {quote(pages)} is an open range; expected "
                                                               "'first--last' or the first page alone"))
        year = ref.fields.get("year", "")
        if year and not YEAR_RE.match(year):
            problems.append(Problem(rel, at("year"), "year", f"year {quote(year)} is not a 4-digit year"))
        doi, pmid = ref.doi, ref.pmid
        problems += _record_problems(ref, policy, rel)
        if doi:
            if not DOI_RE.match(doi):
                problems.append(Problem(rel, at("doi"), "doi", f"malformed DOI {quote(doi)}; expected '10.NNNN/suffix' "
                                                               "without 'https://doi.org/'"))
            twin = by_doi.get(doi.lower())
            if twin is not None:
                problems.append(Problem(rel, at("doi"), "doi", f"DOI {quote(doi)} is also on entry {quote(twin.key)} "
                                                               f"(line {twin.line}); expected each paper once"))
            by_doi.setdefault(doi.lower(), ref)
        if pmid and not PMID_RE.match(pmid):
            problems.append(Problem(rel, at("pmid"), "pmid", f"malformed PMID {quote(pmid)}; expected digits only"))
        elif pmid:
            twin = by_pmid.setdefault(pmid, ref)
            if twin is not ref:
                problems.append(Problem(rel, at("pmid"), "pmid", f"PMID {pmid} is also on entry {quote(twin.key)} "
                                                                 f"(line {twin.line}); expected each paper once"))
        pmcid = ref.pmcid
        if pmcid and not PMCID_RE.match(pmcid):
            problems.append(Problem(rel, at("pmcid"), "pmcid", f"malformed PMCID '{pmcid}'; expected 'PMC' and "
                                                               "digits, e.g. PMC5834026"))
        elif pmcid:
            twin = by_pmcid.setdefault(pmcid, ref)
            if twin is not ref:
                problems.append(Problem(rel, at("pmcid"), "pmcid", f"PMCID {pmcid} is also on entry '{twin.key}' "
                                                                   f"(line {twin.line}); expected each paper once"))
        arxiv = ref.arxiv
        if arxiv and (wrong := arxiv_problem(arxiv)):
            name = ref.arxiv_field
            problems.append(Problem(rel, at(name), name, f"malformed arXiv id {quote(arxiv)}; {wrong}"))
        elif arxiv:
            twin = by_arxiv.setdefault(ARXIV_VERSION_RE.sub("", arxiv), ref)
            if twin is not ref:
                problems.append(Problem(rel, at(ref.arxiv_field), ref.arxiv_field,
                                        f"arXiv id {quote(arxiv)} is also on entry {quote(twin.key)} (line "
                                        f"{twin.line}); expected each paper once"))
        if ref.isbn and (wrong := isbn_problem(ref.isbn)):
            problems.append(Problem(rel, at("isbn"), "isbn", f"malformed ISBN {quote(ref.isbn)}; {wrong}"))
        url = ref.fields.get("url", "")
        if url and not URL_RE.match(url):
            problems.append(Problem(rel, at("url"), "url", f"URL {quote(url)} is not http(s); expected an "
                                                           "https:// link"))
    return problems


def _record_problems(ref: Reference, policy: LibraryPolicy, rel: str) -> list[Problem]:
    """An entry needs an identifier of a kind the policy counts as a published record (one error if it has none)."""
    if any(ref.record(kind) for kind in policy.records):
        return []
    if ref.retracted and URL_RE.match(ref.fields.get("url", "")):
        # a retracted paper is only listed, never cited as support: the record of its retraction may stand in
        return []
    others = [kind for kind in RECORD_KINDS if kind not in policy.records and ref.record(kind)]
    if not others:
        first = policy.records[0]
        column = "eprint" if first == "arxiv" else first
        return [Problem(rel, ref.line, column, _no_record_message(ref, policy))]
    name = ref.arxiv_field if others[0] == "arxiv" else others[0]
    has = _alternatives([RECORD_LABELS[k] for k in others], "and")
    wanted = _alternatives([RECORD_LABELS[k] for k in policy.records], "or")
    return [Problem(rel, ref.field_lines.get(name, ref.line), name,
                    f"entry {quote(ref.key)} is identified only by {has}, which this review does not count as a "
                    f"published record; expected a verified {wanted} (library.records in review.yml)")]


MONTH_NAMES = dict(zip(sorted(MONTHS, key=lambda m: MONTHS[m]), ("January", "February", "March", "April", "May",
                                                                  "June", "July", "August", "September", "October",
                                                                  "November", "December"), strict=True))
COMMENT_RE = re.compile(r"@\s*comment\b", re.IGNORECASE)
# a comment both parsers skip whole: one brace pair, nothing inside that could open an entry
SAFE_COMMENT_RE = re.compile(r"@\s*comment\s*\{[^{}@]*\}", re.IGNORECASE)


def _key_line(text: str, key: str) -> int:
    """The line of the entry that opens with ``key`` (1 if it cannot be found)."""
    m = re.search(r"@\s*\w+\s*[{(]\s*" + re.escape(key) + r"\s*,", text)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def pybtex_entries(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Every entry as the book's pybtex reads it: key -> (type, raw field values by lower-case name).

    Raises pybtex's own error for anything it rejects. Person fields are kept as raw text, exactly as
    written, so that they compare with the validator's reading before either splits names.
    """
    from pybtex import errors as pybtex_errors
    from pybtex.database.input.bibtex import Parser

    strict = pybtex_errors.strict
    pybtex_errors.set_strict_mode(True)
    try:
        data = Parser(person_fields=()).parse_string(text)
    finally:
        pybtex_errors.set_strict_mode(strict)
    return {key: (entry.type.lower(), {name.lower(): str(value) for name, value in entry.fields.items()})
            for key, entry in data.entries.items()}


def _as_pybtex_reads(name: str, ours: str) -> str:
    # pybtex expands the month macros that bibtexparser leaves as written
    return MONTH_NAMES.get(ours.lower(), ours) if name == "month" else ours




def _pybtex_would_read(entry: PlainEntry) -> tuple[str, dict[str, str]] | None:
    """What pybtex reads from a piece holding one plain entry, when it starts reading at its '@' between entries:
    (type, raw values by lower-case name); None where the entry is one this model does not cover.

    A plain entry (``_plain_entry``) has an ASCII-letter type, a key without spaces, commas or braces, distinct
    field names, and values that are balanced braces without escaped braces, quotes without braces or
    backslashes, or digits; nothing follows its closing brace but whitespace. pybtex's grammar
    (pybtex.database.input.bibtex.LowLevelParser) reads such an entry to the same closing brace, takes each value
    between its delimiters and collapses its whitespace (``normalize_whitespace``); it expands no macro in it.
    Names and digits outside ASCII are left to pybtex itself (its names and numbers are ASCII only). The reading
    is made by ``_plain_entry`` as it reads the entry.
    """
    entry_type, _, _, _, read = entry
    return None if read is None else (entry_type.lower(), read)


class _Fallback(Exception):
    """The shortcut cannot vouch for its reading: pybtex must read the whole text."""


def _pybtex_reading(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """pybtex's reading of ``text`` (as ``pybtex_entries`` gives it), with pybtex run only on what is unusual.

    Each piece holding one plain entry is read by ``_pybtex_would_read``; pybtex reads the rest with every such
    piece replaced by a sentinel entry of the same lines. pybtex reaches a piece's '@' in the state it reaches the
    sentinel's (what precedes is the same, by induction), and a sentinel is read as an entry only if pybtex
    reached its '@' between entries, where the model applies and from where the piece and the sentinel both leave
    it between entries again. So when every sentinel comes back, and no key repeats (pybtex compares keys
    ignoring case and rejects a repeat), the union is what pybtex reads from the whole text; otherwise, or on any
    error, ``_Fallback`` is raised and the caller asks pybtex about the whole text.
    """
    head, pieces = _pieces(text)
    readings = [_pybtex_would_read(entry) if entry is not None else None for _, _, entry in pieces]
    modeled: dict[str, tuple[str, dict[str, str]]] = {}
    for (_, _, entry), reading in zip(pieces, readings, strict=True):
        if reading is not None:
            if entry[1] in modeled:
                raise _Fallback
            modeled[entry[1]] = reading
    theirs: dict[str, tuple[str, dict[str, str]]] = {}
    if "@" in head or len(modeled) < len(pieces):  # something is unusual: pybtex reads it, sentinels in between
        from pybtex.exceptions import PybtexError

        lowered = text.lower()
        tag = "lrsentinel"
        while tag in lowered:
            tag += "x"
        parts = [head]
        sentinels = 0
        for (_, piece, _), reading in zip(pieces, readings, strict=True):
            if reading is None:
                parts.append(piece)
            else:
                parts.append(f"@{tag}{{{tag}{sentinels},}}" + "\n" * piece.count("\n"))
                sentinels += 1
        try:
            theirs = pybtex_entries("".join(parts))
        except PybtexError as exc:
            raise _Fallback from exc
        for i in range(sentinels):
            if theirs.pop(f"{tag}{i}", None) != (tag, {}):
                raise _Fallback
    if len({k.lower() for k in theirs} | {k.lower() for k in modeled}) != len(theirs) + len(modeled):
        raise _Fallback
    theirs.update(modeled)
    return theirs


def _reads_same(theirs: dict[str, str], ours: dict[str, str]) -> bool:
    """Whether every field pybtex read gives the validator's text (False also where decoding fails)."""
    try:
        return all(field_text(name, value) == _as_pybtex_reads(name, ours[name]) for name, value in theirs.items())
    except RecursionError:
        return False


def compare_with_pybtex(text: str, lib: Library, whole: bool = False) -> list[Problem]:
    """Where pybtex (which renders the book's bibliography) reads ``text`` differently from the validator.

    Any difference in keys, entry types, field names or decoded field values is a located error: the rules
    must have run on exactly what the book will show. The problems are exactly those of comparing with pybtex's
    reading of the whole text (``whole=True`` asks pybtex for it); by default pybtex reads only the pieces that
    are not plain entries, and plain entries are read by a model of pybtex's grammar (``_pybtex_reading``).
    """
    rel = lib.path
    try:
        if whole:
            raise _Fallback
        theirs = _pybtex_reading(text)
    except _Fallback:
        # pybtex is imported only here and where a piece is unusual: a library of plain entries never needs it
        from pybtex.exceptions import PybtexError
        from pybtex.scanner import PybtexSyntaxError

        try:
            theirs = pybtex_entries(text)
        except PybtexSyntaxError as exc:
            return [Problem(rel, getattr(exc, "lineno", 1) or 1, "-",
                            f"pybtex (used by the book) rejects this: {exc}")]
        except PybtexError as exc:
            message = str(exc)
            m = re.search(r"entry:?\s+(\S+)", message)
            line = _key_line(text, m.group(1)) if m else 1
            return [Problem(rel, line, "-", f"pybtex (used by the book) rejects the library: {message}")]
    problems: list[Problem] = []
    for key in theirs.keys() - lib.references.keys():
        problems.append(Problem(rel, _key_line(text, key), "-", f"the book would show an entry {quote(key)} that "
                                                                "validation does not see; expected every entry "
                                                                "outside comments and read the same way"))
    for key, ref in lib.references.items():
        if key not in theirs:
            problems.append(Problem(rel, ref.line, "-", f"entry {quote(key)} is not read by the book's parser "
                                                        "(pybtex); "
                                                        "expected plain @type{key, ...} entries"))
            continue
        entry_type, fields = theirs[key]
        if entry_type == ref.entry_type and fields.keys() == ref.fields.keys() and _reads_same(fields, ref.fields):
            continue  # the common case, in one pass; any difference is located field by field below
        if entry_type != ref.entry_type:
            problems.append(Problem(rel, ref.line, "-", f"entry {quote(key)} is @{ref.entry_type} to validation but "
                                                        f"@{entry_type} to the book's parser"))
        for name in sorted(fields.keys() | ref.fields.keys()):
            at = ref.field_lines.get(name, ref.line)
            if name not in fields or name not in ref.fields:
                side = "the book's parser" if name in fields else "validation"
                problems.append(Problem(rel, at, name, f"field {quote(name)} of entry {quote(key)} is seen only by "
                                                       f"{side}; "
                                                       "expected both parsers to read the same fields"))
                continue
            try:
                same = field_text(name, fields[name]) == _as_pybtex_reads(name, ref.fields[name])
            except RecursionError:
                same = False
            if not same and ref.fields[name]:
                problems.append(Problem(rel, at, name, f"field {quote(name)} of entry {quote(key)} reads "
                                                       "differently to the "
                                                       "book's parser (pybtex); expected one plain braced value"))
    return problems


def _special_block_problems(text: str, rel: str) -> list[Problem]:
    """Constructs that BibTeX parsers read differently, refused outright with a clear message."""
    problems = []
    if "\x00" in text:
        problems.append(Problem(rel, text.count("\n", 0, text.index("\x00")) + 1, "-",
                                "NUL byte in the library; expected a text file"))
    for m in COMMENT_RE.finditer(text):
        if not SAFE_COMMENT_RE.match(text, m.start()):
            problems.append(Problem(rel, text.count("\n", 0, m.start()) + 1, "-",
                                    "@comment block with braces or '@' inside: BibTeX parsers disagree on where it "
                                    "ends (the book's parser reads entries inside it); expected "
                                    "@comment{plain text} or '%' comment lines"))
    return problems


def load_library(root: Path, policy: LibraryPolicy | None = None) -> tuple[Library, list[Problem]]:
    """Read, parse and check ``references.bib`` under ``root`` against the review's library ``policy``, and prove
    that the book's parser reads the same."""
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
    return check_text(text, rel, policy)


def check_text(text: str, rel: str = BIB_PATH, policy: LibraryPolicy | None = None) -> tuple[Library, list[Problem]]:
    """Parse and check library text: its own rules (under ``policy``), refused constructs, agreement with pybtex."""
    problems = _special_block_problems(text, rel)
    if any("NUL byte" in p.message for p in problems):
        return Library(rel, {}, readable=False), problems
    lib, parsed = parse_library(text, rel)
    problems += parsed
    problems += check_library(lib, policy)
    if not problems:  # once the library is otherwise valid, nothing else may differ (each fault reported once)
        problems += compare_with_pybtex(text, lib)
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
    if not KEY_RE.fullmatch(key) or not re.fullmatch(r"[a-z]+", entry_type):
        raise ValueError(f"key {key!r} or type {entry_type!r} is not plain BibTeX")
    lines = [f"@{entry_type}{{{key},"]
    for name in names:
        value = " ".join(INVISIBLE_RE.sub(" ", str(fields[name])).split())
        if not re.fullmatch(r"[a-z]+", name):
            raise ValueError(f"field name {name!r} is not plain BibTeX")
        if name in RAW_FIELDS and re.search(r"[{}\\\s]", value):
            raise ValueError(f"{name} {value!r} holds a brace, backslash or space")
        if name == "author":
            # braces group a multi-word surname ({Di Vizio}); kept only where they nest properly
            nested = _brace_depth(value) <= 2 and _balanced(value)
            value = value.translate(AUTHOR_SPECIALS if nested else LATEX_SPECIALS)
        elif name not in RAW_FIELDS:
            value = value.translate(LATEX_SPECIALS)
        if name == "title":
            value = "{" + value + "}"
        lines.append(f"  {name.ljust(width)} = {{{value}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"
