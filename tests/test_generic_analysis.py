"""Issue 24 item 4: summaries and charts take tables and columns by name, so any review's chapter is a few calls;
the review check's words, the explorer's extra columns and a number's unit are the review's own declarations."""

from __future__ import annotations

import csv
import json
from statistics import mean

import pytest

import livingreview as lr
from conftest import REPO
from livingreview.analysis import summaries as s
from livingreview.checking import review as check
from livingreview.model import declarations as d
from livingreview.model.errors import ValidationError
from livingreview.publishing import figures as f

BCG = REPO / "examples" / "bcg-vaccine"


@pytest.fixture(scope="module")
def bcg():
    return lr.load(BCG)


def _trials() -> list[dict]:
    with (BCG / "data" / "trials.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_means_average_any_numeric_column_per_group_of_another_review(bcg):
    """The mean latitude per allocation of the BCG trials, as the CSV gives it, with each group's rows."""
    got = s.means(bcg, "trials", ["ablat"], by=["alloc"], size="tpos").set_index("alloc")
    alloc = bcg.column_vocab("trials", "alloc")
    expected: dict[str, list[dict]] = {}
    for t in _trials():
        expected.setdefault(alloc.label(t["alloc"]), []).append(t)
    assert set(got.index.astype(str)) == set(expected)
    for label, rows in expected.items():
        assert got.loc[label, "ablat"] == pytest.approx(mean(float(t["ablat"]) for t in rows))
        assert got.loc[label, "rows"] == len(rows) and got.loc[label, "tpos"] == sum(int(t["tpos"]) for t in rows)
    assert got.attrs["titles"]["ablat"] == bcg.declared["trials"].column("ablat").heading


def test_means_keep_the_largest_groups_when_capped(bcg):
    got = s.means(bcg, "trials", ["ablat"], by=["author"], size="tpos", limit=3)
    per_author: dict[str, int] = {}
    for t in _trials():  # an author of several trials is one group, its events summed
        per_author[t["author"]] = per_author.get(t["author"], 0) + int(t["tpos"])
    assert sorted(got["tpos"].astype(int), reverse=True) == sorted(per_author.values(), reverse=True)[:3]
    assert int(got["points_total"].iloc[0]) == len(per_author) < len(_trials())


def test_charts_of_another_review_speak_its_words(bcg):
    """A dot plot, a scatter plot and a range chart of the BCG trials: titled from its declarations, no EV word."""
    dots = f.dot_plot(s.means(bcg, "trials", ["ablat"], by=["author"], size="tpos"), "ablat", title="Latitude",
                      size="tpos").to_dict()
    scatter = f.scatter_chart(s.means(bcg, "trials", ["ablat", "year"], by=["author"], first="alloc"), "year",
                              "ablat", title="Latitude by year", color="alloc").to_dict()
    text = json.dumps([dots, scatter])
    assert "Cargo" not in text and "cancer" not in text.lower() and "patients" not in text.lower()
    heading = bcg.declared["trials"].column("ablat").heading
    assert dots["usermeta"]["table"][1] == ["ablat", f"{heading} (mean)"]
    assert scatter["encoding"]["y"]["title"] == heading


def test_a_range_summary_gives_each_distinct_range_once_with_its_unit(review):
    """The subtypes' sizes: one bar per distinct range and citation; the text form carries the declared unit."""
    path = review.path("data/ev_subtypes.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    review.append("data/ev_subtypes.csv", lines[1].replace("SUBT-0001", "SUBT-0002") + "\n")
    ev = lr.load(review.root)
    ranges = s.ranges(ev, "ev_subtypes", "size_nm_min", "size_nm_max", by="name")
    assert len(ev["ev_subtypes"]) == 2 and len(ranges) == 1  # the repeated range is one bar
    table = s.summary(ev, "ev_subtypes", ["id", "name"], ranges={"size": ("size_nm_min", "size_nm_max")})
    row = ev["ev_subtypes"].iloc[0]
    assert table["size"].iloc[0] == f"{row['size_nm_min']:g}\u2013{row['size_nm_max']:g} nm"
    chart = f.range_chart(ranges, "size_nm_min", "size_nm_max", title="Sizes", log=True).to_dict()
    assert chart["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    assert chart["layer"][0]["encoding"]["x2"]["field"] == "size_nm_max"


def test_the_appendix_states_a_reference_row_in_its_declared_words(review):
    ev = lr.load(review.root)
    row = ev["ev_subtypes"].iloc[0]
    text = s.appendix_rows(ev, "ev_subtypes")["text"].iloc[0]
    label = ev.column_vocab("ev_subtypes", "name").label(row["name"])
    assert text.startswith(f"{label} ({row['size_nm_min']:g}\u2013{row['size_nm_max']:g} nm).")
    assert f"Biogenesis: {row['biogenesis']}" in text and "size_nm" not in text


def test_the_explorer_shows_the_declared_columns_only(review):
    ev = lr.load(review.root)
    assert ev.roles.shown == ("cargo",)
    shown = s.explorer(ev)
    assert shown.attrs["labels"]["cargo"] == "Cargo" and "cargo" in shown.columns
    text = review.path("review.yml").read_text(encoding="utf-8").replace("  shown:\n  - cargo\n", "")
    review.path("review.yml").write_text(text, encoding="utf-8")
    hidden = s.explorer(lr.load(review.root))
    assert "cargo" not in hidden.columns and "cargo" not in hidden.attrs["labels"]


def test_the_review_check_reads_the_reviews_own_words():
    """'tumour growth' says a result in animals only where the review declares it so."""
    row = {"id": "X-1", "evidence_level": "animal", "finding": "Knock-down slowed tumour growth.", "model": "x"}
    plain = check._patterns(())
    worded = check._patterns((("animals", ("tumou?r growth",)),))
    assert [c for c, _ in check._row_flags(row, plain)] == ["evidence_level"]
    assert check._row_flags(row, worded) == []


@pytest.mark.parametrize("old, new, expected", [
    ("    - tumou?r growth\n", "    - '(unclosed'\n", "certainty.wording.animals[1]: not a regular expression"),
    ("  wording:\n    people:\n", "  wording:\n    plants: [moss]\n    people:\n",
     "certainty.wording.plants: unknown key 'plants'"),
    ("  shown:\n  - cargo\n", "  shown:\n  - cargo\n  - nothing_here\n",
     "roles.shown[1]: 'nothing_here' is not a column of mechanisms"),
    ("      maximum: 100000\n      unit: nm\n    - name: size_nm_max",
     "      maximum: 100000\n      unit: nm\n    - name: size_nm_max", None),
    ("    - name: biogenesis\n      type: text\n", "    - name: biogenesis\n      type: text\n      unit: nm\n",
     "unit: a unit belongs to a number or integer column, not a text column"),
])
def test_the_new_declarations_are_checked_and_located(old, new, expected):
    text = (REPO / "review.yml").read_text(encoding="utf-8")
    assert old in text
    if expected is None:
        assert d.read(text.replace(old, new)).tables["ev_subtypes"].column("size_nm_min").unit == "nm"
        return
    with pytest.raises(ValidationError) as info:
        d.read(text.replace(old, new, 1))
    found = [str(p) for p in info.value.problems]
    assert any(expected in p and p.startswith("review.yml:") for p in found), found


def test_the_new_declarations_round_trip_through_dump():
    decl = d.load(REPO)
    again = d.read(d.dump(decl.identity, decl.tables, decl.roles, decl.certainty, library=decl.library,
                          synthesis=decl.synthesis))
    assert again.roles.shown == decl.roles.shown == ("cargo",)
    assert again.certainty.wording == decl.certainty.wording and dict(decl.certainty.wording)["material"]
    assert again.tables["ev_subtypes"].column("size_nm_max").unit == "nm"
