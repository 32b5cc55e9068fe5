"""Certainty per claim (issue 14): the declared rule, fragility, claims as tests, releases and what changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

import livingreview as lr
from conftest import REPO
from livingreview.certainty import RULE, Basis, explain, fragility, rate
from livingreview.cli import main
from livingreview.publish import ATOM, CLAIMS_SCHEMA, atom_feed, claims_json
from livingreview.releases import claim_changes, cut_release, row_changes, trajectory
from livingreview.summaries import claim_basis, claim_status

F = frozenset


def basis(levels: dict[str, str], against: int = 0, cancers: dict[str, str] | None = None) -> Basis:
    """A basis from study -> level, with ``against`` contradicting studies; each study its own cancer by default."""
    by_level: dict[str, set[str]] = {}
    for study, level in levels.items():
        by_level.setdefault(level, set()).add(study)
    cancers = cancers or {s: f"cancer-{s}" for s in levels}
    return Basis({k: F(v) for k, v in by_level.items()}, F(f"x{i}" for i in range(against)),
                 {s: F([c]) for s, c in cancers.items()})


T, H, A, V = "clinical_trial", "human_observational", "animal", "in_vitro"


@pytest.mark.parametrize(("levels", "against", "cancers", "certainty", "start", "reasons"), [
    # start: the strongest level that two studies reach
    ({"a": T, "b": T, "c": H}, 0, None, "high", "high", ()),
    ({"a": T, "b": H, "c": H}, 0, None, "moderate", "moderate", ()),             # one trial is not enough
    ({"a": T, "b": H, "c": A}, 0, None, "moderate", "moderate", ()),             # a trial counts as human data too
    ({"a": A, "b": A, "c": H}, 0, None, "moderate", "moderate", ()),
    # indirectness: preclinical models only
    ({"a": A, "b": A, "c": V}, 0, None, "low", "moderate", ("preclinical",)),
    ({"a": V, "b": V, "c": V}, 0, None, "very_low", "low", ("preclinical",)),
    # indirectness: one cancer type
    ({"a": H, "b": H, "c": H}, 0, {"a": "lung", "b": "lung", "c": "lung"}, "low", "moderate", ("one_cancer",)),
    # a small evidence base
    ({"a": T, "b": T}, 0, None, "moderate", "high", ("small",)),
    # fewer than two studies: start at very low, and the floor holds
    ({"a": T}, 0, None, "very_low", "very_low", ("one_cancer", "small")),
    ({}, 0, None, "very_low", "very_low", ("small",)),
    # inconsistency
    ({"a": T, "b": T, "c": T, "d": T}, 1, None, "moderate", "high", ("contradicted",)),
    ({"a": T, "b": T, "c": T, "d": T}, 2, None, "low", "high", ("strongly_contradicted",)),
    # every step at once, clamped at the floor
    ({"a": A, "b": A}, 3, {"a": "lung", "b": "lung"}, "very_low", "moderate",
     ("preclinical", "one_cancer", "small", "strongly_contradicted")),
])
def test_rule_cases(levels, against, cancers, certainty, start, reasons):
    rating = rate(basis(levels, against, cancers))
    assert (rating.certainty, rating.start, rating.reasons) == (certainty, start, reasons)


def test_ungraded_claims_are_never_below_an_expectation():
    rating = rate(Basis({"": F({"a", "b"})}, graded=False))
    assert rating.certainty is None and rating.label == "Not graded" and not rating.below("high")
    assert explain(rating) == "not graded" and fragility(Basis({"": F({"a"})}, graded=False)) == "-"


def test_rule_is_declared_once_and_printed_in_words():
    assert [name for name, _ in RULE] == ["start", "preclinical", "one_cancer", "small", "contradicted", "floor"]
    assert all(text.endswith(".") and len(text) > 40 for _, text in RULE)


@pytest.mark.parametrize(("levels", "against", "expected"), [
    ({"a": T, "b": T, "c": T}, 0, "1"),           # high; without any one of them, a small base: moderate
    ({"a": T, "b": T, "c": T, "d": T}, 0, "2"),   # three trials still hold high; two do not
    ({"a": V}, 0, "-"),                           # already very low
    ({"a": H, "b": H, "c": H, "d": H, "e": H}, 0, "3"),
    ({"a": H, "b": H, "c": A, "d": A}, 0, "2"),   # moderate; without both human studies, preclinical only: low
])
def test_fragility_is_the_fewest_studies_whose_removal_drops_the_rating(levels, against, expected):
    b = basis(levels, against)
    got = fragility(b)
    assert got == expected
    if got not in ("-",) and not got.endswith("+"):
        # check by brute force: no smaller set drops it, and some set of that size does
        import itertools

        from livingreview.certainty import RATINGS

        now = RATINGS.index(rate(b).certainty)
        for k in range(1, int(got) + 1):
            drops = any(RATINGS.index(rate(b.without(F(s))).certainty) < now
                        for s in itertools.combinations(sorted(b.studies), k))
            assert drops == (k == int(got)), k


def _brute_fragility(b: Basis) -> str:
    """Fragility straight from the definition: rate every removal set through ``Basis.without``."""
    import itertools

    from livingreview.certainty import RATINGS

    rating = rate(b)
    if rating.certainty in (None, RATINGS[0]):
        return "-"
    now = RATINGS.index(rating.certainty)
    studies = sorted(b.studies)
    for k in range(1, len(studies) + 1):
        if any(RATINGS.index(rate(b.without(F(s))).certainty) < now for s in itertools.combinations(studies, k)):
            return str(k)
    return str(len(studies))


def test_fragility_agrees_with_the_definition_on_random_bases():
    """The fast search (summaries of removal sets) must give what rating every ``Basis.without`` gives: studies
    with rows at several levels, cancers shared between studies, contradicting studies."""
    import random

    rng = random.Random(20261201)
    levels = [V, A, H, T]
    seen = set()
    for _ in range(600):
        n = rng.randint(1, 8)
        by_level: dict[str, set[str]] = {}
        cancers = {}
        for i in range(n):
            for lvl in rng.sample(levels, rng.randint(1, 2)):
                by_level.setdefault(lvl, set()).add(f"s{i}")
            cancers[f"s{i}"] = F(rng.sample(["lung", "breast", "liver"], rng.randint(1, 2)))
        b = Basis({k: F(v) for k, v in by_level.items()}, F(f"x{i}" for i in range(rng.randint(0, 3))), cancers)
        got = fragility(b)
        assert got == _brute_fragility(b), (by_level, cancers, b.contradicting)
        seen.add(got)
    assert {"-", "1", "2"} <= seen  # the random bases reach the interesting answers


def test_fragility_of_a_large_base_is_exact():
    # 30 human studies, each its own cancer: moderate until only two are left (a small base), 28 removals
    b = basis({f"s{i}": H for i in range(30)})
    assert rate(b).certainty == "moderate" and fragility(b) == "28"
    # the same with one trial among them: still moderate (one trial is not two); the start falls with 29
    assert fragility(basis({**{f"s{i}": H for i in range(29)}, "t": T})) == "28"


# --- on a review --------------------------------------------------------------------------------------------------


def _set_expected(review, claim_id: str, value: str) -> None:
    path = review.path("data/claims.csv")
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line.replace(",,2026-01-08", f",,{value},2026-01-08") if line.startswith(claim_id + ",")
             and line.endswith(",,2026-01-08") else line for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_retracted_and_unknown_keys_never_count(review):
    ev = lr.load(review.root)
    mech = ev.mechanisms.copy()
    mech.at[0, "citekeys"] = ("alpha2020", "gamma2019", "nosuchkey")  # gamma2019 is retracted
    ev = dataclasses.replace(ev, tables={**ev.tables, "mechanisms": mech})
    b = claim_basis(ev, ev.claims.iloc[0])
    assert b.studies == {"alpha2020", "beta2021"}


def test_validate_claims_fails_for_a_claim_below_its_expectation(review):
    runner = CliRunner()
    assert runner.invoke(main, ["validate", "--claims", "--root", str(review.root)]).exit_code == 0
    text = review.path("data/claims.csv").read_text(encoding="utf-8")
    review.path("data/claims.csv").write_text(text.replace(",hallmark=migration|angiogenesis,,,",
                                                           ",hallmark=migration|angiogenesis,,high,"), encoding="utf-8")
    assert runner.invoke(main, ["validate", "--root", str(review.root)]).exit_code == 0  # only --claims judges claims
    result = runner.invoke(main, ["validate", "--claims", "--root", str(review.root)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(
        "data/claims.csv:2:expected: claim CLAIM-0001 is asserted as high but the evidence gives very low")
    review.path("data/claims.csv").write_text(text.replace(",hallmark=migration|angiogenesis,,,",
                                                           ",hallmark=migration|angiogenesis,,very_low,"),
                                              encoding="utf-8")
    assert runner.invoke(main, ["validate", "--claims", "--root", str(review.root)]).exit_code == 0


@pytest.fixture
def released(review):
    for name in ("CHANGELOG.md", "CITATION.cff"):
        shutil.copy(REPO / name, review.root / name)
    cut_release(review.root, "2026.12", dt.date(2026, 12, 1))
    return review


def test_release_writes_a_snapshot_and_dates_citation_and_changelog(released):
    root = released.root
    snap = json.loads((root / "releases" / "2026.12.json").read_text())
    assert snap["version"] == "2026.12" and snap["date"] == "2026-12-01"
    assert set(snap["tables"]["mechanisms"]) == {"MECH-0001", "MECH-0002"}
    assert snap["claims"]["CLAIM-0001"]["supporting_rows"] == ["MECH-0001", "MECH-0002"]
    cff = (root / "CITATION.cff").read_text()
    assert 'version: "2026.12"' in cff and 'date-released: "2026-12-01"' in cff
    assert "## 2026.12 (2026-12-01)\n\n" in (root / "CHANGELOG.md").read_text()
    assert [r.version for r in lr.load(root).releases] == ["2026.12"]


@pytest.mark.parametrize(("version", "message"), [
    ("2026.12", "exists already"), ("2026.11", "is not after the latest release 2026.12"),
    ("26.1", "is not a dated version"), ("2026.12/../../x", "is not a dated version"),
])
def test_release_refuses_existing_backwards_and_malformed_versions(released, version, message):
    result = CliRunner().invoke(main, ["release", version, "--root", str(released.root)])
    assert result.exit_code == 2 and message in result.output


def test_a_malformed_snapshot_is_a_located_error(released):
    path = released.root / "releases" / "2026.12.json"
    data = json.loads(path.read_text())
    del data["claims"]["CLAIM-0001"]["certainty"]
    path.write_text(json.dumps(data))
    found = [str(p) for p in lr.validate(released.root)]
    assert any(m.startswith("releases/2026.12.json:1:claims.CLAIM-0001: 'certainty' is a required property")
               for m in found), found


def test_a_contradicting_row_after_a_release_shows_the_change_and_the_row(released):
    before = {r["id"]: r for r in claim_status(lr.load(released.root)).to_dict(orient="records")}
    assert row_changes(lr.load(released.root)).empty
    released.append("data/mechanisms.csv", "MECH-0003,alpha2020,PMID:1,melanoma,small_ev,migration,tumour cells,,,,"
                                           "mirna,"
                                           "fixture cohort,human_observational,Synthetic contradicting finding.,"
                                           "2026-12-01\n")
    text = released.path("data/claims.csv").read_text()
    released.path("data/claims.csv").write_text(text.replace("hallmark=migration|angiogenesis,,",
                                                             "hallmark=migration|angiogenesis,MECH-0003,"))
    ev = lr.load(released.root)
    assert list(row_changes(ev).itertuples(index=False, name=None)) == [
        ("mechanisms", "added", "MECH-0003"), ("claims", "changed", "CLAIM-0001")]
    changes = claim_changes(ev)
    row = changes[changes["id"] == "CLAIM-0001"].iloc[0]
    assert (row["against_before"], row["against_now"]) == (0, 1) and row["against_added"] == ("MECH-0003",)
    assert before["CLAIM-0001"]["contradicting_studies"] == 0
    path = trajectory(ev)
    assert list(path[path["id"] == "CLAIM-0001"]["release"]) == ["2026.12", "now"]
    from livingreview import chapter

    text = chapter.changes_since_release(ev).data
    assert "CLAIM\\-0001" in text and "contradicting 0 → 1" in text
    assert 'New contradicting rows: <a href="03_mechanisms.html#MECH-0003">MECH-0003</a>' in text


def test_claims_json_and_the_feed_validate(released):
    ev = lr.load(released.root)
    data = claims_json(ev)
    jsonschema.validate(data, CLAIMS_SCHEMA)
    assert data["claims"][0]["history"] == [{"release": "2026.12", "date": "2026-12-01", "certainty": "very_low",
                                             "studies": 2, "contradicting_studies": 0}]
    feed = ET.fromstring(atom_feed(ev))
    ns = {"a": ATOM}
    assert feed.tag == f"{{{ATOM}}}feed"
    for tag in ("id", "title", "updated", "author/a:name"):
        assert feed.find(f"a:{tag}", ns) is not None, tag
    entries = feed.findall("a:entry", ns)
    assert entries and len({e.find("a:id", ns).text for e in entries}) == len(entries)  # ids unique
    for entry in entries:
        for tag in ("id", "title", "updated", "summary"):
            assert (entry.find(f"a:{tag}", ns).text or "").strip(), tag
        assert entry.find("a:link[@rel='alternate']", ns) is not None
        dt.datetime.strptime(entry.find("a:updated", ns).text, "%Y-%m-%dT%H:%M:%SZ")
