"""Evidence you can audit (issue 13): the review check, the source column, and no curation notes in cells."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from conftest import REPO, TABLES
from livingreview.checking.review import review_problems
from livingreview.checking.validate import check
from livingreview.commands.cli import main
from livingreview.publishing.docs import data_model

M = "data/mechanisms.csv"
#: the fixture's second mechanisms row, as the file holds it
SECOND = ('MECH-0002,alpha2020;beta2021,doi:10.5555/fixture.0001;PMID:1,lung,microvesicle,angiogenesis,tumour cells,'
          'endothelial cells,,VEGF;miR-2,protein;mirna,fixture mouse,animal,"Synthetic fixture finding two, with a '
          'comma.",2026-01-02')


def all_flags(root) -> list[str]:
    checked = check(root)
    assert not checked.errors, checked.errors
    decl = checked.declarations
    return [str(p) for p in review_problems(checked.frames, decl.tables, decl.findings, decl.certainty.wording)]


def flags(root) -> list[str]:
    """The flags of rows other than the fixture's synthetic ones (whose placeholder findings state no level)."""
    return [f for f in all_flags(root) if "MECH-0002:" in f or "MECH-0003:" in f or "MECH-0004:" in f]


def plant(review, model: str, level: str, finding: str) -> None:
    review.replace(M, SECOND, SECOND.replace("fixture mouse,animal,", f"{model},{level},").replace(
        '"Synthetic fixture finding two, with a comma."', f'"{finding}"'))


def test_placeholder_findings_that_state_no_level_are_flagged(review):
    # the fixture's findings say nothing of where they were measured: only the in_vitro ones pass
    found = all_flags(review.root)
    assert sorted({f.split(": warning: ")[1].split(":")[0] for f in found}) == [
        "BIOM-0001", "BIOM-0002", "MECH-0002", "PMN-0001", "THER-0001"]


@pytest.mark.parametrize(("model", "level", "finding", "column", "says"), [
    # the audit's cases: a patient result graded as preclinical, in both places it shows
    ("serum of patients and healthy subjects", "animal",
     "Circulating exosomes detected cancer in patients with absolute sensitivity.", "evidence_level",
     "states a result in people ('patients') but is graded animal"),
    ("cell lines; mouse xenografts; a patient cohort", "animal",
     "Exosomes increased lung metastasis of xenografts in mice.", "model", "the model lists patient material"),
    # a mouse result graded as human because the model also lists patients
    ("mouse models; patient plasma exosomes", "human_observational",
     "Blocking the integrin reduced exosome uptake and lung metastasis in mice.", "evidence_level",
     "graded human_observational but the finding states no result in patients"),
    ("cell lines", "in_vitro", "Exosomes injected into mice increased metastasis.", "evidence_level",
     "graded in_vitro but the finding states an in vivo result ('injected')"),
    ("cell lines", "animal", "Exosomes made endothelial monolayers leaky.", "evidence_level",
     "graded animal but the finding states no result in animals"),
])
def test_a_misgraded_row_is_one_located_warning(review, model, level, finding, column, says):
    plant(review, model, level, finding)
    found = flags(review.root)
    assert found and all(f.startswith(f"{M}:3:") for f in found), found
    assert any(f.startswith(f"{M}:3:{column}: warning: MECH-0002: ") and says in f for f in found), found


@pytest.mark.parametrize(("model", "level", "finding"), [
    # people named only as the source of the vesicles tested in culture or in mice
    ("plasma EVs of 32 patients and 20 healthy women applied to cell lines", "in_vitro",
     "Circulating EVs from women with breast cancer promoted migration of cancer cells."),
    ("exosomes isolated from patients; mouse lung metastasis models", "animal",
     "Exosomes isolated from patients with non-metastatic melanoma suppressed lung metastasis in mice."),
    ("patient-derived fibroblasts", "in_vitro", "Exosomes from patient-derived fibroblasts fed cancer cells."),
    ("serum of 120 gastric cancer cases", "human_observational",
     "Serum exosomal HOTTIP gave an AUC of 0.827 for gastric cancer."),
])
def test_a_correctly_graded_row_is_not_flagged(review, model, level, finding):
    plant(review, model, level, finding)
    assert flags(review.root) == []


MOUSE = "Exosomes increased lung metastasis in mice."
PLANTED = SECOND.replace('"Synthetic fixture finding two, with a comma."', MOUSE)


def test_the_same_result_graded_twice_and_a_near_duplicate_are_flagged(review):
    plant(review, "fixture mouse", "animal", MOUSE)
    twin = PLANTED.replace("MECH-0002", "MECH-0003")
    review.append(M, twin.replace("fixture mouse,animal,", "fixture mouse,in_vitro,") + "\n")
    review.append(M, twin.replace("MECH-0003", "MECH-0004") + "\n")
    found = flags(review.root)
    assert any(f.startswith(f"{M}:4:evidence_level: warning: MECH-0003: same paper and nearly the same finding as "
                            "MECH-0002 (line 3) but graded in_vitro") for f in found), found
    assert any(f.startswith(f"{M}:5:finding: warning: MECH-0004: nearly the same finding as MECH-0002") for f in found)


def test_rows_of_one_paper_that_differ_in_a_field_are_different_results(review):
    plant(review, "fixture mouse", "animal", MOUSE)
    review.append(M, PLANTED.replace("MECH-0002", "MECH-0003").replace(",lung,", ",breast,") + "\n")
    assert flags(review.root) == []


def test_validate_review_prints_the_warnings_and_passes(review):
    plant(review, "cell lines", "animal", "Exosomes made endothelial monolayers leaky.")
    result = CliRunner().invoke(main, ["validate", "--review", "--root", str(review.root)])
    assert result.exit_code == 0, result.output
    assert f"{M}:3:evidence_level: warning: MECH-0002: graded animal" in result.output
    assert result.output.strip().splitlines()[-1].endswith(f"{len(all_flags(review.root))} warning(s)")
    plain = CliRunner().invoke(main, ["validate", "--root", str(review.root)])
    assert "MECH-0002: graded" not in plain.output


def test_the_repository_has_no_review_flags():
    assert all_flags(REPO) == []


@pytest.mark.parametrize("note", [
    "full abstract not retrieved in this task; finding per verified_refs.tsv",
    "zhangq2021's own text not retrieved",
    "biogenesis not described in the abstract",
    "mouse models (per verified_refs.tsv finding)",
    "not specified in abstract",
    "SECONDARY (review table): 100-1000 nm",
])
def test_a_curation_note_in_any_text_cell_is_a_located_error(review, note):
    review.replace(M, "fixture mouse,animal,", f'"fixture mouse; {note}",animal,')
    errors = [str(p) for p in check(review.root).errors]
    assert len(errors) == 1 and errors[0].startswith(f"{M}:3:model: '"), errors
    assert "is a curator's note about sources, not content" in errors[0]


@pytest.mark.parametrize(("cell", "ok"), [
    ("PMID:28104621", True), ("PMC5834026", True), ("doi:10.1093/annonc/mdx004", True),
    ("PMID:28104621;PMC5834026", True), ("PMID 28104621", False), ("pmid:28104621", False),
    ("10.1093/annonc/mdx004", False), ("PMID:0123", False), ("https://pubmed.ncbi.nlm.nih.gov/28104621", False),
])
def test_source_names_a_record_by_its_canonical_id(review, cell, ok):
    review.replace(M, "MECH-0002,alpha2020;beta2021,doi:10.5555/fixture.0001;PMID:1,",
                   f"MECH-0002,alpha2020;beta2021,{cell},")
    errors = [str(p) for p in check(review.root).errors]
    if ok:
        # the form is accepted; these real ids are not the fixture entries' ids, which only that check reports
        assert errors and all(e.startswith(f"{M}:3:source: source '") and "is not an id of the cited entries" in e
                              for e in errors), errors
    else:
        assert errors == [f"{M}:3:source: malformed source '{cell}'; expected one or more of 'PMID:28104621', "
                          "'PMC5834026' or 'doi:10.1093/annonc/mdx004', separated by ';'"], errors


def test_every_evidence_table_requires_a_source_and_only_therapies_have_trial_ids():
    for name in ("mechanisms", "pmn", "therapies", "biomarkers"):
        assert TABLES[name].column("source").required
    assert [t for t in TABLES.values() if "trial_id" in t.column_names] == [TABLES["therapies"]]


def test_a_malformed_trial_id_is_located(review):
    review.replace("data/therapies.csv", ",animal,,fewer metastases,", ",animal,NCT123,fewer metastases,")
    errors = [str(p) for p in check(review.root).errors]
    assert len(errors) == 1 and errors[0].startswith("data/therapies.csv:2:trial_id: malformed trial_id 'NCT123'")
    review.replace("data/therapies.csv", ",NCT123,", ",NCT01234567,")
    assert check(review.root).errors == []


def test_the_grading_rule_reaches_the_contributor_docs():
    docs = data_model(TABLES["pmn"]).set_index("column")
    assert "Level of the finding as the row states it" in docs.loc["evidence_level", "meaning"]
    allowed = docs.loc["evidence_level", "allowed values"]
    assert "animal (Animal model: the stated result was measured in living animals" in allowed
    assert "human_observational (Human, observational: the stated result was measured in patient samples" in allowed


#: one synthetic result stated twice in other words, as two curators might extract it from one paper
WORDED = ("Activated donor cells released exosomes carrying miR-2 into co-cultured recipient cells without contact, "
          "and miR-2 promoted invasion of the recipient cells through the Wnt pathway in mice, whereas inhibiting "
          "miR-2 in the donor cells reduced their invasiveness.")
REWORDED = ("Activated donor cells shuttled miR-2 in exosomes to co-cultured recipient cells, where it promoted "
            "invasion through the Wnt pathway in mice, and blocking miR-2 in the donor cells with an antisense "
            "oligonucleotide reduced the invasiveness of the recipient cells.")
#: another result of the same synthetic paper, with the same structured fields
OTHER = "Exosomes from the same donor cells lowered glucose uptake by liver cells in mice after fasting."


def test_a_reworded_duplicate_of_one_paper_is_one_located_warning(review):
    plant(review, "fixture mouse", "animal", WORDED)
    review.append(M, SECOND.replace("MECH-0002", "MECH-0003").replace(
        '"Synthetic fixture finding two, with a comma."', f'"{REWORDED}"') + "\n")
    found = flags(review.root)
    assert len(found) == 1, found
    assert found[0].startswith(f"{M}:4:finding: warning: MECH-0003: nearly the same finding as MECH-0002 (line 3) "
                               "from the same paper")


def test_two_results_of_one_paper_with_the_same_fields_are_not_flagged(review):
    plant(review, "fixture mouse", "animal", WORDED)
    review.append(M, SECOND.replace("MECH-0002", "MECH-0003").replace(
        '"Synthetic fixture finding two, with a comma."', f'"{OTHER}"') + "\n")
    assert flags(review.root) == []


def test_a_reworded_finding_with_other_wording_in_a_text_field_needs_near_identical_words(review):
    plant(review, "fixture mouse", "animal", WORDED)
    twin = SECOND.replace("MECH-0002", "MECH-0003").replace(",tumour cells,", ",activated tumour cells,")
    review.append(M, twin.replace('"Synthetic fixture finding two, with a comma."', f'"{REWORDED}"') + "\n")
    assert flags(review.root) == []  # a donor worded differently may be another donor: only reworded
    review.append(M, twin.replace("MECH-0003", "MECH-0004").replace(
        '"Synthetic fixture finding two, with a comma."', f'"{WORDED} It was repeated."') + "\n")
    # word for word the same as MECH-0002 despite the donor's wording; reworded from MECH-0003, whose donor it shares
    assert sorted(f.split(": ")[3].split(" (line")[0] for f in flags(review.root)) == [
        "nearly the same finding as MECH-0002", "nearly the same finding as MECH-0003"]


def test_long_findings_are_compared_in_linear_time():
    import time

    import pandas as pd

    from livingreview.checking.review import _pair_flags

    def finding(seed: int) -> str:  # about 16 KB of words, most shared by the two findings
        return " ".join(f"w{(i * 7919 + seed * (i % 5 == 0)) % 5003}" for i in range(3200))[:16_000]

    table = TABLES["mechanisms"]
    row = {c: "" for c in table.column_names} | {"citekeys": "alpha2020", "evidence_level": "animal"}
    frame = pd.DataFrame([row | {"id": "MECH-0001", "finding": finding(0)},
                          row | {"id": "MECH-0002", "finding": finding(1)}], index=[2, 3])
    assert len(frame["finding"][2]) == 16_000 and frame["finding"][2] != frame["finding"][3]
    start = time.perf_counter()
    found = _pair_flags(frame, table)
    assert time.perf_counter() - start < 2.0
    assert [(line, column) for line, column, _ in found] == [(3, "finding")]


TRIAL = ("THER-0002,alpha2020,doi:10.5555/fixture.0001,melanoma,small_ev,vaccine_immunotherapy,fixture exosomes,,"
         "phase_1,,safe,{design},,not_applicable,fixture patients,clinical_trial,Synthetic fixture trial finding.,"
         "2026-01-05\n")


@pytest.mark.parametrize(("design", "errors"), [
    ("phase_1,yes,yes,40", []),
    ("not_stated,not_stated,not_stated,", []),                   # a record that states none of them
    (",yes,yes,40", ["data/therapies.csv:3:phase: missing phase for a clinical_trial row; expected one of: "
                     "phase_0, phase_1 (Phase I), phase_1_2 (Phase I/II), phase_2 (Phase II), "
                     "phase_2_3 (Phase II/III), phase_3 (Phase III), phase_4 (Phase IV), not_stated"]),
    ("phase_1,perhaps,yes,40", ["data/therapies.csv:3:randomised: unknown value 'perhaps'"]),
    ("phase_1,yes,yes,forty", ["data/therapies.csv:3:patients: "]),
])
def test_trial_rows_record_their_design(review, design, errors):
    review.append("data/therapies.csv", TRIAL.format(design=design))
    found = [str(p) for p in check(review.root).errors]
    assert len(found) == len(errors) and all(f.startswith(e) for f, e in zip(found, errors, strict=True)), found


def test_trial_design_on_a_row_that_is_not_a_trial_is_located(review):
    review.replace("data/therapies.csv", ",fewer metastases,,,,,", ",fewer metastases,phase_2,,,12,")
    found = [str(p) for p in check(review.root).errors]
    assert sorted(found) == [
        "data/therapies.csv:2:patients: patients '12' given for a row whose evidence_level is not clinical_trial; "
        "expected an empty cell (patients is recorded only for clinical_trial rows)",
        "data/therapies.csv:2:phase: phase 'phase_2' given for a row whose evidence_level is not clinical_trial; "
        "expected an empty cell (phase is recorded only for clinical_trial rows)"], found


def test_trial_design_reaches_the_docs_and_the_package_schema():
    from livingreview.publishing.export import field_descriptor

    docs = data_model(TABLES["therapies"]).set_index("column")
    assert docs.loc["phase", "required"] == "yes for evidence_level clinical_trial; empty otherwise"
    assert docs.loc["patients", "required"] == "no for evidence_level clinical_trial; empty otherwise"
    assert "phase_1_2 (Phase I/II)" in docs.loc["phase", "allowed values"]
    # a column that only trial rows fill cannot be required of every row in the package schema
    field = field_descriptor(TABLES["therapies"].column("randomised"), TABLES["therapies"])
    assert "required" not in field.get("constraints", {}) and field["constraints"]["enum"][-1] == "not_stated"
