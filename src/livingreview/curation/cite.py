"""From a DOI or PMID to a normalised BibTeX entry, through a committed cache of Crossref / PubMed responses.

Every response is stored under ``cache/`` at the review root before it is used, so builds and tests never
need the network, and an uncached identifier fails with a clear message when the network is unreachable.
"""

from __future__ import annotations

import json
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from livingreview.checking.bib import BIB_PATH, DOI_RE, INVISIBLE_RE, PMID_RE, check_text, format_entry
from livingreview.model.declarations import library_policy
from livingreview.model.errors import LivingReviewError, ValidationError
from livingreview.model.fileio import atomic_write, inside, make_dirs_inside, review_lock

CACHE = Path("cache")
CROSSREF = "https://api.crossref.org/works/{doi}"
PUBMED = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esummary.fcgi?db=pubmed&retmode=json&id={pmid}"
USER_AGENT = "livingreview-cite/2026 (a living review's library; mailto:maintainers@example.org)"


class CiteError(LivingReviewError):
    """The identifier cannot be resolved (malformed, unknown, already in the library, or offline and uncached)."""


@dataclass(frozen=True)
class Cited:
    """The entry created (or, in a dry run, that would be created)."""

    key: str
    entry: str
    source: str
    written: bool


def parse_identifier(text: str) -> tuple[str, str]:
    """('doi', '10.…') or ('pmid', '123…') from a DOI, a doi.org URL, 'doi:…', 'PMID:…' or bare digits."""
    t = text.strip()
    t = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", t, flags=re.IGNORECASE)
    m = re.fullmatch(r"(?:pmid:?\s*)?(\d{1,9})", t, flags=re.IGNORECASE)
    if m:
        return "pmid", m.group(1)
    if DOI_RE.match(t):
        return "doi", t
    raise CiteError(f"'{text}' is neither a DOI (10.NNNN/suffix) nor a PMID (digits)")


def cache_path(root: Path, kind: str, ident: str) -> Path:
    """Where the response for ``ident`` is (or will be) cached."""
    safe = urllib.parse.quote(ident.lower(), safe="")
    return root / CACHE / ("crossref" if kind == "doi" else "pubmed") / f"{safe}.json"


def fetch(root: Path, kind: str, ident: str, offline: bool = False, timeout: float = 20.0) -> dict:
    """The cached response for ``ident``, fetching and caching it first if needed and allowed."""
    path = cache_path(root, kind, ident)
    where = path.relative_to(root).as_posix()
    inside(root, path)  # before reading, fetching or creating anything: a committed link must not lead out
    if path.exists():
        # a committed cache file is untrusted input, like any file in a pull request
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CiteError(f"cached response {where} is not valid JSON ({exc}); delete it to fetch again") from None
        except (ValueError, RecursionError):  # a number of thousands of digits, or arrays nested thousands deep
            raise CiteError(f"cached response {where} is not readable JSON (a number too long or nesting too "
                            "deep); delete it to fetch again") from None
        if not isinstance(data, dict):
            raise CiteError(f"cached response {where} is not a JSON object; delete it to fetch again")
        return data
    if offline:
        raise CiteError(f"no cached response at {where} and --offline was given")
    url = (CROSSREF.format(doi=urllib.parse.quote(ident, safe="/")) if kind == "doi"
           else PUBMED.format(pmid=ident))
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            service = "Crossref" if kind == "doi" else "PubMed"
            raise CiteError(f"{kind.upper()} {ident} is unknown to {service}") from None
        raise CiteError(f"{url} answered HTTP {exc.code}; try again later") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CiteError(f"cannot reach {urllib.parse.urlsplit(url).netloc} ({reason}) and there is no cached "
                        f"response at {where}; connect to the internet or add the cached response") from None
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CiteError(f"{url} did not answer readable JSON") from None
    if not isinstance(data, dict):
        raise CiteError(f"{url} did not answer a JSON object")
    make_dirs_inside(root, path.parent)  # a committed symlink must not lead the cache outside the review
    atomic_write(inside(root, path), json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
                 + b"\n")
    return data


# letters that Unicode does not decompose into an ASCII base letter
_TRANSLIT = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss", "đ": "d",
                           "Đ": "d", "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ı": "i"})


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain.lower())


def _text(value: object) -> str:
    """A metadata value as one line of visible text: only strings and whole numbers count, braces dropped.

    Responses (and cache files) are untrusted: nothing in them may end a BibTeX value early or hide text.
    """
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    text = INVISIBLE_RE.sub(" ", str(value)).replace("{", "").replace("}", "").replace("\\", "")
    return " ".join(text.split())


def _records(value: object) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def from_crossref(data: dict) -> dict[str, str]:
    """BibTeX fields from a Crossref ``works`` response."""
    m = data.get("message", data)
    if not isinstance(m, dict):
        raise CiteError("the Crossref response has no 'message' object")
    authors = [_text(a.get("family")) + (f", {_text(a.get('given'))}" if _text(a.get("given")) else "")
               for a in _records(m.get("author")) if _text(a.get("family"))]
    year = ""
    for name in ("issued", "published-print", "published-online"):
        dated = m.get(name)
        parts = dated.get("date-parts") if isinstance(dated, dict) else None
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            year = _text(parts[0][0])
            break
    return {
        "author": " and ".join(authors),
        "title": re.sub(r"<[^>]+>", "", _text(m.get("title"))),
        "journal": _text(m.get("container-title")),
        "year": year,
        "volume": _text(m.get("volume")),
        "number": _text(m.get("issue")),
        "pages": _text(m.get("page")).replace("-", "--"),
        "doi": _text(m.get("DOI")),
    }


def from_pubmed(data: dict, pmid: str) -> dict[str, str]:
    """BibTeX fields from a PubMed ``esummary`` response."""
    result = data.get("result")
    rec = result.get(pmid) if isinstance(result, dict) else None
    if not isinstance(rec, dict) or "error" in rec:
        raise CiteError(f"PMID {pmid} is unknown to PubMed")
    authors = []
    for a in _records(rec.get("authors")):
        if a.get("authtype", "Author") != "Author":
            continue
        name = _text(a.get("name"))
        last, _, initials = name.rpartition(" ")
        authors.append(f"{last}, {initials}" if last else name)
    doi = next((_text(i.get("value")) for i in _records(rec.get("articleids")) if i.get("idtype") == "doi"), "")
    year = (re.match(r"[0-9]{4}", _text(rec.get("pubdate"))) or re.match(r"", "")).group(0)
    return {
        "author": " and ".join(authors),
        "title": _text(rec.get("title")).rstrip("."),
        "journal": _text(rec.get("fulljournalname")) or _text(rec.get("source")),
        "year": year,
        "volume": _text(rec.get("volume")),
        "number": _text(rec.get("issue")),
        "pages": _text(rec.get("pages")).replace("-", "--"),
        "doi": doi,
        "pmid": pmid,
    }


def checked_fields(fields: dict[str, str], kind: str, ident: str) -> dict[str, str]:
    """The non-empty fields, refused unless the record is the one asked for and its identifiers are well formed."""
    doi, pmid = fields.get("doi", ""), fields.get("pmid", "")
    if doi and not DOI_RE.match(doi):
        raise CiteError(f"the record for {ident} gives a malformed DOI {doi!r}; expected 10.NNNN/suffix")
    if pmid and not PMID_RE.match(pmid):
        raise CiteError(f"the record for {ident} gives a malformed PMID {pmid!r}; expected digits")
    if kind == "doi" and doi.lower() != ident.lower():
        raise CiteError(f"the record for DOI {ident} is about DOI {doi or '(none)'!r}; expected the same DOI")
    return {k: v for k, v in fields.items() if v}


def make_key(fields: dict[str, str], taken: set[str]) -> str:
    """``firstauthorYYYY``, with a letter added when that key (ignoring case) is already taken."""
    first = fields["author"].split(" and ")[0].split(",")[0] if fields.get("author") else "anonymous"
    base = (_ascii(first) or "anonymous") + fields.get("year", "")
    lowered = {k.lower() for k in taken}
    if base not in lowered:
        return base
    for suffix in "bcdefghijklmnopqrstuvwxyz":
        if base + suffix not in lowered:
            return base + suffix
    raise CiteError(f"too many entries with key {base}")


def cite(root: Path, identifier: str, dry_run: bool = False, offline: bool = False) -> Cited:
    """Create a normalised BibTeX entry for a DOI or PMID and append it to the library (atomically)."""
    root = Path(root)
    kind, ident = parse_identifier(identifier)
    with review_lock(root):
        bib_path = inside(root, root / BIB_PATH)
        text = bib_path.read_text(encoding="utf-8") if bib_path.exists() else ""
        policy = library_policy(root)  # the review's own: which ids count as a record, which fields it needs
        library, problems = check_text(text, policy=policy)
        dois = {r.doi.lower(): r.key for r in library.references.values() if r.doi}
        pmids = {r.pmid: r.key for r in library.references.values() if r.pmid}
        if kind == "doi" and ident.lower() in dois:
            raise CiteError(f"DOI {ident} is already in the library as '{dois[ident.lower()]}'")
        if kind == "pmid" and ident in pmids:
            raise CiteError(f"PMID {ident} is already in the library as '{pmids[ident]}'")
        data = fetch(root, kind, ident, offline=offline)
        fields = checked_fields(from_crossref(data) if kind == "doi" else from_pubmed(data, ident), kind, ident)
        if fields.get("doi", "").lower() in dois:
            raise CiteError(f"DOI {fields['doi']} is already in the library as '{dois[fields['doi'].lower()]}'")
        key = make_key(fields, set(library.references))
        try:
            entry = format_entry(key, "article", fields)
        except ValueError as exc:
            raise CiteError(f"the record for {ident} cannot be written safely: {exc}") from None
        candidate = text.rstrip("\n") + ("\n\n" if text.strip() else "") + entry
        new_lib, new_problems = check_text(candidate, policy=policy)
        errors = [p for p in new_problems if p not in problems]
        added = new_lib.references.keys() - library.references.keys()
        if not errors and (added != {key} or new_lib[key].doi != fields.get("doi", "")):
            raise CiteError(f"the entry for {ident} does not read back as written; nothing was written")
        if errors:
            raise ValidationError(errors)
        if not dry_run:
            atomic_write(bib_path, candidate.encode("utf-8"))
    source = cache_path(root, kind, ident).relative_to(root).as_posix()
    return Cited(key, entry, source, written=not dry_run)
