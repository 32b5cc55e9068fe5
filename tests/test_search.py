"""Issue 23 item 5: ``livingreview search`` as a living search.

A cached replay says so and leaves the last search where it was; ``--refresh`` asks PubMed anew; PubMed syntax in a
query and ordinary titles are recorded (escaped or neutralised where published); the merge is linear and ``--max``
bounds a cached response. Responses are built by hand in the shape NCBI's E-utilities return with
``retmode=json`` (esearch: ``esearchresult`` with ``count``, ``idlist``, ``querytranslation``; esummary: ``result``
with ``uids`` and one record per uid with ``title``, ``pubdate``, ``articleids`` [{idtype, idtypen, value}]). Every
record is synthetic: the PMIDs lie far beyond any PubMed has assigned and the DOIs use the 10.5555 test prefix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time

import pytest
from click.testing import CliRunner

import livingreview as lr
from livingreview.checking.living import living_status
from livingreview.checking.validate import check
from livingreview.commands.cli import main
from livingreview.curation import search as search_module
from livingreview.curation.search import cache_path
from livingreview.publishing.chapter import all_rows, search_log_table
from livingreview.publishing.render import escape_md

S, L = "data/searches.csv", "data/screening.csv"
HEAD = "id,doi,pmid,title,year,search,stage,decision,reason,duplicate_of,citekey,screened,screener\n"
QUERY = ('("extracellular vesicles"[Title/Abstract] OR exosomes[MeSH Terms]) AND metastasis[Title/Abstract] '
         'NOT review[Publication Type]')
TODAY = dt.date.today()


def ledger(review, manual: dt.date, extra: list[str] = ()) -> None:
    """A search log with one manual search dated ``manual`` and a ledger that includes both fixture papers."""
    review.write_bytes(S, ("id,date,source,query,records,notes\n"
                           f"SRCH-0001,{manual.isoformat()},manual,Fixture papers identified by hand,"
                           f"{2 + len(extra)},\n").encode())
    base = ["SCR-0001,10.5555/fixture.0001,,A synthetic fixture study of small extracellular vesicles,2020,SRCH-0001,"
            f"title_abstract,include,,,alpha2020,{manual.isoformat()},curator",
            "SCR-0002,,1,A second synthetic fixture study,2021,SRCH-0001,title_abstract,include,,,beta2021,"
            f"{manual.isoformat()},curator"]
    review.write_bytes(L, (HEAD + "\n".join([*base, *extra]) + "\n").encode())


def docsum(pmid: str, title: str, doi: str = "", pmc: str = "") -> dict:
    """One esummary record as PubMed returns it (the fields the client reads, and the usual others)."""
    ids = [{"idtype": "pubmed", "idtypen": 1, "value": pmid}]
    ids += [{"idtype": "doi", "idtypen": 3, "value": doi}] if doi else []
    ids += [{"idtype": "pmc", "idtypen": 8, "value": pmc}] if pmc else []
    return {"uid": pmid, "pubdate": "2026 Nov 3", "epubdate": "2026 Oct 20", "source": "J Fixtures",
            "authors": [{"name": "Fixture A", "authtype": "Author", "clusterid": ""}], "lastauthor": "Fixture A",
            "title": title, "sorttitle": title.lower(), "volume": "1", "issue": "1", "pages": "1-10", "lang": ["eng"],
            "pubtype": ["Journal Article"], "recordstatus": "PubMed - as supplied by publisher", "pubstatus": "4",
            "articleids": ids, "elocationid": f"doi: {doi}" if doi else "", "fulljournalname": "Journal of Fixtures",
            "sortpubdate": "2026/11/03 00:00"}


def eutils(docsums: list[dict], count: int, retrieved: dt.date | None, query: str = QUERY) -> dict:
    """A cached response: the esearch and esummary JSON, and the day PubMed returned them."""
    uids = [d["uid"] for d in docsums]
    response = {
        "esearch": {"header": {"type": "esearch", "version": "0.3"},
                    "esearchresult": {"count": str(count), "retmax": str(len(uids)), "retstart": "0", "idlist": uids,
                                      "translationset": [], "querytranslation": query}},
        "esummary": {"header": {"type": "esummary", "version": "0.3"},
                     "result": {"uids": uids, **{d["uid"]: d for d in docsums}}},
    }
    return {**response, "retrieved": retrieved.isoformat()} if retrieved else response


def save(review, response: dict, limit: int = 100, query: str = QUERY) -> None:
    path = cache_path(review.root, "pubmed", query, limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(response))


def search(review, *args: str):
    return CliRunner().invoke(main, ["search", QUERY, "--root", str(review.root), *args])


def rows(review, rel: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(review.path(rel).read_text(encoding="utf-8"))))


def errors(root) -> list[str]:
    return [str(p) for p in check(root).errors]


ORDINARY = [docsum("99999971", "Abstracts of the 2026 annual meeting of a fixture society on vesicles."),
            docsum("99999972", "-Omics of extracellular vesicles in metastatic spread: a fixture.", "10.5555/x.72"),
            docsum("99999973", "=Equal shares: vesicle cargo in a fixture model of metastasis.", pmc="PMC99999973"),
            docsum("99999974", "+/- vesicles & <b>bold</b> claims in a fixture of lung metastasis."),
            {"uid": "99999975", "error": "cannot get document summary"}]


def test_item5_pubmed_syntax_and_ordinary_titles_are_recorded_from_a_real_shaped_response(review):
    ledger(review, TODAY - dt.timedelta(days=10))
    save(review, eutils(ORDINARY, 4321, TODAY))
    run = search(review, "--offline")
    assert run.exit_code == 0, run.output
    assert "5 new record(s) awaiting screening" in run.output
    log = rows(review, S)[-1]
    assert (log["query"], log["records"], log["source"]) == (QUERY, "5", "pubmed")
    assert "5 recorded of 4321 hits" in log["notes"]
    added = {r["pmid"]: r for r in rows(review, L)[2:]}
    assert added["99999971"]["title"] == "Abstracts of the 2026 annual meeting of a fixture society on vesicles"
    assert added["99999972"]["title"].startswith("-Omics") and added["99999972"]["doi"] == "10.5555/x.72"
    assert added["99999973"]["title"].startswith("=Equal") and added["99999973"]["year"] == "2026"
    assert added["99999974"]["title"].startswith("+/- vesicles & <b>bold</b>")
    assert added["99999975"]["decision"] == "pending"  # esummary had no record for it; it is still screened
    assert errors(review.root) == []


def test_item5_quoted_queries_and_titles_are_escaped_in_pages_and_neutralised_in_exports(review, tmp_path):
    ledger(review, TODAY - dt.timedelta(days=10))
    save(review, eutils(ORDINARY, 4321, TODAY))
    assert search(review, "--offline").exit_code == 0
    ev = lr.load(review.root)
    html = all_rows(ev, "searches", "screening").data
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert QUERY not in html and '"extracellular vesicles"[Title/Abstract]' not in html
    methods = search_log_table(ev).data
    assert QUERY not in methods and escape_md(QUERY) in methods  # no '[...]' left for MyST to read as a link
    out = tmp_path / "package"
    done = CliRunner().invoke(main, ["export", "--root", str(review.root), "--out", str(out)])
    assert done.exit_code == 0, done.output
    exported = {r["pmid"]: r["title"] for r in csv.DictReader((out / L).open(encoding="utf-8"))}
    assert exported["99999972"].startswith("'-Omics") and exported["99999973"].startswith("'=Equal")
    assert exported["99999974"].startswith("'+/-") and exported["99999971"].startswith("Abstracts")


def test_item5_formula_and_curation_rules_still_hold_for_prose_columns(review):
    ledger(review, TODAY - dt.timedelta(days=10))
    review.replace(S, "Fixture papers identified by hand,2,", "Fixture papers identified by hand,2,=HYPERLINK(1)")
    assert [e.split(": ")[0] for e in errors(review.root)] == [f"{S}:2:notes"]


def test_item5_a_cached_replay_says_so_and_does_not_move_the_last_search(review):
    review.write_bytes("living.toml", b'[living]\nstatus = "living"\nsearch_every_days = 30\n')
    ledger(review, TODAY - dt.timedelta(days=90))
    answered = TODAY - dt.timedelta(days=60)
    save(review, eutils(ORDINARY[:2], 2, answered))
    first = search(review, "--offline")
    assert first.exit_code == 0, first.output
    assert f"returned by PubMed on {answered.isoformat()}: recorded for the first time" in first.output
    ev = lr.load(review.root)
    before = living_status(ev["searches"], ev["screening"], ev.cadence, TODAY)
    assert (before.last_search, before.overdue) == (answered, True)
    again = search(review)  # with the network allowed: the cache still answers, and says so
    assert again.exit_code == 0, again.output
    assert f"returned by PubMed on {answered.isoformat()}: a replay of SRCH-0002. PubMed was not searched now: " \
           f"the log row is dated {answered.isoformat()}" in again.output
    assert "recorded SRCH-0003: 2 hit(s); 0 new record(s) awaiting screening, 2 duplicate(s)" in again.output
    log = rows(review, S)
    assert log[-1]["date"] == answered.isoformat()
    assert log[-1]["notes"].startswith(f"Replay on {TODAY.isoformat()} of the response recorded as SRCH-0002: "
                                       "PubMed was not searched again")
    ev = lr.load(review.root)
    after = living_status(ev["searches"], ev["screening"], ev.cadence, TODAY)
    assert (after.last_search, after.next_due, after.overdue) == (answered, before.next_due, True)
    assert "Replay on" in search_log_table(ev).data  # the Methods page shows it
    assert errors(review.root) == []


def test_item5_refresh_asks_pubmed_anew_and_moves_the_last_search(review, monkeypatch):
    ledger(review, TODAY - dt.timedelta(days=90))
    save(review, eutils(ORDINARY[:1], 1, TODAY - dt.timedelta(days=60)))
    asked = []

    def answer(query: str, limit: int) -> dict:
        asked.append((query, limit))
        return eutils(ORDINARY[:3], 3, None, query)

    monkeypatch.setattr(search_module, "fetch_pubmed", answer)
    run = search(review, "--refresh", "--max", "100")
    assert run.exit_code == 0, run.output
    assert asked == [(QUERY, 100)] and "cached response" not in run.output
    log = rows(review, S)[-1]
    assert log["date"] == TODAY.isoformat() and not log["notes"].startswith("Replay")
    cached = json.loads(cache_path(review.root, "pubmed", QUERY, 100).read_text())
    assert cached["retrieved"] == TODAY.isoformat() and len(cached["esearch"]["esearchresult"]["idlist"]) == 3


def test_item5_refresh_without_the_network_is_a_usage_error_that_writes_nothing(review, monkeypatch):
    ledger(review, TODAY - dt.timedelta(days=90))
    save(review, eutils(ORDINARY[:1], 1, TODAY - dt.timedelta(days=60)))
    cache = cache_path(review.root, "pubmed", QUERY, 100)
    before = {p: p.read_bytes() for p in (review.path(S), review.path(L), cache)}

    def unreachable(url: str, form: dict | None = None) -> dict:
        raise OSError("Name or service not known")

    monkeypatch.setattr(search_module, "_get", unreachable)
    run = search(review, "--refresh")
    assert run.exit_code == 2 and "PubMed could not be reached" in run.output and "nothing was written" in run.output
    assert "Traceback" not in run.output
    both = search(review, "--refresh", "--offline")
    assert both.exit_code == 2 and "give one of them" in both.output
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize(("retrieved", "expected"), [(None, "'retrieved' is 'None'"),
                                                     ("2999-01-01", "'retrieved' is '2999-01-01'"),
                                                     ("yesterday", "'retrieved' is 'yesterday'")])
def test_item5_a_cached_response_must_say_when_pubmed_returned_it(review, retrieved, expected):
    ledger(review, TODAY - dt.timedelta(days=90))
    response = eutils(ORDINARY[:1], 1, None)
    save(review, {**response, "retrieved": retrieved} if retrieved else response)
    before = review.path(S).read_bytes()
    run = search(review, "--offline")
    assert run.exit_code == 2 and expected in run.output and "cache/search/pubmed/" in run.output, run.output
    assert review.path(S).read_bytes() == before


def test_item5_max_bounds_a_cached_response(review):
    ledger(review, TODAY - dt.timedelta(days=90))
    many = [docsum(str(99999900 + i), f"Synthetic fixture record number {i} about vesicles") for i in range(20)]
    save(review, eutils(many, 250, TODAY), limit=5)
    run = search(review, "--offline", "--max", "5")
    assert run.exit_code == 0, run.output
    assert "250 hit(s); 5 new record(s)" in run.output
    assert [r["pmid"] for r in rows(review, L)[2:]] == [str(99999900 + i) for i in range(5)]  # esearch's order
    assert rows(review, S)[-1]["records"] == "5"


def test_item5_a_count_smaller_than_the_ids_is_refused(review):
    ledger(review, TODAY - dt.timedelta(days=90))
    save(review, eutils(ORDINARY[:3], 2, TODAY))
    run = search(review, "--offline")
    assert run.exit_code == 2 and "count 2 with 3 ids" in run.output


def test_item5_the_merge_is_linear_on_fifty_thousand_records(review):
    """40,000 records in the ledger and 10,000 returned: the quadratic merge took minutes; linear takes seconds."""
    old = [f"SCR-{i + 3:04d},10.5555/old.{i},{90000001 + i},Synthetic ledger record number {i} on vesicles,2020,"
           f"SRCH-0001,title_abstract,exclude,not_about_evs,,,{TODAY.isoformat()},curator" for i in range(40_000)]
    ledger(review, TODAY - dt.timedelta(days=90), old)
    # every other returned record is in the ledger already (by PMID), the rest are new
    pmids = [str(90000001 + i) for i in range(30_000, 50_000, 2)]
    found = [{"uid": p, "title": f"Synthetic returned record {p} on vesicles.", "pubdate": "2026",
              "articleids": [{"idtype": "pubmed", "idtypen": 1, "value": p}]} for p in pmids]
    save(review, eutils(found, 10_000, TODAY), limit=10_000)
    start = time.monotonic()
    run = search(review, "--offline", "--max", "10000")
    elapsed = time.monotonic() - start
    assert run.exit_code == 0, run.output
    assert "5000 new record(s) awaiting screening, 5000 duplicate(s)" in run.output
    assert elapsed < 120, f"{elapsed:.0f} s for 50,000 records"
    added = rows(review, L)[40_002:]
    assert [r["id"] for r in added] == [f"SCR-{n:04d}" for n in range(40_003, 50_003)]
    dup = added[0]
    assert (dup["pmid"], dup["reason"], dup["duplicate_of"]) == ("90030001", "duplicate", "SCR-30003")


def test_item5_esummary_is_asked_by_post_in_batches_and_merged(monkeypatch):
    """1,200 ids: one esearch by GET, then esummary by POST 500 ids at a time (a GET that long is refused)."""
    ids = [str(99990000 + i) for i in range(1200)]
    calls = []

    def answer(url: str, form: dict | None = None) -> dict:
        calls.append((url.split("?")[0].rsplit("/", 1)[1], form))
        if form is None:
            return eutils([docsum(i, f"Fixture {i}") for i in ids], 5000, None)["esearch"]
        asked = form["id"].split(",")
        return {"header": {"type": "esummary", "version": "0.3"},
                "result": {"uids": asked, **{i: docsum(i, f"Synthetic fixture record {i} on vesicles") for i in asked}}}

    monkeypatch.setattr(search_module, "_get", answer)
    response = search_module.fetch_pubmed(QUERY, 1200)
    assert [(name, form is None) for name, form in calls] == [("esearch.fcgi", True)] + [("esummary.fcgi", False)] * 3
    assert [len(form["id"].split(",")) for _, form in calls[1:]] == [500, 500, 200]
    total, found = search_module.parse_pubmed(response, "fetched", 1200)
    assert total == 5000 and [f.pmid for f in found] == ids
    assert found[-1].title == "Synthetic fixture record 99991199 on vesicles"


def test_item5_a_title_repeated_with_other_accents_case_and_punctuation_is_a_duplicate(review):
    ledger(review, TODAY - dt.timedelta(days=90))
    twin = docsum("99999961", "À SECOND synthétic fixture-study!")
    twin["articleids"] = []  # no id in common with the ledger: only the title can tell
    save(review, eutils([twin, docsum("99999962", "A second synthetic fixture study of something else")], 2, TODAY))
    run = search(review, "--offline")
    assert run.exit_code == 0, run.output
    added = rows(review, L)[2:]
    assert [(r["decision"], r["reason"], r["duplicate_of"]) for r in added] == [
        ("exclude", "duplicate", "SCR-0002"), ("pending", "", "")]


@pytest.mark.parametrize(("esearch", "expected"), [
    ({"ERROR": "Invalid query", "count": None}, "PubMed refused the query (Invalid query)"),
    ({"errorlist": {"phrasesnotfound": ["exosomez"], "fieldsnotfound": []}},
     "PubMed did not find 'exosomez' and would search without it"),
    ({"errorlist": {"phrasesnotfound": [], "fieldsnotfound": ["[Titel]"]}}, "PubMed did not find '[Titel]'"),
    ({"warninglist": {"phrasesignored": [], "quotedphrasesnotfound": ["\"vesicle shedding factor\""],
                      "outputmessages": []}}, "PubMed did not find '\"vesicle shedding factor\"'"),
])
def test_item5_a_query_pubmed_could_not_read_in_full_is_never_logged(review, esearch, expected):
    ledger(review, TODAY - dt.timedelta(days=90))
    response = eutils(ORDINARY[:1], 1, TODAY)
    response["esearch"]["esearchresult"].update(esearch)
    save(review, response)
    before = {p: review.path(p).read_bytes() for p in (S, L)}
    run = search(review, "--offline")
    assert run.exit_code == 2 and expected in run.output, run.output
    assert {p: review.path(p).read_bytes() for p in (S, L)} == before


@pytest.mark.parametrize("summary", [[], {"result": []}, {"result": {"uids": "1"}}, {"header": {}}])
def test_item5_a_live_answer_without_a_summary_is_a_usage_error_that_writes_nothing(review, monkeypatch, summary):
    ledger(review, TODAY - dt.timedelta(days=90))
    before = {p: review.path(p).read_bytes() for p in (S, L)}

    def answer(url: str, form: dict | None = None) -> object:
        return eutils(ORDINARY[:1], 1, None)["esearch"] if form is None else summary

    monkeypatch.setattr(search_module, "_get", answer)
    run = search(review)
    assert run.exit_code == 2 and "gave no usable answer (esummary answered without a result" in run.output
    assert "Traceback" not in run.output and not cache_path(review.root, "pubmed", QUERY, 100).exists()
    assert {p: review.path(p).read_bytes() for p in (S, L)} == before
