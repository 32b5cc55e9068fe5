"""The bad-input corpus: each case is one broken file; validation must print exactly its expected lines, exit 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES
from livingreview.commands.cli import main

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expected.txt").exists())


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    kinds = {p.name.split("-")[0] for p in CASES}
    assert kinds == {"csv", "cell", "link", "bib"}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_gives_exactly_its_located_errors(tmp_path, case):
    root = tmp_path / "review"
    shutil.copytree(FIXTURES / "mini", root)
    for broken in case.rglob("*"):
        if broken.is_file() and broken.name != "expected.txt":
            target = root / broken.relative_to(case)
            target.write_bytes(broken.read_bytes())
    result = CliRunner().invoke(main, ["validate", "--quiet", "--root", str(root)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("invalid: ")
    expected = (case / "expected.txt").read_text(encoding="utf-8").strip().splitlines()
    assert lines[:-1] == expected
    for line in expected:
        path, lineno, column, message = line.split(":", 3)
        assert path and lineno.isdigit() and column and message.strip()
