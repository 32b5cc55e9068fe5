"""Reproducibility: the same data gives byte-identical tables and chart specs, in separate processes."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

SCRIPT = ("import livingreview as lr; from livingreview.publishing.snapshot import digest; "
          "print(digest(lr.load({root!r})))")


def run(root, seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(root=str(root))], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_two_runs_give_identical_snapshots():
    assert run(REPO, "1") == run(REPO, "2")


def test_snapshot_changes_with_the_data(review):
    before = run(review.root, "0")
    review.replace("data/pmn.csv", "Kupffer cells", "Kupffer cell")
    assert run(review.root, "0") != before
