"""Living intake (issue 15): the search log, the screening ledger, search and screen, the PRISMA flow, the cadence."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

import livingreview as lr
from conftest import REPO
from livingreview.analysis.summaries import prisma_counts
from livingreview.checking.living import living_status, read_cadence, status_text
from livingreview.checking.validate import check
from livingreview.commands.cli import main
from livingreview.curation.search import cache_path
from livingreview.publishing.render import prisma_svg

S, L = "data/searches.csv", "data/screening.csv"
HEAD = "id,doi,pmid,title,year,search,stage,decision,reason,duplicate_of,citekey,screened,screener\n"
QUERY = "extracellular vesicles AND metastasis"
TODAY = dt.date(2026, 12, 2)


def ledger(review, *rows: str) -> None:
    """A search log with one manual search and a ledger that includes both fixture papers cited as evidence."""
    review.write_bytes(S, b"id,date,source,query,records,notes\n"
                          b"SRCH-0001,2026-11-01,manual,Fixture papers identified by hand,2,\n")
    base = ["SCR-0001,10.5555/fixture.0001,,A synthetic fixture study of small extracellular vesicles,2020,SRCH-0001,"
            "title_abstract,include,,,alpha2020,2026-11-01,curator",
            "SCR-0002,,1,A second synthetic fixture study,2021,SRCH-0001,title_abstract,include,,,beta2021,2026-11-01,"
            "curator"]
    review.write_bytes(L, (HEAD + "\n".join([*base, *rows]) + "\n").encode())


def errors(root) -> list[str]:
    return [str(p) for p in check(root).errors]


def recorded_response(review, pmids_titles: list[tuple[str, str, str]], total: int = 120) -> None:
    """A cached E-utilities answer for QUERY (synthetic records: these PMIDs are not real papers)."""
    result = {"uids": [p for p, _, _ in pmids_titles]}
    for pmid, title, doi in pmids_titles:
        ids = [{"idtype": "pubmed", "value": pmid}] + ([{"idtype": "doi", "value": doi}] if doi else [])
        result[pmid] = {"uid": pmid, "title": title + ".", "pubdate": "2026 Nov 3", "fulljournalname": "J Fixtures",
                        "articleids": ids}
    response = {"retrieved": dt.date.today().isoformat(),
                "esearch": {"esearchresult": {"count": str(total), "idlist": result["uids"]}},
                "esummary": {"result": result}}
    path = cache_path(review.root, "pubmed", QUERY, 100)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(response))


def test_a_review_without_a_ledger_validates_and_has_an_empty_one(review):
    assert errors(review.root) == []
    ev = lr.load(review.root)
    assert ev["screening"].empty and ev["searches"].empty
    assert prisma_counts(ev)["identified_total"] == 0


def test_the_maintainers_loop_changes_the_prisma_counts(review):
    """Record a search with three new records, screen one in and two out with reasons: the flow follows."""
    ledger(review)
    before = prisma_counts(lr.load(review.root))
    recorded_response(review, [("99999981", "Fixture record one about EVs in metastasis", "10.5555/new.1"),
                               ("99999982", "Fixture record two, a review of vesicles", ""),
                               ("99999983", "Fixture record three on something else entirely", "10.5555/new.3")])
    run = CliRunner().invoke(main, ["search", "--source", "pubmed", QUERY, "--offline", "--root", str(review.root)])
    assert run.exit_code == 0, run.output
    assert "recorded SRCH-0002: 120 hit(s); 3 new record(s) awaiting screening, 0 duplicate(s)" in run.output
    log = review.path(S).read_text().splitlines()
    assert log[-1].startswith(f"SRCH-0002,{dt.date.today().isoformat()},pubmed,{QUERY},3,")
    pending = prisma_counts(lr.load(review.root))
    assert (pending["identified_total"], pending["pending"]) == (before["identified_total"] + 3, 3)
    assert pending["identified"] == {"PubMed (E-utilities)": 3, "Manual identification (no database query)": 2}
    for args in (["SCR-0003", "--include"], ["SCR-0004", "--exclude", "review_or_editorial"],
                 ["SCR-0005", "--exclude", "not_about_metastasis"]):
        done = CliRunner().invoke(main, ["screen", *args, "--screener", "tester", "--root", str(review.root)])
        assert done.exit_code == 0, done.output
    after = prisma_counts(lr.load(review.root))
    assert after["pending"] == 0 and after["included"] == before["included"] + 1
    assert after["excluded_screening"] == {"Not about cancer or metastasis": 1, "Review, editorial or comment": 1}
    assert after["screened"] == before["screened"] + 3
    # the inclusion has no library entry yet: it awaits extraction, and says so
    assert after["awaiting_extraction"] == before["awaiting_extraction"] + 1
    svg = prisma_svg(after, "flow")
    assert "Records excluded (n = 2)" in svg and "Studies included in review (n = 3)" in svg and "<desc" in svg


def test_a_repeated_search_records_its_records_as_duplicates(review):
    ledger(review)
    recorded_response(review, [("99999981", "Fixture record one about EVs in metastasis", "10.5555/new.1"),
                               ("1", "A second synthetic fixture study", "")])
    first = CliRunner().invoke(main, ["search", QUERY, "--offline", "--root", str(review.root)])
    assert "1 new record(s) awaiting screening, 1 duplicate(s)" in first.output, first.output
    again = CliRunner().invoke(main, ["search", QUERY, "--offline", "--root", str(review.root)])
    assert "0 new record(s) awaiting screening, 2 duplicate(s)" in again.output, again.output
    rows = review.path(L).read_text().splitlines()
    assert rows[4].endswith(",SRCH-0002,title_abstract,exclude,duplicate,SCR-0002,,"
                            f"{dt.date.today().isoformat()},livingreview search")
    assert ",SRCH-0003,title_abstract,exclude,duplicate,SCR-0003," in rows[5]
    assert errors(review.root) == []


def test_offline_and_uncached_search_fails_clearly_and_writes_nothing(review):
    ledger(review)
    before = {p: review.path(p).read_bytes() for p in (S, L)}
    run = CliRunner().invoke(main, ["search", QUERY, "--offline", "--root", str(review.root)])
    assert run.exit_code == 2
    assert "no cached response for this query and --offline was given" in run.output
    assert "cache/search/pubmed/" in run.output and "Traceback" not in run.output
    assert {p: review.path(p).read_bytes() for p in (S, L)} == before


def test_a_malformed_cached_response_is_a_usage_error(review):
    ledger(review)
    path = cache_path(review.root, "pubmed", QUERY, 100)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"esearch": {}}))
    run = CliRunner().invoke(main, ["search", QUERY, "--offline", "--root", str(review.root)])
    assert run.exit_code == 2 and "not an E-utilities esearch/esummary response" in run.output


@pytest.mark.parametrize(("row", "expected"), [
    ("SCR-0003,,,Some record title that is long enough,2024,SRCH-0001,title_abstract,exclude,flying,,,2026-11-02,me",
     f"{L}:4:reason: unknown value 'flying' for reason; expected one of: not_about_evs"),
    ("SCR-0003,,,Some record title that is long enough,2024,SRCH-0001,title_abstract,exclude,,,,2026-11-02,me",
     f"{L}:4:reason: an exclusion needs its reason; expected one of: not_about_evs"),
    ("SCR-0003,,,Some record title that is long enough,2024,SRCH-0001,title_abstract,pending,duplicate,SCR-0001,,"
     "2026-11-02,", f"{L}:4:reason: reason 'duplicate' given for decision 'pending'"),
    ("SCR-0003,10.5555/FIXTURE.0001,,Another title of some length here,2024,SRCH-0001,title_abstract,pending,,,,"
     "2026-11-02,", f"{L}:4:doi: SCR-0003 has the same DOI 10.5555/fixture.0001 as SCR-0001 (line 2); expected it "
                    "recorded as decision=exclude, reason=duplicate, duplicate_of=SCR-0001"),
    ("SCR-0003,,,A Second Synthetic Fixture Study!,2024,SRCH-0001,title_abstract,pending,,,,2026-11-02,",
     f"{L}:4:title: SCR-0003 has the same title as SCR-0002 (line 3)"),
    ("SCR-0003,10.5555/fixture.0003,,A retracted synthetic fixture study,2019,SRCH-0001,full_text,include,,,"
     "gamma2019,2026-11-02,me", f"{L}:4:decision: SCR-0003: 'gamma2019' is retracted and cannot be included"),
    ("SCR-0003,,,Some record title that is long enough,2024,SRCH-0009,title_abstract,pending,,,,2026-11-02,",
     f"{L}:4:search: SCR-0003: search 'SRCH-0009' is not an id of {S}"),
    ("SCR-0003,,,Some record title that is long enough,2024,SRCH-0001,title_abstract,include,,,,2026-11-02,",
     f"{L}:4:screener: decision 'include' with no screener"),
    ("SCR-0003,not-a-doi,,Some record title that is long enough,2024,SRCH-0001,title_abstract,pending,,,,2026-11-02,",
     f"{L}:4:doi: malformed doi 'not-a-doi'"),
])
def test_a_bad_ledger_row_is_a_located_error(review, row, expected):
    ledger(review, row)
    found = errors(review.root)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_every_paper_cited_as_evidence_needs_an_inclusion(review):
    ledger(review)
    review.replace(L, "include,,,beta2021,2026-11-01,curator", "exclude,not_about_evs,,,2026-11-01,curator")
    assert errors(review.root) == ["references.bib:10:-: entry 'beta2021' is cited as evidence but no screening "
                                   f"record includes it; expected a row of {L} with decision=include, "
                                   "citekey=beta2021"]


def test_the_cadence_is_validated_and_gives_the_status(review):
    review.write_bytes("living.toml", b'[living]\nstatus = "living"\nsearch_every_days = 30\n')
    ledger(review)
    ev = lr.load(review.root)
    st = living_status(ev["searches"], ev["screening"], ev.cadence, TODAY)
    assert (st.last_search, st.next_due, st.overdue, st.pending) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1),
                                                                     True, 0)
    assert status_text(st) == ("Living review · last search 2026-11-01 · 0 records awaiting screening · next "
                               "search overdue since 2026-12-01")
    review.write_bytes("living.toml", b'[living]\nstatus = "alive"\nsearch_every_days = 0\n')
    assert [str(p) for p in read_cadence(review.root)[1]] == [
        "living.toml:2:status: status 'alive'; expected one of: living, paused, retired",
        "living.toml:3:search_every_days: search_every_days 0; expected a whole number of days from 1 to 3650"]
    assert any(e.startswith("living.toml:2:status:") for e in errors(review.root))


def test_the_repository_ledger_accounts_for_every_cited_paper_and_its_searches_are_honest():
    ev = lr.load(REPO)
    counts = prisma_counts(ev)
    pending = int((ev["screening"]["decision"].astype(str) == "pending").sum())
    assert counts["identified_total"] == len(ev["screening"]) and counts["pending"] == pending
    decided = counts["included"] + sum(counts["excluded_screening"].values()) + counts["duplicates"]
    assert decided + pending == len(ev["screening"])  # a record awaiting screening is decided nowhere
    # no database search is claimed that was not run: every search so far is manual, and each says so
    assert set(ev["searches"]["source"].astype(str)) == {"manual"}
    assert all("No database query was run" in q or "no database query was run" in q for q in ev["searches"]["query"])
    assert ev.cadence is not None and ev.cadence.status == "living"
