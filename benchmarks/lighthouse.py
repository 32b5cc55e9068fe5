"""Lighthouse on every page of a built book, served compressed as GitHub Pages serves it (issue 26).

    python benchmarks/lighthouse.py [_build/html]   # prints a table and the JSON of the scores

Lighthouse is pinned in ``benchmarks/package.json`` (and its lock file) and installed with npm into
``benchmarks/node_modules`` for the benchmark alone: nothing else in the project uses Node.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
VERSION = json.loads((HERE / "package.json").read_text())["dependencies"]["lighthouse"]
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {"first-contentful-paint": "fcp_ms", "largest-contentful-paint": "lcp_ms", "total-blocking-time": "tbt_ms",
           "cumulative-layout-shift": "cls", "speed-index": "speed_index_ms"}
#: what GitHub Pages compresses (text); images, fonts and archives go as they are
COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".map", ".csv", ".bib"}


def ensure_lighthouse() -> Path:
    """Install the pinned Lighthouse into benchmarks/node_modules (from the lock file) unless it is there."""
    if LIGHTHOUSE.exists():
        out = subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True)
        if out.stdout.strip() == VERSION:
            return LIGHTHOUSE
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed for the Lighthouse benchmark (apt-get install npm)")
    subprocess.run(["npm", "ci", "--prefix", str(HERE), "--no-audit", "--no-fund"], check=True)
    return LIGHTHOUSE


class GzipHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with text compressed when the client accepts gzip, and GitHub Pages' ten-minute cache."""

    def log_message(self, *args) -> None:
        pass

    def send_head(self):  # type: ignore[override]
        path = Path(self.translate_path(self.path))
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and path.suffix in COMPRESSED and path.is_file()):  # folders, binaries: as the stdlib does
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return _Body(body)


class _Body:
    """What ``send_head`` hands back for ``copyfile``: an in-memory body."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, n: int = -1) -> bytes:
        data, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
        return data

    def close(self) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 with gzip; yields the base URL."""
    handler = functools.partial(GzipHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def pages(folder: Path) -> list[str]:
    """Every page of the built book (not the theme's fragments under _static, not the downloads)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html")
                  if p.relative_to(folder).parts[0] not in ("_static", "download"))


def summarise(report: dict) -> dict:
    """Scores (0-100), the metrics, bytes transferred and the opportunities and diagnostics that cost the most."""
    audits = report["audits"]
    out: dict = {c: round(100 * report["categories"][c]["score"]) for c in CATEGORIES}
    for audit, name in METRICS.items():
        value = audits[audit].get("numericValue")
        out[name] = round(value, 3) if name == "cls" else round(value) if value is not None else None
    out["transferred_bytes"] = audits.get("total-byte-weight", {}).get("numericValue")
    # why a score is what it is: the opportunities by time they would save, and every failed non-performance audit
    saving = []
    for audit in audits.values():
        ms = (audit.get("details") or {}).get("overallSavingsMs") or 0
        if audit.get("score") is not None and audit["score"] < 0.9 and ms >= 100:
            saving.append((round(ms), audit["id"]))
    out["opportunities_ms"] = {name: ms for ms, name in sorted(saving, reverse=True)[:5]}
    failed = []
    for cat in CATEGORIES[1:]:
        for ref in report["categories"][cat]["auditRefs"]:
            audit = audits[ref["id"]]
            if ref.get("weight") and audit.get("score") is not None and audit["score"] < 1:
                failed.append(f"{cat}: {ref['id']}")
    out["failed_audits"] = failed
    out["main_thread_ms"] = round(audits.get("mainthread-work-breakdown", {}).get("numericValue") or 0)
    out["bootup_ms"] = round(audits.get("bootup-time", {}).get("numericValue") or 0)
    return out


def lighthouse(url: str, work: Path) -> dict:
    """One Lighthouse run, mobile preset with its default (simulated) throttling; its summary."""
    report = work / "report.json"
    cmd = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={report}", "--quiet",
           f"--chrome-path={CHROMIUM}", "--chrome-flags=--headless=new --no-sandbox",
           "--only-categories=" + ",".join(CATEGORIES)]
    subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300)
    data = json.loads(report.read_text())
    if data.get("runtimeError"):
        raise RuntimeError(f"Lighthouse could not measure {url}: {data['runtimeError']}")
    return summarise(data)


def lighthouse_book(folder: Path, only: list[str] | None = None, runs: int = 3) -> dict:
    """Lighthouse on every page of the book built in ``folder``: per page scores and metrics, and the lowest.

    Each page is measured ``runs`` times and the run with the median performance score is kept, as Lighthouse's
    authors advise: its simulated throttling scales the CPU time it observes, which other work on a shared
    machine stretches from one run to the next.
    """
    ensure_lighthouse()
    results: dict = {}
    with serve(folder) as base, tempfile.TemporaryDirectory() as tmp:
        for rel in only or pages(folder):
            measured = sorted((lighthouse(f"{base}/{rel}", Path(tmp)) for _ in range(runs)),
                              key=lambda r: r["performance"])
            results[rel] = {**measured[len(measured) // 2],
                            "performance_runs": [r["performance"] for r in measured]}
            r = results[rel]
            print(f"  {rel:32} perf {r['performance']:3} a11y {r['accessibility']:3} bp {r['best-practices']:3} "
                  f"seo {r['seo']:3}  FCP {r['fcp_ms'] / 1000:4.1f}s LCP {r['lcp_ms'] / 1000:4.1f}s "
                  f"TBT {r['tbt_ms']:5}ms CLS {r['cls']:.3f}  {r['transferred_bytes'] / 1e3:6.0f} KB", flush=True)
    worst = {c: min(r[c] for r in results.values()) for c in CATEGORIES}
    worst.update({m: max(r[m] for r in results.values()) for m in ("lcp_ms", "tbt_ms", "cls")})
    return {"version": VERSION, "preset": "mobile, default simulated throttling, served with gzip",
            "runs_per_page": runs, "kept": "the run with the median performance score",
            "pages": results, "worst": worst,
            "below_90_performance": sorted(p for p, r in results.items() if r["performance"] < 90)}


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "_build" / "html"
    print(json.dumps(lighthouse_book(root, sys.argv[2:] or None), indent=1))
