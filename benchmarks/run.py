"""The benchmark: validation, summaries and book builds at growing scale, measured on this machine.

    python3.11 tasks.py bench            # everything (about 20 minutes on 2 cores)
    python3.11 tasks.py bench --quick    # 1x and 10x only, no book builds
    python3.11 tasks.py bench --lighthouse-only   # only Lighthouse on every page of the real book (about 5 min)
    python3.11 tasks.py bench --meta-only  # only pooling 10,000 studies (REML); updates that entry of results.json
    python3.11 tasks.py bench --validate-only     # validation against frictionless at 1x to 1000x (updates "scales")

Validation and frictionless are each run ``--repeat`` times (default 3), alternately, each in a fresh interpreter;
the run with the median wall time is kept, with every run's wall time beside it (the machine may be shared).

Prints a table and writes benchmarks/results.json. Synthetic data come from benchmarks/synth.py.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
sys.path.insert(0, str(HERE))

from lighthouse import lighthouse_book  # noqa: E402
from synth import make_review  # noqa: E402

LIBRARY = {1: None, 10: 2_000, 100: 20_000, 1000: None}  # synthetic library size per scale (None: the real one)


def probe(step: str, root: Path) -> dict:
    """Run one step in a fresh interpreter; wall time includes start-up and imports (a cold run)."""
    start = time.perf_counter()
    out = subprocess.run([PY, str(HERE / "probe.py"), step, str(root)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = round(time.perf_counter() - start, 3)
    return result


def probe_median(steps: list[tuple[str, str, Path]], repeat: int) -> dict[str, dict]:
    """Each (name, step, root) probed ``repeat`` times, the steps alternating so that a change in the machine's
    load falls on all of them alike; for each, the run with the median wall time and every run's wall time."""
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in steps}
    for _ in range(repeat):
        for name, step, root in steps:
            runs[name].append(probe(step, root))
    out = {}
    for name, results in runs.items():
        ordered = sorted(results, key=lambda r: r["wall"])
        out[name] = {**ordered[(len(ordered) - 1) // 2], "walls": [r["wall"] for r in results]}
    return out


def tables_only_package(root: Path, out: Path) -> Path:
    """A data package of the evidence tables alone (same schemas as the export), for frictionless."""
    from livingreview.publishing.export import export_package

    descriptor = export_package(root, out)
    data = json.loads(descriptor.read_text())
    data["resources"] = [r for r in data["resources"] if r["path"].startswith("data/")]
    descriptor.write_text(json.dumps(data))
    return out


def build(root: Path) -> dict:
    start = time.perf_counter()
    # the HTML book alone: the PDF is measured on its own (pdf_build)
    out = subprocess.run([str(Path(PY).with_name("livingreview")), "build", "--no-pdf", "--root", str(root)],
                         capture_output=True, text=True)
    seconds = round(time.perf_counter() - start, 2)
    if out.returncode != 0:
        raise SystemExit(f"book build failed at {root}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    executed = sorted({line.split(": Executing notebook")[0].rsplit("/", 1)[-1]
                       for line in out.stdout.splitlines() if ": Executing notebook" in line}
                      | {m.group(1).rsplit("/", 1)[-1] for line in out.stdout.splitlines()
                         if (m := re.match(r"\s*\[\d+/\d+\] (\S+): ", line))})
    return {"seconds": seconds, "executed": executed, "executed_count": len(executed)}


def page_sizes(root: Path) -> dict:
    html = root / "_build" / "html"
    pages = {p.stem: p.stat().st_size for p in sorted((html / "chapters").glob("*.html"))}
    sample = (html / "chapters" / "03_mechanisms.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"?]+)', sample)
    js = sum((html / "chapters" / s).resolve().stat().st_size for s in scripts
             if (html / "chapters" / s).resolve().exists())
    data = {p.name: p.stat().st_size for p in (html / "_static" / "data").glob("*.json")}
    return {"chapter_html_bytes": pages, "max_chapter_html_bytes": max(pages.values()),
            "javascript_bytes_per_page": js, "explorer_json_bytes": data}


def edit_first(path: Path, column: str, value: str) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows[1][rows[0].index(column)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def book_series(root: Path) -> dict:
    clean = build(root)
    nochange = build(root)
    edit_first(root / "data/mechanisms.csv", "finding", "A benchmark edit of one finding.")
    one_row = build(root)
    bib = root / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace("title   = {{", "title   = {{Edited: ", 1), encoding="utf-8")
    one_bib = build(root)
    page = root / "chapters/09_whats_new.ipynb"  # prose only: a Markdown cell, no code
    page.write_text(page.read_text(encoding="utf-8").replace("The review grows", "The review grows (edited)", 1),
                    encoding="utf-8")
    one_chapter = build(root)
    return {"clean": clean, "no_change": nochange, "one_row": one_row, "one_bib_entry": one_bib,
            "one_chapter_prose": one_chapter,
            "no_change_fraction_of_clean": round(nochange["seconds"] / clean["seconds"], 3),
            # issue 16's preview targets: a one-row change under 1/4 of a clean build, one chapter's prose under 1/8
            "one_row_fraction_of_clean": round(one_row["seconds"] / clean["seconds"], 3),
            "one_chapter_fraction_of_clean": round(one_chapter["seconds"] / clean["seconds"], 3),
            **page_sizes(root)}


def preview_series(root: Path, clean_seconds: float) -> dict:
    """The served preview's times as fractions of the clean build (issue 16's targets), and the PDF's cost and size."""
    served = serve_series(root)
    return {"serve": served,
            "serve_one_row_fraction_of_clean": round(served["one_row"] / clean_seconds, 3),
            "serve_one_chapter_fraction_of_clean": round(served["one_chapter_prose"] / clean_seconds, 3),
            "pdf": pdf_build(root)}


def served_build(port: int) -> int:
    """The build number the preview server reports (what its open pages reload on)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__livingreview__/status", timeout=5) as r:
        return json.loads(r.read())["build"]


def wait_for_build(port: int, after: int, timeout: float = 600) -> float:
    """Seconds until the server reports a build newer than ``after``."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            if served_build(port) > after:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"the preview server on port {port} did not rebuild within {timeout} s")


def serve_series(root: Path, port: int = 8765) -> dict:
    """What a contributor sees with ``livingreview serve``: seconds from saving a file to the served page's reload.

    Includes the server noticing the change (it looks every 0.1 s and waits until the files stay the same for 0.1 s).
    """
    proc = subprocess.Popen([str(Path(PY).with_name("livingreview")), "serve", "--root", str(root), "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_build(port, 0)
        out = {}
        edit_first(root / "data/mechanisms.csv", "finding", "A second benchmark edit of one finding.")
        out["one_row"] = round(wait_for_build(port, 1), 2)
        page = root / "chapters/09_whats_new.ipynb"
        page.write_text(page.read_text(encoding="utf-8").replace("The review grows", "The review grows (again)", 1),
                        encoding="utf-8")
        out["one_chapter_prose"] = round(wait_for_build(port, 2), 2)
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def pdf_build(root: Path) -> dict:
    """``livingreview build --pdf`` after the series: the PDF's own cost (the pages are built already) and size."""
    start = time.perf_counter()
    out = subprocess.run([str(Path(PY).with_name("livingreview")), "build", "--pdf", "--root", str(root)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"the PDF build failed at {root}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    from livingreview.model.declarations import identity

    pdf = root / "_build/html/download" / identity(root).pdf_name
    return {"seconds": round(time.perf_counter() - start, 2), "bytes": pdf.stat().st_size}


def lighthouse_only() -> None:
    """Build the real review's book in a scratch copy, run Lighthouse on every page, record it in results.json."""
    out = HERE / "results.json"
    results = json.loads(out.read_text()) if out.exists() else {"machine": machine()}
    work = Path(tempfile.mkdtemp(prefix="livingreview-bench-"))
    try:
        root = make_review(ROOT, work / "book1", 1, None)
        build(root)
        results["lighthouse"] = {"date": time.strftime("%Y-%m-%d"), **lighthouse_book(root / "_build" / "html")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)} (lighthouse)")


def meta_pooling(k: int = 10_000, repeats: int = 7) -> dict:
    """Seconds to pool ``k`` simulated studies with REML (``meta.rma``) and to fit a one-moderator meta-regression
    on them (``meta.metareg``): the median of ``repeats`` runs, after one warm-up run, in this process."""
    import numpy as np

    from livingreview import meta

    rng = np.random.default_rng(1)
    vi = rng.uniform(0.01, 0.5, k)
    yi = rng.normal(-0.5, np.sqrt(vi + 0.3))
    x = rng.normal(size=k)

    def median_seconds(fit) -> float:
        fit()  # the first call pays for imports and scipy's lazy set-up, which a build pays once
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fit()
            times.append(time.perf_counter() - start)
        return round(sorted(times)[len(times) // 2], 4)

    res = meta.rma(yi, vi, method="REML")
    return {"date": time.strftime("%Y-%m-%d"), "studies": k, "method": "REML", "runs": repeats,
            "rma_seconds": median_seconds(lambda: meta.rma(yi, vi, method="REML")),
            "metareg_seconds": median_seconds(lambda: meta.metareg(yi, vi, x, method="REML")),
            # what the fit found, so a run that pooled nonsense fast is seen for what it is (simulated: 0.3, -0.5)
            "tau2": round(res.tau2, 4), "estimate": round(res.beta, 4)}


def meta_only() -> None:
    """Measure ``meta_pooling`` and record it in results.json under its own key."""
    out = HERE / "results.json"
    results = json.loads(out.read_text()) if out.exists() else {"machine": machine()}
    results["meta_reml_10000"] = meta_pooling()
    out.write_text(json.dumps(results, indent=1) + "\n")
    m = results["meta_reml_10000"]
    print(f"pooling {m['studies']:,} studies with REML: rma {m['rma_seconds']}s, metareg {m['metareg_seconds']}s "
          f"(median of {m['runs']}); wrote {out.relative_to(ROOT)} (meta_reml_10000)")


def machine() -> dict:
    mem = next((int(x.split()[1]) // 1024 for x in Path("/proc/meminfo").read_text().splitlines()
                if x.startswith("MemTotal")), None)
    cpu = next((x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines()
                if x.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_mib": mem, "python": platform.python_version(),
            "platform": platform.platform()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1x and 10x only, no book builds")
    parser.add_argument("--book-only", action="store_true", help="only the book builds, the preview and the PDF")
    parser.add_argument("--validate-only", action="store_true",
                        help="only validation against frictionless at every scale; updates results.json's scales")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each validation measurement (median kept)")
    parser.add_argument("--lighthouse-only", action="store_true",
                        help="only Lighthouse on every page of the real book; updates that entry of results.json")
    parser.add_argument("--meta-only", action="store_true",
                        help="only pooling 10,000 studies with REML; updates that entry of results.json")
    args = parser.parse_args()
    if args.lighthouse_only:
        lighthouse_only()
        return
    if args.meta_only:
        meta_only()
        return
    scales = [] if args.book_only else [1, 10] if args.quick else [1, 10, 100, 1000]
    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "scales": {}}
    old_scales: dict = {}
    if args.validate_only:  # one entry of results.json is measured again; the rest stays
        out = HERE / "results.json"
        results = json.loads(out.read_text()) if out.exists() else results
        old_scales = results.get("scales", {})
        results.update({"machine": machine(), "scales": {}, "validation_date": time.strftime("%Y-%m-%d")})
    elif not args.book_only:
        results["meta_reml_10000"] = meta_pooling()
    work = Path(tempfile.mkdtemp(prefix="livingreview-bench-"))
    try:
        for scale in scales:
            root = make_review(ROOT, work / f"x{scale}", scale, LIBRARY[scale])
            row: dict = {"library_entries": LIBRARY[scale] or "real"}
            package = tables_only_package(root, work / f"pkg{scale}")
            # the reference, three ways: the whole package in one process (frictionless' fastest serial
            # route), the same with frictionless' own parallel mode, and the CLI once per table (run once: it is
            # the slowest by far and decides nothing)
            row.update(probe_median([("validate", "validate", root), ("frictionless", "frictionless", package),
                                     ("frictionless_parallel", "frictionless-parallel", package)], args.repeat))
            row["frictionless_each_table"] = probe("frictionless-each-table", package)
            row["repeats"] = args.repeat
            for name in ("frictionless", "frictionless_parallel", "frictionless_each_table"):
                if not row[name]["valid"]:  # a reference that stopped early measures nothing
                    raise SystemExit(f"{name} found the {scale}x review invalid: the comparison would be void")
                row[f"{name}_over_validate"] = round(row[name]["wall"] / row["validate"]["wall"], 2)
                row[f"{name}_cpu_over_validate"] = round(row[name]["cpu"] / row["validate"]["cpu"], 2)
            if row["validate"]["errors"]:
                raise SystemExit(f"validate found errors in the {scale}x review: {row['validate']['verdict']}")
            if args.validate_only:
                # the rest of the row (summaries and charts) stays as the last full run measured it
                results["scales"][f"{scale}x"] = {**old_scales.get(f"{scale}x", {}), **row}
                v, f = row["validate"], row["frictionless"]
                print(f"{scale:>5}x rows={v['rows']:>7} refs={v['references']:>6}  validate {v['wall']:6.2f}s "
                      f"{v['walls']} (CPU {v['cpu']:.2f}s)  frictionless {f['wall']:7.2f}s {f['walls']} "
                      f"(CPU {f['cpu']:.2f}s)  x{row['frictionless_over_validate']} wall, "
                      f"x{row['frictionless_cpu_over_validate']} CPU", flush=True)
                continue
            row["summaries_and_charts"] = probe("summaries", root)
            results["scales"][f"{scale}x"] = row
            v, f = row["validate"], row["frictionless"]
            print(f"{scale:>5}x rows={v['rows']:>7} refs={v['references']:>6}  validate {v['wall']:6.2f}s "
                  f"({v['peak_mib']:.0f} MiB)  frictionless {f['wall']:7.2f}s (x{row['frictionless_over_validate']}), "
                  f"parallel {row['frictionless_parallel']['wall']:.2f}s "
                  f"(x{row['frictionless_parallel_over_validate']}), per table "
                  f"{row['frictionless_each_table']['wall']:.2f}s (x{row['frictionless_each_table_over_validate']})"
                  f"  summaries+charts "
                  f"{row['summaries_and_charts']['wall']:6.2f}s",
                  flush=True)
        if not args.quick and not args.validate_only:
            for scale in ((1,) if args.book_only else (1, 100)):
                root = make_review(ROOT, work / f"book{scale}", scale, None)
                series = book_series(root)
                if scale == 1:  # what a reader on a phone gets, page by page (issue 26): the real book's pages
                    results["lighthouse"] = lighthouse_book(root / "_build" / "html")
                series.update(preview_series(root, series["clean"]["seconds"]))
                results[f"book_{scale}x"] = series
                print(f"book {scale}x: clean {series['clean']['seconds']}s ({series['clean']['executed_count']} "
                      f"chapters), no change {series['no_change']['seconds']}s "
                      f"({series['no_change']['executed_count']}), one row {series['one_row']['seconds']}s "
                      f"({series['one_row']['executed_count']}), one chapter's prose "
                      f"{series['one_chapter_prose']['seconds']}s, one bib entry {series['one_bib_entry']['seconds']}s "
                      f"({series['one_bib_entry']['executed_count']}); largest chapter page "
                      f"{series['max_chapter_html_bytes'] / 1e6:.2f} MB, JS per page "
                      f"{series['javascript_bytes_per_page'] / 1e6:.2f} MB; served preview: one row "
                      f"{series['serve']['one_row']}s (x{series['serve_one_row_fraction_of_clean']} of clean), "
                      f"one chapter's prose {series['serve']['one_chapter_prose']}s "
                      f"(x{series['serve_one_chapter_fraction_of_clean']}); PDF {series['pdf']['seconds']}s, "
                      f"{series['pdf']['bytes'] / 1e6:.1f} MB", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = HERE / ("results-quick.json" if args.quick else "results-book.json" if args.book_only else "results.json")
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
