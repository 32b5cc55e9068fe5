"""The contributor's loop (issue 16): edit and withdraw a row, refuse duplicates and placeholders, tidy a table."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

import livingreview as lr
from conftest import REPO, TABLES
from livingreview.checking.validate import check
from livingreview.commands.cli import main
from livingreview.curation.add import add_row
from livingreview.curation.edit import edit_row, records, withdraw_row
from livingreview.curation.tidy import tidy_bytes
from livingreview.model.errors import UsageError, ValidationError

M, W, C = "data/mechanisms.csv", "data/withdrawn.csv", "data/claims.csv"
ROW = {"citekeys": "alpha2020", "source": "doi:10.5555/fixture.0001",
       "cancer_type": "breast", "ev_type": "small_ev", "hallmark": "migration",
       "donor_cell": "tumour cells", "model": "fixture cell line", "evidence_level": "in_vitro",
       "cargo_class": "mirna", "finding": "A new fixture finding."}


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def errors(root) -> list[str]:
    return [str(p) for p in check(root, frames=False).errors]


# --- edit -----------------------------------------------------------------------------------------------------------

def test_edit_changes_one_record_and_keeps_every_other_byte(review):
    before = review.path(M).read_bytes()
    change = edit_row(review.root, "mechanisms", "MECH-0001", {"finding": "Corrected, with a comma."})
    after = review.path(M).read_bytes()
    old, new = records(before), records(after)
    assert [r.cells for r in new if r.cells[0] != "MECH-0001"] == [r.cells for r in old if r.cells[0] != "MECH-0001"]
    assert before[old[2].start:] == after[new[2].start:]  # the row after it: identical bytes
    assert before[:old[1].start] == after[:new[1].start]  # the header: identical bytes
    assert new[1].cells[13] == "Corrected, with a comma." and new[1].cells[-1] == "2026-01-01"
    assert '+MECH-0001' in change.diff and '"Corrected, with a comma."' in change.diff


def test_edit_dry_run_writes_nothing_and_shows_the_diff(review):
    before = review.path(M).read_bytes()
    result = run("edit", "mechanisms", "MECH-0001", "--root", str(review.root), "--set", "target=Wnt5a", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "-MECH-0001" in result.output and "Wnt5a" in result.output
    assert result.output.endswith("would edit MECH-0001 in data/mechanisms.csv (dry run: nothing was written)\n")
    assert review.path(M).read_bytes() == before


def test_withdraw_says_what_it_would_do_and_what_it_did_in_a_sentence(review):
    args = ("withdraw", "mechanisms", "MECH-0002", "--root", str(review.root), "--reason", "Entered twice.")
    dry = run(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.endswith(f"would withdraw MECH-0002 from {M} into {W} (dry run: nothing was written)\n")
    assert "would have" not in dry.output and "MECH-0002" in review.path(M).read_text()
    done = run(*args)
    assert done.exit_code == 0, done.output
    assert done.output.endswith(f"withdrew MECH-0002 from {M} into {W}\n")


def test_edit_keeps_a_crlf_record_crlf_and_a_multiline_neighbour_intact(review):
    text = review.path(M).read_text(encoding="utf-8")
    text = text.replace('"Synthetic fixture finding two, with a comma."', '"Two lines\nin one cell."')
    review.write_bytes(M, text.replace("\n", "\r\n").encode())
    edit_row(review.root, "mechanisms", "MECH-0001", {"target": "Wnt5a"})
    data = review.path(M).read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") and b'"Two lines\r\nin one cell."' in data


@pytest.mark.parametrize(("values", "error", "match"), [
    ({"hallmark": "flying"}, ValidationError, "unknown value 'flying'"),
    ({"nosuch": "x"}, UsageError, "unknown column"),
    ({"id": "MECH-0009"}, UsageError, "cannot be edited"),
    ({"added": "2020-01-01"}, UsageError, "cannot be edited"),
])
def test_edit_refuses_and_writes_nothing(review, values, error, match):
    before = review.path(M).read_bytes()
    with pytest.raises(error, match=match):
        edit_row(review.root, "mechanisms", "MECH-0001", values)
    assert review.path(M).read_bytes() == before


def test_edit_of_an_unknown_row_is_a_usage_error(review):
    result = run("edit", "mechanisms", "MECH-0404", "--root", str(review.root), "--set", "target=x")
    assert result.exit_code == 2 and "no row 'MECH-0404'" in result.output


# --- withdraw -------------------------------------------------------------------------------------------------------

def test_withdraw_moves_the_row_into_the_log_and_its_id_is_never_reused(review):
    withdraw_row(review.root, "mechanisms", "MECH-0002", "Entered twice by mistake.")
    assert errors(review.root) == []
    ev = lr.load(review.root)
    assert list(ev.mechanisms["id"]) == ["MECH-0001"]
    log = ev.tables["withdrawn"]
    assert list(log["row_id"]) == ["MECH-0002"] and log["reason"].iloc[0] == "Entered twice by mistake."
    assert log["finding"].iloc[0] == "Synthetic fixture finding two, with a comma."
    assert add_row(review.root, "mechanisms", ROW).row["id"] == "MECH-0003"  # not MECH-0002 again
    stats = run("stats", "--root", str(review.root))
    assert stats.exit_code == 0 and stats.exception is None, stats.output
    from livingreview.publishing import snapshot

    snapshot.snapshot(lr.load(review.root))  # every summary and chart with a withdrawn row


def test_the_withdrawn_rows_table_cites_the_studies_the_row_cited(review):
    from livingreview.publishing import chapter

    withdraw_row(review.root, "mechanisms", "MECH-0002", "Entered twice by mistake.")
    table = chapter.withdrawn_rows(lr.load(review.root)).data
    assert "| Studies cited |" in table and "{cite:p}`alpha2020,beta2021`" in table
    # a study the library no longer holds cannot be cited (the build would fail): it is named, not dropped
    review.replace(W, "alpha2020;beta2021", "alpha2020;gone1999")
    table = chapter.withdrawn_rows(lr.load(review.root)).data
    assert "{cite:p}`alpha2020`" in table and "gone1999" not in table.split("\n\n")[0]
    assert table.endswith("Studies no longer in the library: MECH\\-0002\\: gone1999.")


def test_withdraw_needs_a_reason_and_refuses_a_row_a_claim_still_names(review):
    with pytest.raises(UsageError, match="reason"):
        withdraw_row(review.root, "biomarkers", "BIOM-0002", "  ")
    before = {p: review.path(p).read_bytes() for p in ("data/biomarkers.csv", W)}
    with pytest.raises(ValidationError) as info:
        withdraw_row(review.root, "biomarkers", "BIOM-0002", "Wrong cohort.")  # CLAIM-0002 contradicted_by it
    assert any("row 'BIOM-0002' was withdrawn" in str(p) for p in info.value.errors)
    assert {p: review.path(p).read_bytes() for p in before} == before


def test_a_withdrawn_row_still_in_its_table_or_withdrawn_twice_is_located(review):
    review.append(W, "WDR-0001,MECH-0001,mechanisms,x,,dup,2026-01-09\nWDR-0002,MECH-0001,mechanisms,x,,dup,"
                     "2026-01-09\nWDR-0003,PMN-0001,mechanisms,x,,bad,2026-01-09\n")
    found = errors(review.root)
    assert f"{W}:2:row_id: row 'MECH-0001' is withdrawn but still in {M}; expected it taken out of the table" in found
    assert f"{W}:3:row_id: row 'MECH-0001' is withdrawn twice (first on line 2); expected once" in found
    assert any(m.startswith(f"{W}:4:row_id: row 'PMN-0001' is not an id of {M}") for m in found)


# --- add refuses duplicates and placeholders ------------------------------------------------------------------------

def test_add_refuses_a_near_exact_duplicate(review):
    twin = {**ROW, "citekeys": "alpha2020", "cancer_type": "breast", "ev_type": "small_ev", "hallmark": "migration",
            "donor_cell": "Tumour  cells", "recipient_cell": "fibroblasts", "target": "Wnt", "cargo": "miR-1",
            "model": "fixture cell line", "finding": "synthetic fixture finding one"}
    with pytest.raises(ValidationError, match="repeats line 2"):
        add_row(review.root, "mechanisms", twin)


@pytest.mark.parametrize("placeholder", ["...", "TODO", "tbd.", "\u2026", "?", "FIXME", "to be added"])
def test_placeholder_findings_are_refused(review, placeholder):
    with pytest.raises(ValidationError, match="is a placeholder"):
        add_row(review.root, "mechanisms", {**ROW, "finding": placeholder})


# --- tidy -------------------------------------------------------------------------------------------------------------

def test_tidy_undoes_what_a_spreadsheet_did_and_nothing_else(review):
    original = review.path(M).read_bytes()
    lines = original.decode().splitlines()
    header = lines[0].split(",")
    order = [header.index(c) for c in reversed(header)]

    rows = list(csv.reader(io.StringIO(original.decode())))
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([[r[i] for i in order] for r in rows] + [[""] * len(header)] * 3)
    excel = b"\xef\xbb\xbf" + out.getvalue().encode()
    review.write_bytes(M, excel)
    found = errors(review.root)
    assert f"{M}:1:-: file starts with a UTF-8 byte-order mark (BOM); expected plain UTF-8 without BOM " \
           "(livingreview tidy removes it)" in found
    assert any("columns are out of order" in m and "livingreview tidy" in m for m in found)
    result = run("tidy", "mechanisms", "--root", str(review.root))
    assert result.exit_code == 0, result.output
    assert "removed the UTF-8 byte-order mark" in result.output and "removed 3 empty row(s)" in result.output
    assert "columns put back in the declared order" in result.output
    assert errors(review.root) == []
    assert review.path(M).read_bytes() == original  # the committed bytes: records end with LF


def test_tidy_is_byte_stable_on_a_canonical_file(review):
    before = {p.name: p.read_bytes() for p in (review.root / "data").iterdir()}
    result = run("tidy", "--root", str(review.root))
    assert result.exit_code == 0 and result.output.count("already canonical") == len(before)
    assert {p.name: p.read_bytes() for p in (review.root / "data").iterdir()} == before


def test_tidy_normalises_mixed_line_endings_to_the_majority():
    data = b"a,b\r\n1,2\n3,4\n5,6\r\n7,8\n"
    result, changes = tidy_bytes(data, ["a", "b"])
    assert result == b"a,b\n1,2\n3,4\n5,6\n7,8\n" and changes == ["line endings made LF (2 record(s) ended otherwise)"]
    assert tidy_bytes(result, ["a", "b"]) == (result, [])


def test_tidy_turns_an_excel_save_of_each_repository_table_back_into_its_committed_bytes():
    """Excel's "CSV UTF-8": a byte-order mark, CRLF after every record and a trailing empty row."""
    for table in TABLES.values():
        original = (REPO / table.path).read_bytes()
        lines = original.decode("utf-8").split("\n")[:-1]
        if len(lines) != len(list(csv.reader(io.StringIO(original.decode("utf-8"))))):
            continue  # a cell with a line break: the planted test below covers it
        excel = b"\xef\xbb\xbf" + "".join(f"{line}\r\n" for line in lines).encode() + b"," * (
            len(table.column_names) - 1) + b"\r\n"
        result, changes = tidy_bytes(excel, table.column_names, table.path)
        assert result == original, table.path
        assert changes == ["removed the UTF-8 byte-order mark", f"line endings made LF ({len(lines)} record(s) "
                           "ended otherwise)", "removed 1 empty row(s)"]


def test_tidy_keeps_a_line_break_inside_a_quoted_cell_byte_for_byte(review):
    records = [review.path(M).read_text(encoding="utf-8").split("\n")[0],
               *[line for line in review.path(M).read_text(encoding="utf-8").split("\n")[1:] if line]]
    records[1] = records[1].replace("Synthetic fixture finding one.", '"Synthetic fixture\r\nfinding one,\nin two."')
    canonical = "".join(f"{r}\n" for r in records).encode()
    review.write_bytes(M, b"\xef\xbb\xbf" + "".join(f"{r}\r\n" for r in records).encode() + b",,,\r\n")
    result = run("tidy", "mechanisms", "--root", str(review.root))
    assert result.exit_code == 0, result.output
    assert review.path(M).read_bytes() == canonical
    assert b'"Synthetic fixture\r\nfinding one,\nin two."' in canonical


@pytest.mark.parametrize("change", ["short", "long", "short, columns reordered"])
def test_tidy_refuses_a_record_whose_field_count_differs_from_the_header(review, change):
    text = review.path(M).read_text(encoding="utf-8")
    header, first, *rest = text.split("\n")
    first = first.rsplit(",", 1)[0] if change.startswith("short") else first + ",extra"
    if change.endswith("reordered"):
        header = ",".join(reversed(header.split(",")))
    planted = ("\ufeff" + "\r\n".join([header, first, *rest])).encode()
    review.write_bytes(M, planted)
    result = run("tidy", "mechanisms", "--root", str(review.root))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    fields = len(first.split(","))
    assert f"{M}:2: record has {fields} field(s) but the header has 15; expected one cell per column" in result.output
    assert review.path(M).read_bytes() == planted


def test_trailing_empty_rows_are_one_message_each(review):
    review.append(M, ",,,,,,,,,,,,,,\n,,,,,,,,,,,,,,\n")
    assert errors(review.root) == [
        f"{M}:4:-: empty row 4; expected a row of values (livingreview tidy removes empty rows)",
        f"{M}:5:-: empty row 5; expected a row of values (livingreview tidy removes empty rows)"]


def test_item16_edit_refuses_to_make_a_row_a_copy_of_another_as_add_does(review):
    """Issue 23 item 16: edit could create the duplicate row that add refuses."""
    first = dict(zip(records(review.path(M).read_bytes())[0].cells, records(review.path(M).read_bytes())[1].cells,
                     strict=True))
    values = {c: v.upper() if c == "finding" else v for c, v in first.items() if c not in ("id", "added")}
    before = review.path(M).read_bytes()
    with pytest.raises(ValidationError, match=r"the edited row would repeat line 2 in every column but id and date"):
        edit_row(review.root, "mechanisms", "MECH-0002", values)
    result = run("edit", "mechanisms", "MECH-0002", "--root", str(review.root),
                 *[f"--set={c}={v}" for c, v in values.items()])
    assert result.exit_code == 1 and f"{M}:3:-: the edited row would repeat line 2" in result.output, result.output
    assert review.path(M).read_bytes() == before
    assert edit_row(review.root, "mechanisms", "MECH-0002", {"model": "fixture organoid"}).written  # others still do


def test_item16_edit_cannot_rewrite_the_withdrawal_log(review):
    withdraw_row(review.root, "mechanisms", "MECH-0002", "Synthetic reason for a test.")
    log = review.path(W).read_bytes()
    log_id = records(log)[1].cells[0]
    for values in ({"reason": "A rewritten reason."}, {"row_id": "MECH-0001"}, {"withdrawn": "2020-01-01"}):
        with pytest.raises(UsageError, match="written only by livingreview withdraw"):
            edit_row(review.root, "withdrawn", log_id, values)
        result = run("edit", "withdrawn", log_id, "--root", str(review.root),
                     *[f"--set={c}={v}" for c, v in values.items()])
        assert result.exit_code == 2 and "written only by livingreview withdraw" in result.output
    assert review.path(W).read_bytes() == log


def test_item16_add_cannot_write_the_withdrawal_log_either(review):
    log = review.path(W).read_bytes()
    result = run("add", "withdrawn", "--root", str(review.root), "--set=row_id=MECH-0001", "--set=table=mechanisms",
                 "--set=finding=Forged.", "--set=reason=Forged.", "--set=withdrawn=2026-01-01")
    assert result.exit_code == 2 and "written only by livingreview withdraw" in result.output, result.output
    assert review.path(W).read_bytes() == log


def test_tidy_quotes_a_cell_only_where_it_must_and_export_writes_the_same_bytes(review, tmp_path):
    """A spreadsheet (or a hand edit) that quotes every cell leaves a file whose exported copy differs byte for byte;
    tidy quotes a cell only where it must, as export writes it, and changes no cell's text."""
    import csv
    import io

    from livingreview.curation.tidy import tidy_bytes

    text = review.path("data/pmn.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    quoted = io.StringIO()
    csv.writer(quoted, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    out, changes = tidy_bytes(quoted.getvalue().encode("utf-8"), rows[0])
    assert out.decode("utf-8") == text and changes == [f"quotes made minimal in {len(rows)} record(s)"]
    assert list(csv.reader(io.StringIO(out.decode("utf-8")))) == rows
