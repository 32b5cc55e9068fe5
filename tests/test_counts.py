"""One number for one thing (issue 22): every page and artefact that states a count states the same one."""

from __future__ import annotations

import csv
import json
import re

import livingreview as lr
from conftest import REPO
from livingreview.analysis.summaries import prisma_counts
from livingreview.publishing import chapter
from livingreview.publishing.render import prisma_svg

#: what every page calls the findings rows of the EV review
FINDINGS_ROWS = "findings rows in the four evidence tables"
MAPS = (("hallmark map", "mechanisms", "mechanism rows"), ("organ map", "pmn", "premetastatic-niche rows"))

EVIDENCE = ("mechanisms", "pmn", "therapies", "biomarkers")


def rows(root, table: str) -> int:
    """Data rows of ``data/TABLE.csv``, read with the csv module (not with the package that is being checked)."""
    with (root / "data" / f"{table}.csv").open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for record in csv.DictReader(fh) if any(record.values()))


def top_entry(changelog: str) -> str:
    """The text of the first ``## `` section of the CHANGELOG."""
    return re.split(r"^## ", changelog, flags=re.M)[1]


def test_the_findings_rows_are_one_number_on_every_page_that_states_them():
    findings, subtypes = sum(rows(REPO, t) for t in EVIDENCE), rows(REPO, "ev_subtypes")
    ev = lr.load(REPO)
    intro = chapter.status_block(ev).data
    assert f"**{findings}** {FINDINGS_ROWS} and **{subtypes}** EV subtype rows" in intro
    assert f"rows, of the {findings} {FINDINGS_ROWS}" in chapter.coverage_note(ev, MAPS).data
    counts = prisma_counts(ev)
    flow = prisma_svg(counts, "flow")
    assert f"Findings rows in the four evidence tables citing them: {findings}" in flow
    assert f"EV subtype rows citing them: {subtypes}" in flow
    table = chapter.exclusions_table(ev).data
    assert re.search(rf"\| Findings rows in the four evidence tables citing included studies \| {findings} \|", table)
    assert re.search(rf"\| EV subtype rows citing included studies \| {subtypes} \|", table)
    # the CHANGELOG's top entry names the same count in the same words, and what it was at the last release
    entry = top_entry((REPO / "CHANGELOG.md").read_text(encoding="utf-8"))
    stated = re.findall(r"(\d+) findings rows in\s+the four evidence tables", entry)
    assert stated == [str(findings)], stated
    last = ev.releases[-1] if ev.releases else None
    if last is not None:
        snapshot = json.loads((REPO / "releases" / f"{last.version}.json").read_text(encoding="utf-8"))
        before = sum(len(snapshot["tables"].get(t, {})) for t in EVIDENCE)
        assert f"(was {before} at release {last.version})" in entry
    # a page never calls the subtype rows, claims or withdrawn rows by the findings rows' name
    assert not re.search(r"\d+\s+evidence rows", entry + intro)


def test_the_counts_follow_a_change_of_the_data(review):
    """A row added to one evidence table moves every statement of the count, and only the findings count."""
    ev = lr.load(review.root)
    findings = sum(rows(review.root, t) for t in EVIDENCE)
    assert f"**{findings}** {FINDINGS_ROWS}" in chapter.status_block(ev).data
    path = review.root / "data" / "pmn.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        header, *records = list(csv.reader(fh))
    planted = dict(zip(header, records[-1], strict=True))
    planted.update(id="PMN-0099", finding="A planted synthetic finding about vesicles and the lung niche in a model.")
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow([planted[c] for c in header])
    ev = lr.load(review.root)
    assert f"**{findings + 1}** {FINDINGS_ROWS}" in chapter.status_block(ev).data
    note = chapter.coverage_note(ev, MAPS).data
    assert f"rows, of the {findings + 1} {FINDINGS_ROWS}" in note
    assert f"organ map from its {rows(review.root, 'pmn')} premetastatic-niche rows" in note
