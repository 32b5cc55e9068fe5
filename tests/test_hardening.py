"""Bad input gets one located error, never a traceback, a crash later on, or a stale or altered page.

Issue 11, items 4, 5, 8, 9, 10, 13, 14 and 15; each test failed before its fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import time
from pathlib import Path

import frictionless
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ev_charts
import livingreview as lr
from conftest import TABLES
from livingreview.checking import csvfile
from livingreview.checking.csvfile import read_table
from livingreview.checking.validate import check
from livingreview.commands.cli import main
from livingreview.model.errors import Problem, Severity
from livingreview.publishing.export import _csv, export_package

B, M, C, P = "data/biomarkers.csv", "data/mechanisms.csv", "data/claims.csv", "data/pmn.csv"


def errors(root: Path) -> list[str]:
    return [str(p) for p in check(root, frames=False).errors]


def set_cell(review, rel: str, row_id: str, column: str, value: str) -> None:
    rows = list(csv.reader(io.StringIO(review.path(rel).read_text(encoding="utf-8"), newline="")))
    col = rows[0].index(column)
    for row in rows[1:]:
        if row[0] == row_id:
            row[col] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    review.path(rel).write_text(out.getvalue(), encoding="utf-8")


# --- item 4: ASCII digits only, integers within int64 -------------------------------------------------------------

@pytest.mark.parametrize(("column", "value", "message"), [
    ("n_patients", "\u0661\u0662\u0663", "is not a number"),          # Arabic-Indic digits
    ("n_patients", "\uff11\uff12", "is not a number"),                # full-width digits
    ("n_patients", "1_000", "is not a number"),
    ("n_patients", "1" * 30, "is out of range"),
    ("n_patients", str(2**63), "is out of range"),
    ("n_patients", "+5", "is not a number"),
    ("auc", "+0.5", "is not a number"),                               # item 9
    ("auc", "0.\u0665", "is not a number"),
    ("auc", "1e999", "is not a number"),
    ("added", "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0661", "is not a date"),
    ("id", "BIOM-\u0660\u0660\u0660\u0661", "malformed id"),
])
def test_non_ascii_and_unbounded_numbers_are_located(review, column, value, message):
    set_cell(review, B, "BIOM-0001", column, value)
    found = errors(review.root)
    assert any(f"{B}:2:{column}:" in m and message in m for m in found), found


def test_largest_int64_validates_and_every_command_works(review, tmp_path):
    set_cell(review, B, "BIOM-0001", "n_patients", str(2**63 - 1))
    assert errors(review.root) == []
    for args in (["stats"], ["export", "--out", str(tmp_path / "pkg")]):
        result = CliRunner().invoke(main, [*args, "--root", str(review.root)])
        assert result.exit_code == 0 and result.exception is None, result.output
    assert lr.load(review.root).biomarkers["n_patients"].iloc[0] == 2**63 - 1


def test_citekey_with_leading_plus_is_refused(review):
    review.replace("references.bib", "@article{alpha2020", "@article{+1+1")
    review.replace(M, "MECH-0001,alpha2020,", "MECH-0001,+1+1,")
    found = errors(review.root)
    assert any("key '+1+1' is not a plain BibTeX key" in m for m in found), found
    assert any(f"{M}:2:citekeys: malformed citation key" in m for m in found), found


# --- item 5: bounded time on large valid input --------------------------------------------------------------------

def test_long_selector_with_inner_whitespace_is_linear(review):
    text = "finding~a" + " " * 100_000 + "b"  # 100 KB: the old pattern backtracked over the inner run
    set_cell(review, C, "CLAIM-0001", "where", text)
    start = time.perf_counter()
    found = errors(review.root)
    # well formed, but over the selector size bound (issue 23 item 17): that one error, and no other
    assert len(found) == 1 and "has 100,010 characters" in found[0], found
    assert time.perf_counter() - start < 10  # about 60 s before


def test_many_unknown_keys_against_a_large_library_is_bounded(review):
    entries = "".join(f"@article{{paper{i:05d}x,\n  author = {{A, B}},\n  title = {{T {i}}},\n  journal = {{J}},\n"
                      f"  year = {{2020}},\n  doi = {{10.5555/p.{i}}},\n}}\n" for i in range(3000))
    review.append("references.bib", entries)
    lines = review.path(M).read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    rows = [",".join([f"MECH-{i + 10:04d}", f"paper{i:05d}y", *first[2:]]) for i in range(3000)]
    review.path(M).write_text("\n".join([*lines, *rows]) + "\n", encoding="utf-8")
    start = time.perf_counter()
    found = errors(review.root)
    seconds = time.perf_counter() - start
    assert sum("unknown citekey 'paper" in m for m in found) == 3000
    assert "did you mean 'paper00000x'?" in next(m for m in found if "paper00000y" in m)
    assert seconds < 15, seconds  # was 34 s


# --- item 8: valid data always builds -------------------------------------------------------------------------------

def test_thousands_of_markers_stay_within_the_chart_limit(review):
    from livingreview.analysis import summaries

    lines = review.path(B).read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    rows = [",".join([f"BIOM-{i + 10:04d}", *first[1:5], f"marker {i}", *first[6:]])
            for i in range(6000)]
    review.path(B).write_text("\n".join([*lines, *rows]) + "\n", encoding="utf-8")
    ev = lr.load(review.root)
    points = ev_charts.auc_points(ev)
    assert len(points) == summaries.CHART_POINTS and int(points["points_total"].iloc[0]) == 6001
    spec = ev_charts.auc_dotplot(points).to_dict()  # altair raised MaxRowsError
    assert "The 80 with the most patients, of 6001" in json.dumps(spec)
    assert len(ev_charts.sens_spec_points(ev)) == summaries.CHART_POINTS
    ev_charts.sens_spec_chart(ev_charts.sens_spec_points(ev)).to_dict()


def test_header_only_tables_summarise(review):
    from livingreview.publishing import snapshot

    for table in TABLES.values():
        text = review.path(table.path).read_text(encoding="utf-8")
        review.path(table.path).write_text(text.split("\n", 1)[0] + "\n", encoding="utf-8")
    ev = lr.load(review.root)
    tables = snapshot.tables(ev)
    grids = [name for name in tables if "_by_" in name]  # every pair of terms, zero where no row
    assert grids
    assert all(len(df) == 0 for name, df in tables.items() if name not in grids)
    assert all(df["rows"].sum() == 0 for name, df in tables.items() if name in grids)
    assert list(tables["claims"].columns)[:3] == ["id", "section", "claim"]
    snapshot.charts(ev)


# --- item 9: the exported package is valid under its own schema, neutralised one way -----------------------------

def test_export_neutralises_every_file_and_passes_frictionless(review, tmp_path):
    review.replace("references.bib", "{{A synthetic fixture study of small extracellular vesicles}}",
                   "{{-omics of =SUM(1) vesicles}}")
    review.replace("references.bib", "{Example, Ada and Sample, Bo}", "{@Example, Ada and Sample, Bo}")
    package = export_package(review.root, tmp_path / "pkg")
    report = frictionless.validate(str(package))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    refs = {r["key"]: r for r in csv.DictReader((package.parent / "references.csv").open(encoding="utf-8"))}
    assert refs["alpha2020"]["title"] == "'-omics of =SUM(1) vesicles"
    assert refs["alpha2020"]["authors"].startswith("'@Example")
    for path in package.parent.rglob("*.csv"):
        for row in csv.reader(path.open(encoding="utf-8")):
            assert not any(c.startswith(("=", "+", "@")) for c in row), (path.name, row)
    assert _csv([["=x", "+1", "-2", "@y", "-0.5"]]) == b"'=x,'+1,-2,'@y,-0.5\n"


# --- item 10: display spoofing and silent duplicates ---------------------------------------------------------------

@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u2066", "\ufeff", "\u00ad", "\x07", "\u2028"])
def test_invisible_characters_in_text_cells_are_located(review, char):
    set_cell(review, M, "MECH-0001", "finding", f"EVs carry{char} cargo.")
    found = errors(review.root)
    assert any(f"{M}:2:finding: invisible or control character U+{ord(char):04X}" in m for m in found), found


def test_a_row_repeated_under_a_new_id_is_a_warning(review):
    lines = review.path(M).read_text(encoding="utf-8").splitlines()
    twin = lines[1].replace("MECH-0001", "MECH-0099").replace("2026-01-01", "2026-02-01")
    review.path(M).write_text("\n".join([*lines, twin]) + "\n", encoding="utf-8")
    checked = check(review.root, frames=False)
    assert checked.errors == []
    line = len(lines) + 1
    assert [str(w) for w in checked.warnings if w.path == M] == [
        f"{M}:{line}:-: warning: row repeats line 2 in every column but id and date; expected each finding once"]


# --- item 13: the fast and strict CSV readers give one verdict ------------------------------------------------------

def _both_readers(root: Path, monkeypatch) -> tuple:
    table = TABLES["mechanisms"]
    fast, fast_problems = read_table(root, table)
    with monkeypatch.context() as m:
        m.setattr(csvfile, "_fast_frame", lambda *a: None)
        slow, slow_problems = read_table(root, table)

    def cells(raw):
        if raw is None:
            return None
        from livingreview.checking.rules import frame

        df = frame(raw)
        values = df.astype(object).where(df.notna(), None).values.tolist()
        return list(zip(map(int, df.index), values, strict=True))

    return (cells(fast), sorted(map(str, fast_problems))), (cells(slow), sorted(map(str, slow_problems)))


def test_text_after_a_closing_quote_is_one_verdict(review, monkeypatch):
    review.replace(M, '"Synthetic fixture finding two, with a comma."', '"Synthetic fixture"finding two')
    fast, slow = _both_readers(review.root, monkeypatch)
    assert fast == slow
    assert fast[0] is None and any("malformed CSV" in m for m in fast[1])


PIECES = st.sampled_from(['"', '""', ",", "\n", "a", " ", "x,y", '"q"', '"a,b"', "\r\n"])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(PIECES, max_size=8), st.integers(0, 3))
def test_fast_and_strict_readers_agree_on_any_record(review, monkeypatch, pieces, row):
    lines = (Path(__file__).parent / "fixtures/mini/data/mechanisms.csv").read_text(encoding="utf-8").splitlines()
    row = min(row, len(lines) - 1) or 1
    cols = lines[row].split(",")
    cols[-2] = "".join(pieces)  # the finding column
    lines[row] = ",".join(cols)
    review.path(M).write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast, slow = _both_readers(review.root, monkeypatch)
    assert fast == slow


# --- item 14: add keeps the file's own line endings ---------------------------------------------------------------

ROW = {"citekeys": "alpha2020", "source": "doi:10.5555/fixture.0001",
       "cancer_type": "breast", "ev_type": "small_ev", "hallmark": "migration",
       "donor_cell": "tumour cells", "model": "fixture cell line", "evidence_level": "in_vitro", "cargo_class": "mirna",
       "finding": "A new fixture finding."}


def test_add_uses_the_majority_line_ending(review):
    from livingreview.curation.add import add_row

    data = review.path(M).read_bytes()
    review.write_bytes(M, data.replace(b"\n", b"\r\n", 1))  # one CRLF line among LF lines
    add_row(review.root, "mechanisms", ROW)
    after = review.path(M).read_bytes()
    assert after.endswith(b"A new fixture finding.,%s\n" % lr.load(review.root).mechanisms["added"].iloc[-1]
                          .strftime("%Y-%m-%d").encode()) and not after.endswith(b"\r\n")
    assert after.count(b"\r\n") == 1


def test_cr_only_file_is_one_located_message_and_add_refuses_it(review):
    from livingreview.curation.add import add_row

    review.write_bytes(M, review.path(M).read_bytes().replace(b"\n", b"\r"))
    assert errors(review.root) == [f"{M}:1:-: line break is a bare carriage return (CR); expected LF or CRLF line "
                                   "endings (save the file again as CSV UTF-8)"]
    before = review.path(M).read_bytes()
    with pytest.raises(lr.ValidationError):
        add_row(review.root, "mechanisms", ROW)
    assert review.path(M).read_bytes() == before


# --- item 15: every message is one line; the CI summary's fence cannot be closed by data ------------------------

def test_messages_are_single_lines_whatever_the_data(review):
    set_cell(review, M, "MECH-0001", "hallmark", "x\n```\n## Validation passed\n[login](https://evil.example)")
    result = CliRunner().invoke(main, ["validate", "--root", str(review.root), "--markdown"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "## Validation" and lines[2].startswith("```") and lines[-1] == lines[2][:len(lines[-1])]
    fence = lines[-1]
    body = lines[3:-1]
    assert all(line.startswith(("data/", "references.bib", "invalid:", "valid:")) for line in body), body
    assert not any(line.startswith(fence) for line in body)
    assert [line for line in lines if line.startswith("#")] == ["## Validation"]  # no injected heading


def test_problem_escapes_controls_and_bidi():
    p = Problem("data/x.csv", 3, "finding", "bad 'a\nb\u202ec\x1b'")
    assert str(p) == "data/x.csv:3:finding: bad 'a\\nb\\u202ec\\u001b'" and "\n" not in p.message
    assert p.severity is Severity.ERROR


def test_fence_is_longer_than_any_backtick_run():
    from livingreview.publishing.render import fenced

    block = fenced(["a ```` b", "c"])
    assert block.splitlines()[0] == "`````text" and block.splitlines()[-1] == "`````"


@pytest.mark.book
def test_every_chapter_executes_on_header_only_tables(tmp_path):
    # item 8: a valid review with no rows gave the claims chapter a KeyError and the contributing chapter an
    # IndexError; every chapter must execute on it
    import shutil

    import nbformat
    from nbclient import NotebookClient

    from conftest import REPO
    from livingreview.checking.layout import chapter_files, read_chapter

    root = tmp_path / "review"
    for name in ("data", "chapters"):
        shutil.copytree(REPO / name, root / name)
    for name in ("references.bib", "_toc.yml", "_config.yml", "review.yml"):
        shutil.copy(REPO / name, root / name)
    for table in TABLES.values():
        path = root / table.path
        path.write_text(path.read_text(encoding="utf-8").split("\n", 1)[0] + "\n", encoding="utf-8")
    assert check(root, frames=False).errors == []
    for path in chapter_files(root):
        nb = read_chapter(path)
        NotebookClient(nb, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()
        assert all(o.get("output_type") != "error" for c in nb.cells for o in c.get("outputs", [])), path.name
        assert isinstance(nb, nbformat.NotebookNode)


# --- issue 23 (security and reliability, round 3): each test failed before its fix --------------------------------


@pytest.fixture
def released(review):
    """The mini review with its first release cut."""
    from livingreview.analysis.history import cut_release

    cut_release(review.root, "2026.12", dt.date(2026, 12, 1))
    return review


def _rewrite_snapshot(review, change, name: str = "2026.12") -> str:
    """Apply ``change`` to the snapshot's data, write it as ``releases/NAME.json`` (as release does) and validate."""
    path = review.path("releases/2026.12.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.unlink()
    review.path(f"releases/{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n",
                                                    encoding="utf-8")
    return "\n".join(errors(review.root))


def _line(review, name: str, needle: str) -> int:
    text = review.path(f"releases/{name}.json").read_text(encoding="utf-8")
    return text[:text.index(needle)].count("\n") + 1


def _claim(data: dict) -> dict:
    return data["claims"]["CLAIM-0001"]


@pytest.mark.parametrize(("change", "key", "needle", "message"), [
    (lambda d: _claim(d).update(certainty="certain"), "claims.CLAIM-0001.certainty", '"certainty": "certain"',
     "fails 'enum'"),
    (lambda d: _claim(d).update(supporting_rows=[["MECH-0001"], "MECH-0002"]), "claims.CLAIM-0001.supporting_rows.0",
     '"supporting_rows"', "fails 'type'"),
    (lambda d: _claim(d).update(studies="41"), "claims.CLAIM-0001.studies", '"studies": "41"', "fails 'type'"),
    (lambda d: d.update(date="2026-13-45"), "date", '"date"', "is not an ISO date"),
    (lambda d: d.update(date="1 December 2026"), "date", '"date"', "fails 'pattern'"),
    (lambda d: d["claims"].update({f"CLAIM-{i:05d}": dict(_claim(d)) for i in range(6000)}), "claims", '"claims"',
     "more than 2,000 entries"),
    (lambda d: _claim(d).update(claim="A claim\ufffe"), "claims.CLAIM-0001.claim", '"claim": "A claim',
     "fails 'pattern'"),
    (lambda d: _claim(d).update(certainty="high", studies=41), "seal", '"seal"', "edited after it was written"),
    (lambda d: d["tables"]["mechanisms"].pop("MECH-0001"), "seal", '"seal"', "edited after it was written"),
])
def test_item3_snapshot_is_checked_against_its_schema_and_seal(released, change, key, needle, message):
    found = _rewrite_snapshot(released, change)
    line = _line(released, "2026.12", needle)
    assert f"releases/2026.12.json:{line}:{key}: " in found and message in found, found


def test_item3_a_version_that_blocks_every_later_release_is_refused(released):
    def far(data):
        data["version"] = "9999.99.999"
        from livingreview.checking.releases import seal
        data["seal"] = seal({k: v for k, v in data.items() if k != "seal"})
    found = _rewrite_snapshot(released, far, "9999.99.999")
    assert "releases/9999.99.999.json:" in found and ":version: version '9999.99.999' is not a real month" in found
    released.path("releases/9999.99.999.json").unlink()
    result = CliRunner().invoke(main, ["release", "9999.12", "--root", str(released.root)])
    assert result.exit_code == 2 and "is not a real month" in result.output


def test_item3_a_sealed_snapshot_validates_and_loads(released):
    assert errors(released.root) == []
    assert [r.version for r in lr.load(released.root).releases] == ["2026.12"]


@pytest.mark.parametrize(("rel", "row", "line", "column", "value", "term"), [
    (P, "PMN-0001", 2, "niche_process", "inflammation;inflammation;inflammation", "inflammation"),
    (M, "MECH-0002", 3, "cargo_class", "protein;mirna;protein", "protein"),
    (M, "MECH-0002", 3, "cargo", "VEGF;VEGF", "VEGF"),
    (M, "MECH-0002", 3, "citekeys", "alpha2020;beta2021;alpha2020", "alpha2020"),
])
def test_item4_a_term_repeated_in_a_cell_is_located(review, rel, row, line, column, value, term):
    set_cell(review, rel, row, column, value)
    found = errors(review.root)
    assert any(m.startswith(f"{rel}:{line}:{column}: '{term}' is listed more than once") for m in found), found


def test_item4_heat_map_counts_rows_not_terms(review):
    from livingreview.analysis.summaries import crosstab

    ev = lr.load(review.root)
    rows = ev.pmn.copy()
    # the loaded (typed) table as a repeated cell would give it, had it passed validation
    rows["niche_process"] = [tuple(p) * 3 for p in rows["niche_process"]]
    ev.tables["pmn"] = rows
    table = crosstab(ev, "pmn", "niche_process", "target_organ")
    assert table["rows"].sum() == sum(len(set(p)) for p in rows["niche_process"])
    assert table["rows"].max() <= len(rows)


XML_FORBIDDEN = ["\ufffe", "\uffff", "\x01", "\x0b", "\x1f", "\ud800", "\udfff"]


@pytest.mark.parametrize("char", XML_FORBIDDEN)
def test_item4_characters_xml_forbids_are_refused_in_cells_and_bib_fields(review, char):
    text = review.path(M).read_text(encoding="utf-8", errors="surrogatepass")
    review.path(M).write_text(text.replace("Synthetic fixture finding one.", f"Synthetic{char} finding one."),
                              encoding="utf-8", errors="surrogatepass")
    review.replace("references.bib", "Journal of Test Fixtures", "Journal of Test\ufffe Fixtures")
    found = errors(review.root)
    if char in "\ud800\udfff":  # not UTF-8 at all: the file is refused, located, before any cell is read
        assert any(m.startswith(f"{M}:") for m in found), found
    else:
        assert any(m.startswith(f"{M}:2:finding:") and f"U+{ord(char):04X}" in m for m in found), found
    assert any(m.startswith("references.bib:") and ":journal:" in m and "U+FFFE" in m for m in found), found


def test_item4_every_xml_and_json_artefact_parses_back(review, tmp_path):
    import xml.etree.ElementTree as ET

    from livingreview.analysis.summaries import crosstab, explorer
    from livingreview.publishing.book import published_files
    from livingreview.publishing.figures import count_heatmap
    from livingreview.publishing.render import chart_html, explorer_json

    # everything XML 1.0 and JSON allow that a careless writer gets wrong
    awkward = "A <b>&amp; ]]> \"q\" 'a' \t tab, é, 😀, \ufffd, \U0010fffd and \\ end"
    set_cell(review, M, "MECH-0001", "finding", awkward)
    set_cell(review, M, "MECH-0001", "donor_cell", "</script><!-- cells")
    assert errors(review.root) == []
    ev = lr.load(review.root)
    files = published_files(review.root, ev)
    feed = ET.fromstring(files["feed.xml"])
    assert any(awkward in (e.text or "") for e in feed.iter()), "the finding reaches the feed unchanged"
    claims = json.loads(files["download/claims.json"])
    assert claims["claims"] and json.loads(files["download/claims.schema.json"])
    export_package(review.root, tmp_path / "pkg")
    assert json.loads((tmp_path / "pkg" / "datapackage.json").read_text(encoding="utf-8"))["resources"]
    written = list((tmp_path / "pkg").rglob("*.json"))
    assert len(written) >= 2, written  # the descriptor and the CSL-JSON library at least
    for path in written:
        json.loads(path.read_text(encoding="utf-8"))
    table = explorer(ev)
    rows = json.loads(explorer_json(table, table.attrs["labels"], table.attrs["orders"]))["rows"]
    assert any(awkward in row for row in rows)
    chart = count_heatmap(crosstab(ev, "mechanisms", "hallmark", "cancer_type"), "cancer_type", "hallmark", "t", "x",
                          "y")
    html = chart_html(chart.to_dict(), "c")
    specs = [json.loads(s) for s in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)]
    assert specs and all(isinstance(s, dict) for s in specs)


HUGE = "9" * 4402  # more digits than Python converts (sys.get_int_max_str_digits() is 4300)
DEEP = 100_000


def _plant_huge_cell(review) -> str:
    set_cell(review, B, "BIOM-0001", "n_patients", HUGE)
    return f"{B}:2:n_patients:"


def _plant_huge_id(review) -> str:
    set_cell(review, B, "BIOM-0001", "id", "BIOM-" + HUGE)
    return f"{B}:2:id:"


def _plant_deep_release(review) -> str:
    review.path("releases").mkdir(exist_ok=True)
    review.path("releases/2026.12.json").write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")
    return "releases/2026.12.json:1:-:"


def _plant_huge_release_number(review) -> str:
    review.path("releases").mkdir(exist_ok=True)
    review.path("releases/2026.12.json").write_text('{"format": ' + HUGE + "}", encoding="utf-8")
    return "releases/2026.12.json:1:-:"


def _plant_deep_toml(review) -> str:
    review.path("living.toml").write_text("[living]\nstatus = " + "[" * DEEP + "]" * DEEP + "\n", encoding="utf-8")
    return "living.toml:1:-:"


def _plant_huge_toml(review) -> str:
    review.path("living.toml").write_text(f"[living]\nstatus = \"active\"\nsearch_every_days = {HUGE}\n",
                                          encoding="utf-8")
    return "living.toml:"


def _add_args(root: Path) -> list[str]:
    good = {"citekeys": "alpha2020", "source": "doi:10.5555/fixture.0001", "cancer_type": "breast",
            "ev_type": "small_ev", "target_organ": "lung", "niche_process": "inflammation", "recipient_cell": "cells",
            "cargo": "S100A4", "cargo_class": "protein", "model": "fixture mouse", "evidence_level": "animal",
            "finding": "A synthetic finding."}
    return ["add", "pmn", "--root", str(root)] + [f"--set={k}={v}" for k, v in good.items()]


@pytest.mark.parametrize("plant", [_plant_huge_cell, _plant_huge_id, _plant_deep_release, _plant_huge_release_number,
                                   _plant_deep_toml, _plant_huge_toml], ids=lambda f: f.__name__[7:])
@pytest.mark.parametrize("command", ["validate", "add", "cite", "search"])
def test_item8_huge_numbers_and_deep_nesting_are_located_errors_in_every_command(review, plant, command):
    from conftest import FIXTURES

    where = plant(review)
    root = review.root
    args = {"validate": ["validate", "--root", str(root)], "add": _add_args(root),
            "cite": ["cite", "10.5555/fixture.0101", "--root", str(root), "--offline"],
            "search": ["search", "extracellular vesicles", "--offline", "--root", str(root)]}[command]
    if command == "cite":
        shutil.copytree(FIXTURES / "cite", root / "cache")
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    if command in ("validate", "add"):
        assert result.exit_code == 1 and where in result.output, result.output


@pytest.mark.parametrize("body", ["[" * DEEP + "]" * DEEP, '{"message": ' + HUGE + "}"])
def test_item8_a_cached_response_too_deep_or_too_long_is_refused_cleanly(review, body):
    from livingreview.curation.cite import cache_path as cite_cache
    from livingreview.curation.search import cache_path as search_cache

    for path in (cite_cache(review.root, "doi", "10.5555/fixture.0101"),
                 search_cache(review.root, "pubmed", "extracellular vesicles", 100)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    for args in (["cite", "10.5555/fixture.0101", "--offline"], ["search", "extracellular vesicles", "--offline"]):
        result = CliRunner().invoke(main, [*args, "--root", str(review.root)])
        assert result.exit_code in (1, 2) and isinstance(result.exception, SystemExit), result.exception
        assert "not readable JSON" in result.output or "unreadable cached response" in result.output, result.output


def _serving(root: Path, build, said: list[str]):
    """Start ``serve`` with ``build`` in a thread; return (stop event, thread, status reader, base URL)."""
    import threading
    import urllib.request

    from livingreview.commands.serve import STATUS_PATH, serve

    stop = threading.Event()
    thread = threading.Thread(target=serve, kwargs={"root": root, "port": 0, "say": said.append, "stop": stop,
                                                    "build": build, "interval": 0.05, "settle": 0.05}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not any(s.startswith("serving the book at") for s in said):
        assert time.monotonic() < deadline and thread.is_alive(), said
        time.sleep(0.05)
    url = next(s for s in said if s.startswith("serving")).split(" at ", 1)[1].split(" ", 1)[0].rstrip("/")

    def status() -> dict:
        with urllib.request.urlopen(url + STATUS_PATH, timeout=10) as response:
            return json.loads(response.read())
    return stop, thread, status, url


def _until(predicate, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize("plant", [_plant_deep_release, _plant_huge_release_number, _plant_deep_toml,
                                   _plant_huge_cell], ids=lambda f: f.__name__[7:])
def test_item8_serve_survives_bad_input_and_shows_it_in_its_banner(review, plant):
    from livingreview.commands.serve import WarmBuild

    said: list[str] = []
    stop, thread, status, _ = _serving(review.root, WarmBuild(build=lambda root, ev: 0), said)
    try:
        assert status() == {"build": 1, "error": ""}
        where = plant(review)
        error = _until(lambda: status()["error"])
        assert where in error and thread.is_alive()
    finally:
        stop.set()
        thread.join(30)


def test_item8_serve_survives_a_build_that_raises_anything(review):
    calls: list[int] = []

    def build(root):
        calls.append(1)
        if len(calls) == 2:
            raise RecursionError("maximum recursion depth exceeded " + "x" * 100_000)
        return 0

    said: list[str] = []
    stop, thread, status, _ = _serving(review.root, build, said)
    try:
        review.append(M, "")  # touch a watched file
        review.path(M).touch()
        error = _until(lambda: status()["error"])
        assert "RecursionError" in error and len(error) < 10_000 and thread.is_alive()
        review.path(B).write_text(review.path(B).read_text() + "\n")
        assert _until(lambda: status()["build"] == 2 and not status()["error"])
    finally:
        stop.set()
        thread.join(30)


LONG = 200_000


@pytest.mark.parametrize(("rel", "row", "column", "value"), [
    (P, "PMN-0001", "target_organ", "lungs" * (LONG // 5)),               # unknown vocabulary term
    (P, "PMN-0001", "niche_process", "x;" * (LONG // 2)),                 # many unknown items
    (B, "BIOM-0001", "n_patients", "1" * 19 + "x" * LONG),                # not a number
    (M, "MECH-0001", "finding", "=" + "a" * LONG),                        # formula
    (M, "MECH-0001", "citekeys", "nokey" * (LONG // 5)),                  # unknown citekey
    (M, "MECH-0001", "added", "2026-01-01" * (LONG // 10)),              # not a date
    (C, "CLAIM-0001", "where", "hallmark=" + "y" * LONG),                 # selector term
])
def test_item9_messages_quote_at_most_80_characters_of_a_value_and_its_length(review, rel, row, column, value):
    set_cell(review, rel, row, column, value)
    found = [m for m in errors(review.root) if f":{column}:" in m]
    assert found, errors(review.root)
    for message in found:
        assert len(message) < 1_000, len(message)  # the value's 80 characters and the explanation
    shown = [m for m in found if "characters)" in m]
    # the length given is the value's (or, for a selector, its term's): the reader learns how long it was
    assert all(int(re.search(r"\(([0-9,]+) characters\)", m).group(1).replace(",", "")) >= LONG for m in shown)
    assert shown or all(len(m) < 400 for m in found), found


def test_item9_library_messages_are_bounded(review):
    review.replace("references.bib", "year = {2020}", "year = {" + "2" * LONG + "}")
    review.replace("references.bib", "doi = {10.5555/fixture.0001}", "doi = {10." + "5" * LONG + "}")
    found = [m for m in errors(review.root) if m.startswith("references.bib")]
    assert found and all(len(m) < 2_500 for m in found), [len(m) for m in found]
    assert any(f"({LONG + 3:,} characters)" in m for m in found), found


def _raw(url: str, request: bytes, wait: float = 10) -> bytes:
    """Send ``request`` as is to the server at ``url``; return everything it answers."""
    import socket
    import urllib.parse

    where = urllib.parse.urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=wait) as sock:
        sock.sendall(request)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_item10_serve_checks_host_lists_no_folder_refuses_nul_and_drops_idle_clients(review, monkeypatch):
    from livingreview.commands import serve as served

    monkeypatch.setattr(served, "IDLE_SECONDS", 1)
    html = review.root / "_build" / "html"
    (html / "chapters").mkdir(parents=True)
    (html / "index.html").write_text("<html><body>book</body></html>", encoding="utf-8")
    (html / "chapters" / "intro.html").write_text("<html><body>intro</body></html>", encoding="utf-8")
    said: list[str] = []
    stop, thread, status, url = _serving(review.root, lambda root: 0, said)
    port = url.rsplit(":", 1)[1]
    try:
        def get(path: str, host: str | None) -> bytes:
            head = f"GET {path} HTTP/1.1\r\n" + (f"Host: {host}\r\n" if host is not None else "")
            return _raw(url, (head + "Connection: close\r\n\r\n").encode())

        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
            assert get("/chapters/intro.html", host).startswith(b"HTTP/1.0 200"), host
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{int(port) + 1}",
                     f"127.0.0.1.evil.example:{port}"):
            assert get("/chapters/intro.html", host).split(b"\r\n", 1)[0].split()[1] == b"421", host
        assert get("/chapters/intro.html", None).split()[1] == b"400"
        listing = get("/chapters/", f"127.0.0.1:{port}")
        assert listing.split()[1] == b"404" and b"intro.html" not in listing
        for path in ("/chapters/intro.html%00", "/%00/x", "/chapters%00/intro.html"):
            assert get(path, f"127.0.0.1:{port}").split()[1] == b"400", path
        start = time.monotonic()
        assert _raw(url, b"", wait=20) == b""  # a silent client is dropped, not kept for ever
        assert time.monotonic() - start < 10
        assert status()["error"] == "" and thread.is_alive()
    finally:
        stop.set()
        thread.join(30)


@pytest.mark.parametrize("folder", ["data", "chapters", "_static", "releases", ".git", "cache", "appendix"])
def test_item11_export_never_targets_the_reviews_own_folders_marker_or_not(review, folder):
    from livingreview.publishing.export import MARKER

    root = review.root
    review.path("_toc.yml").write_text("format: jb-book\nroot: appendix/notes\n", encoding="utf-8")
    for name in ("appendix", "releases", ".git", "cache", "_static", "chapters"):
        (root / name).mkdir(exist_ok=True)
    (root / "appendix" / "notes.md").write_text("# Notes\n", encoding="utf-8")
    (root / folder / MARKER).write_text("", encoding="utf-8")  # as a pull request could commit it
    (root / folder / "keep.txt").write_text("mine", encoding="utf-8")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    for args in (["--out", str(root / folder)], ["--out", str(root / folder), "--force"]):
        result = CliRunner().invoke(main, ["export", "--root", str(root), *args])
        assert result.exit_code == 2 and f"own folder {folder}/" in result.output, result.output
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert CliRunner().invoke(main, ["export", "--root", str(root), "--out", str(root / "package")]).exit_code == 0


@pytest.mark.parametrize("link", ["cache", "cache/search", "cache/search/pubmed"])
def test_item12_search_creates_nothing_through_a_cache_symlink_that_leads_out(review, tmp_path, link, monkeypatch):
    from livingreview.curation import search as searching

    outside = tmp_path / "outside"
    outside.mkdir()
    (review.root / link).parent.mkdir(parents=True, exist_ok=True)
    (review.root / link).symlink_to(outside, target_is_directory=True)
    response = {"esearch": {"esearchresult": {"count": "1", "idlist": ["99999991"]}},
                "esummary": {"result": {"uids": ["99999991"], "99999991": {
                    "uid": "99999991", "title": "A synthetic record title for a test.", "pubdate": "2026 Nov 3",
                    "articleids": [{"idtype": "pubmed", "value": "99999991"}]}}}}
    fetched: list[str] = []
    monkeypatch.setattr(searching, "fetch_pubmed", lambda query, limit: fetched.append(query) or response)
    result = CliRunner().invoke(main, ["search", "extracellular vesicles", "--root", str(review.root)])
    assert result.exit_code == 2 and "leads outside the review root" in result.output, result.output
    assert list(outside.rglob("*")) == [] and fetched == []  # checked before fetching or creating anything


def test_item12_cite_creates_nothing_through_a_cache_symlink_that_leads_out(review, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (review.root / "cache").symlink_to(outside, target_is_directory=True)
    result = CliRunner().invoke(main, ["cite", "10.5555/fixture.0101", "--offline", "--root", str(review.root)])
    assert result.exit_code == 2 and "leads outside the review root" in result.output, result.output
    assert list(outside.rglob("*")) == []


def test_item14_the_day_the_search_falls_due_makes_every_page_showing_the_status_stale(review, monkeypatch):
    import datetime as dt

    from livingreview.checking import living
    from livingreview.publishing.book import chapter_fingerprints, living_announcement
    from livingreview.publishing.chapter import living_status_block

    root = review.root
    review.write_bytes("living.toml", b'[living]\nstatus = "living"\nsearch_every_days = 30\n')
    review.write_bytes("data/searches.csv", b"id,date,source,query,records,notes\n"
                                            b"SRCH-0001,2026-11-01,manual,Fixture papers identified by hand,2,\n")
    review.write_bytes("data/screening.csv", (
        b"id,doi,pmid,title,year,search,stage,decision,reason,duplicate_of,citekey,screened,screener\n"
        b"SCR-0001,10.5555/fixture.0001,,A synthetic fixture study of small extracellular vesicles,2020,SRCH-0001,"
        b"title_abstract,include,,,alpha2020,2026-11-01,curator\n"
        b"SCR-0002,,1,A second synthetic fixture study,2021,SRCH-0001,title_abstract,include,,,beta2021,2026-11-01,"
        b"curator\n"))
    (root / "chapters").mkdir()
    page = ('---\nkernelspec:\n  name: python3\n  display_name: Python 3\nlivingreview:\n  reads: [{reads}]\n---\n'
            '# {title}\n\n```{{code-cell}} ipython3\n1\n```\n')
    (root / "chapters" / "methods.md").write_text(page.format(reads="searches, screening", title="Methods"))
    (root / "chapters" / "other.md").write_text(page.format(reads="mechanisms", title="Other"))
    (root / "_toc.yml").write_text("format: jb-book\nroot: chapters/methods\nchapters:\n  - file: chapters/other\n")
    ev = lr.load(root)

    def on(day: dt.date) -> tuple[dict, str, str]:
        monkeypatch.setattr(living, "today", lambda: day)
        methods = living_status_block(ev).data.replace("\\", "")  # Markdown escapes the dates' hyphens
        return chapter_fingerprints(root), living_announcement(root, ev), methods

    before, banner_before, methods_before = on(dt.date(2026, 11, 20))
    same, _, _ = on(dt.date(2026, 12, 1))  # the due day itself: still due, nothing to re-execute
    after, banner_after, methods_after = on(dt.date(2026, 12, 2))
    assert same == before
    assert after["chapters/methods.md"] != before["chapters/methods.md"]  # re-executed: it shows the status
    assert after["chapters/other.md"] == before["chapters/other.md"]      # not: it does not
    assert "next search due 2026-12-01" in banner_before and "next search due 2026-12-01" in methods_before
    assert "overdue since 2026-12-01" in banner_after and "overdue since 2026-12-01" in methods_after


@pytest.mark.parametrize("where", [
    "hallmark=" + "|".join(["migration", "angiogenesis"] * 20_000),        # 200 KB of valid terms
    "finding~" + "a" * 200_000,                                           # one 200 KB text condition
    ";".join(f"finding~x{i}" for i in range(101)),                      # 101 conditions, short
])
def test_item17_a_selector_above_the_declared_size_is_a_located_error_found_quickly(review, where):
    from livingreview.model.schema import SELECTOR_MAX_CHARS, SELECTOR_MAX_TERMS

    set_cell(review, C, "CLAIM-0001", "where", where)
    start = time.perf_counter()
    found = errors(review.root)
    assert time.perf_counter() - start < 5
    size = [m for m in found if m.startswith(f"{C}:2:where: selector ")]
    assert size and (f"at most {SELECTOR_MAX_CHARS:,} characters and {SELECTOR_MAX_TERMS} terms" in size[0]), found
    assert len(found) <= 3, found  # one located error, not one per term


def test_item17_a_selector_at_the_limit_validates(review):
    from livingreview.model.schema import SELECTOR_MAX_TERMS

    set_cell(review, C, "CLAIM-0001", "where", "hallmark=" + "|".join(["migration"] * SELECTOR_MAX_TERMS))
    assert errors(review.root) == []


@pytest.mark.parametrize("value", ["{\\relax}", "{{}}", "{}", "{ }", "{\\mbox{}}", "{No}", "{false}", "{0}"])
def test_item18_a_retracted_field_that_says_nothing_or_no_is_refused_never_silently_not_retracted(review, value):
    review.replace("references.bib", "  retracted = {yes},", f"  retracted = {value},")
    found = errors(review.root)
    assert any(m.startswith("references.bib:24:retracted: retracted ") for m in found), found
    from livingreview.checking.bib import load_library

    library, _ = load_library(review.root)
    assert library["gamma2019"].retracted  # whatever it reads as, the field's presence keeps it out of support


@pytest.mark.parametrize("value", ["{yes}", "{Retracted 2021, doi:10.5555/notice}", "{{\\relax}yes}"])
def test_item18_a_retracted_field_that_says_so_counts_as_retracted(review, value):
    review.replace("references.bib", "  retracted = {yes},", f"  retracted = {value},")
    assert errors(review.root) == []
    assert lr.load(review.root).library["gamma2019"].retracted


def test_item9_the_markdown_job_summary_stays_under_githubs_1_mib_limit(review):
    rows = review.path(M).read_text(encoding="utf-8").splitlines()
    long = "lungs" * 20_000
    extra = [rows[1].replace("MECH-0001", f"MECH-{i:04d}").replace(",breast,", f",{long}{i},")
             for i in range(10, 2_010)]
    review.path(M).write_text("\n".join([*rows, *extra]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--markdown", "--root", str(review.root)])
    assert result.exit_code == 1
    assert len(result.output.encode("utf-8")) < 1024 * 1024, len(result.output)
    assert "more (run livingreview validate locally" in result.output and "invalid: " in result.output


@pytest.mark.parametrize("depth", [50, 900, 5_000])
def test_item8_rows_nested_at_any_depth_in_a_snapshot_are_one_located_error(released, depth):
    path = released.path("releases/2026.12.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    _claim(data)["supporting_rows"] = "NEST"
    path.write_text(json.dumps(data, indent=1).replace('"NEST"', "[" * depth + "]" * depth), encoding="utf-8")
    found = errors(released.root)
    assert any(m.startswith("releases/2026.12.json:") for m in found), found


@pytest.mark.parametrize("metadata", ['{"livingreview": {"reads": ' + "[" * DEEP + "]" * DEEP + "}}",
                                      '{"n": ' + HUGE + "}", '"not an object"'])
def test_item8_a_chapter_whose_metadata_cannot_be_read_is_a_usage_error_not_a_traceback(tmp_path, metadata):
    from livingreview.model.errors import UsageError
    from livingreview.publishing.book import chapter_fingerprints

    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "x.ipynb").write_text('{"cells": [], "metadata": ' + metadata + "}", encoding="utf-8")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: chapters/x\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"chapters/x\.ipynb: its metadata cannot be read"):
        chapter_fingerprints(tmp_path)


def test_item10_allowed_hosts_name_the_port_except_the_default_one():
    from livingreview.commands.serve import allowed_hosts

    assert allowed_hosts(8000) == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert {"localhost", "127.0.0.1:80"} <= allowed_hosts(80) and "evil.example" not in allowed_hosts(80)
