"""Each rule of validation, one planted fault at a time, asserting the exact located line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import TABLES, VOCABULARIES
from livingreview import Severity, validate
from livingreview.checking.validate import check

CANCER_TYPE = VOCABULARIES["cancer_type"]

M = "data/mechanisms.csv"
B = "data/biomarkers.csv"
P = "data/pmn.csv"
C = "data/claims.csv"
S = "data/ev_subtypes.csv"
BIB = "references.bib"


def errors(root) -> list[str]:
    return [str(p) for p in validate(root) if p.severity is Severity.ERROR]


def test_fixture_is_valid(review):
    assert errors(review.root) == []


# (file, old text, new text, the exact error line expected)
CELL_FAULTS = [
    ("bad vocabulary value", P, ",liver,", ",lungs,",
     "data/pmn.csv:2:target_organ: unknown value 'lungs' for target_organ; expected one of: lung, liver, brain, "
     "bone, bone_marrow, lymph_node, peritoneum, omentum, spleen"),
    ("bad item of a multi-valued vocabulary", P, "fibroblast_activation;inflammation", "fibroblast_activation;fire",
     "data/pmn.csv:2:niche_process: unknown value 'fire' for niche_process; expected one or more terms separated "
     "by ';', each one of: vascular_leakiness, ecm_remodeling, immunosuppression, inflammation, "
     "metabolic_reprogramming, homing_organotropism (Homing / organotropism), bone_remodeling, fibroblast_activation, "
     "myeloid_recruitment (Myeloid cell recruitment), angiogenesis, lymphangiogenesis"),
    ("wrong separator in citekeys", M, "alpha2020;beta2021", '"alpha2020,beta2021"',
     "data/mechanisms.csv:3:citekeys: ',' in 'alpha2020,beta2021'; expected items of citekeys separated by ';'"),
    ("missing required value", M, ",tumour cells,fibroblasts,", ",,fibroblasts,",
     "data/mechanisms.csv:2:donor_cell: missing value for required column donor_cell; expected text"),
    ("duplicate id", M, "MECH-0002", "MECH-0001",
     "data/mechanisms.csv:3:id: duplicate id 'MECH-0001' (first used on line 2); expected each id once"),
    ("malformed id", M, "MECH-0002", "MEC-2",
     "data/mechanisms.csv:3:id: malformed id 'MEC-2'; expected 'MECH-' and four to nine digits, e.g. MECH-0001"),
    ("bad date", M, "2026-01-02", "2026-02-30",
     "data/mechanisms.csv:3:added: '2026-02-30' is not a calendar date; expected an ISO date YYYY-MM-DD"),
    ("non-ISO date", M, "2026-01-02", "02/01/2026",
     "data/mechanisms.csv:3:added: '02/01/2026' is not a date; expected an ISO date YYYY-MM-DD"),
    ("future date", M, "2026-01-02", "2999-01-01",
     "data/mechanisms.csv:3:added: date '2999-01-01' is in the future; expected the date the row was added"),
    ("AUC out of range", B, ",0.91,", ",1.7,",
     "data/biomarkers.csv:2:auc: auc 1.7 is out of range; expected a number from 0 to 1"),
    ("negative sensitivity", B, ",0.8,", ",-3,",
     "data/biomarkers.csv:2:sensitivity: sensitivity -3 is out of range; expected a number from 0 to 1"),
    ("not a number", B, ",0.75,", ",high,",
     "data/biomarkers.csv:2:specificity: 'high' is not a number; expected a number from 0 to 1"),
    ("percent instead of fraction", B, ",0.75,", ",75%,",
     "data/biomarkers.csv:2:specificity: '75%' is not a number; expected a number from 0 to 1"),
    ("fractional patient count", B, ",88,", ",88.5,",
     "data/biomarkers.csv:2:n_patients: '88.5' is not a whole number; expected a whole number >= 1"),
    ("zero patients", B, ",88,", ",0,",
     "data/biomarkers.csv:2:n_patients: n_patients 0 is out of range; expected a whole number >= 1"),
    ("stray whitespace", M, ",fixture cell line,", ", fixture cell line,",
     "data/mechanisms.csv:2:model: stray whitespace around 'fixture cell line'; expected no leading or trailing "
     "spaces"),
    ("formula-like cell", M, ",fixture cell line,", ",=HYPERLINK(1),",
     "data/mechanisms.csv:2:model: '=HYPERLINK(1)' starts with '=', which spreadsheets run as a formula; expected "
     "text that starts with a letter, digit or bracket"),
    ("empty item in multi-valued cell", M, "VEGF;miR-2,protein;mirna", "VEGF;miR-2,protein;;mirna",
     "data/mechanisms.csv:3:cargo_class: empty item in 'protein;;mirna'; expected one or more terms separated by "
     "';', each one of: protein, mirna (microRNA), lncrna (Long non-coding RNA), circrna (Circular RNA), mrna, dna, "
     "lipid, metabolite, not_applicable"),
    ("vocabulary value that needs the labels", M, "fixture.0001,breast,", "fixture.0001,several,",
     "data/mechanisms.csv:2:cancer_type: unknown value 'several' for cancer_type; expected one of: breast, "
     "pancreatic, colorectal, lung, melanoma, prostate, ovarian, gastric, hepatocellular, glioma, renal, bladder, "
     "head_and_neck, nasopharyngeal, esophageal, cervical, endometrial, osteosarcoma, sarcoma, leukemia, lymphoma, "
     "multiple_myeloma, neuroblastoma, thyroid, cholangiocarcinoma, mesothelioma, pan_cancer (Several cancer types), "
     "not_applicable (Not cancer-specific)"),
    ("a long vocabulary value is quoted short", M, "fixture.0001,breast,", "fixture.0001," + "x" * 200 + ",",
     "data/mechanisms.csv:2:cancer_type: unknown value '" + "x" * 80 + "…' (200 characters) for cancer_type; "
     "expected one of: "
     + CANCER_TYPE.listing()),
    ("unknown citekey", M, "MECH-0001,alpha2020", "MECH-0001,delta2022",
     "data/mechanisms.csv:2:citekeys: unknown citekey 'delta2022'; expected a key of references.bib"),
    ("citekey with wrong case", M, "MECH-0001,alpha2020", "MECH-0001,Alpha2020",
     "data/mechanisms.csv:2:citekeys: unknown citekey 'Alpha2020'; expected a key of references.bib; did you mean "
     "'alpha2020'? (keys are case-sensitive)"),
    ("retracted citekey", M, "MECH-0001,alpha2020", "MECH-0001,gamma2019",
     "data/mechanisms.csv:2:citekeys: citekey 'gamma2019' is a retracted paper; retracted papers cannot support a "
     "finding"),
    ("size range inverted", S, ",30,150,", ",300,150,",
     "data/ev_subtypes.csv:2:size_nm_min: size_nm_min 300 is larger than size_nm_max 150; expected min <= max"),
    ("selector on unknown column", C, "hallmark=migration|angiogenesis", "organ=lung",
     "data/claims.csv:2:where: selector column 'organ' is not a column of mechanisms; expected one of: id, "
     "citekeys, source, cancer_type, ev_type, hallmark, donor_cell, recipient_cell, target, cargo, cargo_class, "
     "model, evidence_level, finding, added"),
    ("selector value outside vocabulary", C, "hallmark=migration|angiogenesis", "hallmark=migration|flying",
     "data/claims.csv:2:where: selector value 'flying' is not a hallmark term; expected one of: migration, "
     "invasion, emt (Epithelial-mesenchymal transition), angiogenesis, vascular_permeability, immune_evasion, "
     "stromal_reprogramming, metabolic_reprogramming, drug_resistance, proliferation"),
    ("malformed selector", C, "hallmark=migration|angiogenesis", "hallmark",
     "data/claims.csv:2:where: malformed selector 'hallmark'; expected conditions 'column=term|term' (or '!=' is "
     "none of, '~' contains any of, '!~' contains none of; '>', '>=', '<', '<=' compare a number or date column "
     "with one value) separated by ';', at most 2,000 characters and 100 terms"),
    ("contradicting row that does not exist", C, ",BIOM-0002,", ",BIOM-0099,",
     "data/claims.csv:3:contradicted_by: row 'BIOM-0099' is not an id of data/biomarkers.csv; expected ids of the "
     "claim's table"),
]


@pytest.mark.parametrize(("rel", "old", "new", "expected"), [f[1:] for f in CELL_FAULTS],
                         ids=[f[0] for f in CELL_FAULTS])
def test_cell_fault_is_located(review, rel, old, new, expected):
    review.replace(rel, old, new)
    assert errors(review.root) == [expected]


FILE_FAULTS = [
    ("ragged row", M, "Synthetic fixture finding one.,2026-01-01", "Synthetic fixture finding one.",
     "data/mechanisms.csv:2:-: row has 14 fields; expected 15 as in the header"),
    ("duplicate header", M, "id,citekeys,source", "id,citekeys,citekeys",
     "data/mechanisms.csv:1:citekeys: duplicate header 'citekeys'; each column appears once"),
    ("unbalanced quote", M, '"Synthetic fixture finding two, with a comma."',
     '"Synthetic fixture finding two, with a comma.',
     "data/mechanisms.csv:3:-: unbalanced quote: a quoted field that starts in this record is never closed"),
]


@pytest.mark.parametrize(("rel", "old", "new", "expected"), [f[1:] for f in FILE_FAULTS],
                         ids=[f[0] for f in FILE_FAULTS])
def test_file_fault_is_located(review, rel, old, new, expected):
    review.replace(rel, old, new)
    assert expected in errors(review.root)


def test_missing_header_column(review):
    review.replace(M, "id,citekeys,source,cancer_type,ev_type,hallmark,", "id,citekeys,source,cancer_type,ev_type,")
    errs = errors(review.root)
    assert errs[0].startswith("data/mechanisms.csv:1:hallmark: missing column 'hallmark'; expected columns: id,")


def test_unknown_header_column(review):
    review.replace(M, ",added\n", ",addded\n")
    errs = errors(review.root)
    assert any(e.startswith("data/mechanisms.csv:1:addded: unknown column 'addded'") for e in errs)
    assert any(e.startswith("data/mechanisms.csv:1:added: missing column 'added'") for e in errs)


def test_wrong_separator_header(review):
    text = review.path(P).read_text().replace(",", ";")
    review.path(P).write_text(text)
    assert errors(review.root)[0] == ("data/pmn.csv:1:-: header is separated by ';'; expected ',' between columns: "
                                      + ",".join(TABLES["pmn"].column_names))


def test_empty_file(review):
    review.write_bytes(P, b"")
    assert errors(review.root) == ["data/pmn.csv:1:-: empty file; expected a header row: "
                                   + ",".join(TABLES["pmn"].column_names)]


def test_missing_file(review):
    review.path(S).unlink()
    assert errors(review.root)[0].startswith("data/ev_subtypes.csv:1:-: file not found; expected a CSV with header")


def test_bom_is_reported_and_rest_still_checked(review):
    data = review.path(P).read_bytes().replace(b",liver,", b",lungs,")
    review.write_bytes(P, b"\xef\xbb\xbf" + data)
    errs = errors(review.root)
    assert errs[0] == ("data/pmn.csv:1:-: file starts with a UTF-8 byte-order mark (BOM); expected plain UTF-8 "
                       "without BOM (livingreview tidy removes it)")
    assert errs[1].startswith("data/pmn.csv:2:target_organ: unknown value 'lungs'")


def test_wrong_encoding_gives_line(review):
    data = review.path(M).read_bytes().replace(b"fixture mouse", "fixture M\u00fcnster".encode("latin-1"))
    review.write_bytes(M, data)
    offset = data.index(b"\xfc")
    assert errors(review.root) == ["data/mechanisms.csv:3:-: not valid UTF-8 (byte 0xfc at offset "
                                   f"{offset}); expected the file saved as UTF-8"]


def test_multiline_cell_keeps_line_numbers(review):
    review.replace(M, '"Synthetic fixture finding two, with a comma."', '"Synthetic fixture\nfinding two."')
    row = "MECH-0003,alpha2020,doi:10.5555/fixture.0001,"
    review.append(M, row + "breast,small_ev,migration,a,b,,x,mirna,m,in_vitro,f,2026-01-01\n")
    review.replace(M, row + "breast", row + "brest")
    assert errors(review.root) == [
        "data/mechanisms.csv:5:cancer_type: unknown value 'brest' for cancer_type; expected one of: "
        + VOCABULARIES["cancer_type"].listing()
    ]


def test_all_problems_reported_in_one_run(review):
    review.replace(P, ",liver,", ",lungs,")
    review.replace(M, "MECH-0002", "MECH-0001")
    review.replace(B, ",0.91,", ",1.7,")
    review.replace(BIB, "@article{beta2021", "@article{Alpha2020")
    paths = {e.split(":")[0] for e in errors(review.root)}
    assert paths == {P, M, B, BIB, "data/biomarkers.csv"} | {"data/pmn.csv"}


def test_uncited_reference_is_a_warning_not_an_error(review):
    review.append(BIB, "\n@article{delta2022,\n  author = {Uncited, Una},\n  title = {{Uncited}},\n"
                       "  journal = {J Test},\n  year = {2022},\n  doi = {10.5555/fixture.0004},\n}\n")
    problems = validate(review.root)
    assert [str(p) for p in problems] == ["references.bib:27:-: warning: entry 'delta2022' is cited by no row or "
                                          "chapter"]
    assert check(review.root).errors == []


@pytest.mark.parametrize("frames", [True, False])
def test_keys_of_a_cell_that_broke_a_rule_still_count_as_cited(review, monkeypatch, frames):
    import sys

    review.append(BIB, "\n@article{delta2022,\n  author = {Cited, Once},\n  title = {{Cited once}},\n"
                       "  journal = {J Test},\n  year = {2022},\n  doi = {10.5555/fixture.0004},\n}\n")
    review.replace("data/mechanisms.csv", "MECH-0001,alpha2020,", 'MECH-0001,"alpha2020; delta2022 ",')
    monkeypatch.setattr(sys.modules["livingreview.checking.validate"], "PARALLEL_BYTES", 0)
    problems = check(review.root, frames=frames).problems
    assert [(p.path, p.line, p.column, p.severity) for p in problems] == [
        ("data/mechanisms.csv", 2, "citekeys", Severity.ERROR)]  # the stray space; no 'uncited' warning


def test_citation_in_a_chapter_counts_as_cited(review):
    review.append(BIB, "\n@article{delta2022,\n  author = {Uncited, Una},\n  title = {{Uncited}},\n"
                       "  journal = {J Test},\n  year = {2022},\n  doi = {10.5555/fixture.0004},\n}\n")
    (review.root / "chapters").mkdir()
    (review.root / "chapters" / "intro.md").write_text("As shown {cite:p}`alpha2020,delta2022`.\n")
    assert validate(review.root) == []


@pytest.mark.parametrize("crlf", [False, True])
def test_fast_and_careful_csv_readers_agree(review, monkeypatch, crlf):
    from conftest import REPO
    from livingreview.checking import csvfile

    for rel in ("data/mechanisms.csv", "data/biomarkers.csv"):
        data = (REPO / rel).read_bytes()
        review.write_bytes(rel, data.replace(b"\n", b"\r\n") if crlf else data)
    review.write_bytes("references.bib", (REPO / "references.bib").read_bytes())
    fast = check(review.root)
    monkeypatch.setattr(csvfile, "_fast_frame", lambda text, data, header: None)
    careful = check(review.root)
    assert [str(p) for p in fast.problems] == [str(p) for p in careful.problems]
    for name in fast.frames:
        assert fast.frames[name].equals(careful.frames[name]), name


def _corpus_cases() -> list[Path]:
    corpus = Path(__file__).parent / "corpus"
    return sorted(p for p in corpus.iterdir() if p.name.startswith(("link-", "cell-", "csv-")))


@pytest.mark.parametrize("case", _corpus_cases(), ids=lambda p: p.name)
def test_problems_only_check_in_two_workers_matches_the_full_check(tmp_path, monkeypatch, case):
    """``validate`` checks large tables in worker processes; it must find exactly what the in-process check finds."""
    import shutil
    import sys

    from conftest import FIXTURES

    root = tmp_path / "review"
    shutil.copytree(FIXTURES / "mini", root)
    for broken in case.rglob("*"):
        if broken.is_file() and broken.name != "expected.txt":
            (root / broken.relative_to(case)).write_bytes(broken.read_bytes())
    full = check(root)
    module = sys.modules["livingreview.checking.validate"]
    pools = []

    class CountedPool(module.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(module, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(module, "ProcessPoolExecutor", CountedPool)
    parallel = check(root, frames=False)
    assert len(pools) == 1  # the workers really ran
    assert parallel.frames == {}
    assert [str(p) for p in parallel.problems] == [str(p) for p in full.problems]
    assert parallel.rows == {name: len(frame) for name, frame in full.frames.items()}


def test_no_fork_while_other_threads_run(review, monkeypatch):
    """A Jupyter kernel runs several threads; forking there could deadlock, so the check stays in-process."""
    import sys
    import threading

    module = sys.modules["livingreview.checking.validate"]
    monkeypatch.setattr(module, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(module, "ProcessPoolExecutor", None)  # would raise if used
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        checked = check(review.root, frames=False)
    finally:
        stop.set()
        other.join()
    assert checked.errors == [] and sum(checked.rows.values()) > 0


def test_a_check_reusing_unchanged_files_finds_what_a_fresh_check_finds(review):
    """A served book re-checks only the files that changed; the answer must be the whole check's."""
    def same(a, b) -> None:
        assert a.problems == b.problems and a.rows == b.rows and set(a.frames) == set(b.frames)
        for name in a.frames:
            assert a.frames[name].equals(b.frames[name]), name
        assert sorted(a.library.references) == sorted(b.library.references)

    root = review.root
    first = check(root, reuse={})
    same(first, check(root))
    pmn = root / "data" / "pmn.csv"
    pmn.write_text(pmn.read_text(encoding="utf-8").replace(",liver,", ",lungs,"), encoding="utf-8")
    again = check(root, reuse=first.parts)
    same(again, check(root))
    assert any("unknown value 'lungs'" in p.message for p in again.problems)
    assert again.parts["data/mechanisms.csv"] is first.parts["data/mechanisms.csv"]  # unchanged: not read again
    assert again.parts["data/pmn.csv"] is not first.parts["data/pmn.csv"]
    bib = root / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace("@article{beta2021,", "@article{beta2022,"),
                   encoding="utf-8")
    third = check(root, reuse=again.parts)
    same(third, check(root))
    assert any("beta2021" in p.message for p in third.problems)  # a citation of the renamed entry is now unknown


# a row's source must name a record of a paper the row cites (issue 27)
SOURCE_FAULTS = [
    ("source of a paper the row does not cite", M, "MECH-0001,alpha2020,doi:10.5555/fixture.0001",
     "MECH-0001,alpha2020,PMID:1",
     "data/mechanisms.csv:2:source: source 'PMID:1' is not an id of the cited entry (alpha2020); expected the doi, "
     "pmid or pmcid of a cited entry (add the id to the entry, or cite the paper it names)"),
    ("one of two sources unknown", M, "alpha2020;beta2021,doi:10.5555/fixture.0001;PMID:1",
     "alpha2020;beta2021,doi:10.5555/fixture.0001;PMID:2",
     "data/mechanisms.csv:3:source: source 'PMID:2' is not an id of the cited entries (alpha2020, beta2021); "
     "expected the doi, pmid or pmcid of a cited entry (add the id to the entry, or cite the paper it names)"),
    ("PMC id that no cited entry carries", P, "PMN-0001,beta2021,PMID:1", "PMN-0001,beta2021,PMC777",
     "data/pmn.csv:2:source: source 'PMC777' is not an id of the cited entry (beta2021); expected the doi, pmid or "
     "pmcid of a cited entry (add the id to the entry, or cite the paper it names)"),
]


@pytest.mark.parametrize(("rel", "old", "new", "expected"), [f[1:] for f in SOURCE_FAULTS],
                         ids=[f[0] for f in SOURCE_FAULTS])
def test_source_must_be_an_id_of_a_cited_entry(review, rel, old, new, expected):
    review.replace(rel, old, new)
    assert errors(review.root) == [expected]


def test_source_may_be_the_pmcid_of_a_cited_entry(review):
    review.replace(P, "PMN-0001,beta2021,PMID:1", "PMN-0001,beta2021,PMC777")
    review.replace(BIB, "  pmid = {1},", "  pmid = {1},\n  pmcid = {PMC777},")
    assert errors(review.root) == []


def test_source_doi_matches_the_entry_ignoring_case(review):
    review.replace(M, "MECH-0001,alpha2020,doi:10.5555/fixture.0001", "MECH-0001,alpha2020,doi:10.5555/FIXTURE.0001")
    assert errors(review.root) == []


def test_source_of_a_row_whose_citekey_is_unknown_is_not_reported_again(review):
    review.replace(M, "MECH-0001,alpha2020,doi:10.5555/fixture.0001", "MECH-0001,delta2022,PMID:1")
    assert errors(review.root) == [
        "data/mechanisms.csv:2:citekeys: unknown citekey 'delta2022'; expected a key of references.bib"]


@pytest.mark.parametrize(("pmcid", "expected"), [
    ("5834026", "references.bib:16:pmcid: malformed PMCID '5834026'; expected 'PMC' and digits, e.g. PMC5834026"),
    ("PMC0", "references.bib:16:pmcid: malformed PMCID 'PMC0'; expected 'PMC' and digits, e.g. PMC5834026"),
])
def test_malformed_pmcid_is_located(review, pmcid, expected):
    review.replace(BIB, "  pmid = {1},", f"  pmid = {{1}},\n  pmcid = {{{pmcid}}},")
    assert errors(review.root) == [expected]


def test_pmcid_on_two_entries_is_an_error(review):
    review.replace(BIB, "  pmid = {1},", "  pmid = {1},\n  pmcid = {PMC777},")
    review.replace(BIB, "  doi = {10.5555/fixture.0001},", "  doi = {10.5555/fixture.0001},\n  pmcid = {PMC777},")
    found = errors(review.root)
    assert len(found) == 1 and found[0].startswith("references.bib:") and "PMCID PMC777 is also on entry 'alpha2020'" \
        in found[0]
