"""Certainty per claim (issue 14): the declared rule, fragility, claims as tests, releases and what changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import shutil
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

import livingreview as lr
from conftest import REPO
from livingreview.analysis import certainty
from livingreview.analysis.certainty import STREAM, STREAMS, explain, fragility, not_grade, rate, reasons, rule
from livingreview.analysis.history import claim_changes, cut_release, row_changes, trajectory
from livingreview.analysis.summaries import claim_basis, claim_status
from livingreview.checking.claims import parse_selector
from livingreview.commands.cli import main
from livingreview.model.declarations import load as load_declarations
from livingreview.publishing.publish import ATOM, CLAIMS_SCHEMA, atom_feed, claims_json

F = frozenset
T, H, A, V = "clinical_trial", "human_observational", "animal", "in_vitro"

#: the EV review's rule, as its review.yml declares the rule's inputs
INPUTS = load_declarations(REPO).certainty
RULE, REASONS, NOT_GRADE = rule(INPUTS, ("EV subtypes",)), reasons(INPUTS), not_grade(INPUTS)
#: a basis judged on the EV review's directness facets
Basis = functools.partial(certainty.Basis, directness=tuple(f for f, _ in INPUTS.directness))


def basis(levels: dict[str, str | tuple[str, ...]], against: dict[str, str] | None = None,
          cancers: dict[str, str] | None = None, rct: set[str] | None = None, patients: dict[str, int] | None = None,
          scope: set[str] | None = None) -> Basis:
    """A basis from study -> level(s); ``against`` maps contradicting studies to their stream; each study has its
    own cancer type unless ``cancers`` says otherwise; ``scope`` is the claim's declared cancer types."""
    by_level: dict[str, set[str]] = {}
    for study, level in levels.items():
        for lvl in (level,) if isinstance(level, str) else level:
            by_level.setdefault(lvl, set()).add(study)
    cancers = cancers or {s: f"cancer-{s}" for s in levels}
    return Basis({k: F(v) for k, v in by_level.items()}, F(against or {}),
                 {"cancer_type": {s: F([c]) for s, c in cancers.items()}}, rct=F(rct or ()),
                 patients=dict(patients or {}), against=dict(against or {}),
                 scope={"cancer_type": F(scope)} if scope else {})


def trials(n: int, each: int = 50, randomised: bool = False, prefix: str = "t") -> dict:
    """``n`` trial studies of ``each`` patients, randomised and controlled or not."""
    keys = [f"{prefix}{i}" for i in range(n)]
    return {"levels": dict.fromkeys(keys, T), "patients": dict.fromkeys(keys, each),
            "rct": set(keys) if randomised else None}


def same(n: int, level: str, prefix: str = "s") -> dict[str, str]:
    return {f"{prefix}{i}": level for i in range(n)}


@pytest.mark.parametrize(("kwargs", "certainty", "stream", "reasons"), [
    # study design: where each stream starts
    (trials(3, randomised=True), "high", "rct", ()),
    (trials(3), "low", "trial", ()),                                      # trials not stated to be randomised
    ({"levels": same(3, H)}, "low", "human_observational", ()),
    ({"levels": same(3, A)}, "moderate", "animal", ("indirect_animal",)),
    ({"levels": same(3, V)}, "low", "in_vitro", ("indirect_in_vitro",)),
    # the claim takes its best stream: many animal studies outrank two small uncontrolled trials
    ({"levels": {**same(5, A), "t0": T, "t1": T}, "patients": {"t0": 11, "t1": 20}}, "moderate", "animal",
     ("indirect_animal",)),
    ({"levels": {"t0": T, "t1": T}, "patients": {"t0": 11, "t1": 20}}, "very_low", "trial",
     ("small", "few_patients")),
    # a study with a mouse experiment and a patient cohort counts once, as an animal experiment
    ({"levels": {"a": (A, H), "b": (A, H), "c": (A, V)}}, "moderate", "animal", ("indirect_animal",)),
    # a randomised controlled trial that is also reported as an animal study stays a trial
    ({"levels": {f"t{i}": (T, A) for i in range(3)}, "patients": {f"t{i}": 50 for i in range(3)},
      "rct": {"t0", "t1", "t2"}}, "high", "rct", ()),
    # indirectness against the claim's declared scope
    ({"levels": same(3, H), "cancers": dict.fromkeys(same(3, H), "pancreatic")}, "very_low", "human_observational",
     ("narrow",)),
    ({"levels": same(3, H), "cancers": dict.fromkeys(same(3, H), "pancreatic"), "scope": {"pancreatic"}}, "low",
     "human_observational", ()),
    ({"levels": same(3, H), "cancers": dict.fromkeys(same(3, H), "pancreatic"), "scope": {"pancreatic", "lung"}},
     "very_low", "human_observational", ("narrow",)),
    # imprecision: few studies, and few patients in trials
    (trials(2, each=100, randomised=True), "moderate", "rct", ("small",)),
    (trials(3, each=30, randomised=True), "moderate", "rct", ("few_patients",)),
    (trials(3, each=33, randomised=True), "moderate", "rct", ("few_patients",)),   # 99 patients
    (trials(4, each=25, randomised=True), "high", "rct", ()),                      # 100 patients
    # inconsistency weighs contradiction against support by level and number
    ({"levels": same(8, A), "against": {"x": V}}, "moderate", "animal", ("indirect_animal",)),  # weaker: ignored
    ({"levels": same(8, A), "against": {"x": A}}, "moderate", "animal", ("indirect_animal",)),  # 1 in 8: ignored
    ({"levels": same(8, A), "against": {"x": A, "y": H}}, "low", "animal", ("indirect_animal", "contradicted")),
    ({"levels": same(8, A), "against": {f"x{i}": H for i in range(4)}}, "very_low", "animal",
     ("indirect_animal", "strongly_contradicted")),
    ({"levels": same(4, H), "against": {"x": A, "y": A}}, "low", "human_observational", ()),  # further from patients
    ({"levels": same(4, H), "against": {"x": "trial"}}, "very_low", "human_observational", ("contradicted",)),
    # no supporting study, and the floor
    ({"levels": {}}, "very_low", None, ("none",)),
    ({"levels": {"a": V}, "against": {"x": H}}, "very_low", "in_vitro",
     ("indirect_in_vitro", "narrow", "small", "strongly_contradicted")),
])
def test_rule_cases(kwargs, certainty, stream, reasons):
    rating = rate(basis(**kwargs))
    assert (rating.certainty, rating.stream, rating.reasons) == (certainty, stream, reasons)
    assert rating.start == (STREAM[stream].start if stream else None)


def test_only_facets_the_claim_leaves_open_and_its_table_records_count_for_directness():
    lung = basis(same(3, H), cancers=dict.fromkeys(same(3, H), "lung"), scope={"lung"})
    assert rate(lung).reasons == () and "target_organ" not in lung.facets  # a table without organs
    organs = {"target_organ": dict.fromkeys(same(3, H), F(["liver"]))}
    one_organ = dataclasses.replace(lung, facets={**lung.facets, **organs})
    assert rate(one_organ).reasons == ("narrow",)
    assert rate(dataclasses.replace(one_organ, scope={**one_organ.scope, "target_organ": F(["liver"])})).reasons == ()


def test_tied_streams_are_explained_by_the_one_closest_to_patients():
    rating = rate(basis({**same(3, H), **same(2, A, "a")}))
    assert rating.certainty == "low" and rating.stream == "human_observational"
    assert explain(rating) == "Low (observational studies in patients: started low)"


def test_a_contradicting_study_of_unknown_design_weighs_against_every_stream():
    b = basis(**trials(4, randomised=True))
    assert rate(b).certainty == "high"
    assert rate(dataclasses.replace(b, contradicting=F({"x"}))).reasons == ("contradicted",)


def test_explain_says_the_stream_its_start_and_every_step():
    rating = rate(basis({"t0": T, "t1": T}, patients={"t0": 11}))
    assert explain(rating) == ("Very low (other clinical trials: started low; lowered for fewer than 3 studies, "
                               "fewer than 100 patients in its trials)")
    assert explain(rate(basis({}))) == "Very low (no supporting study)"


def test_ungraded_claims_are_never_below_an_expectation():
    rating = rate(Basis({"": F({"a", "b"})}, graded=False))
    assert rating.certainty is None and rating.label == "Not graded" and not rating.below("high")
    assert explain(rating) == "not graded" and fragility(Basis({"": F({"a"})}, graded=False)) == "-"


def test_rule_is_declared_once_and_printed_in_words():
    assert [name for name, _ in RULE] == ["streams", "start", "indirectness", "scope", "imprecision",
                                          "inconsistency", "best", "floor"]
    assert all(text.endswith(".") and len(text) > 40 for _, text in RULE)
    # every reason the rule can give is said in words, and each stream is named in the printed rule
    assert set(REASONS) >= {"narrow", "small", "few_patients", "contradicted", "strongly_contradicted", "none"}
    assert all(s.label in " ".join(text for _, text in RULE) for s in STREAMS)
    assert "not a full GRADE assessment" in NOT_GRADE


@pytest.mark.parametrize(("kwargs", "expected"), [
    (trials(3, randomised=True), "1"),                    # high; without any one, a small base
    (trials(4, each=30, randomised=True), "1"),           # 120 patients; without any one, 90
    (trials(5, each=50, randomised=True), "3"),           # a small base is the cheapest way down
    ({"levels": same(1, V)}, "-"),                        # already very low
    ({"levels": same(5, H)}, "3"),
    ({"levels": same(9, A), "against": {"x": A}}, "5"),   # 1 against 4 left is a quarter
    ({"levels": {**same(3, H), **same(2, A, "a")}}, "2"),  # both tied streams must fall: one study each
])
def test_fragility_is_the_fewest_studies_whose_removal_drops_the_rating(kwargs, expected):
    b = basis(**kwargs)
    assert fragility(b) == expected == _brute_fragility(b)


def _brute_fragility(b: Basis) -> str:
    """Fragility straight from the definition: rate every removal set through ``Basis.without``."""
    import itertools

    from livingreview.analysis.certainty import RATINGS

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
    """The per-stream search must give what rating every ``Basis.without`` gives: studies with rows at several
    levels, randomised and other trials with stated patients, cancers shared between studies, a declared scope,
    and contradicting studies of every design."""
    import random

    rng = random.Random(20261207)
    streams = [s.name for s in STREAMS]
    seen = set()
    for _ in range(700):
        n = rng.randint(1, 7)
        by_level: dict[str, set[str]] = {}
        cancers, rct, patients = {}, set(), {}
        for i in range(n):
            for lvl in rng.sample([V, A, H, T, T], rng.randint(1, 2)):
                by_level.setdefault(lvl, set()).add(f"s{i}")
            cancers[f"s{i}"] = F(rng.sample(["lung", "breast", "liver"], rng.randint(1, 2)))
            if rng.random() < 0.5:
                rct.add(f"s{i}")
            patients[f"s{i}"] = rng.choice([10, 30, 60, 120])
        against = {f"x{i}": rng.choice(streams) for i in range(rng.choice([0, 0, 1, 2, 3]))}
        facets = {"cancer_type": cancers}
        if rng.random() < 0.5:  # a second directness facet, as the niche table records organs
            facets["target_organ"] = {f"s{i}": F([rng.choice(["lung", "liver"])]) for i in range(n)}
        scope = {f: F(rng.sample(["lung", "breast"], rng.randint(1, 2))) for f in facets if rng.random() < 0.3}
        b = Basis({k: F(v) for k, v in by_level.items()}, F(against), facets, rct=F(rct),
                  patients=patients, against=against, scope=scope)
        got = fragility(b)
        assert got == _brute_fragility(b), (by_level, facets, rct, patients, against, scope)
        seen.add(got)
    assert {"-", "1", "2", "3"} <= seen  # the random bases reach the interesting answers


def test_fragility_of_a_large_base_is_exact():
    # 30 observational studies, each its own cancer: low until only two are left (a small base), 28 removals
    b = basis(same(30, H))
    assert rate(b).certainty == "low" and fragility(b) == "28"
    # 12 animal studies against 2 animal contradictions: moderate until 8 are left (a quarter), 4 removals
    assert fragility(basis(same(12, A), against={"x": A, "y": A})) == "4"


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


def test_a_claim_basis_reads_scope_trial_design_and_contradicting_designs(review):
    review.append("data/therapies.csv", "THER-0002,beta2021,PMID:1,melanoma,small_ev,"
                                        "vaccine_immunotherapy,fixture exosomes,,phase_1,,safe,phase_1,yes,yes,40,,"
                                        "not_applicable,fixture patients,clinical_trial,Synthetic trial finding.,"
                                        "2026-01-05\n")
    review.append("data/claims.csv", "CLAIM-0003,Therapies,Fixture claim about vaccines.,therapies,"
                                     "strategy=vaccine_immunotherapy,,,2026-01-08\n")
    ev = lr.load(review.root)
    claims = {c["id"]: c for _, c in ev.claims.iterrows()}
    mech, bio, ther = (claim_basis(ev, claims[i]) for i in ("CLAIM-0001", "CLAIM-0002", "CLAIM-0003"))
    assert mech.scope == {} and bio.scope == {"cancer_type": F({"colorectal"})}
    assert bio.against == {"alpha2020": "human_observational"}
    assert ther.rct == {"beta2021"} and ther.patients == {"beta2021": 40} and ther.stream_of("beta2021") == "rct"
    # a trial whose record does not state randomisation is not a randomised controlled trial
    review.replace("data/therapies.csv", ",phase_1,yes,yes,40,", ",phase_1,not_stated,yes,40,")
    ev = lr.load(review.root)
    ther = claim_basis(ev, ev.claims[ev.claims["id"] == "CLAIM-0003"].iloc[0])
    assert ther.rct == F() and ther.stream_of("beta2021") == "trial"


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
        "data/claims.csv:2:expected: claim CLAIM-0001 is asserted as high but the evidence gives low (animal "
        "experiments: started high; lowered for indirectness: animal models, fewer than 3 studies)")
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
    released.append("data/mechanisms.csv", "MECH-0003,alpha2020,doi:10.5555/fixture.0001,melanoma,small_ev,"
                                           "migration,tumour cells,,,,"
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
    from livingreview.publishing import chapter

    text = chapter.changes_since_release(ev).data
    assert "CLAIM\\-0001" in text and "contradicting 0 → 1" in text
    assert 'New contradicting rows: <a href="12_appendix.html#MECH-0003">MECH-0003</a>' in text


def test_claims_json_and_the_feed_validate(released):
    ev = lr.load(released.root)
    data = claims_json(ev)
    jsonschema.validate(data, CLAIMS_SCHEMA)
    assert data["claims"][0]["history"] == [{"release": "2026.12", "date": "2026-12-01", "certainty": "low",
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
        # a page to link to (the mini review has no book), or the entry's content (RFC 4287 asks for one)
        assert entry.find("a:link[@rel='alternate']", ns) is not None or entry.find("a:content", ns) is not None
        dt.datetime.strptime(entry.find("a:updated", ns).text, "%Y-%m-%dT%H:%M:%SZ")


def test_the_book_prints_every_step_and_what_the_rule_leaves_out():
    from livingreview.publishing import chapter
    from livingreview.publishing.render import escape_md

    text = chapter.certainty_rule(lr.load(REPO)).data
    assert all(f"{n}. {escape_md(step)}" in text for n, (_, step) in enumerate(RULE, 1))
    assert text.rstrip().endswith(escape_md(NOT_GRADE))


def test_a_declared_study_column_counts_each_study_once():
    """Issue 24 item 4: independence follows the declared study column. The BCG example's trials all cite the one
    meta-analysis that reports them; each trial is still a study of its own."""
    import csv

    bcg = REPO / "examples" / "bcg-vaccine"
    ev = lr.load(bcg)
    assert ev.roles.study == "trial"
    claim = ev.claims[ev.claims["where"].map(lambda where: where[0].startswith("ablat>"))].iloc[0]
    with (bcg / "data" / "trials.csv").open(encoding="utf-8", newline="") as fh:
        trials = list(csv.DictReader(fh))
    (column, op, value), = [(c.column, c.op, c.values[0]) for c in parse_selector(claim["where"])]
    assert (column, op) == ("ablat", ">")
    against = set(claim["contradicted_by"])
    selected = {t["trial"] for t in trials if float(t["ablat"]) > float(value) and t["id"] not in against}
    cited = {k for t in trials if t["trial"] in selected for k in t["citekeys"].split(";")}
    status = claim_status(ev).set_index("id").loc[claim["id"]]
    assert status["studies"] == len(selected) > len(cited)
    assert set(status["citekeys"]) == cited  # the papers, for the citations
