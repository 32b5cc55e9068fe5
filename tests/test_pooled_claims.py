"""Claims that rest on a pooled estimate (issue 25 item 5): the selector on the pooled result, its located errors,
the certainty read from the pooled result's inconsistency and imprecision, and the estimate release by release.

The review is a copy of the BCG example; its pooled numbers are metafor's for ``dat.bcg`` (test_meta.py cites them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import livingreview as lr
from conftest import REPO, Review
from livingreview.analysis.certainty import (
    Basis,
    PooledSummary,
    explain,
    pooled_reasons,
    rate,
    rate_pooled,
    reasons,
    rule,
)
from livingreview.analysis.history import claim_snapshot, cut_release, trajectory
from livingreview.analysis.summaries import claim_status
from livingreview.checking.claims import (
    parse_selector,
    pooled_fields,
    pooled_holds,
    pooled_selector_errors,
)
from livingreview.model.declarations import CertaintyInputs
from livingreview.model.errors import Severity

BCG = REPO / "examples" / "bcg-vaccine"
POOLED = "CLAIM-0002,Efficacy of BCG vaccine,BCG vaccination lowers the risk of tuberculosis.,trials,bcg,upper<1,,,"


@pytest.fixture
def bcg(tmp_path: Path) -> Review:
    """A copy of the BCG example's declarations and data, without its releases."""
    root = tmp_path / "bcg"
    shutil.copytree(BCG, root, ignore=shutil.ignore_patterns("_build", "releases", "chapters", "figures"))
    (root / "chapters").mkdir()
    return Review(root)


def errors(review: Review) -> list[str]:
    return [str(p) for p in lr.validate(review.root) if p.severity is Severity.ERROR]


def status(review: Review) -> dict[str, dict]:
    return {r["id"]: r for r in claim_status(lr.load(review.root)).to_dict(orient="records")}


# --- the selector -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("where", "message"), [
    ("uper<1", "data/claims.csv:3:where: selector field 'uper' is not a field of a pooled result; expected one "
               "of: " + ", ".join(pooled_fields(("ablat",)))),
    ("upper=1", "data/claims.csv:3:where: selector 'upper=1' does not compare; expected upper compared with a "
                "number by >, >=, < or <="),
    ("upper<one", "data/claims.csv:3:where: selector 'upper<one' compares upper with 'one'; expected a number"),
    ("ablat>30", "data/claims.csv:3:where: selector field 'ablat' is not a field of a pooled result"),
    ("", "data/claims.csv:3:where: a claim resting on the pooled estimate of 'bcg' needs a selector"),
])
def test_a_selector_the_pooled_result_cannot_answer_is_a_located_error(bcg, where, message):
    bcg.replace("data/claims.csv", ",bcg,upper<1,", f",bcg,{where},")
    found = errors(bcg)
    assert len(found) == 1 and found[0].startswith(message), found


def test_an_unknown_synthesis_is_a_located_error(bcg):
    bcg.replace("data/claims.csv", ",bcg,upper<1,", ",bgc,upper<1,")
    assert errors(bcg) == ["data/claims.csv:3:synthesis: unknown synthesis 'bgc'; expected one of the syntheses "
                           "review.yml declares: bcg"]


def test_the_selector_reads_the_back_transformed_pooled_result(bcg):
    # published REML: RR 0.4894 [0.3441, 0.6962], I2 92.22%, 13 trials
    for where, holds in (("upper<1", True), ("estimate<0.5;lower>0.34", True), ("estimate<0", False),
                         ("i_squared>90;studies>=13", True), ("i_squared<50", False), ("pi_upper<1", False)):
        values = {"estimate": 0.4894, "lower": 0.3441, "upper": 0.6962, "pi_upper": 1.549, "i_squared": 92.22,
                  "studies": 13.0}
        assert pooled_holds(values, parse_selector(where.split(";"))) is holds, where
    s = status(bcg)["CLAIM-0002"]
    assert s["pooled"].estimate == pytest.approx(0.4894, abs=5e-5)
    assert (s["pooled"].lower, s["pooled"].upper) == (pytest.approx(0.3441, abs=5e-5), pytest.approx(0.6962, abs=5e-5))
    assert s["studies"] == 13 and len(s["supporting_rows"]) == 13


def test_a_claim_on_a_moderators_slope_reads_the_meta_regression_and_starts_low(bcg):
    """CLAIM-0001 (efficacy higher farther from the equator) compares the slope of the meta-regression on latitude:
    metafor's published rma(yi, vi, mods = ~ ablat): -0.0291 per degree, CI -0.0432 to -0.0150 (metafor's README)."""
    from livingreview.analysis.pooled import claim_pooled

    ev = lr.load(bcg.root)
    claim = ev.claims.set_index("id").loc["CLAIM-0001"]
    assert (claim["synthesis"], claim["where"]) == ("bcg", ("slope_ablat_upper<0",))
    pooled, holds = claim_pooled(ev, claim)
    values = pooled.values()
    assert holds and values["slope_ablat"] == pytest.approx(-0.0291, abs=5e-5)
    assert (values["slope_ablat_lower"], values["slope_ablat_upper"]) == (pytest.approx(-0.0432, abs=5e-5),
                                                                          pytest.approx(-0.0150, abs=5e-5))
    s = status(bcg)["CLAIM-0001"]
    # randomised trials, but a difference between trials: it starts where observational evidence does
    assert s["certainty"] == "low" and "a difference between studies" in s["explanation"]
    assert "inconsistency" not in s["explanation"]  # the moderator is the explanation of the heterogeneity
    bcg.replace("data/claims.csv", ",bcg,slope_ablat_upper<0,", ",bcg,slope_ablat_lower>0,")
    assert status(bcg)["CLAIM-0001"]["certainty"] == "very_low"  # the slope does not meet the selector


def test_a_slope_of_an_undeclared_moderator_or_of_two_is_refused(bcg):
    bcg.replace("data/claims.csv", ",bcg,slope_ablat_upper<0,", ",bcg,slope_year_upper<0,")
    assert any(e.startswith("data/claims.csv:2:where: selector field 'slope_year_upper' is not a field")
               for e in errors(bcg))
    both = parse_selector(["slope_a_upper<0", "slope_b_upper<0"])
    assert pooled_selector_errors("s", both, ("a", "b")) == [
        "the selector compares slopes of 'a' and 'b'; expected the slope of one moderator (each is a meta-regression "
        "of its own)"]


def test_a_slope_whose_interval_crosses_zero_is_imprecise(bcg):
    from livingreview.analysis.summaries import claim_basis

    ev = lr.load(bcg.root)
    basis = claim_basis(ev, ev.claims[ev.claims["id"] == "CLAIM-0001"].iloc[0])
    crossing = PooledSummary(4, 80.0, True, None, 5000, between=True)
    assert pooled_reasons(crossing, 3, 100) == ("between_studies", "pooled_slope_ci")
    clear = dataclasses.replace(crossing, ci_crosses=False)
    assert [rate_pooled(basis, x).certainty for x in (clear, crossing)] == ["low", "very_low"]


def test_a_claim_whose_pooled_result_misses_its_selector_has_no_support(bcg):
    # the log RR is below 0, so a claim read on the log scale would hold: on the printed scale it does not
    bcg.replace("data/claims.csv", ",bcg,upper<1,", ",bcg,estimate<0,")
    assert errors(bcg) == []
    s = status(bcg)["CLAIM-0002"]
    assert s["supporting_rows"] == () and s["certainty"] == "very_low"
    assert s["explanation"] == "Very low (the pooled estimate does not meet the claim's selector)"


def test_a_row_with_no_effect_data_is_not_pooled_and_does_not_support(bcg):
    text = (bcg.root / "data" / "trials.csv").read_text()
    line = next(x for x in text.splitlines() if x.startswith("BCG-0013,"))
    cells = line.split(",")
    cells[5:9] = ["", "", "", ""]  # tpos, tneg, cpos, cneg
    bcg.replace("data/trials.csv", line, ",".join(cells))
    bcg.replace("review.yml", "    - name: tpos\n      type: integer\n",
                "    - name: tpos\n      type: integer\n      required: false\n")
    for col in ("tneg", "cpos", "cneg"):
        bcg.replace("review.yml", f"    - name: {col}\n      type: integer\n",
                    f"    - name: {col}\n      type: integer\n      required: false\n")
    s = status(bcg)["CLAIM-0002"]
    assert s["pooled"].studies == 12 and "BCG-0013" not in s["supporting_rows"]


# --- the certainty ------------------------------------------------------------------------------------

RCTS = Basis({"clinical_trial": frozenset({"a", "b", "c", "d"})}, rct=frozenset({"a", "b", "c", "d"}),
             patients={k: 1000 for k in "abcd"})


@pytest.mark.parametrize(("pooled", "certainty", "why"), [
    (PooledSummary(13, 30.0, False, False, 5000), "high", ()),
    (PooledSummary(13, 92.2, False, True, 5000), "moderate", ("pooled_i2_pi",)),
    (PooledSummary(13, 60.0, False, False, 5000), "moderate", ("pooled_i2",)),
    (PooledSummary(13, 20.0, False, True, 5000), "moderate", ("pooled_pi",)),
    # a prediction interval that crosses where the CI does already is imprecision, not inconsistency
    (PooledSummary(13, 20.0, True, True, 5000), "moderate", ("pooled_ci",)),
    # imprecision is one domain: a CI crossing the null and too few studies lower it once
    (PooledSummary(2, 20.0, True, True, 5000), "moderate", ("pooled_ci", "pooled_small")),
    (PooledSummary(13, 20.0, False, False, 60), "moderate", ("pooled_few",)),
    (PooledSummary(13, 75.0, True, True, 60), "low", ("pooled_i2", "pooled_ci", "pooled_few")),
    # a proportion has no null: neither interval can cross it
    (PooledSummary(13, 20.0, None, None, None), "high", ()),
])
def test_pooled_inconsistency_and_imprecision_lower_one_step_each(pooled, certainty, why):
    rating = rate_pooled(RCTS, pooled)
    assert (rating.certainty, rating.reasons, rating.stream) == (certainty, why, "rct")


def test_the_pooled_result_replaces_the_counts_of_studies_and_contradictions():
    # two small trials and a contradicting one: counted, that is three steps (too few studies, too few patients, a
    # contradiction half as many); pooled, only the few studies remain, as one step of imprecision
    few = Basis({"clinical_trial": frozenset({"a", "b"})}, frozenset({"z"}), rct=frozenset({"a", "b"}),
                patients={"a": 30, "b": 30}, against={"z": "rct"})
    assert rate(few).reasons == ("small", "few_patients", "strongly_contradicted")
    rating = rate_pooled(few, PooledSummary(2, 10.0, False, False, 60_000))
    assert rating.certainty == "moderate" and rating.reasons == ("pooled_small",)
    # indirectness is not the pooled result's to judge: it still lowers
    animal = Basis({"animal": frozenset({"a", "b", "c"})})
    assert rate_pooled(animal, PooledSummary(3, 0.0, False, False, None)).reasons == ("indirect_animal",)
    assert pooled_reasons(PooledSummary(3, 50.0, False, False, 99), 3, 100) == ("pooled_few",)


def test_the_bcg_claim_is_rated_as_its_published_heterogeneity_says(bcg):
    s = status(bcg)["CLAIM-0002"]
    # randomised trials start high; I2 92.22% and a prediction interval past 1 (published 0.15 to 1.55 from
    # tau2 0.3132) lower it one step; 13 trials and a CI below 1 are precise
    assert s["certainty"] == "moderate"
    assert s["explanation"] == ("Moderate (randomised controlled trials: started high; lowered for inconsistency: "
                                "I² above 50% and a prediction interval crossing the null)")
    assert s["streams"] == {"rct": 7, "trial": 6}
    # no single trial's removal brings I2 under 50% and the CI up to 1
    assert s["fragility"] == "2+"


def test_the_rule_states_the_pooled_step_only_where_a_synthesis_may_be_rested_on():
    inputs = CertaintyInputs(min_studies=4, min_patients=250)
    with_pooled = dict(rule(inputs, pooled=True))
    assert "pooled" not in dict(rule(inputs))
    text = with_pooled["pooled"]
    assert "I² is above 50%" in text and "fewer than 4 studies" in text and "fewer than 250 participants" in text
    words = reasons(inputs)
    assert words["pooled_small"] == "imprecision: fewer than 4 studies pooled"
    strict = dataclasses.replace(RCTS, min_studies=4, min_patients=250)
    assert explain(rate_pooled(strict, PooledSummary(3, 0.0, False, False, 100)), inputs) == (
        "Moderate (randomised controlled trials: started high; lowered for imprecision: fewer than 4 studies pooled, "
        "imprecision: fewer than 250 participants pooled)")


# --- releases and the trajectory ----------------------------------------------------------------------

def test_a_release_records_the_pooled_estimate_and_the_trajectory_shows_it_per_release(bcg):
    cut_release(bcg.root, "2026.11", dt.date(2026, 11, 30))
    snap = json.loads((bcg.root / "releases" / "2026.11.json").read_text())
    recorded = snap["claims"]["CLAIM-0002"]["pooled"]
    assert recorded["measure"] == "RR" and recorded["studies"] == 13
    assert recorded["estimate"] == pytest.approx(0.4894, abs=5e-5)
    assert "pooled" not in snap["claims"]["CLAIM-0003"]
    # a trial withdrawn after the release: the estimate now is that of the other 12
    text = (bcg.root / "data" / "trials.csv").read_text()
    bcg.replace("data/trials.csv", next(x for x in text.splitlines() if x.startswith("BCG-0008,")) + "\n", "")
    assert errors(bcg) == []
    points = trajectory(lr.load(bcg.root))
    mine = points[points["id"] == "CLAIM-0002"].set_index("release")
    assert list(mine.index) == ["2026.11", "now"]
    assert mine.loc["2026.11", "estimate"] == pytest.approx(0.4894, abs=5e-5)
    assert mine.loc["now", "pooled_studies"] == 12 and mine.loc["now", "estimate"] < mine.loc["2026.11", "estimate"]
    assert (mine["lower"] < mine["estimate"]).all() and (mine["estimate"] < mine["upper"]).all()
    other = points[points["id"] == "CLAIM-0003"]
    assert other["estimate"].isna().all()


def test_a_hand_edited_pooled_estimate_in_a_snapshot_is_a_located_error(bcg):
    cut_release(bcg.root, "2026.11", dt.date(2026, 11, 30))
    path = bcg.root / "releases" / "2026.11.json"
    data = json.loads(path.read_text())
    data["claims"]["CLAIM-0002"]["pooled"]["estimate"] = "0.3"
    path.write_text(json.dumps(data, indent=1))
    found = errors(bcg)
    assert any(m.startswith("releases/2026.11.json:") and "claims.CLAIM-0002.pooled.estimate" in m for m in found), \
        found
    data["claims"]["CLAIM-0002"]["pooled"]["estimate"] = 0.3
    path.write_text(json.dumps(data, indent=1))
    assert any("edited after it was written" in m for m in errors(bcg))


def test_the_pooled_trajectory_chart_draws_each_release_on_a_log_axis(bcg):
    from livingreview.publishing.forest import pooled_trajectory_plot

    points = pd.DataFrame({"release": ["2026.11", "now"], "estimate": [0.49, 0.52], "lower": [0.34, 0.36],
                           "upper": [0.70, 0.75], "pooled_studies": [13, 12]})
    spec = pooled_trajectory_plot(points, measure="RR", title="CLAIM-0002: pooled RR by release").to_dict()
    scales = [layer["encoding"]["x"].get("scale", {}) for layer in spec["layer"] if "x" in layer["encoding"]]
    assert any(s.get("type") == "log" for s in scales)
    assert [header for _, header in spec["usermeta"]["table"]] == ["Release", "Studies pooled", "Pooled estimate",
                                                                    "CI lower", "CI upper"]
    assert "now: RR 0.52 (CI 0.36" in json.dumps(spec, ensure_ascii=False)
    snapshot = claim_snapshot(lr.load(bcg.root))
    assert set(snapshot["CLAIM-0002"]["pooled"]) == {"synthesis", "measure", "estimate", "lower", "upper",
                                                     "i_squared", "studies"}


def test_claims_json_publishes_the_pooled_estimate_and_its_history(bcg):
    import jsonschema

    from livingreview.publishing.publish import CLAIMS_SCHEMA, claims_json

    cut_release(bcg.root, "2026.11", dt.date(2026, 11, 30))
    data = claims_json(lr.load(bcg.root))
    jsonschema.validate(data, CLAIMS_SCHEMA)
    by_id = {c["id"]: c for c in data["claims"]}
    pooled = by_id["CLAIM-0002"]
    assert pooled["synthesis"] == "bcg" and pooled["pooled"]["measure"] == "RR"
    assert (pooled["pooled"]["lower"], pooled["pooled"]["upper"]) == (pytest.approx(0.3441, abs=5e-5),
                                                                      pytest.approx(0.6962, abs=5e-5))
    assert pooled["history"][0]["pooled"]["estimate"] == pytest.approx(0.4894, abs=5e-5)
    assert by_id["CLAIM-0003"]["pooled"] is None and "pooled" not in by_id["CLAIM-0003"]["history"][0]
    assert any("rests on the pooled estimate" in step for step in data["rule"])


def test_a_moved_pooled_estimate_is_a_change_since_the_release_even_with_the_same_studies(bcg, monkeypatch):
    from livingreview.analysis.history import claim_changes
    from livingreview.publishing import chapter

    cut_release(bcg.root, "2026.11", dt.date(2026, 11, 30))
    # the largest trial's control group with more cases: the same 13 trials, the same certainty, another estimate
    bcg.replace("data/trials.csv", ",505,87886,499,87892,", ",505,87886,900,87491,")
    ev = lr.load(bcg.root)
    changes = claim_changes(ev).set_index("id")
    assert "CLAIM-0002" in changes.index and "CLAIM-0003" not in changes.index  # a row claim: same rows
    moved = changes.loc["CLAIM-0002"]
    assert (moved["studies_before"], moved["studies_now"], moved["before"], moved["now"]) == (13, 13, "Moderate",
                                                                                              "Moderate")
    assert moved["pooled_before"] == "RR 0.49 (CI 0.34 to 0.70)" and moved["pooled_now"] != moved["pooled_before"]
    monkeypatch.chdir(bcg.root)
    text = chapter.changes_since_release(ev).data
    words = f"pooled RR 0.49 (CI 0.34 to 0.70) → {moved['pooled_now']}."
    assert words[0].upper() + words[1:] in text.replace("\\(", "(").replace("\\)", ")")


def test_the_summary_of_findings_states_the_slope_a_claim_rests_on(bcg, monkeypatch):
    """CLAIM-0001 is shown with the meta-regression it rests on, not the pooled risk ratio; its pooled estimate is not
    drawn release by release (its certainty by release is)."""
    from livingreview.publishing import chapter

    monkeypatch.chdir(bcg.root)
    ev = lr.load(bcg.root)
    text = chapter.summary_of_findings(ev).data
    first = text[text.index("CLAIM\\-0001"):text.index("CLAIM\\-0002")]
    assert "meta\\-regression on absolute latitude\\: slope \\-0.0291 log RR per unit" in first
    assert "pooled RR" not in first
    drawn = chapter.pooled_trajectory(ev).data
    assert "CLAIM-0002" in drawn and "CLAIM-0001" not in drawn
