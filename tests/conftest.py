"""Shared fixtures: a small, valid, synthetic review that each test may break in one place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same examples every time (a failure there is reproducible, not luck); elsewhere hypothesis explores
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]

from livingreview.model.declarations import load as _load_declarations  # noqa: E402

#: the EV review's declared tables and vocabularies (the engine holds none of its own)
TABLES = _load_declarations(REPO).tables
VOCABULARIES = _load_declarations(REPO).vocabularies


class Review:
    """A writable copy of a fixture review, with helpers to plant one fault."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, rel: str) -> Path:
        return self.root / rel

    def replace(self, rel: str, old: str, new: str, count: int = 1) -> None:
        """Replace ``old`` by ``new`` in ``rel``; fail the test if ``old`` is absent."""
        text = self.path(rel).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        self.path(rel).write_text(text.replace(old, new, count), encoding="utf-8")

    def append(self, rel: str, text: str) -> None:
        with self.path(rel).open("a", encoding="utf-8") as fh:
            fh.write(text)

    def write_bytes(self, rel: str, data: bytes) -> None:
        self.path(rel).write_bytes(data)


@pytest.fixture
def review(tmp_path: Path) -> Review:
    """A fresh copy of tests/fixtures/mini."""
    root = tmp_path / "review"
    shutil.copytree(FIXTURES / "mini", root)
    return Review(root)
