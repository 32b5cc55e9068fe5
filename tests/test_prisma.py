"""The PRISMA 2020 flow adds up (issue 22): every box's arithmetic, on the real ledger and on planted ones."""

from __future__ import annotations

import csv
import re

import pytest

import livingreview as lr
from conftest import REPO
from livingreview.analysis.summaries import prisma_counts, prisma_problems
from livingreview.checking.validate import check
from livingreview.publishing import chapter
from livingreview.publishing.render import _prisma_steps, prisma_svg

S, L = "data/searches.csv", "data/screening.csv"
HEAD = "id,doi,pmid,title,year,search,stage,decision,reason,duplicate_of,citekey,screened,screener\n"
INCLUDED = ["SCR-0001,10.5555/fixture.0001,,A synthetic fixture study of small extracellular vesicles,2020,SRCH-0001,"
            "title_abstract,include,,,alpha2020,2026-11-01,curator",
            "SCR-0002,,1,A second synthetic fixture study,2021,SRCH-0001,title_abstract,include,,,beta2021,2026-11-01,"
            "curator"]


def row(n: int, stage: str, decision: str, reason: str = "", duplicate_of: str = "") -> str:
    """A ledger row for a synthetic record (its title and DOI are made up and unique to ``n``)."""
    screener = "" if decision == "pending" else "curator"
    return (f"SCR-{n:04d},10.5555/planted.{n},,Planted synthetic record number {n} about vesicles,2024,SRCH-0001,"
            f"{stage},{decision},{reason},{duplicate_of},,2026-11-02,{screener}")


def plant(review, *rows: str) -> lr.Evidence:
    """A manual search whose records are the two fixture papers and ``rows``; the review must stay valid."""
    log = f"SRCH-0001,2026-11-01,manual,Fixture papers identified by hand,{2 + len(rows)},\n"
    review.write_bytes(S, ("id,date,source,query,records,notes\n" + log).encode())
    review.write_bytes(L, (HEAD + "\n".join([*INCLUDED, *rows]) + "\n").encode())
    assert [str(p) for p in check(review.root).errors] == []
    return lr.load(review.root)


def numbers(counts: dict) -> dict[str, int]:
    """Each heading of the drawn flow, box by box, and the count it shows."""
    lines = [line for main, side in _prisma_steps(counts) for line in (*main, *(side or []))]
    return {m.group(1): int(m.group(2)) for m in (re.fullmatch(r"(.*) \(n = (\d+)\)", x) for x in lines) if m}


def test_the_repository_flow_adds_up_and_matches_the_ledger_it_is_drawn_from():
    with (REPO / L).open(encoding="utf-8", newline="") as fh:
        ledger = list(csv.DictReader(fh))
    duplicates = sum(r["reason"] == "duplicate" for r in ledger)
    pending = sum(r["decision"] == "pending" for r in ledger)
    full_text = sum(r["stage"] == "full_text" and r["reason"] != "duplicate" and r["decision"] != "pending"
                    for r in ledger)
    counts = prisma_counts(lr.load(REPO))
    assert prisma_problems(counts) == []
    assert counts["identified_total"] == len(ledger)
    assert counts["screened"] == len(ledger) - duplicates - pending
    assert counts["included"] == sum(r["decision"] == "include" for r in ledger)
    assert counts["sought"] == full_text
    svg = prisma_svg(counts, "flow")
    if not full_text:
        # no full-text stage happened, so none is drawn: the flow says where inclusion was decided instead
        assert "Reports assessed" not in svg and "full text (n = 0)" not in svg
        assert "Eligibility was decided at screening, on each paper&#39;s published record" in svg
    drawn = numbers(counts)
    assert drawn["Records identified"] - drawn["Records removed before screening"] - drawn[
        "Awaiting screening"] == drawn["Records screened (title/abstract and published record)"]


def test_a_flow_with_every_kind_of_record_adds_up_box_by_box(review):
    ev = plant(review,
               row(3, "title_abstract", "exclude", "duplicate", "SCR-0001").replace("planted.3", "fixture.0001"),
               row(4, "title_abstract", "exclude", "review_or_editorial"),
               row(5, "title_abstract", "exclude", "not_about_evs"),
               row(6, "title_abstract", "pending"),
               row(7, "full_text", "exclude", "not_retrievable"),
               row(8, "full_text", "exclude", "no_primary_data"),
               row(9, "full_text", "include"),
               row(10, "full_text", "include"))
    c = prisma_counts(ev)
    assert prisma_problems(c) == []
    # 10 records: 1 duplicate and 1 awaiting screening are not screened; 2 excluded at screening; 2 included there
    assert (c["identified_total"], c["duplicates"], c["pending"], c["screened"]) == (10, 1, 1, 8)
    assert sum(c["excluded_screening"].values()) == 2 and c["included_at_screening"] == 2
    assert (c["sought"], c["not_retrieved"], c["assessed"]) == (4, 1, 3)
    assert c["excluded_full_text"] == {"No primary data on the question": 1}
    assert (c["included_after_full_text"], c["included"]) == (2, 4)
    drawn = numbers(c)
    assert drawn["Reports sought for retrieval (full text)"] - drawn["Reports not retrieved"] == drawn[
        "Reports assessed for eligibility (full text)"]
    assert drawn["Reports assessed for eligibility (full text)"] - drawn["Reports excluded"] == 2
    assert drawn["Studies included in review"] == 4


def test_a_record_awaiting_screening_is_never_counted_as_screened(review):
    before = prisma_counts(plant(review))
    after = prisma_counts(plant(review, row(3, "title_abstract", "pending"), row(4, "full_text", "pending")))
    assert after["screened"] == before["screened"] and after["pending"] == before["pending"] + 2
    assert after["sought"] == before["sought"] == 0 and prisma_problems(after) == []


@pytest.mark.parametrize(("key", "change", "broken"), [
    ("screened", 1, "records identified - duplicates - awaiting screening = records screened"),
    ("pending", 1, "records identified - duplicates - awaiting screening = records screened"),
    ("included_at_screening", 1, "records screened - records excluded = included at screening + reports sought"),
    ("assessed", -1, "reports sought - reports not retrieved = reports assessed"),
    ("included_after_full_text", 1, "reports assessed - reports excluded = included after full-text assessment"),
    ("included", -1, "included at screening + included after full-text assessment = studies included"),
    ("identified_total", 1, "records identified = the sum over sources"),
])
def test_a_flow_that_does_not_add_up_is_caught_and_never_drawn(review, monkeypatch, key, change, broken):
    ev = plant(review, row(3, "full_text", "exclude", "not_retrievable"), row(4, "full_text", "include"))
    counts = prisma_counts(ev)
    counts[key] += change
    assert any(p.startswith(broken + ":") for p in prisma_problems(counts)), prisma_problems(counts)
    monkeypatch.setattr("livingreview.analysis.summaries.prisma_counts", lambda ev, since=None: counts)
    with pytest.raises(ValueError, match="does not add up"):
        chapter.prisma(ev)


def test_a_search_that_claims_more_records_than_the_ledger_holds_is_a_located_error(review):
    plant(review, row(3, "title_abstract", "exclude", "not_about_evs"))
    review.replace(S, "by hand,3,", "by hand,7,")
    result = check(review.root)
    assert [str(p) for p in result.errors] == [
        f"{S}:2:records: SRCH-0001 claims 7 records but {L} holds 3 found by it; expected every record the search "
        "returned written to the ledger"]
    review.replace(S, "by hand,7,", "by hand,2,")
    result = check(review.root)
    assert result.errors == [] and any(f"{S}:2:records:" in str(w) for w in result.warnings)


def test_a_search_log_without_a_ledger_claims_no_records(review):
    review.write_bytes(S, b"id,date,source,query,records,notes\nSRCH-0001,2026-11-01,manual,By hand,4,\n")
    assert [str(p) for p in check(review.root).errors] == [
        f"{S}:2:records: SRCH-0001 claims 4 records but {L} holds 0 found by it; expected every record the search "
        "returned written to the ledger"]


def test_every_search_of_the_repository_is_accounted_for_by_the_ledger():
    problems = [str(p) for p in (*check(REPO).errors, *check(REPO).warnings)]
    assert not [p for p in problems if p.startswith(f"{S}:")], problems
