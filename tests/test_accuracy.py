"""Per-marker accuracy forests (issue 25 item 4): drawn only where at least two studies report the same marker's
sensitivity and specificity with group sizes in the same stratum, never pooling different markers, cancers or
samples; the sentence above them is computed from the data."""

from __future__ import annotations

import json
import math
import re

import pytest

import livingreview as lr
from livingreview import meta
from livingreview.analysis import accuracy
from livingreview.publishing import chapter

#: a second study (alpha2020) reporting the fixture's marker in the same cancer type, sample and use as BIOM-0001
#: (beta2021: sensitivity 0.8 of 88 patients, specificity 0.75 of 40 controls)
#: as the EV biomarkers chapter names them: the same marker is pooled only within one cancer type, sample and use
STRATA = ("cancer_type", "sample", "use")
COLUMNS = accuracy.Columns(strata=STRATA)
SECOND = ("BIOM-0003,alpha2020,doi:10.5555/fixture.0001,colorectal,small_ev,Fixture  exosomal miR-3,serum,"
          "diagnosis,60,50,,0.7,0.8,miR-3,mirna,fixture cohort,human_observational,Synthetic second accuracy "
          "finding.,2026-01-07\n")


def test_the_fixture_alone_has_one_row_with_the_data_and_no_marker_to_pool(review, monkeypatch):
    monkeypatch.chdir(review.root)
    ev = lr.load(review.root)
    assert len(accuracy.accuracy_rows(ev, "biomarkers")) == 1
    assert accuracy.marker_groups(ev, "biomarkers", COLUMNS) == []
    html = chapter.accuracy_forests(ev, "biomarkers", strata=STRATA).data
    assert html == ("<p>1 of the 2 rows report sensitivity and specificity together with the numbers of patients and "
                    "controls they were measured in; no marker is reported so by two studies for the same cancer "
                    "type, sample and use, so no diagnostic accuracy is pooled.</p>")


def test_two_studies_of_one_marker_draw_its_forest_of_diagnostic_odds_ratios(review, monkeypatch):
    review.append("data/biomarkers.csv", SECOND)
    (review.root / "_toc.yml").write_text("format: jb-book\nroot: intro\n")  # a book, for the chart's static copy
    monkeypatch.chdir(review.root)
    ev = lr.load(review.root)
    groups = accuracy.marker_groups(ev, "biomarkers", COLUMNS)
    assert [key for key, _ in groups] == [("fixture exosomal miR-3", "colorectal", "serum", "diagnosis")]
    html = chapter.accuracy_forests(ev, "biomarkers", strata=STRATA).data
    assert "1 marker is reported so by at least two studies" in html
    assert html.count('class="lr-chart-data"') == 1
    # the 2x2 tables as the rows report them: 0.8 x 88 = 70.4 -> 70 of 88 cases, 0.75 x 40 = 30 of 40 controls;
    # 0.7 x 60 = 42 of 60, 0.8 x 50 = 40 of 50
    expected = [math.log(70 * 30 / (18 * 10)), math.log(42 * 40 / (18 * 10))]
    rows = groups[0][1]
    assert list(rows[["tp", "fn", "fp", "tn"]].itertuples(index=False, name=None)) == [(70, 18, 10, 30),
                                                                                      (42, 18, 10, 40)]
    dat = meta.escalc("OR", rows, ai="tp", bi="fn", ci="fp", di="tn")
    assert list(dat["yi"]) == pytest.approx(expected)
    pooled = meta.rma(dat["yi"], dat["vi"])
    spec = json.loads(re.search(r'class="lr-chart-spec"[^>]*>(.*?)</script>', html, re.DOTALL).group(1)
                      .replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&"))
    text = json.dumps(spec)
    assert "Diagnostic odds ratio (log scale)" in text
    assert "fixture exosomal miR-3 (colorectal, serum, diagnosis)" in text
    assert f"{math.exp(pooled.beta):.2f}" in text


@pytest.mark.parametrize(("old", "new"), [
    (",serum,diagnosis,60", ",plasma,diagnosis,60"),                # another sample
    (",colorectal,small_ev,Fixture", ",pancreatic,small_ev,Fixture"),  # another cancer
    ("Fixture  exosomal miR-3", "fixture exosomal miR-30"),          # another marker
    (",diagnosis,60", ",prognosis,60"),                              # another use
    ("BIOM-0003,alpha2020,doi:10.5555/fixture.0001", "BIOM-0003,beta2021,PMID:1"),  # the same study again
    (",60,50,,0.7,0.8,", ",60,,,0.7,0.8,"),                          # no controls stated
])
def test_different_markers_cancers_samples_or_one_study_are_never_pooled(review, monkeypatch, old, new):
    review.append("data/biomarkers.csv", SECOND.replace(old, new))
    monkeypatch.chdir(review.root)
    ev = lr.load(review.root)
    assert accuracy.marker_groups(ev, "biomarkers", COLUMNS) == []
    assert "no marker is reported so" in chapter.accuracy_forests(ev, "biomarkers", strata=STRATA).data
