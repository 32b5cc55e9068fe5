"""The appendix, where every row of every table has its anchor, and the links and labels that point there."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest

import livingreview as lr
from conftest import REPO, TABLES
from livingreview.analysis import summaries
from livingreview.analysis.history import cut_release, version_label
from livingreview.curation.edit import withdraw_row
from livingreview.model.text import cite_anchor
from livingreview.publishing import chapter
from livingreview.publishing.render import row_list_html

PAYLOAD = '<img src=x onerror="alert(1)">'
# the ledger includes every cited study, and one study that no row cites yet (awaiting extraction)
LEDGER = "".join(f"SCR-000{n},{doi},{pmid},{title},{year},SRCH-0001,title_abstract,include,,,{key},2026-01-05,"
                 "maintainers\n"
                 for n, (doi, pmid, title, year, key) in enumerate((
                     ("10.5555/fixture.0001", "", "A synthetic fixture study", 2020, "alpha2020"),
                     ("", "1", "A second synthetic fixture study", 2021, "beta2021"),
                     ("10.5555/fixture.0004", "", "A fourth synthetic fixture study", 2022, "delta2022")), 1))
SEARCH_ROW = "SRCH-0001,2026-01-04,manual,Fixture identification,3,\n"
DELTA = """
@article{delta2022,
  author = {Fourth, Dee},
  title = {{A fourth synthetic fixture study}},
  journal = {Journal of Test Fixtures},
  year = {2022},
  doi = {10.5555/fixture.0004},
}
"""


def _ledger(review) -> None:
    review.append("references.bib", DELTA)
    review.append("data/searches.csv", SEARCH_ROW)
    review.append("data/screening.csv", LEDGER)


@pytest.fixture
def full(review):
    """The mini review with a search, a ledger inclusion and a withdrawn row, so every appendix table has rows."""
    _ledger(review)
    withdraw_row(review.root, "mechanisms", "MECH-0002", "A duplicate, for the test.")
    return review


def test_the_appendix_lists_every_row_of_every_table(full):
    ev = lr.load(full.root)
    for name in summaries.appendix_tables(ev):
        rows = summaries.appendix_rows(ev, name)
        assert sorted(rows["id"]) == sorted(ev.tables[name]["id"].astype(str)), name  # each row once
        assert (rows["text"].str.len() > 0).all(), name
    withdrawn = summaries.appendix_rows(ev, "withdrawn")
    assert withdrawn["anchors"].iloc[0] == ("MECH-0002",)  # the old id still lands on the withdrawn row
    assert "Synthetic fixture finding two" in withdrawn["text"].iloc[0]


def test_findings_are_grouped_as_on_their_page_in_vocabulary_order(review):
    ev = lr.load(review.root)
    rows = summaries.appendix_rows(ev, "mechanisms")
    hallmark = TABLES["mechanisms"].column("hallmark").vocab
    order = [hallmark.label(t) for t in hallmark.values]
    assert list(rows["group"]) == sorted(rows["group"], key=order.index)
    assert set(rows["group"]) == {hallmark.label(h) for h in ev.mechanisms["hallmark"].astype(str)}


def test_every_cited_key_includes_keys_cited_only_by_the_ledger_or_a_withdrawn_row(review):
    ev = lr.load(review.root)
    assert summaries.every_cited_key(ev) == ["alpha2020", "beta2021"]
    _ledger(review)
    review.replace("data/biomarkers.csv", "BIOM-0001,beta2021,PMID:1,", "BIOM-0001,alpha2020,doi:10.5555/fixture.0001,")
    withdraw_row(review.root, "mechanisms", "MECH-0002", "A duplicate, for the test.")
    ev = lr.load(review.root)
    assert "beta2021" not in {k for df in (ev.mechanisms, ev.biomarkers) for cell in df["citekeys"] for k in cell}
    assert summaries.every_cited_key(ev) == ["alpha2020", "beta2021", "delta2022"]


def test_the_appendix_html_escapes_data_and_anchors_every_row(full):
    full.replace("data/mechanisms.csv", "Synthetic fixture finding one.", "Finding one " + PAYLOAD.replace('"', '""'))
    ev = lr.load(full.root)
    html = chapter.all_rows(ev, "mechanisms").data
    assert PAYLOAD not in html and "&lt;img src=x" in html
    assert re.findall(r'<p class="lr-row" id="(MECH-\d+)"', html) == ["MECH-0001"]
    assert f'href="bibliography.html#{cite_anchor("alpha2020")}">Example and Sample, 2020</a>' in html
    withdrawn = chapter.all_rows(ev, "withdrawn").data
    assert '<span id="MECH-0002"></span>' in withdrawn and 'id="WDR-0001"' in withdrawn


def test_row_list_html_drops_ids_and_keys_that_are_not_ids_or_keys():
    import pandas as pd

    df = pd.DataFrame({"group": ["G"], "id": ['X-1" onmouseover="x'], "text": ["t"], "citekeys": [("k",)],
                       "source": [()], "facts": [""], "anchors": [()]})
    assert "onmouseover" not in row_list_html(df, "mechanisms", {})
    df["id"] = ["MECH-0001"]
    df["citekeys"] = [('bad"key', "good")]
    html = row_list_html(df, "mechanisms", {"good": "Good, 2020"}, bibliography="bibliography.html")
    assert "bad" not in html and "bibliography.html#cite-good" in html and 'id="group-mechanisms-g"' in html
    # a book without a bibliography page: the citation is named, never linked to a page that does not exist
    plain = row_list_html(df, "mechanisms", {"good": "Good, 2020"})
    assert "Good, 2020" in plain and "href" not in plain


def test_row_links_land_where_rows_have_anchors():
    links = chapter._row_links(["MECH-0001", "CLAIM-0002", "PMN-0009"], linkable={"MECH-0001", "CLAIM-0002"})
    assert links == ('<a href="12_appendix.html#MECH-0001">MECH-0001</a>, '
                     '<a href="07_claims.html#CLAIM-0002">CLAIM-0002</a>, PMN-0009')
    many = [f"MECH-{i:04d}" for i in range(1, 12)]
    assert chapter._row_links(many, 4).count("<a ") == 11  # without a claim, every row keeps its own link
    capped = chapter._row_links(many, 4, claim="CLAIM-0003")
    assert capped.count("12_appendix.html#") == 4
    assert capped.endswith('<a href="08_evidence_map.html?claim=CLAIM-0003#explorer-explorer">all 11 rows</a>')


def test_the_explorer_lists_the_claims_each_row_supports(review):
    ev = lr.load(review.root)
    rows = summaries.explorer(ev).set_index("id")
    assert rows.loc["MECH-0001", "claims"] == "CLAIM-0001" and rows.loc["MECH-0002", "claims"] == "CLAIM-0001"
    assert rows.loc["BIOM-0002", "claims"] == ""  # it contradicts CLAIM-0002, it does not support it


def test_citation_labels_read_as_the_books_citations(review):
    lib = lr.load(review.root).library
    assert summaries.citation_label(lib["alpha2020"]) == "Example and Sample, 2020"
    assert summaries.citation_label(lib["beta2021"]) == "Müller, 2021"
    review.replace("references.bib", "author = {Example, Ada and Sample, Bo}", "author = {Example, Ada and others}")
    assert summaries.citation_label(lr.load(review.root).library["alpha2020"]) == "Example et al., 2020"
    review.replace("references.bib", "author = {Example, Ada and others}",
                   "author = {Example, Ada and Sample, Bo and Third, Cy}")
    assert summaries.citation_label(lr.load(review.root).library["alpha2020"]) == "Example et al., 2020"


def test_the_version_label_says_when_the_data_are_unreleased(review):
    assert version_label(lr.load(review.root)).endswith(", unreleased (no release yet)")
    for name in ("CHANGELOG.md", "CITATION.cff"):
        shutil.copy(REPO / name, review.root / name)
    cut_release(review.root, "2026.12", dt.date(2026, 12, 1))
    assert version_label(lr.load(review.root)) == "2026.12"
    review.replace("data/mechanisms.csv", "Synthetic fixture finding one.", "Synthetic fixture finding one (edited).")
    assert version_label(lr.load(review.root)) == "2026.12 + 1 changed row, unreleased"
    withdraw_row(review.root, "mechanisms", "MECH-0002", "A duplicate, for the test.")
    assert version_label(lr.load(review.root)) == "2026.12 + 2 changed rows, unreleased"
