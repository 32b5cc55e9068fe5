"""A review's declared quantitative synthesis (issue 25): read from review.yml with located errors, impossible effect
inputs refused by validation at their file line and column, and the chapter's numbers and charts.

The expected numbers of the BCG trials are metafor's, from the sources cited beside them (the same sources
``test_meta.py`` cites), never this implementation's output.
"""

from __future__ import annotations

import importlib
import math
import re
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import livingreview as lr
from conftest import REPO
from livingreview.analysis import synthesis
from livingreview.checking.validate import validate
from livingreview.commands.cli import main
from livingreview.model import declarations as d
from livingreview.model.errors import ValidationError
from livingreview.publishing import chapter

BCG = REPO / "examples" / "bcg-vaccine"
P4 = 5e-5  # metafor prints 4 decimals


def near(x: float, want: float, tol: float = P4) -> bool:
    return abs(x - want) <= tol


@pytest.fixture
def bcg(tmp_path) -> Path:
    """A copy of the BCG example review (data, declarations and library)."""
    root = tmp_path / "bcg"
    root.mkdir()
    shutil.copytree(BCG / "data", root / "data")
    for name in ("review.yml", "references.bib", "_toc.yml", "_config.yml"):
        shutil.copy(BCG / name, root / name)
    return root


def _set_cell(root: Path, line: int, column: str, value: str) -> None:
    path = root / "data" / "trials.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    import csv
    import io

    row = next(csv.reader(io.StringIO(lines[line - 1])))
    row[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row)
    lines[line - 1] = out.getvalue()
    path.write_text("".join(lines), encoding="utf-8")


def _edit_yml(root: Path, old: str, new: str) -> None:
    path = root / "review.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --------------------------------------------------------------------------------------------- declarations


def test_the_bcg_example_declares_its_synthesis():
    s = d.load(BCG).synthesis["bcg"]
    assert (s.table, s.measure, s.method, s.test, s.level) == ("trials", "RR", "REML", "z", 95)
    assert s.arguments == {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}
    assert (s.label, s.label_year, s.subgroups, s.moderators, s.cumulative) == ("author", "year", ("alloc",),
                                                                                ("ablat",), "year")


def test_dump_writes_the_synthesis_back_as_read():
    declared = d.load(BCG)
    text = d.dump(declared.identity, declared.tables, declared.roles, declared.certainty,
                  synthesis=declared.synthesis)
    assert "synthesis:" in text
    again = d.read(text)
    assert again.synthesis == declared.synthesis and again.roles == declared.roles


def test_a_review_without_synthesis_declares_none():
    text = (BCG / "review.yml").read_text(encoding="utf-8")
    head = text.split("\nsynthesis:", 1)[0] + "\n"
    assert d.read(head).synthesis == {}


SYNTHESIS = """\
synthesis:
  bcg:
    table: trials
    measure: RR
    columns:
      ai: tpos
      bi: tneg
      ci: cpos
      di: cneg
    label: author
    label_year: year
    method: REML
    test: z
    subgroups:
    - alloc
    moderators:
    - ablat
    cumulative: year
"""

BROKEN = [
    ("measure: RR", "measure: HR", "synthesis.bcg.measure", "unknown measure 'HR'; expected one of: RR, OR"),
    ("      di: cneg\n", "", "synthesis.bcg.columns", "measure RR needs column di or n2i"),
    ("ai: tpos", "ai: ablat", "synthesis.bcg.columns.ai", "'ablat' of trials is of type number; expected a column "
                                                         "of counts (type integer)"),
    ("ai: tpos", "ai: tposs", "synthesis.bcg.columns.ai", "'tposs' is not a column of trials"),
    ("ai: tpos", "ri: tpos", "synthesis.bcg.columns.ri", "measure RR does not read 'ri'"),
    ("      di: cneg\n", "      di: cneg\n      dd: cneg\n", "synthesis.bcg.columns.dd",
     "unknown escalc argument 'dd'"),
    ("table: trials", "table: claims", "synthesis.bcg.table", "a table the engine keeps itself"),
    ("table: trials", "table: trial", "synthesis.bcg.table", "'trial' is not a declared table"),
    ("method: REML", "method: BAYES", "synthesis.bcg.method", "unknown method 'BAYES'"),
    ("test: z", "test: t", "synthesis.bcg.test", "unknown test 't'; expected one of: z, knha"),
    ("    - alloc\n    moderators", "    - ablat\n    moderators", "synthesis.bcg.subgroups[0]",
     "expected a vocabulary column (type vocab)"),
    ("    - ablat\n    cumulative", "    - alloc\n    cumulative", "synthesis.bcg.moderators[0]",
     "expected a numeric moderator (type integer or number)"),
    ("cumulative: year", "cumulative: author", "synthesis.bcg.cumulative", "'author' of trials is of type text"),
    ("label_year: year", "label_year: author", "synthesis.bcg.label_year", "expected the study's year"),
    ("label: author", "label: writer", "synthesis.bcg.label", "'writer' is not a column of trials"),
    ("    test: z\n", "    test: z\n    level: 120\n", "synthesis.bcg.level", "expected a confidence level"),
    ("    test: z\n", "    test: z\n    weights: n\n", "synthesis.bcg.weights", "unknown key 'weights'"),
    ("    table: trials\n", "", "synthesis.bcg", "missing 'table'"),
]


@pytest.mark.parametrize(("old", "new", "key", "message"), BROKEN, ids=[b[2] + ":" + b[1][:12] for b in BROKEN])
def test_a_broken_synthesis_is_a_located_error(old, new, key, message):
    text = (BCG / "review.yml").read_text(encoding="utf-8")
    assert text.endswith(SYNTHESIS)  # the cases edit this block
    broken = text[: -len(SYNTHESIS)] + SYNTHESIS.replace(old, new, 1)
    with pytest.raises(ValidationError) as caught:
        d.read(broken)
    problems = [p for p in caught.value.problems if p.column == key]
    assert problems, [str(p) for p in caught.value.problems]
    assert message in problems[0].message
    # the line is in the key's own block (a mapping's problems are reported where its value starts)
    lines = broken.splitlines()
    leaf = re.sub(r"\[\d+\]$", "", key.rsplit(".", 1)[-1])
    start = lines.index("synthesis:")
    at = next(i for i in range(start, len(lines)) if lines[i].strip().startswith(f"{leaf}:"))
    indent = len(lines[at]) - len(lines[at].lstrip())
    end = next((i for i in range(at + 1, len(lines)) if len(lines[i]) - len(lines[i].lstrip()) <= indent
                and not lines[i].lstrip().startswith("- ")), len(lines))
    assert at + 1 <= problems[0].line <= end, (problems[0], at + 1, end)


def test_synthesis_must_be_a_mapping():
    text = (BCG / "review.yml").read_text(encoding="utf-8")
    broken = text[: -len(SYNTHESIS)] + "synthesis: [bcg]\n"
    with pytest.raises(ValidationError, match="synthesis: expected a mapping of synthesis names"):
        d.read(broken)


# --------------------------------------------------------------------------------------------- validation


def test_the_bcg_example_is_valid():
    assert [str(p) for p in validate(BCG) if p.severity.value == "error"] == []


def test_impossible_counts_are_located_errors_without_a_traceback(bcg):
    # without the declared minimum the synthesis' own check must catch a negative count
    text = (bcg / "review.yml").read_text(encoding="utf-8")
    (bcg / "review.yml").write_text(text.replace("      minimum: 0\n", ""), encoding="utf-8")
    _set_cell(bcg, 3, "cpos", "-2")  # BCG-0002 on line 3
    _set_cell(bcg, 5, "tpos", "0")
    _set_cell(bcg, 5, "tneg", "0")  # BCG-0004: an empty vaccinated group
    result = CliRunner().invoke(main, ["validate", "--root", str(bcg)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "data/trials.csv:3:cpos: synthesis 'bcg' (RR): expected a count >= 0, got -2" in result.output
    assert "data/trials.csv:5:tpos: synthesis 'bcg' (RR): the first group is empty (ai + bi = 0)" in result.output
    # every other trial is fine: exactly these two problems
    assert len([line for line in result.output.splitlines() if line.startswith("data/trials.csv")]) == 2


def test_a_cell_the_table_already_refuses_is_reported_once(bcg):
    _set_cell(bcg, 4, "tpos", "-3")  # the declared minimum 0 refuses it first
    problems = [str(p) for p in validate(bcg) if p.line == 4]
    assert len(problems) == 1 and problems[0].startswith("data/trials.csv:4:tpos:") and "synthesis" not in problems[0]


def _effects_review(root: Path, measure: str, columns: dict[str, tuple[str, str]], rows: list[list[str]],
                    extra: str = "") -> Path:
    """A small review with one table of effect columns (name -> (type, escalc argument)) and one synthesis."""
    (root / "data").mkdir(parents=True)
    cols = "".join(f"    - {{name: {name}, type: {kind}, required: false}}\n" for name, (kind, _) in columns.items())
    args = ", ".join(f"{arg}: {name}" for name, (_, arg) in columns.items())
    (root / "review.yml").write_text(textwrap.dedent("""\
        review:
          title: Effects
          slug: effects
        tables:
          effects:
            title: Effects
            id_prefix: EFF
            columns:
            - {name: id, type: id}
            - {name: author, type: text}
        """) + cols + textwrap.dedent(f"""\
        synthesis:
          pooled:
            table: effects
            measure: {measure}
            columns: {{{args}}}
            label: author
        """) + extra, encoding="utf-8")
    header = ["id", "author", *columns]
    lines = [",".join(header)] + [",".join([f"EFF-{i:04d}", f"Study {i}", *row]) for i, row in enumerate(rows, 1)]
    (root / "data" / "effects.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "references.bib").write_text("", encoding="utf-8")
    return root


def _errors(root: Path) -> list[str]:
    return [str(p) for p in validate(root) if p.severity.value == "error"]


def test_impossible_means_sds_sizes_are_located(tmp_path):
    cols = {"m1": ("number", "m1i"), "sd1": ("number", "sd1i"), "n1": ("integer", "n1i"), "m2": ("number", "m2i"),
            "sd2": ("number", "sd2i"), "n2": ("integer", "n2i")}
    root = _effects_review(tmp_path / "r", "SMD", cols, [
        ["1.0", "2.0", "20", "0.5", "2.0", "20"],
        ["1.0", "0", "20", "0.5", "2.0", "20"],       # SD 0
        ["1.0", "1.0", "1", "0.5", "2.0", "20"],      # one participant
        ["", "", "", "", "", ""],                     # no effect data: not part of the synthesis
        ["1.0", "", "20", "0.5", "2.0", "20"],        # half filled
        ["1.0", "1.0", "20", "0.5", "-1", "20"],      # negative SD
    ])
    assert _errors(root) == [
        "data/effects.csv:3:sd1: synthesis 'pooled' (SMD): expected a standard deviation > 0, got 0",
        "data/effects.csv:4:n1: synthesis 'pooled' (SMD): expected a group size >= 2, got 1",
        "data/effects.csv:6:sd1: missing; synthesis 'pooled' (SMD) needs a number here, as the row gives its other "
        "effect columns",
        "data/effects.csv:7:sd2: synthesis 'pooled' (SMD): expected a standard deviation > 0, got -1",
    ]


def test_events_above_totals_and_correlations_outside_one_are_located(tmp_path):
    counts = _effects_review(tmp_path / "counts", "OR", {
        "events1": ("integer", "ai"), "total1": ("integer", "n1i"), "events2": ("integer", "ci"),
        "total2": ("integer", "n2i")}, [["3", "10", "4", "12"], ["11", "10", "4", "12"], ["3", "10", "13", "12"]])
    assert _errors(counts) == [
        "data/effects.csv:3:events1: synthesis 'pooled' (OR): expected events <= the group's total n1i (10), got 11",
        "data/effects.csv:4:events2: synthesis 'pooled' (OR): expected events <= the group's total n2i (12), got 13"]
    corr = _effects_review(tmp_path / "corr", "ZCOR", {"r": ("number", "ri"), "n": ("integer", "ni")},
                           [["0.3", "40"], ["1.2", "40"], ["-1.5", "30"], ["0.2", "3"]])
    assert _errors(corr) == [
        "data/effects.csv:3:r: synthesis 'pooled' (ZCOR): expected a correlation in [-1, 1], got 1.2",
        "data/effects.csv:4:r: synthesis 'pooled' (ZCOR): expected a correlation in [-1, 1], got -1.5",
        "data/effects.csv:5:n: synthesis 'pooled' (ZCOR): expected a sample size >= 4 (the variance is 1/(ni - 3)), "
        "got 3"]


def test_an_interval_that_misses_its_estimate_is_located(tmp_path):
    root = _effects_review(tmp_path / "r", "GEN", {"hr": ("number", "yi"), "lo": ("number", "ci_lb"),
                                                   "hi": ("number", "ci_ub")},
                           [["0.8", "0.6", "1.1"], ["0.5", "0.6", "1.1"], ["0.9", "1.2", "1.1"]],
                           extra="    ratio: true\n")
    assert _errors(root) == [
        "data/effects.csv:3:hr: synthesis 'pooled' (GEN): expected an estimate inside its confidence interval "
        "[0.6, 1.1], got 0.5",
        "data/effects.csv:4:lo: synthesis 'pooled' (GEN): expected a lower limit below the upper limit 1.1, got 1.2"]


# --------------------------------------------------------------------------------------------- the numbers


def test_effects_are_each_trials_log_risk_ratio():
    ev = lr.load(BCG)
    dat = synthesis.effects(ev, "bcg")
    assert list(dat["label"][:2]) == ["Aronson 1948", "Ferguson & Simes 1949"]
    # the definition: log((a / (a + b)) / (c / (c + d))), variance 1/a - 1/(a+b) + 1/c - 1/(c+d)
    a, b, c, dd = (ev.trials[col].astype(float).to_numpy() for col in ("tpos", "tneg", "cpos", "cneg"))
    assert np.allclose(dat["yi"], np.log(a / (a + b)) - np.log(c / (c + dd)))
    assert np.allclose(dat["vi"], 1 / a - 1 / (a + b) + 1 / c - 1 / (c + dd))
    # metafor's escalc on dat.bcg, first trial (issue 25, from the metafor README): yi = -0.8893, vi = 0.3256
    assert near(dat["yi"][0], -0.8893) and near(dat["vi"][0], 0.3256)
    assert np.allclose(dat["estimate"], np.exp(dat["yi"])) and (dat["ci_lb"] < dat["estimate"]).all()


def test_pooled_reproduces_metafor_on_the_bcg_trials():
    ev = lr.load(BCG)
    res = synthesis.pooled(ev, "bcg")
    # metafor README / tests (see test_meta.py): rma(yi, vi, data=dat), REML, z
    assert near(res.beta, -0.7145) and near(res.tau2, 0.3132) and near(res.I2, 92.22, 5e-3)
    p = res.transf(np.exp)
    assert near(p.pred, 0.4894) and near(p.ci_lb, 0.3441) and near(p.ci_ub, 0.6962)
    ee, dl = synthesis.pooled(ev, "bcg", "EE"), synthesis.pooled(ev, "bcg", "DL")
    # Stata metan vs rma.uni (metafor tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r)
    assert near(ee.beta, -0.4303) and near(ee.ci_lb, -0.5097) and near(ee.ci_ub, -0.3509) and near(ee.QE, 152.2330)
    assert near(dl.beta, -0.7141) and near(dl.ci_lb, -1.0644) and near(dl.ci_ub, -0.3638)


def test_subgroups_follow_the_vocabulary_order_and_pool_each_group(bcg):
    ev = lr.load(bcg)
    dat, res = synthesis.by_subgroup(ev, "bcg", "alloc")
    assert list(res.groups) == ["random", "alternate", "systematic"]
    counts = ev.trials["alloc"].astype(str).value_counts()
    assert {g: fit.k for g, fit in res.groups.items()} == counts.to_dict()
    alone = lr.meta.rma(dat["yi"][dat["alloc"] == "systematic"], dat["vi"][dat["alloc"] == "systematic"])
    assert res.groups["systematic"].beta == pytest.approx(alone.beta)


def test_regression_on_latitude_reproduces_the_metafor_readme(bcg):
    _edit_yml(bcg, "    test: z\n", "    test: knha\n")
    ev = lr.load(bcg)
    _, reg = synthesis.regression(ev, "bcg", "ablat")
    # wviechtb/metafor README.md: rma(yi, vi, mods = ~ ablat, data=dat, test="knha")
    assert reg.k == 13 and near(reg.tau2, 0.0764) and near(reg.QM, 12.5905) and near(reg.QMp, 0.0046)
    assert near(reg.coef("ablat")["estimate"], -0.0291) and near(reg.coef("ablat")["se"], 0.0082)


def test_accumulated_adds_the_trials_by_year_as_metafor_cumul():
    ev = lr.load(BCG)
    out = synthesis.accumulated(ev, "bcg")
    # wviechtb/metafor tests/testthat/test_misc_cumul.r: cumul(rma(yi, vi, data=dat), order=year)
    expected = [-0.889311, -1.325003, -0.97208, -1.001094, -1.101424, -0.973464, -0.901251, -0.788566, -0.865607,
                -0.785211, -0.708206, -0.794768, -0.714532]
    assert np.allclose(out["estimate"], expected, atol=P4, rtol=0)
    assert list(out["added"][:3]) == ["Aronson 1948", "Ferguson & Simes 1949", "Stein & Aronson 1953"]


def test_an_undeclared_synthesis_names_the_declared_ones():
    with pytest.raises(KeyError, match=r"no synthesis 'tb' is declared in review\.yml; declared: bcg"):
        synthesis.analysis(lr.load(BCG), "tb")


# --------------------------------------------------------------------------------------------- the chapter


def test_the_heterogeneity_line_and_the_pooled_sentence(bcg, monkeypatch):
    monkeypatch.chdir(bcg)
    ev = lr.load(bcg)
    assert chapter.heterogeneity(ev, "bcg").data == "τ² = 0.3132, I² = 92.22%, Q = 152.2330 (df = 12, p < 0.0001)"
    text = chapter.pooled_estimate(ev, "bcg").data
    assert "**0.4894** (95% CI 0.3441 to 0.6962)" in text and "-0.7145" in text and "prediction interval" in text
    table = chapter.estimators(ev, "bcg").data
    assert "0.6503" in table and "-0.7141" in table and "0.3132" in table  # EE RR, DL log RR, REML tau2


def test_charts_go_through_figure_with_their_static_copy(bcg, monkeypatch):
    monkeypatch.chdir(bcg)
    ev = lr.load(bcg)
    for html, slug in ((chapter.forest(ev, "bcg"), "forest-bcg"), (chapter.cumulative(ev, "bcg"), "cumulative-bcg"),
                       (chapter.subgroup_forest(ev, "bcg", "alloc"), "subgroups-bcg-alloc"),
                       (chapter.meta_regression(ev, "bcg", "ablat"), "regression-bcg-ablat")):
        assert f'id="chart-{slug}"' in html.data and 'class="lr-chart-data"' in html.data
        assert (bcg / "_static" / "figures" / f"{slug}.svg").exists()
    assert "Random allocation" in chapter.subgroup_table(ev, "bcg", "alloc").data
    reg = chapter.regression_table(ev, "bcg", "ablat").data
    assert "\\-0.0291" in reg and "13 studies" in reg


def test_one_study_draws_no_diamond_and_says_so(bcg, monkeypatch):
    monkeypatch.chdir(bcg)
    path = bcg / "data" / "trials.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:2]), encoding="utf-8")
    (bcg / "data" / "claims.csv").write_text(
        (BCG / "data" / "claims.csv").read_text(encoding="utf-8").replace("ablat>30,BCG-0012,", "ablat>1,,"),
        encoding="utf-8")
    ev = lr.load(bcg)
    assert "One study only" in chapter.pooled_estimate(ev, "bcg").data
    assert "no heterogeneity" in chapter.heterogeneity(ev, "bcg").data
    html = chapter.forest(ev, "bcg").data
    assert "nothing to pool" in html and "Random-effects model (REML)" not in html


def test_no_study_says_there_is_nothing_to_pool(bcg, monkeypatch):
    monkeypatch.chdir(bcg)
    path = bcg / "data" / "trials.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    (bcg / "data" / "claims.csv").write_text(
        (BCG / "data" / "claims.csv").read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    ev = lr.load(bcg)
    for text in (chapter.pooled_estimate(ev, "bcg").data, chapter.forest(ev, "bcg").data,
                 chapter.cumulative(ev, "bcg").data):
        assert "Nothing to pool" in text


def test_study_labels_are_escaped_in_the_charts(bcg, monkeypatch):
    monkeypatch.chdir(bcg)
    _set_cell(bcg, 2, "author", "Aronson <script>alert(1)</script>")
    ev = lr.load(bcg)
    html = chapter.forest(ev, "bcg").data + chapter.subgroup_forest(ev, "bcg", "alloc").data
    assert "<script>alert" not in html
    assert "\\u003cscript\\u003ealert" in html and "&lt;script&gt;alert" in html  # the spec and the data table
    assert not math.isnan(synthesis.pooled(ev, "bcg").beta)


def test_the_parallel_check_of_large_tables_still_checks_effects(bcg, monkeypatch):
    checking = importlib.import_module("livingreview.checking.validate")

    _set_cell(bcg, 6, "cpos", "0")
    _set_cell(bcg, 6, "cneg", "0")  # BCG-0005: an empty control group
    monkeypatch.setattr(checking, "PARALLEL_BYTES", 0)  # every review counts as large: tables go to two workers
    monkeypatch.setattr(checking.os, "cpu_count", lambda: 2)
    assert "data/trials.csv:6:cpos: synthesis 'bcg' (RR): the second group is empty (ci + di = 0)" in _errors(bcg)


@pytest.mark.parametrize("name", ["trials", "synthesis"])
def test_each_bcg_chapter_declares_the_tables_it_reads(bcg, monkeypatch, name):
    import json

    shutil.copytree(BCG / "chapters", bcg / "chapters")
    monkeypatch.chdir(bcg)
    log = bcg / "reads.log"
    monkeypatch.setenv("LIVINGREVIEW_READS_LOG", str(log))
    notebook = json.loads((bcg / "chapters" / f"{name}.ipynb").read_text(encoding="utf-8"))
    scope: dict = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), scope)  # the chapter's own code, as the build runs it
    read = set(log.read_text(encoding="utf-8").split())
    assert read == set(notebook["metadata"]["livingreview"]["reads"])
