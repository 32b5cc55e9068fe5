"""Large tables are checked in worker processes and their problems sent back as columns: the answer is the same."""

from __future__ import annotations

import pytest

from livingreview.checking import validate
from livingreview.model.errors import MESSAGE_LIMIT


def _rows(review, rel: str) -> list[str]:
    return review.path(rel).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("fault", ["clean", "faults"])
def test_worker_processes_give_the_serial_answer(review, monkeypatch: pytest.MonkeyPatch, fault: str):
    lines = _rows(review, "data/mechanisms.csv")
    header, first = lines[0], lines[1]
    # repeated rows (a warning each), and with faults: a cell rule broken, a control character, a huge cell
    extra = [first.replace("MECH-0001", f"MECH-{9000 + i}") for i in range(30)]
    if fault == "faults":
        extra[3] = extra[3].replace("in_vitro", "in_vivoo")
        extra[5] = extra[5].replace("breast", "bre\u202east")
        extra[7] = extra[7].replace("miR-1", "x" * (3 * MESSAGE_LIMIT))  # a long cell: quoted short
    review.path("data/mechanisms.csv").write_text("\n".join([header, *lines[1:], *extra]) + "\n", encoding="utf-8")

    monkeypatch.setattr(validate, "PARALLEL_BYTES", 10**12)
    serial = validate.check(review.root, frames=False)
    monkeypatch.setattr(validate, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(validate.os, "cpu_count", lambda: 2)
    pools = []

    class Pool(validate.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(validate, "ProcessPoolExecutor", Pool)
    parallel = validate.check(review.root, frames=False)
    assert len(pools) == 1  # the workers did check the tables

    assert [str(p) for p in parallel.problems] == [str(p) for p in serial.problems]
    assert parallel.problems == serial.problems and parallel.rows == serial.rows
    assert sum("row repeats line" in p.message for p in serial.problems) >= 27
    if fault == "faults":
        assert any("in_vivoo" in p.message for p in serial.errors)
        assert any("\\u202e" in str(p) for p in serial.problems)
        assert any("characters)" in p.message for p in serial.problems), [str(p) for p in serial.problems]
