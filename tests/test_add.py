"""Adding rows: validated against the whole review, atomic, byte-stable, never half-written."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import livingreview as lr
from conftest import TABLES
from livingreview.commands.cli import main
from livingreview.curation.add import UsageError, add_row, next_id
from livingreview.model import fileio

P = "data/pmn.csv"
GOOD = {"citekeys": "alpha2020", "source": "doi:10.5555/fixture.0001",
       "cancer_type": "breast", "ev_type": "small_ev", "target_organ": "lung",
        "niche_process": "inflammation;myeloid_recruitment", "recipient_cell": "lung fibroblasts",
        "cargo": "S100A4", "cargo_class": "protein", "model": "fixture mouse", "evidence_level": "animal",
        "finding": 'A synthetic finding, with a comma and "quotes".'}
TODAY = dt.date(2026, 11, 1)


def test_next_id_never_reuses_numbers():
    assert next_id(TABLES["pmn"], ["PMN-0001", "PMN-0007", "PMN-0003"]) == "PMN-0008"
    assert next_id(TABLES["pmn"], []) == "PMN-0001"


def test_add_appends_one_row_and_keeps_every_other_byte(review):
    before = review.path(P).read_bytes()
    result = add_row(review.root, "pmn", GOOD, today=TODAY)
    after = review.path(P).read_bytes()
    assert after.startswith(before)
    assert after[len(before):] == (b'PMN-0002,alpha2020,doi:10.5555/fixture.0001,breast,small_ev,lung,'
                                   b'inflammation;myeloid_recruitment,'
                                   b'lung fibroblasts,S100A4,protein,fixture mouse,animal,"A synthetic finding, '
                                   b'with a comma and ""quotes"".",2026-11-01\n')
    assert (result.line, result.row["id"], result.written) == (3, "PMN-0002", True)
    ev = lr.load(review.root)
    assert ev.pmn.iloc[-1]["niche_process"] == ("inflammation", "myeloid_recruitment")


def test_add_keeps_crlf_files_crlf(review):
    data = review.path(P).read_bytes().replace(b"\n", b"\r\n")
    review.write_bytes(P, data)
    add_row(review.root, "pmn", GOOD, today=TODAY)
    after = review.path(P).read_bytes()
    assert after.startswith(data) and after.endswith(b",2026-11-01\r\n")
    assert b"\n" not in after.replace(b"\r\n", b"")


def test_add_to_file_without_final_newline(review):
    data = review.path(P).read_bytes().rstrip(b"\n")
    review.write_bytes(P, data)
    add_row(review.root, "pmn", GOOD, today=TODAY)
    assert review.path(P).read_bytes().startswith(data + b"\nPMN-0002,")


def test_dry_run_writes_nothing(review):
    before = review.path(P).read_bytes()
    result = add_row(review.root, "pmn", GOOD, dry_run=True, today=TODAY)
    assert result.written is False and result.row["id"] == "PMN-0002"
    assert review.path(P).read_bytes() == before


@pytest.mark.parametrize(("change", "expected"), [
    ({"target_organ": "lungs"}, "data/pmn.csv:3:target_organ: unknown value 'lungs'"),
    ({"citekeys": "nosuch2020"}, "data/pmn.csv:3:citekeys: unknown citekey 'nosuch2020'"),
    ({"citekeys": "gamma2019"}, "data/pmn.csv:3:citekeys: citekey 'gamma2019' is a retracted paper"),
    ({"finding": ""}, "data/pmn.csv:3:finding: missing value for required column finding"),
    ({"model": "=cmd|' /C calc'!A0"}, "data/pmn.csv:3:model: '=cmd|' /C calc'!A0' starts with '='"),
])
def test_rejected_row_leaves_every_file_byte_identical(review, change, expected):
    snapshot = {p: p.read_bytes() for p in review.root.rglob("*") if p.is_file()}
    with pytest.raises(lr.ValidationError) as info:
        add_row(review.root, "pmn", {**GOOD, **change}, today=TODAY)
    assert any(str(p).startswith(expected) for p in info.value.errors), info.value.errors
    now = {p: p.read_bytes() for p in review.root.rglob("*") if p.is_file() and p.name != ".livingreview.lock"}
    assert now == snapshot


def test_usage_errors(review):
    with pytest.raises(UsageError):
        add_row(review.root, "nosuchtable", GOOD)
    with pytest.raises(UsageError, match="unknown column"):
        add_row(review.root, "pmn", {**GOOD, "organ": "lung"})
    with pytest.raises(UsageError, match="automatically"):
        add_row(review.root, "pmn", {**GOOD, "id": "PMN-0099"})


def test_refuses_when_review_is_already_invalid(review):
    review.replace("data/mechanisms.csv", "MECH-0002", "MECH-0001")
    before = review.path(P).read_bytes()
    with pytest.raises(lr.ValidationError):
        add_row(review.root, "pmn", GOOD, today=TODAY)
    assert review.path(P).read_bytes() == before


def test_interrupted_write_leaves_the_old_file(review, monkeypatch):
    before = review.path(P).read_bytes()

    def crash(src, dst):
        raise KeyboardInterrupt  # the process dies between writing the temporary file and the rename

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        add_row(review.root, "pmn", GOOD, today=TODAY)
    assert review.path(P).read_bytes() == before
    assert [p.name for p in review.path("data").iterdir() if p.name.endswith(".tmp")] == []


def test_full_disk_leaves_the_old_file(review, monkeypatch):
    before = review.path(P).read_bytes()
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space"):
        add_row(review.root, "pmn", GOOD, today=TODAY)
    assert review.path(P).read_bytes() == before


def _add_one(root: str, n: int) -> str:
    return add_row(Path(root), "pmn", {**GOOD, "finding": f"Concurrent synthetic finding {n}."}).row["id"]


def test_concurrent_adds_take_turns(review):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        ids = pool.starmap(_add_one, [(str(review.root), n) for n in range(6)])
    assert sorted(ids) == [f"PMN-{n:04d}" for n in range(2, 8)]
    ev = lr.load(review.root)
    assert len(ev.pmn) == 7 and ev.pmn["id"].is_unique


def test_cli_add_and_dry_run(review):
    args = ["add", "pmn", "--root", str(review.root)] + [f"--set={k}={v}" for k, v in GOOD.items()]
    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("would add PMN-0002 at data/pmn.csv:3")
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0 and done.output.startswith("added PMN-0002 at data/pmn.csv:3")
    bad = CliRunner().invoke(main, [*args[:-1], "--set=target_organ=lungs"])
    assert bad.exit_code == 1
    assert "unknown value 'lungs'" in bad.output and "nothing was written" in bad.output
    assert CliRunner().invoke(main, ["add", "pmn", "--root", str(review.root), "--set", "x"]).exit_code == 2
