"""`livingreview new`: a review from nothing or from a Frictionless data package that validates (and builds) at once,
never over existing files, with located errors for a package the engine cannot read."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from livingreview.checking.validate import check
from livingreview.commands.cli import main
from livingreview.model import declarations as d

PROJECT = Path(__file__).resolve().parents[1]
BCG = PROJECT / "examples" / "bcg-vaccine"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_new_from_nothing_validates_and_holds_a_chapter_per_table(tmp_path):
    target = tmp_path / "coffee"
    result = run("new", str(target), "--title", "Coffee & sleep")
    assert result.exit_code == 0, result.output
    decl = d.load(target)
    assert (decl.identity.title, decl.identity.slug) == ("Coffee & sleep", "coffee-sleep")
    assert list(decl.tables) == ["studies"] and decl.roles.findings == ("studies",)
    assert decl.tables["studies"].column_names == ["id", "citekeys", "finding", "added"]
    assert (target / "data" / "studies.csv").read_text() == "id,citekeys,finding,added\n"
    assert not check(target).errors
    validated = run("validate", "--root", str(target))
    assert validated.exit_code == 0 and "valid: 1 tables, 0 rows" in validated.output, validated.output
    toc = (target / "_toc.yml").read_text()
    chapter = json.loads((target / "chapters" / "01_studies.ipynb").read_text())
    assert "chapters/01_studies" in toc and "chapters/12_appendix" in toc and "chapters/bibliography" in toc
    assert chapter["metadata"]["livingreview"]["reads"] == ["studies"]
    assert all(c.get("outputs", []) == [] for c in chapter["cells"])  # committed without outputs
    code = "\n".join(c["source"] for c in chapter["cells"] if c["cell_type"] == "code")
    assert "chapter.evidence()" in code and "summaries.explorer(ev)" in code
    workflow = (target / ".github" / "workflows" / "build.yml").read_text()
    assert "livingreview validate" in workflow and "livingreview build --no-pdf" in workflow
    config = (target / "_config.yml").read_text()
    # the review's own choices only: the engine brings its settings (layout.ENGINE_CONFIG)
    assert "title: Coffee & sleep\n" in config and "execute" not in config and "sphinx" not in config
    assert "_static/data/" in (target / ".gitignore").read_text().splitlines()


def test_new_escapes_a_title_where_themes_take_it_as_markup(tmp_path):
    run("new", str(tmp_path / "r"), "--title", "Sleep <script>x</script> &amp; coffee")
    config = (tmp_path / "r" / "_config.yml").read_text()
    assert "<script>" not in config and "&lt;script&gt;" in config and "&amp;amp;" in config
    assert d.load(tmp_path / "r").identity.title == "Sleep <script>x</script> &amp; coffee"


@pytest.mark.parametrize("prepare", ["file", "folder_with_file", "not_a_folder"])
def test_new_never_overwrites(tmp_path, prepare):
    target = tmp_path / "taken"
    if prepare == "not_a_folder":
        target.write_text("mine")
    else:
        target.mkdir()
        (target / "review.yml").write_text("mine")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["new", str(target), "--title", "T"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "nothing was written" in result.output or "not a folder" in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_new_into_an_empty_folder_and_usage_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    assert run("new", str(tmp_path / "empty"), "--title", "T", "--slug", "my-review").exit_code == 0
    assert d.load(tmp_path / "empty").identity.slug == "my-review"
    for args in (["--slug", "Not A Slug", "--title", "T"], []):
        result = CliRunner().invoke(main, ["new", str(tmp_path / "other"), *args])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert not (tmp_path / "other").exists()


def _bcg_rows() -> list[dict]:
    with open(BCG / "data" / "trials.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _package(folder: Path) -> Path:
    """A data package of two resources made from the BCG example's trials (real counts, real references)."""
    folder.mkdir()
    rows = _bcg_rows()
    with open(folder / "trials.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["trial", "author", "year", "tpos", "tneg", "cpos", "cneg", "alloc", "finding", "citekeys"])
        w.writerows([[r[c] for c in ("trial", "author", "year", "tpos", "tneg", "cpos", "cneg", "alloc", "finding",
                                     "citekeys")] for r in rows])
    with open(folder / "sites.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["trial", "ablat", "citekeys"])
        w.writerows([[r["trial"], r["ablat"], r["citekeys"]] for r in rows])
    shutil.copyfile(BCG / "references.bib", folder / "references.bib")
    descriptor = {"name": "bcg-trials", "title": "BCG trials", "resources": [
        {"name": "trials", "path": "trials.csv", "schema": {"fields": [
            {"name": "trial", "type": "integer", "constraints": {"required": True, "minimum": 1}},
            {"name": "author", "type": "string"},
            {"name": "year", "type": "integer"},
            *({"name": n, "type": "integer", "constraints": {"minimum": 0}} for n in ("tpos", "tneg", "cpos", "cneg")),
            {"name": "alloc", "type": "string", "constraints": {"enum": ["random", "alternate", "systematic"]}},
            {"name": "finding", "type": "string"},
            {"name": "citekeys", "type": "string"}]}},
        {"name": "sites", "path": "sites.csv", "schema": {"fields": [
            {"name": "trial", "type": "integer"},
            {"name": "ablat", "type": "number", "constraints": {"minimum": 0, "maximum": 90}},
            {"name": "citekeys", "type": "list", "delimiter": ";", "itemType": "string"}]}}]}
    path = folder / "datapackage.json"
    path.write_text(json.dumps(descriptor, indent=1), encoding="utf-8")
    return path


def test_new_from_a_data_package_validates_with_its_vocabulary_and_citations(tmp_path):
    package = _package(tmp_path / "pkg")
    target = tmp_path / "review"
    result = run("new", str(target), "--from-datapackage", str(package))
    assert result.exit_code == 0, result.output
    decl = d.load(target)
    # a table that cites the library and states a finding per row holds findings; one that only cites does not
    assert list(decl.tables) == ["trials", "sites"] and decl.roles.findings == ("trials",)
    assert decl.roles.group("trials") == "alloc" and decl.roles.finding == "finding"
    alloc = decl.tables["trials"].column("alloc")
    assert alloc.vocab.values == ["random", "alternate", "systematic"]
    assert decl.tables["sites"].column("citekeys").kind is d.Kind.CITEKEYS
    checked = check(target)
    assert not checked.errors, [str(p) for p in checked.errors]
    with open(target / "data" / "trials.csv", encoding="utf-8", newline="") as fh:
        copied = list(csv.DictReader(fh))
    originals = _bcg_rows()
    assert len(copied) == len(originals) == 13
    assert [r["id"] for r in copied[:2]] == ["TRIALS-0001", "TRIALS-0002"]
    assert [(r["tpos"], r["alloc"]) for r in copied] == [(r["tpos"], r["alloc"]) for r in originals]
    assert (target / "references.bib").read_bytes() == (BCG / "references.bib").read_bytes()


@pytest.mark.parametrize("root", [BCG, PROJECT], ids=["bcg", "ev"])
def test_an_exported_review_comes_back_whole(tmp_path, root):
    from livingreview.publishing.export import export_package

    package = export_package(root, tmp_path / "pkg")
    target = tmp_path / "again"
    result = run("new", str(target), "--from-datapackage", str(package.parent))
    assert result.exit_code == 0, result.output
    declared = d.load(root)
    assert d.load(target) == declared
    for table in declared.tables.values():
        if (root / table.path).exists():
            assert (target / table.path).read_bytes() == (root / table.path).read_bytes(), table.path
    assert (target / "references.bib").read_bytes() == (root / "references.bib").read_bytes()


@pytest.mark.parametrize("break_it, where", [
    (lambda desc: desc["resources"][0]["schema"]["fields"][1].update(type="boolean"),
     "datapackage.json:{line}:resources[0].schema.fields[1].type: type 'boolean'"),
    (lambda desc: desc["resources"][0]["schema"]["fields"][7]["constraints"]["enum"].append("random"),
     "datapackage.json:{line}:resources[0].schema.fields[7].constraints.enum: value 'random' is listed twice"),
    (lambda desc: desc["resources"][1].pop("schema"), "datapackage.json:{line}:resources[1]: expected an inline"),
    (lambda desc: desc["resources"][1].update(path="../sites.csv"), "datapackage.json:{line}:resources[1].path:"),
    (lambda desc: desc["resources"][1].update(path="missing.csv"), "datapackage.json:{line}:resources[1].path: cannot"),
])
def test_a_package_the_engine_cannot_read_is_refused_with_a_located_error(tmp_path, break_it, where):
    package = _package(tmp_path / "pkg")
    desc = json.loads(package.read_text())
    break_it(desc)
    text = json.dumps(desc, indent=1)
    package.write_text(text)
    result = CliRunner().invoke(main, ["new", str(tmp_path / "review"), "--from-datapackage", str(package)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    first = result.output.splitlines()[0]
    prefix, rest = where.split("{line}")
    assert first.startswith(prefix) and rest in first, first
    assert int(first[len(prefix):].split(":")[0]) > 1  # a real line of the descriptor
    assert not (tmp_path / "review").exists()


def test_a_csv_whose_header_differs_from_its_schema_is_located_in_the_csv(tmp_path):
    package = _package(tmp_path / "pkg")
    sites = tmp_path / "pkg" / "sites.csv"
    sites.write_text(sites.read_text().replace("trial,ablat", "trial,latitude", 1))
    result = CliRunner().invoke(main, ["new", str(tmp_path / "review"), "--from-datapackage", str(package)])
    assert result.exit_code == 1
    assert result.output.startswith("sites.csv:1:-: the header is trial, latitude, citekeys; expected"), result.output


@pytest.mark.book
def test_a_new_review_builds_at_once(tmp_path):
    import os
    import subprocess
    import sys

    target = tmp_path / "fresh"
    assert run("new", str(target), "--title", "A review of one table").exit_code == 0
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    # the command as this module imports it (the console script may belong to another checkout)
    command = [sys.executable, "-c", f"from {main.callback.__module__} import main; main()", "build", "--no-pdf"]
    done = subprocess.run(command, cwd=target, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    page = (target / "_build" / "html" / "chapters" / "01_studies.html").read_text(encoding="utf-8")
    assert "<h1>Studies" in page and "lr-explorer" in page
    assert (target / "_build" / "html" / "chapters" / "12_appendix.html").exists()


def test_every_check_and_command_works_on_a_review_without_the_optional_tables(tmp_path):
    """Issue 24 item 5: a new review has no claims, withdrawn rows, search log or ledger; the claims and review
    checks pass on it (a missing claims table was a KeyError), and the commands that need a table it lacks say so."""
    target = tmp_path / "tea"
    runner = CliRunner()
    assert runner.invoke(main, ["new", str(target), "--title", "Tea"]).exit_code == 0
    (target / "references.bib").write_text("@article{smith2020,\n  author = {Smith, Jane},\n  title = {Tea},\n"
                                           "  journal = {J Tea},\n  year = {2020},\n  doi = {10.1000/tea.1},\n}\n")
    added = runner.invoke(main, ["add", "studies", "--set", "citekeys=smith2020", "--set", "finding=Tea was drunk.",
                                 "--root", str(target)])
    assert added.exit_code == 0, added.output
    checked = runner.invoke(main, ["validate", "--claims", "--review", "--root", str(target)])
    assert checked.exit_code == 0 and checked.output.startswith("valid: 1 tables, 1 rows"), checked.output
    withdrawn = runner.invoke(main, ["withdraw", "studies", "STUDY-0001", "--reason", "a reason", "--root",
                                     str(target)])
    assert withdrawn.exit_code != 0 and "declares no withdrawn table" in withdrawn.output
    assert withdrawn.exception is None or isinstance(withdrawn.exception, SystemExit)
    assert sorted(p.name for p in (target / "data").iterdir()) == ["studies.csv"]  # nothing half-written
