"""The whole book as one PDF: the single-page HTML build printed by headless Chromium (charts drawn, pages numbered)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from livingreview.errors import UsageError
from livingreview.fileio import atomic_write

PDF_NAME = "ev-metastasis-living-review.pdf"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@dataclass(frozen=True)
class Printed:
    """Where the PDF went, how large it is and how long it took."""

    path: Path
    bytes: int
    seconds: float


def find_browser() -> str:
    """The Chromium to print with; a UsageError names what to install if there is none."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise UsageError("no Chromium found to print the PDF; install Debian's chromium (apt install chromium)")


def print_pdf(root: Path, config: Path) -> Printed:
    """Build the book as one HTML page (reusing the executed chapters) and print it to ``download/`` as a PDF."""
    start = time.perf_counter()
    browser = find_browser()
    root = root.resolve()
    exe = Path(sys.executable).with_name("jupyter-book")
    code = subprocess.call([str(exe), "build", str(root), "--builder", "singlehtml", "--config", str(config)],
                           cwd=root, stdout=subprocess.DEVNULL)
    single = root / "_build" / "singlehtml"
    page = single / "chapters" / "intro.html"  # the root page; index.html only redirects to it
    if code != 0 or not page.exists():
        raise UsageError("the single-page build for the PDF failed; run livingreview build first and fix its errors")
    from livingreview.book import footer_stamp, page_stamp, stamp_pages

    # the PDF carries the stamp of the web book it was printed with (version label included)
    stamp_pages(single, page_stamp(root / "_build" / "html") or footer_stamp(root))
    # the single page lies in chapters/ but names its theme files as if at the root ('_static/...'), while the
    # book's own links go up ('../_static/...'): both resolve once chapters/_static points to the one folder
    link = single / "chapters" / "_static"
    if not link.exists():
        link.symlink_to(Path("..") / "_static", target_is_directory=True)
    out = root / "_build" / "html" / "download" / PDF_NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".printing.pdf")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--run-all-compositor-stages-before-draw",
                    "--virtual-time-budget=30000", f"--print-to-pdf={tmp}", page.as_uri()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    data = tmp.read_bytes()
    tmp.unlink()
    if not data.startswith(b"%PDF"):
        raise UsageError("Chromium did not write a PDF")
    atomic_write(out, data)
    return Printed(out, len(data), time.perf_counter() - start)
