"""The whole book as one PDF: the single-page HTML build printed by headless Chromium (charts drawn, pages numbered)."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from livingreview.model.declarations import identity
from livingreview.model.errors import UsageError
from livingreview.model.fileio import atomic_write

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


#: a contents entry of the print contents page (the theme's), and the chapter section its link resolves to
TOC_ENTRY_RE = re.compile(r'(<li class="toctree-l1[^"]*"><a class="reference internal nav-link" '
                          r'href="#(document-[^"]+)">.*?</a>)(</li>)')
CHAPTER_RE = re.compile(r'<span id="(document-[^"]+)"></span><section id="([^"]+)">')
#: the print title block of the theme, where the title page's version line goes
PRINT_TITLE_RE = re.compile(r'(<div id="jb-print-docs-body" class="onlyprint">\s*<h1>.*?</h1>)', re.DOTALL)
PLACEHOLDER = "000"
LOCAL_PAGE_LINK_RE = re.compile(r'href="(?:\.\./)?(?:chapters/)?[0-9A-Za-z_-]+\.html#')


def _front_matter(html: str, stamp: str) -> str:
    """The single page with its title page's version line and a page-number slot for each contents entry."""
    from livingreview.publishing.book import STAMP_RE

    line = STAMP_RE.sub(lambda m: m.group(0).replace('class="lr-stamp"', 'class="lr-title-stamp"'), stamp)
    html = PRINT_TITLE_RE.sub(lambda m: m.group(1) + line, html, count=1)
    # links the book's own HTML writes to another page's anchor (row ids, bibliography entries) land on the same
    # anchor of the one page here: every page is in it
    html = LOCAL_PAGE_LINK_RE.sub('href="#', html)
    return TOC_ENTRY_RE.sub(lambda m: f'{m.group(1)}<span class="lr-toc-page" data-for="{m.group(2)}">'
                                      f'{PLACEHOLDER}</span>{m.group(3)}', html)


def contents_pages(pdf: Path, html: str) -> dict[str, int]:
    """The page (1-based) each chapter starts on in ``pdf``: the destination of its section's id, which the contents'
    links make Chromium record as a named destination."""
    import pypdf

    reader = pypdf.PdfReader(pdf)
    pages = {name.lstrip("/"): reader.get_destination_page_number(dest) + 1
             for name, dest in reader.named_destinations.items()}
    return {doc: pages[section] for doc, section in CHAPTER_RE.findall(html) if section in pages}


def _number_contents(html: str, pages: dict[str, int]) -> str:
    return re.sub(r'(<span class="lr-toc-page" data-for="([^"]+)">)' + PLACEHOLDER + "</span>",
                  lambda m: f"{m.group(1)}{pages.get(m.group(2), '')}</span>", html)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _chromium_print(browser: str, url: str, out: Path) -> None:
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--run-all-compositor-stages-before-draw",
                    "--no-pdf-header-footer", "--virtual-time-budget=30000", f"--print-to-pdf={out}", url],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)


def print_pdf(root: Path, config: Path) -> Printed:
    """Build the book as one HTML page (reusing the executed chapters) and print it to ``download/`` as a PDF.

    Chromium prints from a server on 127.0.0.1 that serves only the single-page build (never a ``file://`` page,
    which could read the file system), with no browser header or footer (no local path, no print time): the
    book's own CSS numbers the A4 pages. It prints twice: the first print says on which page each chapter starts,
    and the second prints the contents page with those numbers (the slots keep their size, so no page moves).
    """
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
    from livingreview.publishing.book import footer_stamp, page_stamp, stamp_pages

    # the PDF carries the stamp of the web book it was printed with (version label included)
    stamp = page_stamp(root / "_build" / "html") or footer_stamp(root)
    stamp_pages(single, stamp)
    html = _front_matter(page.read_text(encoding="utf-8"), stamp)
    page.write_text(html, encoding="utf-8")
    # the single page lies in chapters/ but names its theme files as if at the root ('_static/...'), while the
    # book's own links go up ('../_static/...'): both resolve once chapters/_static points to the one folder
    link = single / "chapters" / "_static"
    if not link.exists():
        link.symlink_to(Path("..") / "_static", target_is_directory=True)
    out = root / "_build" / "html" / "download" / identity(root).pdf_name
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".printing.pdf")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(single)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/chapters/intro.html"
        _chromium_print(browser, url, tmp)
        page.write_text(_number_contents(html, contents_pages(tmp, html)), encoding="utf-8")
        _chromium_print(browser, url, tmp)
    finally:
        server.shutdown()
        server.server_close()
    data = tmp.read_bytes()
    tmp.unlink()
    if not data.startswith(b"%PDF"):
        raise UsageError("Chromium did not write a PDF")
    atomic_write(out, data)
    return Printed(out, len(data), time.perf_counter() - start)
