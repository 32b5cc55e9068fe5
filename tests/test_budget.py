"""Page weight that cannot grow unnoticed (issue 26): what each page of the built book loads, in bytes.

Every page's scripts and stylesheets (what its ``<script src>``, ``<link rel=stylesheet>`` and the stylesheets'
``@import`` name, plus the chart library the book's script fetches where there are charts) are counted
gzip-compressed, as a server that compresses sends them, and held to a budget for its kind of page. Budgets are
bytes, never timings, so they fail the same way on any machine. In Chromium, every page must ask for no script
or stylesheet outside that count (the count is complete) and log no error.
"""

from __future__ import annotations

import functools
import gzip
import html as html_lib
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest

#: gzip bytes of script and style a page may load, by kind. A page with charts also loads the chart library (the
#: vega runtime alone, about 205 KB compressed: its charts are compiled to Vega when the book is built, so no page
#: loads the Vega-Lite compiler or vega-embed, which made it 305 KB); the theme's and the book's CSS and scripts are
#: about 145 KB. The data a page loads as script (the explorer's rows, the search page's index) grow with the review
#: and have a budget of their own.
BUDGET = {"plain": 160_000, "charts": 370_000, "data": 150_000}
#: the file the book's script fetches on a page with charts (livingreview.js, ``withVega``)
CHART_LIBRARY = "_static/vendor/vega.js"
#: what only the Vega-Lite compiler and vega-embed hold (their names, which their code carries as strings)
COMPILER = re.compile(r"vega-lite|vegaLite|vega-embed|vegaEmbed")
CHART_RUNTIME = re.compile(r"vega", re.IGNORECASE)
#: the layout shift a page may make while it loads, drawing its charts (Lighthouse's "good" is 0.1 or less)
MAX_LAYOUT_SHIFT = 0.05
DATA = re.compile(r"^(_static/data/|searchindex\.js$)")

_TAG_RE = re.compile(r"<(script|link)\b([^>]*)>", re.IGNORECASE)
_ATTR_RE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_DATA_SCRIPT_RE = re.compile(r'\bdata-script="([^"]+)"')
_IMPORT_RE = re.compile(r'@import\s+(?:url\()?\s*["\']?([^"\')\s;]+)')


def _attrs(text: str) -> dict[str, str]:
    return {m.group(1).lower(): html_lib.unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in _ATTR_RE.finditer(text)}


def _local(root: Path, base: PurePosixPath, ref: str) -> PurePosixPath | None:
    """The file (relative to the book's root) that ``ref``, found in ``base``, names; None for other origins."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    joined = PurePosixPath(unquote(parts.path)) if parts.path.startswith("/") else base.parent / unquote(parts.path)
    out: list[str] = []
    for part in joined.parts:
        if part == "..":
            if out:
                out.pop()
        elif part not in (".", "/"):
            out.append(part)
    return PurePosixPath(*out)


def page_assets(root: Path, page: str) -> tuple[list[str], list[str]]:
    """(files, problems): every script and stylesheet ``page`` loads, relative to ``root``, and what is wrong.

    A stylesheet's ``@import`` is followed; the explorer's rows count as the script they are; a page with a chart
    also loads the chart library; a reference to
    another origin or to a missing file is a problem (it would be weight the budget cannot see).
    """
    text = (root / page).read_text(encoding="utf-8")
    refs: list[tuple[str, str]] = []
    for tag, attrs in _TAG_RE.findall(text):
        a = _attrs(attrs)
        if tag.lower() == "script" and a.get("src"):
            refs.append((page, a["src"]))
        elif tag.lower() == "link" and "stylesheet" in a.get("rel", "").lower().split() and a.get("href"):
            refs.append((page, a["href"]))
    # the explorer's rows: a script its element names, which the book's script adds to the page
    refs += [(page, html_lib.unescape(src)) for src in _DATA_SCRIPT_RE.findall(text)]
    if "lr-chart-spec" in text:
        refs.append(("", CHART_LIBRARY))
    files: list[str] = []
    problems: list[str] = []
    while refs:
        base, ref = refs.pop(0)
        rel = _local(root, PurePosixPath(base), ref)
        if rel is None:
            problems.append(f"{page}: loads {ref} from outside the book")
            continue
        if rel.as_posix() in files:
            continue
        if not (root / rel).is_file():
            problems.append(f"{page}: loads {ref}, which is not in the book")
            continue
        files.append(rel.as_posix())
        if rel.suffix == ".css":
            refs += [(rel.as_posix(), imported) for imported in _IMPORT_RE.findall((root / rel).read_text("utf-8"))]
    return files, problems


@functools.cache
def _gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))


def page_weight(root: Path, files: list[str]) -> int:
    """Bytes of ``files`` (relative to ``root``), each gzip-compressed."""
    return sum(_gzip_size(root / f) for f in files)


def book_pages(root: Path) -> list[str]:
    """Every page of the built book (not the theme's fragments under _static, not the downloads)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if p.relative_to(root).parts[0] not in ("_static", "download"))


def has_charts(root: Path, page: str) -> bool:
    """Whether ``page`` holds a chart for the book's script to draw."""
    return "lr-chart-spec" in (root / page).read_text(encoding="utf-8")


# --- the accounting itself, on pages made for the purpose -------------------------------------------------------

def _site(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (tmp_path / rel).write_bytes(content)
        else:
            (tmp_path / rel).write_text(content, encoding="utf-8")
    return tmp_path


def test_a_page_counts_its_scripts_styles_their_imports_and_the_chart_library(tmp_path):
    noise = os.urandom(5000)  # incompressible, so its compressed size is known within a few bytes
    root = _site(tmp_path, {
        "chapters/a.html": '<link rel="stylesheet" href="../_static/a.css?v=1"><script defer src="../_static/a.js">'
                           '</script><script type="application/json" class="lr-chart-spec">{}</script>'
                           '<div class="lr-explorer" data-script="../_static/data/rows.js"></div>',
        "_static/a.css": '@import "b.css";\nbody { color: red }',
        "_static/b.css": "p {}",
        "_static/a.js": noise,
        "_static/data/rows.js": "window.rows = [];",
        CHART_LIBRARY: "var vega;",
    })
    files, problems = page_assets(root, "chapters/a.html")
    assert problems == []
    assert sorted(files) == ["_static/a.css", "_static/a.js", "_static/b.css", "_static/data/rows.js", CHART_LIBRARY]
    assert 5000 <= page_weight(root, files) < 5400
    assert has_charts(root, "chapters/a.html")


def test_weight_the_budget_cannot_see_is_a_problem(tmp_path):
    root = _site(tmp_path, {
        "index.html": '<script src="https://cdn.example.org/x.js"></script><link href="gone.css" rel="stylesheet">'
                      '<link rel="icon" href="favicon.svg"><script>inline()</script>',
    })
    files, problems = page_assets(root, "index.html")
    assert files == []
    assert problems == ["index.html: loads https://cdn.example.org/x.js from outside the book",
                        "index.html: loads gone.css, which is not in the book"]
    assert not has_charts(root, "index.html")


def test_a_chart_box_shows_its_static_drawing_at_its_size_and_holds_vega(tmp_path):
    from types import SimpleNamespace

    from livingreview.publishing.render import script_json, spec_hash, vega_copy
    from livingreview.publishing.sphinxext import _static_charts

    figures = tmp_path / "_static" / "figures"
    figures.mkdir(parents=True)
    (figures / "organ-map.svg").write_text('<!-- livingreview figure 00 -->\n<svg xmlns="http://www.w3.org/2000/svg" '
                                           'class="marks" width="866" height="730.4" viewBox="0 0 866 730">',
                                           encoding="utf-8")
    lite = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "mark": "bar", "title": "</script>&",
            "data": {"values": [{"a": 1}]}, "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    # the compiled copy the build left beside the drawing is what the page gets (no compiling while pages are written)
    planted = {"$schema": "https://vega.github.io/schema/vega/v6.json", "description": "planted </script>"}
    vega_copy(figures / "organ-map.svg").write_text(json.dumps({"source": spec_hash(lite), "vega": planted}))
    body = ('<p>x</p><div class="lr-chart" id="chart-organ-map"></div>'
            '<div class="lr-chart" id="chart-not-drawn"></div>'
            f'<script type="application/json" class="lr-chart-spec" data-target="chart-organ-map">{script_json(lite)}'
            '</script>')
    context = {"body": body, "pathto": lambda name, resource=0: "../" + name}
    _static_charts(SimpleNamespace(srcdir=str(tmp_path)), "chapters/x", "page.html", context, None)
    out = context["body"]
    assert out.startswith('<p>x</p><div class="lr-chart" id="chart-organ-map" style="--lr-chart-height: 730px">'
                          '<img class="lr-chart-static" src="../_static/figures/organ-map.svg" width="866" '
                          'height="730" alt="" decoding="async"></div>')
    assert '<div class="lr-chart" id="chart-not-drawn"></div>' in out  # no drawing: an empty box, as before
    payload = out.split('data-target="chart-organ-map">', 1)[1].rsplit("</script>", 1)[0]
    assert "<" not in payload and json.loads(payload) == planted
    # a compiled copy of another spec is not used: the page's spec is compiled afresh
    lite["title"] = "another"
    context = {"body": body.replace(script_json({**lite, "title": "</script>&"}), script_json(lite))}
    _static_charts(SimpleNamespace(srcdir=str(tmp_path)), "chapters/x", "page.html", context, None)
    fresh = json.loads(context["body"].split('data-target="chart-organ-map">', 1)[1].rsplit("</script>", 1)[0])
    assert "/vega/v" in fresh["$schema"] and fresh["title"]["text"] == "another" and "marks" in fresh


def test_index_redirect_names_the_icon_and_title_of_the_page_it_sends_to(tmp_path):
    from livingreview.publishing.book import redirect_page

    root = _site(tmp_path, {
        "index.html": '<meta http-equiv="Refresh" content="0; url=chapters/intro.html" />\n',
        "chapters/intro.html": '<html><head><title>EVs &amp; cancer &#8212; Book</title>'
                               '<link rel="icon" href="../_static/favicon.svg"/></head><body></body></html>',
        "_static/favicon.svg": '<svg xmlns="http://www.w3.org/2000/svg"><circle r="4" fill="#0072B2"/></svg>\n',
    })
    assert redirect_page(root) is True
    index = (root / "index.html").read_text(encoding="utf-8")
    assert '<meta http-equiv="Refresh" content="0; url=chapters/intro.html">' in index
    # the icon is in the page (a request for it would be cut off by the refresh), the same drawing
    icon = re.search(r'<link rel="icon" href="data:image/svg\+xml,([^"]+)">', index)
    assert icon and unquote(html_lib.unescape(icon.group(1))) == (root / "_static/favicon.svg").read_text().strip()
    assert '<html lang="en">' in index
    assert "<title>EVs &amp; cancer &#8212; Book</title>" in index and '<a href="chapters/intro.html">' in index
    assert redirect_page(root) is False and (root / "index.html").read_text(encoding="utf-8") == index
    # an index page of the review's own, or a refresh to a page that is not there, stays as it is
    (root / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=gone.html" />\n', encoding="utf-8")
    assert redirect_page(root) is False


def test_bibliography_entries_are_items_of_their_list():
    from livingreview.publishing.sphinxext import _bibliography_roles

    body = ('<div role="list" class="citation-list">\n<div class="citation" id="cite-a2020" role="doc-biblioentry">'
            '<p>A. <a href="https://doi.org/10.1/x">doi</a></p></div>\n</div><p role="doc-biblioentry">x</p>')
    context = {"body": body}
    _bibliography_roles(None, "chapters/bibliography", "page.html", context, None)
    assert context["body"] == body.replace('id="cite-a2020" role="doc-biblioentry"', 'id="cite-a2020" role="listitem"')


# --- the built book ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(book) -> Path:
    return book / "_build" / "html"


@pytest.mark.book
def test_every_page_loads_script_and_style_within_its_budget(site):
    pages = book_pages(site)
    assert {"index.html", "search.html", "genindex.html", "chapters/03_mechanisms.html"} <= set(pages)
    over, problems, kinds = [], [], set()
    for page in pages:
        files, found = page_assets(site, page)
        problems += found
        kind = "charts" if has_charts(site, page) else "plain"
        kinds.add(kind)
        data = [f for f in files if DATA.match(f)]
        for name, counted in ((kind, [f for f in files if f not in data]), ("data", data)):
            weight = page_weight(site, counted)
            if weight > BUDGET[name]:
                heaviest = sorted(counted, key=lambda f: -_gzip_size(site / f))[:3]
                over.append(f"{page} ({name}): {weight} bytes > {BUDGET[name]}; heaviest {heaviest}")
    assert problems == []
    assert over == []
    assert kinds == {"charts", "plain"}  # both budgets are exercised by the real book


@pytest.mark.book
def test_no_chart_runtime_on_a_page_without_a_chart(site):
    charted = 0
    for page in book_pages(site):
        files, _ = page_assets(site, page)
        runtime = [f for f in files if CHART_RUNTIME.search(PurePosixPath(f).name)]
        if has_charts(site, page):
            charted += 1
            assert runtime == [CHART_LIBRARY], page
        else:
            assert runtime == [], page
    assert charted >= 4


@pytest.mark.book
def test_a_chart_page_loads_no_vega_lite_compiler(site):
    """Every chart's spec on the page is Vega (compiled when the book was built), and nothing a page loads holds the
    Vega-Lite compiler or vega-embed: the chart runtime is vega alone."""
    specs = re.compile(r'<script type="application/json" class="lr-chart-spec"[^>]*>(.*?)</script>', re.DOTALL)
    charted = 0
    for page in book_pages(site):
        text = (site / page).read_text(encoding="utf-8")
        for spec in specs.findall(text):
            assert re.search(r"/schema/vega/v\d", json.loads(spec)["$schema"]), page
            charted += 1
        files, _ = page_assets(site, page)
        for f in files:
            if f.endswith(".js"):
                assert not COMPILER.search((site / f).read_text(encoding="utf-8", errors="replace")), (page, f)
    assert charted >= 10


@pytest.mark.book
def test_no_page_loads_the_icon_script_or_the_search_index_but_search(site):
    """The theme's Font Awesome script and the whole search index are off every page (the search page needs the
    index); the header's icons come from the theme's icon font instead."""
    for page in book_pages(site):
        files, _ = page_assets(site, page)
        assert not any(f.endswith("fontawesome.js") for f in files), page
        assert ("searchindex.js" in files) == (page == "search.html"), page
    # the theme still ships the script: were it back on a page, that page's budget would fail
    icons = "_static/scripts/fontawesome.js"
    files, _ = page_assets(site, "genindex.html")
    assert page_weight(site, files) <= BUDGET["plain"] < page_weight(site, [*files, icons])


@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.book
@pytest.mark.browser
def test_in_chromium_every_page_loads_only_what_its_budget_counts_and_logs_no_error(site, server):
    """What the static count holds is what Chromium fetches: no script or stylesheet escapes the budget (one
    inserted by a script included), the chart library only where there are charts, no console error, and no
    page moves its text by more than a little while its charts are drawn (on a phone, where it moved most)."""
    from playwright.sync_api import sync_playwright

    from test_book import CHROMIUM_ARGS, draw_every_chart  # launched as the other browser tests launch it

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (python3 tasks.py test installs it)")
        pytest.skip("chromium not installed")

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        fetched: set[str] = set()
        # Chromium may ask for /favicon.ico on its own while index.html sends it on: that guess is not the page's
        page.on("console", lambda m: problems.append(f"console: {m.text}")
                if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        # layout shifts, summed as CLS sums them: a chart drawn into an empty box pushed the text below it down
        page.add_init_script("window.__lrShift = 0; new PerformanceObserver(l => l.getEntries().forEach(e => "
                             "{ if (!e.hadRecentInput) window.__lrShift += e.value; }))"
                             ".observe({type: 'layout-shift', buffered: true});")
        page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        page.on("request", lambda r: fetched.add(r.url) if r.resource_type in ("script", "stylesheet") else None)
        for rel in book_pages(site):
            before = len(problems)
            fetched.clear()
            page.goto(f"{server}/{rel}", wait_until="load")
            if has_charts(site, rel):
                # drawn, or failed (then it says so, and the console warning is not an error)
                draw_every_chart(page)
            page.wait_for_load_state("networkidle")
            shift = page.evaluate("() => window.__lrShift")
            if shift > MAX_LAYOUT_SHIFT:
                problems.append(f"layout shift {shift:.3f} > {MAX_LAYOUT_SHIFT} at a phone's width")
            # index.html sends the reader on to the first chapter: count what the page shown asks for
            shown = urlsplit(page.url).path.lstrip("/") or "index.html"
            counted, _ = page_assets(site, shown)
            for url in sorted(fetched):
                path = urlsplit(url).path.lstrip("/") if url.startswith(server) else url
                if path not in counted:
                    problems.append(f"fetched {url}, which the budget does not count")
            problems[before:] = [f"{rel}: {p}" for p in problems[before:]]
        browser.close()
    assert problems == []
