"""Issue 24 item 1, the library policy: a review declares which identifiers count as an entry's published record and
which fields every entry needs; an arXiv library validates under its own policy, and the EV review's is unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, REPO, Review
from livingreview.checking.bib import check_text
from livingreview.commands.cli import main
from livingreview.model import declarations as d
from livingreview.model.declarations import LibraryPolicy
from livingreview.model.errors import Severity

ARXIV = FIXTURES / "arxiv-review"
ARXIV_ONLY = LibraryPolicy(records=("arxiv", "doi"), required=("author", "title", "year"))

PREPRINT = """@article{qu2019,
  author        = {Qu, Huilin and Gouskos, Loukas},
  title         = {{ParticleNet: Jet Tagging via Particle Clouds}},
  year          = {2019},
  eprint        = {1902.08570},
  archivePrefix = {arXiv},
}
"""


@pytest.fixture
def arxiv_review(tmp_path: Path) -> Review:
    """A fresh copy of tests/fixtures/arxiv-review."""
    root = tmp_path / "arxiv-review"
    shutil.copytree(ARXIV, root)
    return Review(root)


def validate(root: Path) -> tuple[int, list[str]]:
    """Exit code and the error lines of ``livingreview validate`` on ``root``."""
    result = CliRunner().invoke(main, ["validate", "--root", str(root), "-q"])
    return result.exit_code, [line for line in result.output.splitlines() if line and not line.startswith(
        ("valid:", "invalid:"))]


def errors(text: str, policy: LibraryPolicy | None = ARXIV_ONLY) -> list[str]:
    return [str(p) for p in check_text(text, policy=policy)[1] if p.severity is Severity.ERROR]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first occurrence of ``needle`` in ``text``."""
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


# --- the arXiv review, end to end --------------------------------------------------------------------------------

def test_the_arxiv_review_validates_under_its_own_policy():
    assert d.load(ARXIV).library == ARXIV_ONLY
    code, found = validate(ARXIV)
    assert (code, found) == (0, [])


def test_the_arxiv_library_fails_under_the_ev_reviews_policy(arxiv_review):
    """What the policy changes: without it, every preprint lacks a DOI or PMID and a journal."""
    arxiv_review.replace("review.yml", "  - arxiv\n  - doi\n", "  - doi\n  - pmid\n")
    arxiv_review.replace("review.yml", "  - year\n", "  - year\n  - venue\n")
    code, found = validate(arxiv_review.root)
    assert code == 1
    assert len(found) == 12 and sum(":journal: " in m for m in found) == 6, found


def test_a_bad_arxiv_id_is_one_located_error(arxiv_review):
    text = (ARXIV / "references.bib").read_text(encoding="utf-8")
    arxiv_review.replace("references.bib", "{1908.05318}", "{1908.5318}")
    code, found = validate(arxiv_review.root)
    assert code == 1 and len(found) == 1, found
    assert found[0].startswith(f"references.bib:{line_of(text, '{1908.05318}')}:eprint: malformed arXiv id "
                               "'1908.5318'"), found


def test_a_missing_title_is_one_located_error(arxiv_review):
    text = (ARXIV / "references.bib").read_text(encoding="utf-8")
    title = "  title         = {{ABCNet: An attention-based method for particle tagging}},\n"
    arxiv_review.replace("references.bib", title, "")
    code, found = validate(arxiv_review.root)
    assert code == 1 and len(found) == 1, found
    assert found[0].startswith(f"references.bib:{line_of(text, '@article{mikuni2020')}:title: entry 'mikuni2020' "
                               "has no title"), found


def test_an_identifier_the_policy_does_not_count_is_one_located_error(arxiv_review):
    """A PMID is a real identifier, but this review counts only arXiv ids and DOIs as records."""
    text = (ARXIV / "references.bib").read_text(encoding="utf-8")
    arxiv_review.replace("references.bib", "  eprint        = {2012.08526},\n  archivePrefix = {arXiv},\n",
                         "  pmid          = {12345678},\n")
    code, found = validate(arxiv_review.root)
    assert code == 1 and len(found) == 1, found
    assert found[0].startswith(f"references.bib:{line_of(text, '{2012.08526}')}:pmid: entry 'dreyer2020' is "
                               "identified only by PMID"), found
    assert "expected a verified arXiv id or DOI" in found[0]


def test_a_policy_that_accepts_the_kind_accepts_the_entry(arxiv_review):
    arxiv_review.replace("references.bib", "  eprint        = {2012.08526},\n  archivePrefix = {arXiv},\n",
                         "  pmid          = {12345678},\n")
    arxiv_review.replace("review.yml", "  - doi\n", "  - doi\n  - pmid\n")
    assert validate(arxiv_review.root) == (0, [])


def test_a_mistake_elsewhere_in_review_yml_is_not_repeated_for_every_entry(arxiv_review):
    """Without readable declarations the library is still checked, under its own policy when that part reads."""
    arxiv_review.replace("review.yml", "      type: vocab\n", "      type: vocabb\n")
    code, found = validate(arxiv_review.root)
    assert code == 1 and len(found) == 1 and found[0].startswith("review.yml:"), found
    assert d.library_policy(arxiv_review.root) == ARXIV_ONLY
    arxiv_review.replace("review.yml", "  - arxiv\n", "  - arxiv\n  - preprint\n")
    assert d.library_policy(arxiv_review.root) == LibraryPolicy()


def test_the_ev_review_declares_its_policy():
    """The EV review counts a PMC article as an entry's record besides a DOI or PMID (a guideline whose own record
    shows only its PMCID), and requires the default fields; its review.yml says so explicitly."""
    text = (REPO / "review.yml").read_text(encoding="utf-8")
    assert "\nlibrary:\n" in text
    ev_policy = LibraryPolicy(records=("doi", "pmid", "pmcid"))
    assert d.load(REPO).library == ev_policy and ev_policy.required == LibraryPolicy().required
    assert d.load(FIXTURES / "mini").library == LibraryPolicy()  # the fixture keeps the engine's default
    no_record = PREPRINT.replace("  eprint        = {1902.08570},\n  archivePrefix = {arXiv},\n", "")
    found = errors(no_record.replace("  year ", "  journal = {J},\n  year "), policy=None)
    assert found == ["references.bib:1:doi: entry 'qu2019' has neither doi nor pmid; expected a verified DOI or PMID"]


# --- arXiv ids and ISBNs -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("arxiv", ["1902.08570", "1902.08570v3", "0704.0001", "1412.9999", "2501.00001",
                                    "hep-th/9901001", "math.GT/0309136", "cond-mat/0207270v2", "astro-ph/0703001"])
def test_every_form_arxiv_issues_is_a_record(arxiv):
    assert errors(PREPRINT.replace("1902.08570", arxiv)) == []


@pytest.mark.parametrize("arxiv", ["1902.8570", "1902.085701", "1412.12345", "1502.1234", "0612.1234", "1913.00001",
                                    "hep-th/0801001", "hep-th/9901", "arXiv:1902.08570", "1902.08570v0",
                                    "https://arxiv.org/abs/1902.08570", "HEP-TH/9901001"])
def test_an_id_arxiv_never_issued_is_one_error_at_the_eprint(arxiv):
    found = errors(PREPRINT.replace("1902.08570", arxiv))
    assert len(found) == 1 and found[0].startswith(f"references.bib:{line_of(PREPRINT, 'eprint')}:eprint: "
                                                   "malformed arXiv id"), found


def test_an_arxiv_field_and_biblatex_eprinttype_name_an_arxiv_record():
    own_field = PREPRINT.replace("  eprint        = {1902.08570},\n  archivePrefix = {arXiv},\n",
                                 "  arxiv = {1902.08570},\n")
    biblatex = PREPRINT.replace("archivePrefix", "eprinttype")
    assert errors(own_field) == [] and errors(biblatex) == []
    lib, _ = check_text(own_field, policy=ARXIV_ONLY)
    assert lib["qu2019"].url == "https://arxiv.org/abs/1902.08570"


def test_an_eprint_of_another_archive_is_no_arxiv_record():
    found = errors(PREPRINT.replace("{arXiv}", "{HAL}"))
    assert len(found) == 1 and "has neither arXiv id nor doi" in found[0], found


def test_one_preprint_twice_is_an_error_whatever_its_version():
    twin = PREPRINT.replace("qu2019", "qu2019b").replace("1902.08570", "1902.08570v2")
    found = errors(PREPRINT + "\n" + twin)
    assert len(found) == 1 and "arXiv id '1902.08570v2' is also on entry 'qu2019'" in found[0], found


def test_a_link_goes_to_the_arxiv_abstract_unless_there_is_a_doi():
    lib, _ = check_text(PREPRINT, policy=ARXIV_ONLY)
    assert lib["qu2019"].url == "https://arxiv.org/abs/1902.08570"
    with_doi = PREPRINT.replace("  year ", "  doi = {10.1103/PhysRevD.101.056019},\n  year ")
    lib, _ = check_text(with_doi, policy=ARXIV_ONLY)
    assert lib["qu2019"].url == "https://doi.org/10.1103/PhysRevD.101.056019"
    lib, _ = check_text(PREPRINT.replace("1902.08570", "1902.8570"), policy=ARXIV_ONLY)
    assert lib["qu2019"].url == ""  # never a link to an id arXiv could not have issued


BOOK = """@book{example2000,
  author    = {Example, Ann},
  title     = {{A Book}},
  publisher = {A Publisher},
  year      = {2000},
  isbn      = {978-0-306-40615-7},
}
"""
BOOKS = LibraryPolicy(records=("doi", "isbn"), required=("author", "title", "year", "publisher"))


@pytest.mark.parametrize("isbn", ["978-0-306-40615-7", "9780306406157", "0-306-40615-2", "0-9752298-0-X"])
def test_an_isbn_whose_check_digit_agrees_is_a_record(isbn):
    assert errors(BOOK.replace("978-0-306-40615-7", isbn), BOOKS) == []


@pytest.mark.parametrize("isbn", ["978-0-306-40615-8", "0-306-40615-3", "ISBN 978-0-306-40615-7", "0306406",
                                  "978-0-306-40615-7, 0-306-40615-2"])
def test_an_isbn_with_a_wrong_check_digit_or_form_is_one_error(isbn):
    found = errors(BOOK.replace("978-0-306-40615-7", isbn), BOOKS)
    assert len(found) == 1 and found[0].startswith(f"references.bib:{line_of(BOOK, 'isbn')}:isbn: malformed ISBN"), \
        found


def test_a_required_field_is_checked_as_the_policy_names_it():
    found = errors(BOOK.replace("  publisher = {A Publisher},\n", ""), BOOKS)
    assert found == ["references.bib:1:publisher: entry 'example2000' has no publisher; expected one"]
    assert errors(BOOK, LibraryPolicy(records=("isbn",), required=("author", "title", "year", "edition"))) == [
        "references.bib:1:edition: entry 'example2000' has no edition; expected one"]


def test_the_book_parser_must_still_read_what_the_policy_accepted(monkeypatch):
    """The pybtex differential runs on a library the policy accepts, with the text validation read."""
    from livingreview.checking import bib
    from livingreview.model.errors import Problem

    text = (ARXIV / "references.bib").read_text(encoding="utf-8")
    seen = []

    def differ(compared: str, lib: bib.Library) -> list[Problem]:
        seen.append((compared, sorted(lib.references)))
        return [Problem(lib.path, 1, "-", "pybtex reads this differently")]

    monkeypatch.setattr(bib, "compare_with_pybtex", differ)
    assert [p.message for p in check_text(text, policy=ARXIV_ONLY)[1]] == ["pybtex reads this differently"]
    assert seen == [(text, sorted(["qu2019", "moreno2019", "mikuni2020", "dreyer2020", "gong2022", "bogatskiy2022"]))]


# --- the declaration -----------------------------------------------------------------------------------------------

MINIMAL = """review:
  title: Jet tagging
  slug: jet-tagging
tables:
  papers:
    title: Papers
    id_prefix: PAP
    columns:
      - {name: id, type: id, description: Row id.}
library:
  records: [arxiv, doi]
  required: [author, title, year]
"""


def declaration_problems(text: str) -> list[str]:
    from livingreview.model.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        d.read(text)
    return [str(p) for p in info.value.problems]


def test_the_policy_is_read_from_review_yml():
    assert d.read(MINIMAL).library == ARXIV_ONLY
    assert d.read(MINIMAL.replace("[arxiv, doi]", "[arXiv, DOI]")).library == ARXIV_ONLY  # BibTeX ignores case
    assert d.read(MINIMAL.split("library:")[0]).library == LibraryPolicy()


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("[arxiv, doi]", "[arxiv, arxv]", "review.yml:11:library.records[1]: unknown identifier kind 'arxv'; expected "
                                      "one of: doi, pmid, pmcid, arxiv, isbn"),
    ("[author, title, year]", "[author, tittle, year]", "review.yml:12:library.required[1]: unknown field 'tittle'"),
    ("[arxiv, doi]", "[]", "review.yml:11:library.records: expected at least one identifier kind"),
    ("[arxiv, doi]", "arxiv", "review.yml:11:library.records: expected a list of identifier kinds"),
    ("[arxiv, doi]", "[doi, doi]", "review.yml:11:library.records[1]: identifier kind 'doi' is declared twice"),
    ("  required:", "  requires:", "review.yml:12:library.requires: unknown key 'requires'"),
])
def test_each_mistake_in_the_policy_is_located(old, new, expected):
    assert old in MINIMAL
    found = declaration_problems(MINIMAL.replace(old, new, 1))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_policy_round_trips_through_dump():
    declared = d.read(MINIMAL)
    policy = LibraryPolicy(records=("isbn", "doi"), required=("title", "venue"))
    again = d.read(d.dump(declared.identity, declared.tables, library=policy))
    assert again.library == policy and again.tables == declared.tables
    ev = d.load(REPO)
    assert d.read(d.dump(ev.identity, ev.tables, ev.roles, ev.certainty, ev.library)) == ev
