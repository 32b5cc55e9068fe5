"""``livingreview search``: run a recorded database search and append its new records to the ledger as pending.

Responses are cached under ``cache/search/`` like ``cite``'s; offline and uncached, a search fails with a message
that says where the response belongs. A record the ledger already holds (same DOI, PMID or normalised title) is
appended as a duplicate of it, never dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from livingreview.add import check_candidate, encode_row, next_id
from livingreview.errors import UsageError, ValidationError
from livingreview.fileio import atomic_write, inside, line_ending, make_dirs_inside, review_lock
from livingreview.intake import record_keys, records
from livingreview.schema import DOI_PATTERN, INVISIBLE_PATTERN, PMID_PATTERN, TABLES
from livingreview.validate import check

EUTILS = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
SOURCES = ("pubmed",)
TIMEOUT = 20
SEARCH_CACHE = Path("cache") / "search"


@dataclass(frozen=True)
class Found:
    """One record a search returned."""

    pmid: str
    doi: str
    title: str
    year: str
    journal: str


@dataclass(frozen=True)
class SearchRun:
    """What a search recorded: its log row, and the ledger rows it appended (pending or duplicate)."""

    search_id: str
    total: int
    new: list[str]
    duplicates: list[str]
    written: bool


def cache_path(root: Path, source: str, query: str, limit: int) -> Path:
    """Where the response of ``query`` (first ``limit`` records) from ``source`` is cached."""
    digest = hashlib.sha256(f"{source}\0{query}\0{limit}".encode()).hexdigest()[:24]
    return root / SEARCH_CACHE / source / f"{digest}.json"


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"User-Agent": "livingreview (EV metastasis living review)"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read().decode("utf-8"))


def fetch_pubmed(query: str, limit: int) -> dict:
    """The E-utilities answer for ``query``: esearch (count and ids), then esummary of those ids."""
    found = _get(EUTILS + "esearch.fcgi?" + urllib.parse.urlencode(
        {"db": "pubmed", "term": query, "retmax": limit, "retmode": "json", "sort": "pub_date"}))
    ids = found.get("esearchresult", {}).get("idlist", [])
    summary = _get(EUTILS + "esummary.fcgi?" + urllib.parse.urlencode(
        {"db": "pubmed", "id": ",".join(ids), "retmode": "json"})) if ids else {"result": {"uids": []}}
    return {"esearch": found, "esummary": summary}


def _clean(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return " ".join(re.sub(INVISIBLE_PATTERN, " ", text).split())


def parse_pubmed(response: object, where: str) -> tuple[int, list[Found]]:
    """(total hits, records) from a cached or fetched response; anything malformed is a UsageError."""
    try:
        total = int(response["esearch"]["esearchresult"]["count"])  # type: ignore[index]
        result = response["esummary"]["result"]  # type: ignore[index]
        uids = result["uids"]
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{where}: not an E-utilities esearch/esummary response ({exc})") from exc
    records = []
    for uid in uids:
        item = result.get(str(uid), {}) if isinstance(result, dict) else {}
        pmid = str(uid)
        if not re.fullmatch(PMID_PATTERN, pmid):
            raise UsageError(f"{where}: '{pmid[:20]}' is not a PubMed id")
        ids = item.get("articleids", []) if isinstance(item, dict) else []
        doi = next((_clean(a.get("value")) for a in ids if isinstance(a, dict) and a.get("idtype") == "doi"), "")
        doi = doi if re.fullmatch(DOI_PATTERN, doi) and ";" not in doi else ""
        year = re.match(r"\d{4}", _clean(item.get("pubdate"))) if isinstance(item, dict) else None
        title = _clean(item.get("title")).rstrip(".") if isinstance(item, dict) else ""
        records.append(Found(pmid, doi, title or f"PubMed {pmid}", year.group() if year else "",
                             _clean(item.get("fulljournalname")) if isinstance(item, dict) else ""))
    return total, records


def run_search(root: Path, source: str, query: str, limit: int = 100, offline: bool = False,
               dry_run: bool = False, today: dt.date | None = None) -> SearchRun:
    """Run (or replay from the cache) ``query`` on ``source``; log it and append its records to the ledger."""
    root = Path(root)
    if source not in SOURCES:
        raise UsageError(f"unknown source '{source}'; expected one of: {', '.join(SOURCES)}")
    query = " ".join(query.split())
    if not query:
        raise UsageError("give the query to run, e.g. livingreview search --source pubmed \"exosomes AND metastasis\"")
    cached = cache_path(root, source, query, limit)
    inside(root, cached)  # before reading, fetching or creating anything: a committed link must not lead out
    if cached.exists():
        try:
            response = json.loads(cached.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"{cached.relative_to(root)}: unreadable cached response ({exc})") from exc
        except (ValueError, RecursionError):  # a number of thousands of digits, or nesting thousands deep
            raise UsageError(f"{cached.relative_to(root)}: unreadable cached response (a number too long or "
                             "nesting too deep)") from None
    elif offline:
        raise UsageError(f"no cached response for this query and --offline was given; run it where "
                         f"eutils.ncbi.nlm.nih.gov is reachable, or save its esearch and esummary JSON as "
                         f"{{\"esearch\": ..., \"esummary\": ...}} in {cached.relative_to(root)}")
    else:
        try:
            response = fetch_pubmed(query, limit)
        except (OSError, ValueError, RecursionError) as exc:
            raise UsageError(f"PubMed could not be reached ({exc}); run again with the network, or save the "
                             f"response in {cached.relative_to(root)} and use --offline") from exc
    total, found = parse_pubmed(response, str(cached.relative_to(root)))
    today = today or dt.date.today()
    with review_lock(root):
        before = check(root)
        if before.errors:
            raise ValidationError(before.errors)
        searches, screening = TABLES["searches"], TABLES["screening"]
        log_id = next_id(searches, list(before.frames["searches"]["id"].dropna()))
        ledger = records(before.frames["screening"])
        known: dict[tuple[str, str], str] = {}
        for _, row in ledger:
            if row["reason"] != "duplicate":
                for key in record_keys(row["doi"], row["pmid"], row["title"]):
                    known.setdefault(key, str(row["id"]))
        ids = [str(row["id"]) for _, row in ledger]
        new, duplicates, lines = [], [], []
        for record in found:
            rid = next_id(screening, ids)
            ids.append(rid)
            keys = record_keys(record.doi, record.pmid, record.title)
            first = next((known[k] for k in keys if k in known), None)
            cells = {"id": rid, "doi": record.doi, "pmid": record.pmid, "title": record.title, "year": record.year,
                     "search": log_id, "stage": "title_abstract", "screened": today.isoformat(),
                     "screener": "livingreview search" if first else "",
                     "decision": "exclude" if first else "pending", "reason": "duplicate" if first else "",
                     "duplicate_of": first or "", "citekey": ""}
            (duplicates if first else new).append(rid)
            for key in keys:
                known.setdefault(key, rid)
            lines.append([cells[c] for c in screening.column_names])
        notes = f"first {limit} records by publication date requested; {len(found)} returned of {total} hits"
        log_row = [{"id": log_id, "date": today.isoformat(), "source": source, "query": query,
                    "records": str(len(found)), "notes": notes}[c] for c in searches.column_names]
        files = {}
        for table, rows in ((searches, [log_row]), (screening, lines)):
            path = inside(root, root / table.path)
            data = path.read_bytes() if path.exists() else encode_row(table.column_names, b"\n")
            newline = line_ending(data)
            prefix = data if data.endswith((b"\n", b"\r")) else data + newline
            files[table.path] = prefix + b"".join(encode_row(r, newline) for r in rows)
        problems = check_candidate(root, files)
        if problems:
            raise ValidationError(problems)
        if not dry_run:
            if not cached.exists():
                make_dirs_inside(root, cached.parent)
                atomic_write(inside(root, cached), json.dumps(response, indent=1, sort_keys=True).encode("utf-8"))
            for rel, data in files.items():
                atomic_write(inside(root, root / rel), data)
    return SearchRun(log_id, total, new, duplicates, written=not dry_run)
