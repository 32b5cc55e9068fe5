"""Regenerate the bad-input corpus from the mini fixture: one folder per case, holding the one broken file.

Run it only when adding cases: ``python tests/corpus/build_corpus.py``. It writes each case's broken file; the
expected lines in ``expected.txt`` are written only for new cases and must be reviewed by hand before commit.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent
MINI = HERE.parent / "fixtures" / "mini"
M, P, T, B, S, C, BIB = ("data/mechanisms.csv", "data/pmn.csv", "data/therapies.csv", "data/biomarkers.csv",
                         "data/ev_subtypes.csv", "data/claims.csv", "references.bib")


def sub(old: str, new: str, count: int = 1):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)
    return edit


def raw(fn):
    fn.raw = True
    return fn


CASES: dict[str, tuple[str, object]] = {
    # --- CSV: file level
    "csv-latin1-encoding": (M, raw(lambda b: b.replace(b"fixture mouse", "fixture M\u00fcnster".encode("latin-1")))),
    "csv-bom": (P, raw(lambda b: b"\xef\xbb\xbf" + b)),
    "csv-nul-byte": (P, raw(lambda b: b.replace(b"Kupffer", b"Kup\x00ffer"))),
    "csv-empty-file": (S, raw(lambda b: b"")),
    "csv-whitespace-only": (S, raw(lambda b: b"\n\n  \n")),
    "csv-ragged-short": (M, sub("Synthetic fixture finding one.,2026-01-01", "Synthetic fixture finding one.")),
    "csv-ragged-long": (M, sub("Synthetic fixture finding one.,", "Synthetic fixture finding one.,extra,")),
    "csv-unbalanced-quote": (M, sub('"Synthetic fixture finding two, with a comma."',
                                    '"Synthetic fixture finding two, with a comma.')),
    "csv-duplicate-header": (M, sub("id,citekeys,cancer_type", "id,citekeys,citekeys")),
    "csv-missing-header": (P, sub(",recipient_cell,cargo,", ",cargo,")),
    "csv-unknown-header": (P, sub(",added\n", ",added,notes\n")),
    "csv-semicolon-separated": (T, lambda t: t.replace(",", ";")),
    "csv-tab-separated": (T, lambda t: t.replace(",", "\t")),
    # --- CSV: cells
    "cell-blank-id": (M, sub("MECH-0002,", ",")),
    "cell-duplicate-id": (M, sub("MECH-0002,", "MECH-0001,")),
    "cell-malformed-id": (M, sub("MECH-0002,", "MECH-2,")),
    "cell-wrong-id-prefix": (P, sub("PMN-0001,", "MECH-0001,")),
    "cell-bad-calendar-date": (M, sub("2026-01-02", "2026-02-30")),
    "cell-non-iso-date": (M, sub("2026-01-02", "02/01/2026")),
    "cell-future-date": (M, sub("2026-01-02", "2999-01-01")),
    "cell-auc-above-one": (B, sub(",0.91,", ",1.7,")),
    "cell-sensitivity-negative": (B, sub(",0.8,", ",-3,")),
    "cell-specificity-percent": (B, sub(",0.75,", ",75%,")),
    "cell-specificity-text": (B, sub(",0.75,", ",high,")),
    "cell-patients-fraction": (B, sub(",88,", ",88.5,")),
    "cell-patients-zero": (B, sub(",88,", ",0,")),
    "cell-size-inverted": (S, sub(",30,150,", ",300,150,")),
    "cell-unknown-vocabulary": (P, sub(",liver,", ",lungs,")),
    "cell-vocabulary-wrong-case": (M, sub(",breast,", ",Breast,")),
    "cell-unknown-multi-item": (P, sub("fibroblast_activation;inflammation", "fibroblast_activation;fire")),
    "cell-wrong-separator-comma": (M, sub("alpha2020;beta2021", '"alpha2020,beta2021"')),
    "cell-wrong-separator-pipe": (M, sub("protein;mirna", "protein|mirna")),
    "cell-empty-multi-item": (M, sub("protein;mirna", "protein;;mirna")),
    "cell-stray-whitespace": (M, sub(",fixture cell line,", ", fixture cell line,")),
    "cell-formula-equals": (M, sub(",fixture cell line,", ",=HYPERLINK(\"http://x\"),")),
    "cell-formula-plus": (M, sub(",fixture cell line,", ",+cmd,")),
    "cell-formula-minus": (M, sub(",fixture cell line,", ",-2+3,")),
    "cell-formula-at": (M, sub(",fixture cell line,", ",@SUM(A1),")),
    "cell-missing-required": (M, sub("Synthetic fixture finding one.", "")),
    # --- CSV: links between tables
    "link-unknown-citekey": (M, sub("MECH-0001,alpha2020", "MECH-0001,delta2022")),
    "link-citekey-wrong-case": (M, sub("MECH-0001,alpha2020", "MECH-0001,Alpha2020")),
    "link-retracted-citekey": (M, sub("MECH-0001,alpha2020", "MECH-0001,gamma2019")),
    "link-selector-unknown-column": (C, sub("hallmark=migration|angiogenesis", "organ=lung")),
    "link-selector-unknown-term": (C, sub("hallmark=migration|angiogenesis", "hallmark=flying")),
    "link-selector-malformed": (C, sub("hallmark=migration|angiogenesis", "hallmark")),
    "link-contradiction-unknown-row": (C, sub(",BIOM-0002,", ",BIOM-0099,")),
    # --- BibTeX
    "bib-unbalanced-braces": (BIB, sub("title = {{A second synthetic fixture study}},",
                                       "title = {{A second synthetic fixture study},")),
    "bib-duplicate-key": (BIB, sub("@article{beta2021,", "@article{alpha2020,")),
    "bib-case-variant-key": (BIB, sub("@article{beta2021,", "@article{Alpha2020,")),
    "bib-duplicate-field": (BIB, sub("  year = {2021},\n", "  year = {2021},\n  year = {2022},\n")),
    "bib-missing-title": (BIB, sub("  title = {{A second synthetic fixture study}},\n", "")),
    "bib-missing-author": (BIB, sub("  author = {M{\\\"u}ller, Carla},\n", "")),
    "bib-missing-doi-and-pmid": (BIB, sub("  pmid = {1},\n", "")),
    "bib-malformed-doi": (BIB, sub("doi = {10.5555/fixture.0001}", "doi = {https://doi.org/10.5555/fixture.0001}")),
    "bib-duplicate-doi": (BIB, sub("doi = {10.5555/fixture.0003}", "doi = {10.5555/FIXTURE.0001}")),
    "bib-malformed-pmid": (BIB, sub("pmid = {1}", "pmid = {PMC1}")),
    "bib-non-4-digit-year": (BIB, sub("year = {2021}", "year = {21}")),
    "bib-javascript-url": (BIB, sub("  pmid = {1},\n", "  pmid = {1},\n  url = {javascript:alert(1)},\n")),
    "bib-undefined-string-macro": (BIB, sub("journal = {Journal of Test Fixtures},", "journal = nosuchmacro,")),
    "bib-key-with-space": (BIB, sub("@article{gamma2019,", "@article{gamma 2019,")),
    "bib-latin1-bytes": (BIB, raw(lambda b: b.replace(b'M{\\"u}ller', "M\u00fcller".encode("latin-1")))),
}


def main() -> None:
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from livingreview.checking.validate import validate

    for name, (target, edit) in CASES.items():
        case = HERE / name
        shutil.rmtree(case, ignore_errors=True)
        (case / Path(target).parent).mkdir(parents=True, exist_ok=True)
        original = (MINI / target).read_bytes()
        broken = edit(original) if getattr(edit, "raw", False) else edit(original.decode()).encode()
        (case / target).write_bytes(broken)
        tmp = HERE / ".work"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(MINI, tmp)
        (tmp / target).write_bytes(broken)
        lines = [str(p) for p in validate(tmp) if p.severity.value == "error"]
        shutil.rmtree(tmp)
        (case / "expected.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}: {len(lines)} line(s)")
        for line in lines:
            print("   ", re.sub(r"expected one of: .*", "expected one of: ...", line))


if __name__ == "__main__":
    main()
