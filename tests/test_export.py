"""The data package: generated from the one schema, valid under frictionless, foreign keys enforced."""

from __future__ import annotations

import csv
import json

import frictionless
import pytest
from click.testing import CliRunner

from conftest import TABLES
from livingreview.commands.cli import main
from livingreview.publishing.export import _neutral, export_package


@pytest.fixture
def package(review, tmp_path):
    return export_package(review.root, tmp_path / "pkg")


def test_package_is_valid_frictionless(package):
    report = frictionless.validate(str(package))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_schema_is_generated_from_the_declared_columns(package):
    desc = json.loads(package.read_text())
    by_name = {r["name"]: r for r in desc["resources"]}
    assert set(by_name) == set(TABLES) | {"references", "citations"}
    fields = {f["name"]: f for f in by_name["pmn"]["schema"]["fields"]}
    assert [f["name"] for f in by_name["pmn"]["schema"]["fields"]] == TABLES["pmn"].column_names
    assert fields["target_organ"]["constraints"]["enum"][:2] == ["lung", "liver"]
    assert {"value": "lymph_node", "label": "Lymph node"} in fields["target_organ"]["categories"]
    assert fields["target_organ"]["categoriesOrdered"] is True
    bio = {f["name"]: f for f in by_name["biomarkers"]["schema"]["fields"]}
    assert bio["auc"]["type"] == "number" and bio["auc"]["constraints"] == {"minimum": 0.0, "maximum": 1.0}
    assert by_name["citations"]["schema"]["foreignKeys"][0]["reference"] == {"resource": "references",
                                                                             "fields": ["key"]}


def test_package_carries_library_copies(package):
    folder = package.parent
    assert (folder / "references.bib").read_text().startswith("% Synthetic fixture library")
    csl = json.loads((folder / "references.csl.json").read_text())
    assert {i["id"] for i in csl} == {"alpha2020", "beta2021", "gamma2019"}
    rows = list(csv.DictReader((folder / "references.csv").open()))
    assert {r["key"]: r["retracted"] for r in rows}["gamma2019"] == "yes"


def test_foreign_key_is_enforced(package):
    path = package.parent / "citations.csv"
    path.write_text(path.read_text() + "mechanisms,MECH-0001,nosuchkey\n")
    report = frictionless.validate(str(package))
    assert not report.valid
    assert "foreign-key" in {e["type"] for e in report.flatten(["type"]) for e in [{"type": e[0]}]}


def test_formula_cells_are_neutralised():
    assert _neutral("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert _neutral("@SUM(A1)") == "'@SUM(A1)"
    assert _neutral("-0.5") == "-0.5" and _neutral("miR-21") == "miR-21"


def test_cli_export_replaces_its_own_package_whole(review, tmp_path):
    out = tmp_path / "pkg"
    assert CliRunner().invoke(main, ["export", "--root", str(review.root), "--out", str(out)]).exit_code == 0
    (out / "stale.txt").write_text("left over from an earlier package")
    result = CliRunner().invoke(main, ["export", "--root", str(review.root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists() and (out / "datapackage.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "review"]  # no staging or old folder left


def test_a_review_without_its_optional_tables_exports_them_empty(review, tmp_path):
    """Issue 24: validate accepts a review with no search log or ledger, so export (and the build's data package)
    must too: the tables it does not keep are exported with their header alone, and the package stays valid."""
    optional = [t for t in TABLES.values() if t.optional]
    assert optional
    for table in optional:
        (review.root / table.path).unlink()
    result = CliRunner().invoke(main, ["export", "--root", str(review.root), "--out", str(tmp_path / "pkg")])
    assert result.exit_code == 0, result.output
    for table in optional:
        rows = list(csv.reader((tmp_path / "pkg" / table.path).open(encoding="utf-8")))
        assert rows == [table.column_names]
    report = frictionless.validate(str(tmp_path / "pkg" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
