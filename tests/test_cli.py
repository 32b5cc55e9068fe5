"""The command line: output format and exit codes (0 valid, 1 invalid, 2 usage)."""

from __future__ import annotations

from click.testing import CliRunner

from livingreview.commands.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_validate_valid_exits_0(review):
    result = run("validate", "--root", str(review.root))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("valid: 9 tables, 9 rows, 3 references, 0 warning(s)")


def test_validate_invalid_exits_1_with_located_lines(review):
    review.replace("data/pmn.csv", ",liver,", ",lungs,")
    review.replace("references.bib", "@article{beta2021", "@article{Alpha2020")
    result = run("validate", "--root", str(review.root))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert any(line.startswith("data/pmn.csv:2:target_organ: unknown value 'lungs'") for line in lines)
    assert any(line.startswith("references.bib:10:-: key 'Alpha2020' differs only in case") for line in lines)
    # the entry renamed away leaves its citations dangling, each located
    assert "data/mechanisms.csv:3:citekeys: unknown citekey 'beta2021'; expected a key of references.bib" in lines
    assert lines[-1] == "invalid: 5 error(s), 1 warning(s) in 9 table(s), 9 row(s), 3 reference(s)"
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(tmp_path):
    assert run("validate", "--root", str(tmp_path / "nowhere")).exit_code == 2
    assert run("validate", "--bogus").exit_code == 2
    assert run("nosuchcommand").exit_code == 2


def test_stats_prints_counts(review):
    result = run("stats", "--root", str(review.root))
    assert result.exit_code == 0, result.output
    assert "mechanisms" in result.output and "citation_coverage: 0.667" in result.output
    assert "retracted: gamma2019" in result.output


def test_stats_on_invalid_data_exits_1_without_traceback(review):
    review.write_bytes("data/pmn.csv", b"id,citekeys\n\"unclosed\n")
    result = run("stats", "--root", str(review.root))
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_build_refuses_invalid_data(review):
    review.replace("data/pmn.csv", ",liver,", ",lungs,")
    result = run("build", "--root", str(review.root))
    assert result.exit_code == 1
    assert "unknown value 'lungs'" in result.output
