"""``livingreview search``: run a recorded database search and append its new records to the ledger as pending.

Responses are cached under ``cache/search/`` like ``cite``'s, each with the date PubMed returned it; offline and
uncached, a search fails with a message that says where the response belongs. A cached response is replayed, not
searched again: its log row carries the date PubMed answered (so the review's last search stays where it was) and
says that it is a replay; ``refresh`` asks PubMed anew. A record the ledger already holds (same DOI, PMID or
normalised title) is appended as a duplicate of it, never dropped.
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

from livingreview.checking.intake import Rows, record_keys, records
from livingreview.checking.validate import check
from livingreview.curation.add import check_candidate, encode_row, next_id
from livingreview.model.errors import UsageError, ValidationError
from livingreview.model.fileio import atomic_write, inside, line_ending, make_dirs_inside, review_lock
from livingreview.model.schema import DOI_PATTERN, INVISIBLE_PATTERN, PMID_PATTERN, Table

EUTILS = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
SOURCES = ("pubmed",)
TIMEOUT = 20
SEARCH_CACHE = Path("cache") / "search"
#: E-utilities' ceiling for one esearch (retmax) and the most records one search may record
MAX_RECORDS = 10_000
#: ids per esummary request, sent by POST (NCBI asks for POST beyond about 200 ids: a long GET is refused)
SUMMARY_BATCH = 500


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
    #: the date PubMed returned the response recorded (the log row's date)
    retrieved: dt.date | None = None
    #: the log row this run replays (a cached response already recorded), or None for a response recorded first
    replay_of: str | None = None
    #: the cached response replayed (relative to the root), or None when PubMed was asked
    cached: str | None = None


def cache_path(root: Path, source: str, query: str, limit: int) -> Path:
    """Where the response of ``query`` (first ``limit`` records) from ``source`` is cached."""
    digest = hashlib.sha256(f"{source}\0{query}\0{limit}".encode()).hexdigest()[:24]
    return root / SEARCH_CACHE / source / f"{digest}.json"


def _get(url: str, form: dict | None = None) -> dict:
    data = urllib.parse.urlencode(form).encode("ascii") if form is not None else None
    headers = {"User-Agent": "livingreview (a living review's search log)"}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read().decode("utf-8"))


def fetch_pubmed(query: str, limit: int) -> dict:
    """The E-utilities answer for ``query``: esearch (count and ids), then esummary of those ids, merged."""
    found = _get(EUTILS + "esearch.fcgi?" + urllib.parse.urlencode(
        {"db": "pubmed", "term": query, "retmax": limit, "retmode": "json", "sort": "pub_date"}))
    search = found.get("esearchresult") if isinstance(found, dict) else None
    idlist = search.get("idlist") if isinstance(search, dict) else None
    ids = [str(i) for i in idlist][:limit] if isinstance(idlist, list) else []  # parse_pubmed says what is wrong
    result: dict = {"uids": []}
    for start in range(0, len(ids), SUMMARY_BATCH):
        answer = _get(EUTILS + "esummary.fcgi", {"db": "pubmed", "id": ",".join(ids[start:start + SUMMARY_BATCH]),
                                                 "retmode": "json"})
        part = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(part, dict) or not isinstance(part.get("uids"), list):
            raise ValueError(f"esummary answered without a result for ids {start + 1} to {start + SUMMARY_BATCH}")
        result["uids"] += part["uids"]
        result.update({k: v for k, v in part.items() if k != "uids"})
    return {"esearch": found, "esummary": {"result": result}}


def _clean(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return " ".join(re.sub(INVISIBLE_PATTERN, " ", text).split())


def parse_pubmed(response: object, where: str, limit: int = MAX_RECORDS) -> tuple[int, list[Found]]:
    """(total hits, the first ``limit`` records in esearch's order) from a response; malformed is a UsageError."""
    try:
        search = response["esearch"]["esearchresult"]  # type: ignore[index]
        if isinstance(search, dict) and search.get("ERROR"):
            raise UsageError(f"{where}: PubMed refused the query ({str(search['ERROR'])[:200]}); nothing was "
                             "recorded")
        total, idlist = int(search["count"]), search["idlist"]
        result = response["esummary"]["result"]  # type: ignore[index]
        if not isinstance(idlist, list) or not isinstance(result, dict) or not isinstance(result["uids"], list):
            raise TypeError("idlist, result or uids of the wrong type")
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{where}: not an E-utilities esearch/esummary response ({exc})") from exc
    lists = {k: v for part in (search.get("errorlist"), search.get("warninglist")) if isinstance(part, dict)
             for k, v in part.items() if isinstance(v, list)}
    dropped = [str(x)[:80] for key in ("phrasesnotfound", "fieldsnotfound", "quotedphrasesnotfound")
               for x in lists.get(key, []) if x]
    if dropped:
        # PubMed searches without what it cannot find; logging the query as run would then be untrue
        raise UsageError(f"{where}: PubMed did not find {', '.join(map(repr, dropped[:10]))} and would search "
                         "without it; expected a query PubMed reads in full (correct it and run again)")
    if not len(idlist) <= total <= 10**9:
        raise UsageError(f"{where}: count {total} with {len(idlist)} ids; expected a count of hits no smaller than "
                         "the ids listed")
    records = []
    for uid in idlist[:limit]:  # esearch's order (newest first) decides which records --max keeps
        pmid = str(uid)
        if not re.fullmatch(PMID_PATTERN, pmid):
            raise UsageError(f"{where}: '{pmid[:20]}' is not a PubMed id")
        item = result.get(pmid, {})
        item = item if isinstance(item, dict) and "error" not in item else {}  # a uid esummary could not find
        ids = item.get("articleids", [])
        ids = ids if isinstance(ids, list) else []
        doi = next((_clean(a.get("value")) for a in ids if isinstance(a, dict) and a.get("idtype") == "doi"), "")
        doi = doi if re.fullmatch(DOI_PATTERN, doi) and ";" not in doi else ""
        year = re.match(r"\d{4}", _clean(item.get("pubdate")))
        title = _clean(item.get("title")).rstrip(".")
        records.append(Found(pmid, doi, title or f"PubMed {pmid}", year.group() if year else "",
                             _clean(item.get("fulljournalname"))))
    return total, records


def _retrieved(response: object, where: str, today: dt.date) -> dt.date:
    """The date PubMed returned a cached response, as recorded in it (a date it cannot have is a UsageError)."""
    value = response.get("retrieved") if isinstance(response, dict) else None
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or day > today:
        raise UsageError(f"{where}: 'retrieved' is {str(value)[:20]!r}; expected the ISO date (YYYY-MM-DD, not "
                         "after today) on which PubMed returned this response")
    return day


def _logged(log: Rows, source: str, query: str, day: dt.date) -> str | None:
    """The first log row that recorded ``query`` on ``source`` as answered on ``day`` (the run a replay repeats)."""
    return next((str(row["id"]) for _, row in log if row["source"] == source and row["query"] == query
                 and row["date"] == day.isoformat()), None)


Merged = tuple[list[list[str]], list[str], list[str]]


def merge(screening: Table, ledger: Rows, found: list[Found], log_id: str, today: dt.date) -> Merged:
    """The ledger rows for ``found`` (pending, or a duplicate of the first record with a key in common), with the
    ids of the new records and of the duplicates.

    One pass over the ledger and one over the records, through dicts keyed by DOI, PMID and normalised title.
    """
    known: dict[tuple[str, str], str] = {}
    for _, row in ledger:
        if row["reason"] != "duplicate":
            for key in record_keys(row["doi"], row["pmid"], row["title"]):
                known.setdefault(key, str(row["id"]))
    # the highest id once, then counting up: asking next_id for each record was quadratic
    number = int(next_id(screening, [str(row["id"]) for _, row in ledger]).rsplit("-", 1)[1])
    new, duplicates, lines = [], [], []
    for record in found:
        rid = f"{screening.id_prefix}-{number:04d}"
        number += 1
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
    return lines, new, duplicates


def run_search(root: Path, source: str, query: str, limit: int = 100, offline: bool = False,
               dry_run: bool = False, today: dt.date | None = None, refresh: bool = False) -> SearchRun:
    """Run ``query`` on ``source`` (or replay its cached response); log it and append its records to the ledger."""
    root = Path(root)
    if source not in SOURCES:
        raise UsageError(f"unknown source '{source}'; expected one of: {', '.join(SOURCES)}")
    query = " ".join(query.split())
    if not query:
        raise UsageError("give the query to run, e.g. livingreview search --source pubmed \"term AND other term\"")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_RECORDS:
        raise UsageError(f"--max {limit}; expected a whole number of records from 1 to {MAX_RECORDS}")
    if refresh and offline:
        raise UsageError("--refresh asks PubMed anew and --offline forbids the network; give one of them")
    today = today or dt.date.today()
    cached = cache_path(root, source, query, limit)
    inside(root, cached)  # before reading, fetching or creating anything: a committed link must not lead out
    where = str(cached.relative_to(root))
    replayed = cached.exists() and not refresh
    if replayed:
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
                         f"{{\"retrieved\": \"YYYY-MM-DD\", \"esearch\": ..., \"esummary\": ...}} (retrieved: the "
                         f"day PubMed returned it) in {where}")
    else:
        try:
            response = {"retrieved": today.isoformat(), **fetch_pubmed(query, limit)}
        except (OSError, ValueError, RecursionError) as exc:
            again = "run again with the network" if refresh else (
                f"run again with the network, or save the response in {where} and use --offline")
            raise UsageError(f"PubMed could not be reached or gave no usable answer ({exc}); nothing was written; "
                             f"{again}") from exc
    total, found = parse_pubmed(response, where, limit)
    retrieved = _retrieved(response, where, today) if replayed else today
    with review_lock(root):
        before = check(root)
        if before.errors:
            raise ValidationError(before.errors)
        declared = before.declarations.tables
        if "searches" not in declared or "screening" not in declared:
            raise UsageError("the review declares no searches and screening tables in review.yml; a search is "
                             "logged there")
        searches, screening = declared["searches"], declared["screening"]
        log_id = next_id(searches, list(before.frames["searches"]["id"].dropna()))
        replay_of = _logged(records(before.frames["searches"]), source, query, retrieved) if replayed else None
        lines, new, duplicates = merge(screening, records(before.frames["screening"]), found, log_id, today)
        notes = f"first {limit} records by publication date requested; {len(found)} recorded of {total} hits"
        if replay_of:
            notes = (f"Replay on {today.isoformat()} of the response recorded as {replay_of}: PubMed was not "
                     f"searched again; {notes}")
        log_row = [{"id": log_id, "date": retrieved.isoformat(), "source": source, "query": query,
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
            if not replayed:
                make_dirs_inside(root, cached.parent)
                atomic_write(inside(root, cached), json.dumps(response, indent=1, sort_keys=True).encode("utf-8"))
            for rel, data in files.items():
                atomic_write(inside(root, root / rel), data)
    return SearchRun(log_id, total, new, duplicates, written=not dry_run, retrieved=retrieved, replay_of=replay_of,
                     cached=where if replayed else None)
