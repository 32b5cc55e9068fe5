"""Chapters run in forks of a warm interpreter produce what a Jupyter kernel produces, and failures stay failures."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from livingreview.checking.evidence import load
from livingreview.checking.layout import chapter_files, read_chapter
from livingreview.publishing import execute

pytestmark = pytest.mark.skipif(not execute.available(), reason="no fork server on this platform")


def _copy_review(tmp_path: Path) -> Path:
    root = tmp_path / "review"
    for name in ("data", "chapters", "releases"):
        shutil.copytree(REPO / name, root / name)
    for name in ("references.bib", "_toc.yml", "_config.yml", "living.toml", "review.yml"):
        shutil.copy(REPO / name, root / name)
    return root


def _outputs(nb) -> list:
    return [(cell.execution_count, [dict(o) for o in cell.outputs]) for cell in nb.cells if cell.cell_type == "code"]


def test_forked_chapters_match_a_jupyter_kernel(tmp_path):
    from jupyter_cache.executors.utils import single_nb_execution

    root = _copy_review(tmp_path)
    chapters = [(p.relative_to(root).as_posix(), p) for p in chapter_files(root)]
    assert len(chapters) >= 10
    forked = {run.rel: run for run in execute.run_chapters(chapters, load(root), workers=2)}
    assert set(forked) == {rel for rel, _ in chapters}
    for rel, path in chapters:
        run = forked[rel]
        assert run.error == "", f"{rel}: {run.error}"
        nb = read_chapter(path)
        result = single_nb_execution(nb, cwd=str(path.parent), timeout=300, allow_errors=False)
        assert result.err is None, rel
        got, want = _outputs(run.notebook), _outputs(nb)
        assert [n for n, _ in got] == [n for n, _ in want], rel
        for (_, a), (_, b) in zip(got, want, strict=True):
            assert nbformat.from_dict({"o": a}) == nbformat.from_dict({"o": b}), rel
        assert any(out for _, out in got), f"{rel} showed nothing"
        assert run.notebook.metadata["language_info"] == nb.metadata["language_info"], rel


def test_a_failing_cell_is_reported_with_its_error(tmp_path):
    root = _copy_review(tmp_path)
    path = root / "chapters" / "03_mechanisms.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('before')\nraise ValueError('the planted fault')"))
    nb.cells.append(nbformat.v4.new_code_cell("print('never run')"))
    nbformat.write(nb, path)
    (run,) = execute.run_chapters([("chapters/03_mechanisms.ipynb", path)], load(root))
    assert "ValueError: the planted fault" in run.error
    failed, after = [c for c in run.notebook.cells if c.cell_type == "code"][-2:]
    assert failed.outputs[0].text.startswith("before\n") and after.execution_count is None and not after.outputs


def test_a_failed_chapter_is_not_cached(tmp_path):
    from jupyter_cache import get_cache

    from livingreview.publishing.book import execute_chapters

    root = _copy_review(tmp_path)
    bad = root / "chapters" / "03_mechanisms.ipynb"
    nb = nbformat.read(bad, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    nbformat.write(nb, bad)
    execute_chapters(root, ["chapters/03_mechanisms.ipynb", "chapters/11_methods.ipynb"], ev=load(root))
    cached = {Path(r.uri).name for r in get_cache(str(root / "_build" / ".jupyter_cache")).list_cache_records()}
    assert cached == {"11_methods.ipynb"}


def test_streams_displays_and_results_are_recorded_in_order():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from IPython.display import HTML, display\nprint('one')\ndisplay(HTML('<b>two</b>'))\n"
        "import sys; print('three', file=sys.stderr)\n6 * 7")])
    assert execute.execute_notebook(nb) == ""
    outs = nb.cells[0].outputs
    assert [o.output_type for o in outs] == ["stream", "display_data", "stream", "execute_result"]
    assert outs[0].text == "one\n" and outs[1].data["text/html"] == "<b>two</b>"
    assert outs[2].name == "stderr" and outs[3].data["text/plain"] == "42" and outs[3].execution_count == 1


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """multiprocessing would run the caller's main script again in every fork; it must not."""
    import subprocess
    import sys

    root = _copy_review(tmp_path)
    script = tmp_path / "build_it.py"
    script.write_text("print('main ran', flush=True)\n"
                      "from pathlib import Path\nfrom livingreview.publishing import execute\n"
                      "from livingreview.checking.evidence import load\n"
                      f"root = Path({str(root)!r})\n"
                      "runs = list(execute.run_chapters([('m', root / 'chapters/11_methods.ipynb')], load(root)))\n"
                      "print('errors', [r.error for r in runs])\n", encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300).stdout
    assert out.count("main ran") == 1 and "errors ['']" in out, out


def test_charts_drawn_in_a_fork_come_back_to_be_drawn_once(tmp_path):
    """A fork leaves its charts' static copies to the build (one vl-convert runtime), which skips unchanged ones."""
    from livingreview.publishing.render import static_copy

    root = _copy_review(tmp_path)
    (run,) = execute.run_chapters([("chapters/03_mechanisms.ipynb", root / "chapters" / "03_mechanisms.ipynb")],
                                  load(root))
    assert run.error == "" and len(run.figures) == 2
    paths = [path for path, _ in run.figures]
    assert {p.name for p in paths} == {"hallmark-by-cancer.svg", "hallmark-levels.svg"}
    assert not any(p.exists() for p in paths)  # the fork drew nothing
    assert [static_copy(path, spec) for path, spec in run.figures] == [True, True]
    first = paths[0].read_text(encoding="utf-8")
    assert first.startswith("<!-- livingreview figure ") and "<svg" in first
    assert run.figures[0][1]["width"] == "container"  # the page's chart follows its column; its copy cannot
    assert re.search(r'<svg[^>]* width="(\d+)"', first) and int(re.search(r'<svg[^>]* width="(\d+)"',
                                                                         first).group(1)) >= 720
    assert [static_copy(path, spec) for path, spec in run.figures] == [False, False]  # the same charts
    # beside each drawing, the chart compiled to Vega for the page (which loads no Vega-Lite compiler)
    from livingreview.publishing.render import compiled_for, vega_copy

    for path, spec in run.figures:
        vega = compiled_for(vega_copy(path), spec)
        assert vega is not None and "/schema/vega/v" in vega["$schema"] and vega["marks"]
        assert any(s.get("name") == "width" and "containerSize" in s.get("init", "") for s in vega["signals"])
    path, spec = run.figures[0]
    changed = {**spec, "title": "Another title"}
    assert compiled_for(vega_copy(path), changed) is None  # the copy names the spec it was compiled from
    assert static_copy(path, changed) is True and "Another title" in path.read_text(encoding="utf-8")
    assert "Another title" in json.dumps(compiled_for(vega_copy(path), changed))


def test_the_fork_servers_preload_starts_no_thread():
    """Every chapter forks from the server; a thread started there would be missing in each fork."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", f"import {execute.PRELOAD[0]}, threading; "
                          "print(threading.active_count())"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
