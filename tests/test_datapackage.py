"""Declarations <-> a Frictionless Data Package: lossless both ways, standard where a standard exists, and every
problem in a descriptor located at its line and key."""

from __future__ import annotations

import json
from pathlib import Path

import frictionless
import pytest

from livingreview.model import datapackage as dp
from livingreview.model import declarations as d
from livingreview.model.errors import ValidationError
from livingreview.publishing.export import export_package

PROJECT = Path(__file__).resolve().parents[1]
REVIEWS = {"ev": PROJECT, "mini": PROJECT / "tests" / "fixtures" / "mini",
           "bcg": PROJECT / "examples" / "bcg-vaccine", "arxiv": PROJECT / "tests" / "fixtures" / "arxiv-review"}


@pytest.mark.parametrize("name", list(REVIEWS))
def test_declarations_round_trip_through_a_descriptor(name):
    declared = d.load(REVIEWS[name])
    text = json.dumps(dp.to_descriptor(declared), indent=1)
    assert dp.from_descriptor(text) == declared
    for table in declared.tables.values():
        assert dp.from_table_schema(dp.to_table_schema(table), table.name, table.title, table.id_prefix,
                                    table.description).columns == table.columns


def test_schemas_say_in_standard_terms_what_a_frictionless_tool_can_check():
    trials = d.load(REVIEWS["bcg"]).tables["trials"]
    fields = {f["name"]: f for f in dp.to_table_schema(trials)["fields"]}
    alloc = fields["alloc"]
    assert alloc["type"] == "string" and alloc["constraints"]["enum"] == ["random", "alternate", "systematic"]
    assert alloc["categories"][1] == {"value": "alternate", "label": "Alternate allocation"}
    assert alloc["categoriesOrdered"] is True
    assert alloc["livingreview:vocabulary"]["definitions"]["random"].startswith("participants were assigned")
    assert fields["citekeys"]["type"] == "list" and fields["citekeys"]["delimiter"] == ";"
    assert fields["citekeys"]["itemType"] == "string" and fields["citekeys"]["livingreview:kind"] == "citekeys"
    assert fields["ablat"]["type"] == "number" and fields["ablat"]["constraints"] == {
        "required": True, "minimum": 0, "maximum": 90}
    assert fields["id"]["constraints"]["pattern"] == "BCG-[0-9]{4,9}" and fields["id"]["constraints"]["unique"]
    claims = {f["name"]: f for f in dp.to_table_schema(d.load(REVIEWS["bcg"]).tables["claims"])["fields"]}
    assert "required" not in claims["where"].get("constraints", {})  # an optional column is not required


def test_a_column_kept_for_some_rows_only_round_trips_and_is_never_required_of_all():
    therapies = d.load(PROJECT).tables["therapies"]
    only = next(c for c in therapies.columns if c.only_when is not None)
    field = dp.to_field(only, therapies)
    assert "required" not in field.get("constraints", {})
    assert field["livingreview:only_when"] == {only.only_when[0]: only.only_when[1]}


@pytest.mark.parametrize("name", ["ev", "bcg"])
def test_what_export_writes_passes_frictionless_validate_and_gives_the_declarations_back(name, tmp_path):
    path = export_package(REVIEWS[name], tmp_path / "pkg")
    report = frictionless.validate(str(path))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert dp.from_descriptor(path.read_text(encoding="utf-8")) == d.load(REVIEWS[name])


def test_frictionless_catches_a_term_outside_the_vocabulary_in_an_export(tmp_path):
    path = export_package(REVIEWS["bcg"], tmp_path / "pkg")
    trials = tmp_path / "pkg" / "data" / "trials.csv"
    trials.write_text(trials.read_text(encoding="utf-8").replace(",random,", ",by_coin,", 1), encoding="utf-8")
    report = frictionless.validate(str(path))
    assert not report.valid
    assert [e[1:] for e in report.flatten(["rowNumber", "fieldName", "type"])] == [["alloc", "constraint-error"]]


FOREIGN = {
    "name": "coffee", "title": "Coffee",
    "resources": [{
        "name": "cohort-studies", "path": "cohorts.csv",
        "schema": {"fields": [
            {"name": "citekeys", "type": "list", "delimiter": ";"},
            {"name": "design", "type": "string", "constraints": {"enum": ["prospective", "retrospective"],
                                                                 "required": True}},
            {"name": "region", "type": "string",
             "categories": [{"value": "eu", "label": "Europe"}, {"value": "asia", "label": "Asia"}]},
            {"name": "n", "type": "integer", "constraints": {"minimum": 1}},
        ]},
    }],
}


def test_a_package_from_elsewhere_gives_vocabularies_citations_and_kinds():
    decl = dp.from_descriptor(json.dumps(FOREIGN))
    table = decl.tables["cohort_studies"]
    assert table.id_prefix == "COHORTSTUD"
    design, region, n = (table.column(c) for c in ("design", "region", "n"))
    assert design.vocab.values == ["prospective", "retrospective"] and design.required
    assert region.vocab.label("eu") == "Europe" and not region.required
    assert n.kind.value == "integer" and n.minimum == 1
    assert table.column("citekeys").kind.value == "citekeys" and table.column("citekeys").multi


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


@pytest.mark.parametrize("change, key, needle, message", [
    (lambda f: f[3].update(type="boolean"), "resources[0].schema.fields[3].type", ('"boolean"', 1),
     "type 'boolean' is not one the review's tables hold"),
    (lambda f: f[0].update(delimiter=","), "resources[0].schema.fields[0].delimiter", ('","', 1),
     "expected delimiter \";\""),
    (lambda f: f[2].update(categories="eu"), "resources[0].schema.fields[2].categories", ('"eu"', 1),
     "expected a list of categories"),
    # the third category's opening brace: the line after the second category's label
    (lambda f: f[2]["categories"].append({"label": "EU", "value": "eu"}), "resources[0].schema.fields[2].categories[2]",
     ('"label": "EU"', 1), "category 'eu' is declared twice"),
    # a problem declarations.read finds is reported where the descriptor declared it
    (lambda f: f.append({"name": "n", "type": "number"}), "resources[0].schema.fields[4]", ('"name": "n"', 2),
     "column 'n' is declared twice"),
])
def test_problems_are_located_in_the_descriptor(change, key, needle, message):
    descriptor = json.loads(json.dumps(FOREIGN))
    change(descriptor["resources"][0]["schema"]["fields"])
    text = json.dumps(descriptor, indent=1)
    with pytest.raises(ValidationError) as err:
        dp.from_descriptor(text)
    problems = [p for p in err.value.errors if message in p.message]
    assert problems, [str(p) for p in err.value.errors]
    assert (problems[0].path, problems[0].column) == ("datapackage.json", key)
    expected = _line_of(text, *needle) - (1 if key.endswith("]") else 0)  # an item's line is its '{' line
    assert problems[0].line == expected, (problems[0], text)


def test_a_descriptor_that_is_not_json_is_a_located_error():
    with pytest.raises(ValidationError) as err:
        dp.from_descriptor('{\n "name": "x",\n "resources": [\n')
    assert str(err.value.errors[0]).startswith("datapackage.json:4:-: not valid JSON")


def test_a_resource_without_a_schema_is_a_located_error():
    text = json.dumps({"name": "x", "resources": [{"name": "a", "path": "a.csv"}]}, indent=1)
    with pytest.raises(ValidationError) as err:
        dp.from_descriptor(text)
    problem = err.value.errors[0]
    assert (problem.line, problem.column) == (_line_of(text, '"name": "a"') - 1, "resources[0]")
    assert "expected an inline Table Schema" in problem.message


@pytest.mark.parametrize("descriptor", [
    {"resources": [{"name": "a", "path": "a.csv", "schema": {"fields": [{"name": "x"}]}}]},  # no title, no name
    {"name": "n", "resources": [{"name": "a", "schema": {"fields": [{"name": "x", "type": ["string"]}]}}]},
    {"name": "n", "resources": [{"name": "a", "schema": {"fields": [
        {"name": "x", "livingreview:kind": ["id"], "categories": [{"value": "v"}], "constraints": {"enum": 3}}]}}]},
])
def test_a_malformed_descriptor_is_refused_with_located_errors_never_a_crash(descriptor):
    with pytest.raises(ValidationError) as err:
        dp.from_descriptor(json.dumps(descriptor, indent=1))
    assert all(p.path == "datapackage.json" and p.line >= 1 for p in err.value.errors)
