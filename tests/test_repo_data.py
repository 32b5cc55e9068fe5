"""The repository's own evidence base: valid, fully cited, and readable by pybtex as the book reads it."""

from __future__ import annotations

from collections import Counter

import pytest
from pybtex.database import parse_file

import livingreview as lr
from conftest import REPO
from livingreview.analysis.summaries import cited_keys


@pytest.fixture(scope="module")
def ev() -> lr.Evidence:
    return lr.load(REPO)


def test_repository_validates_without_errors():
    assert [str(p) for p in lr.validate(REPO) if p.severity is lr.Severity.ERROR] == []


def test_every_citekey_resolves_and_no_retracted_support(ev):
    for key in cited_keys(ev):
        assert key in ev.library, key
        assert not ev.library[key].retracted, key


def test_every_entry_has_a_record_of_the_declared_kinds_and_dois_are_unique(ev):
    refs = ev.library.references.values()
    kinds = ev.declarations.library.records
    # supporting entries need a record the policy counts (a DOI, PMID or PMC article); a retracted entry (never
    # support) may point to its retraction record
    assert all(any(r.record(k) for k in kinds) for r in refs if not r.retracted)
    assert all(r.doi or r.pmid or r.pmcid or r.url for r in refs)
    dois = Counter(r.doi.lower() for r in refs if r.doi)
    assert [d for d, n in dois.items() if n > 1] == []


def test_pybtex_reads_every_entry(ev):
    data = parse_file(str(REPO / "references.bib"), "bibtex")
    assert set(data.entries) == set(ev.library.references)


def test_every_claim_selects_rows(ev):
    from livingreview.checking.claims import matches, parse_selector

    for claim in ev.claims.itertuples():
        rows = ev[claim.table]
        assert matches(rows, parse_selector(claim.where)).any(), claim.id


def test_planted_faults_in_a_copy_of_the_repository_are_each_located(tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(REPO / "data", root / "data")
    shutil.copy(REPO / "references.bib", root / "references.bib")
    shutil.copy(REPO / "review.yml", root / "review.yml")
    pmn = (root / "data/pmn.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    mech = (root / "data/mechanisms.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    pmn[1] = pmn[1].replace(",liver,", ",lungs,", 1) if ",liver," in pmn[1] else pmn[1].replace(",lung,", ",lungs,", 1)
    organ_line = 2
    mech[2] = mech[2].split(",", 1)[0] + ",nosuchkey2099," + mech[2].split(",", 2)[2]  # unknown citekey
    mech[3] = mech[4].split(",", 1)[0] + "," + mech[3].split(",", 1)[1]  # duplicate id of line 5
    mech[5] = ",".join([*mech[5].split(",")[:3], "", *mech[5].split(",")[4:]])  # missing cancer_type
    (root / "data/pmn.csv").write_text("".join(pmn), encoding="utf-8")
    (root / "data/mechanisms.csv").write_text("".join(mech), encoding="utf-8")
    bib = (root / "references.bib").read_text(encoding="utf-8")
    bib += "\n@article{Hoshino2015,\n  author = {X, Y},\n  title = {{T}},\n  journal = {J},\n  year = {2015},\n" \
           "  doi = {10.5555/planted},\n}\n\n@article{broken2020,\n  title = {unbalanced\n"
    (root / "references.bib").write_text(bib, encoding="utf-8")
    errors = [str(p) for p in lr.validate(root) if p.severity is lr.Severity.ERROR]
    text = "\n".join(errors)
    assert f"data/pmn.csv:{organ_line}:target_organ: unknown value 'lungs'" in text
    assert "data/mechanisms.csv:3:citekeys: unknown citekey 'nosuchkey2099'" in text
    assert "data/mechanisms.csv:5:id: duplicate id" in text
    assert "data/mechanisms.csv:6:cancer_type: missing value for required column cancer_type" in text
    assert "key 'Hoshino2015' differs only in case from 'hoshino2015'" in text
    assert "malformed BibTeX block starting '@article{broken2020,'" in text


#: words of a donor_cell cell that name a source other than tumour cells (stroma, immune cells, blood)
NON_TUMOUR_DONOR = (r"(?i)fibroblast|macrophage|adipocyte|adipose|platelet|astrocyte|mesenchymal st|stromal|"
                    r"circulating|blood")


def test_claims_about_tumour_evs_select_only_tumour_donors(ev):
    from livingreview.analysis.summaries import claim_rows

    tumour_claims = ev.claims[ev.claims["claim"].str.match(r"Tumour(?:-derived)? EVs") &
                              (ev.claims["table"] == "mechanisms")]
    assert len(tumour_claims) >= 2  # CLAIM-0003 and CLAIM-0007 at the audit
    for _, claim in tumour_claims.iterrows():
        support, _ = claim_rows(ev, claim)
        stray = support[support["donor_cell"].str.contains(NON_TUMOUR_DONOR)]
        assert stray.empty, (claim["id"], dict(zip(stray["id"], stray["donor_cell"], strict=True)))
