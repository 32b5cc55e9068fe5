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

from livingreview.bib import BIB_PATH, DOI_RE, check_library, check_with_pybtex, format_entry, parse_library
from livingreview.errors import LivingReviewError, ValidationError
from livingreview.fileio import atomic_write, review_lock

CACHE = Path("cache")
CROSSREF = "https://api.crossref.org/works/{doi}"
PUBMED = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esummary.fcgi?db=pubmed&retmode=json&id={pmid}"
USER_AGENT = "livingreview-cite/2026 (EV Metastasis Living Review; mailto:maintainers@example.org)"


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
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    where = path.relative_to(root).as_posix()
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
    except json.JSONDecodeError:
        raise CiteError(f"{url} did not answer JSON") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n")
    return data


# letters that Unicode does not decompose into an ASCII base letter
_TRANSLIT = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss", "đ": "d",
                           "Đ": "d", "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ı": "i"})


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", plain.lower())


def from_crossref(data: dict) -> dict[str, str]:
    """BibTeX fields from a Crossref ``works`` response."""
    m = data.get("message", data)
    authors = [" ".join(filter(None, [a.get("family", "")])) + (f", {a['given']}" if a.get("given") else "")
               for a in m.get("author", []) if a.get("family")]
    parts = (m.get("issued") or m.get("published-print") or m.get("published-online") or {}).get("date-parts")
    year = str(parts[0][0]) if parts and parts[0] and parts[0][0] else ""
    first = lambda v: (v[0] if isinstance(v, list) and v else v) or ""  # noqa: E731
    return {
        "author": " and ".join(authors),
        "title": re.sub(r"<[^>]+>", "", " ".join(first(m.get("title")).split())),
        "journal": first(m.get("container-title")),
        "year": year,
        "volume": str(m.get("volume", "")),
        "number": str(m.get("issue", "")),
        "pages": str(m.get("page", "")).replace("-", "--"),
        "doi": m.get("DOI", ""),
    }


def from_pubmed(data: dict, pmid: str) -> dict[str, str]:
    """BibTeX fields from a PubMed ``esummary`` response."""
    rec = data.get("result", {}).get(pmid)
    if not rec or "error" in rec:
        raise CiteError(f"PMID {pmid} is unknown to PubMed")
    authors = []
    for a in rec.get("authors", []):
        if a.get("authtype", "Author") != "Author":
            continue
        name = a.get("name", "")
        last, _, initials = name.rpartition(" ")
        authors.append(f"{last}, {initials}" if last else name)
    doi = next((i["value"] for i in rec.get("articleids", []) if i.get("idtype") == "doi"), "")
    year = (re.match(r"\d{4}", rec.get("pubdate", "")) or re.match(r"", "")).group(0)
    return {
        "author": " and ".join(authors),
        "title": rec.get("title", "").rstrip("."),
        "journal": rec.get("fulljournalname") or rec.get("source", ""),
        "year": year,
        "volume": rec.get("volume", ""),
        "number": rec.get("issue", ""),
        "pages": rec.get("pages", "").replace("-", "--"),
        "doi": doi,
        "pmid": pmid,
    }


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
        bib_path = root / BIB_PATH
        text = bib_path.read_text(encoding="utf-8") if bib_path.exists() else ""
        library, problems = parse_library(text)
        dois = {r.doi.lower(): r.key for r in library.references.values() if r.doi}
        pmids = {r.pmid: r.key for r in library.references.values() if r.pmid}
        if kind == "doi" and ident.lower() in dois:
            raise CiteError(f"DOI {ident} is already in the library as '{dois[ident.lower()]}'")
        if kind == "pmid" and ident in pmids:
            raise CiteError(f"PMID {ident} is already in the library as '{pmids[ident]}'")
        data = fetch(root, kind, ident, offline=offline)
        fields = from_crossref(data) if kind == "doi" else from_pubmed(data, ident)
        if fields.get("doi", "").lower() in dois:
            raise CiteError(f"DOI {fields['doi']} is already in the library as '{dois[fields['doi'].lower()]}'")
        key = make_key(fields, set(library.references))
        entry = format_entry(key, "article", {k: v for k, v in fields.items() if v})
        candidate = text.rstrip("\n") + ("\n\n" if text.strip() else "") + entry
        new_lib, new_problems = parse_library(candidate)
        errors = [p for p in new_problems + check_library(new_lib) + check_with_pybtex(candidate)
                  if p not in problems]
        if errors:
            raise ValidationError(errors)
        if not dry_run:
            atomic_write(bib_path, candidate.encode("utf-8"))
    source = cache_path(root, kind, ident).relative_to(root).as_posix()
    return Cited(key, entry, source, written=not dry_run)
