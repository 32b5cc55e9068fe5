"""The benchmark's inputs and probe: synthetic reviews must stay valid and the probe must measure the real command."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, TABLES
from livingreview.checking.validate import check

sys.path.insert(0, str(REPO / "benchmarks"))
from synth import SHAPE, make_review


def test_synthetic_review_is_valid_and_scaled(tmp_path):
    real = check(REPO, frames=False)
    root = make_review(REPO, tmp_path / "x3", 3, library_size=400)
    synthetic = check(root)
    assert synthetic.errors == []
    assert sum(not ref.retracted for ref in synthetic.library.references.values()) == 400
    clones = sum(k.startswith("synthetic") for k in synthetic.library.references)
    for name in TABLES:
        expected = real.rows[name] * SHAPE.get(name, 3) + (clones if name == "screening" else 0)
        assert synthetic.rows[name] == expected, name
        if "id" in synthetic.frames[name] and name != "claims":
            assert synthetic.frames[name]["id"].is_unique, name
    cited = {k for f in synthetic.frames.values() if "citekeys" in f for c in f["citekeys"].dropna()
             for k in c.split(";")}
    assert any(k.startswith("synthetic") for k in cited)  # citation resolution is exercised at scale


def test_probe_runs_the_validate_command(tmp_path):
    root = make_review(REPO, tmp_path / "x1", 1)
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "probe.py"), "validate", str(root)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0
    assert result["rows"] == sum(check(REPO, frames=False).rows.values())
    assert result["verdict"].startswith("valid: ")
    assert result["seconds"] > 0 and result["peak_mib"] > 0


def test_frictionless_references_validate_the_real_tables(tmp_path):
    """Each reference run must really validate every table; one that stops at an error measures nothing."""
    from run import tables_only_package

    root = make_review(REPO, tmp_path / "x1", 1)
    package = tables_only_package(root, tmp_path / "package")
    for step in ("frictionless", "frictionless-each-table"):
        out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "probe.py"), step, str(package)],
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["valid"] is True, step
