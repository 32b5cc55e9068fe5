"""Issue 24 item 3: the engine names no topic. No EV, cancer or metastasis term, and no table or column name of the
EV review, appears in the package's code; a review's words live in its own review.yml, data and chapters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "livingreview"
#: the topic's words, and the names the EV review gives its tables and columns
TOPIC = re.compile(r"(?-i:\bEVs?\b)|extracellular|vesicle|exosom|cancer|metasta|tumou?r|premetastatic|\bpmn\b|"
                   r"\bmechanisms\b|therapies|biomarkers?\b|ev_subtypes|\bsubtypes?\b|hallmark|target_organ|"
                   r"ev_type|cargo|oncosome|migrasome|niche", re.IGNORECASE)
def lines_naming_the_topic(path: Path) -> list[str]:
    """Each line of ``path`` that names the topic (the variable ``ev``, an ``Evidence``, is not the topic)."""
    text = path.read_text(encoding="utf-8")
    return [f"{path.name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if TOPIC.search(line)]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_no_module_names_the_topic(path):
    found = lines_naming_the_topic(path)
    assert found == [], "\n".join(found)


def test_the_topic_regex_finds_what_it_must():
    probe = Path(__file__).with_name("_probe_words.py")
    try:
        probe.write_text("x = 'Exosomes from EVs in cancer'\ny = ev.tables\n", encoding="utf-8")
        assert [line.split(":")[1] for line in lines_naming_the_topic(probe)] == ["1"]
    finally:
        probe.unlink()
