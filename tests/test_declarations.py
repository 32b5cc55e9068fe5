"""A review's declarations (review.yml): they round-trip the engine's tables, and every mistake is located."""

from __future__ import annotations

import pytest

from conftest import REPO, TABLES
from livingreview.model import declarations as d
from livingreview.model.errors import ValidationError

MINIMAL = """review:
  title: BCG vaccine trials
  slug: bcg-vaccine
vocabularies:
  allocation:
    description: How patients were allocated.
    terms:
      - {value: random, label: Random}
      - {value: alternate, label: Alternate}
tables:
  trials:
    title: Trials
    id_prefix: TRIAL
    columns:
      - {name: id, type: id, description: Row id.}
      - {name: alloc, type: vocab, vocabulary: allocation, description: Allocation.}
      - {name: ablat, type: number, minimum: 0, maximum: 90, description: Absolute latitude.}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ValidationError) as info:
        d.read(text)
    return [str(p) for p in info.value.problems]


def test_the_ev_reviews_declarations_declare_exactly_the_engines_tables():
    """The EV review's review.yml and the engine's tables agree, term for term and constraint for constraint."""
    declared = d.load(REPO)
    assert declared.tables == TABLES
    assert declared.identity.slug == "ev-metastasis-living-review"


def test_dump_and_read_round_trip_every_table():
    text = d.dump(d.Identity("T", "t"), TABLES)
    assert d.read(text).tables == TABLES


def test_a_review_of_another_kind_declares_its_own_table():
    declared = d.read(MINIMAL)
    trials = declared.tables["trials"]
    assert trials.column_names == ["id", "alloc", "ablat"]
    assert trials.column("alloc").vocab.label("alternate") == "Alternate"
    assert trials.column("ablat").maximum == 90
    assert declared.identity.title == "BCG vaccine trials"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    id_prefix: TRIAL\n", "    id_prefix: TRIAL\n    colums: []\n",
     "review.yml:14:tables.trials.colums: unknown key 'colums'"),
    ("type: number, minimum: 0", "type: float, minimum: 0",
     "review.yml:17:tables.trials.columns[2].type: unknown type 'float'"),
    ("vocabulary: allocation,", "vocabulary: alocation,",
     "review.yml:16:tables.trials.columns[1].vocabulary: a vocab column names one of the declared vocabularies"),
    ("{value: alternate, label: Alternate}", "{value: random, label: Again}",
     "review.yml:9:vocabularies.allocation.terms[1].value: term 'random' is declared twice"),
    ("  slug: bcg-vaccine\n", "  slug: BCG vaccine\n", "review.yml:3:review.slug: expected lower case words"),
    ("minimum: 0,", "minimum: zero,", "review.yml:17:tables.trials.columns[2].minimum: expected a number"),
    ("{name: id, type: id, description: Row id.}", "{name: key, type: text, description: Row id.}",
     "review.yml:15:tables.trials.columns[0]: the first column of a table is its row id"),
    ("    title: Trials\n", "", "review.yml:12:tables.trials: missing 'title'"),
])
def test_each_mistake_is_located_by_line_and_key(old, new, expected):
    assert old in MINIMAL
    found = problems(MINIMAL.replace(old, new, 1))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_broken_yaml_is_a_located_error_not_a_traceback():
    found = problems(MINIMAL.replace("    id_prefix: TRIAL", "    id_prefix: [TRIAL"))
    assert len(found) == 1 and found[0].startswith("review.yml:") and "not valid YAML" in found[0]


def test_a_missing_file_is_a_located_error(tmp_path):
    with pytest.raises(ValidationError) as info:
        d.load(tmp_path)
    assert str(info.value.problems[0]).startswith("review.yml:1:-: no review.yml: a review declares its tables")


def test_validate_reports_the_declarations_problems_located(review):
    from click.testing import CliRunner

    from livingreview.commands.cli import main

    review.write_bytes("review.yml", MINIMAL.replace("type: number", "type: float").encode())
    result = CliRunner().invoke(main, ["validate", "--root", str(review.root)])
    assert result.exit_code == 1
    assert "review.yml:17:tables.trials.columns[2].type: unknown type 'float'" in result.output


def test_everything_a_review_publishes_is_named_by_its_identity(review, tmp_path):
    """Issue 24 item 5: the PDF, the data zip and package, the feed and the footer links carry the review's slug and
    title from its review.yml, never another review's names."""
    import xml.etree.ElementTree as ET

    import livingreview as lr
    from livingreview.publishing.book import stamped_config
    from livingreview.publishing.export import descriptor
    from livingreview.publishing.publish import ATOM, atom_feed

    who = d.Identity("BCG vaccine trials", "bcg-vaccine", ("Colditz review maintainers",), "CC0-1.0")
    ev_declared = d.load(review.root)
    review.write_bytes("review.yml", d.dump(who, TABLES, ev_declared.roles, ev_declared.certainty).encode())
    review.write_bytes("_config.yml", b"title: BCG\n")
    ev = lr.load(review.root)
    assert ev.identity == who
    package = descriptor(ev)
    assert package["name"] == "bcg-vaccine" and package["title"].startswith("BCG vaccine trials")
    assert package["licenses"] == [{"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/"}]
    feed = ET.fromstring(atom_feed(ev))
    assert feed.find(f"{{{ATOM}}}id").text == "tag:bcg-vaccine.org,2026:feed"
    assert feed.find(f"{{{ATOM}}}title").text == "BCG vaccine trials: updates"
    assert feed.find(f"{{{ATOM}}}author/{{{ATOM}}}name").text == "Colditz review maintainers"
    config = stamped_config(review.root, pdf=True, ev=ev)
    assert 'href="../download/bcg-vaccine-data.zip"' in config and 'href="../download/bcg-vaccine.pdf"' in config
    assert "ev-metastasis" not in config + ET.tostring(feed, encoding="unicode") + str(package)
    assert (who.pdf_name, who.data_archive) == ("bcg-vaccine.pdf", "bcg-vaccine-data.zip")
