"""The built book: every chapter executes, renders its charts offline, escapes data, and is never stale.

Uses the copy of the repository's book that conftest builds once per session (with injection payloads planted in
the copy's data; tests/test_budget.py reads the same build), serves it on
127.0.0.1 and opens every page in headless Chromium. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import csv
import functools
import http.server
import io
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

import livingreview as lr
from conftest import LITERAL, _edit_cell
from livingreview.analysis import summaries
from livingreview.analysis.history import version_label
from livingreview.publishing.book import build_book

CHAPTERS = ["intro", "11_methods", "02_subtypes", "03_mechanisms", "04_pmn", "05_therapies", "06_biomarkers",
            "07_claims", "08_evidence_map", "09_whats_new", "10_contributing", "12_appendix", "bibliography"]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.book


def test_every_chapter_page_is_built(book):
    html = book / "_build" / "html"
    for name in CHAPTERS:
        assert (html / "chapters" / f"{name}.html").exists(), name
    assert (html / "_static" / "vendor" / "vega.js").stat().st_size > 400_000
    svgs = sorted(p.name for p in (html / "_static" / "figures").glob("*.svg"))
    assert "hallmark-by-cancer.svg" in svgs and len(svgs) >= 12


def test_every_page_has_the_build_stamp_and_the_data_package_is_published(book):
    html = book / "_build" / "html"
    for name in CHAPTERS:
        page = (html / "chapters" / f"{name}.html").read_text(encoding="utf-8")
        assert 'class="lr-stamp">version ' in page and "data fingerprint <code>" in page, name
        # the living status on every page: last search, records awaiting screening, next search due
        assert re.search(r'class="lr-living[^"]*">Living review · last search \d{4}-\d{2}-\d{2} · \d+ records? '
                         r"awaiting screening · next search (due|overdue since) \d{4}-\d{2}-\d{2}", page), name
    methods = (html / "chapters" / "11_methods.html").read_text(encoding="utf-8")
    counts = summaries.prisma_counts(lr.load(book))
    assert f"Records identified (n = {counts['identified_total']})" in methods
    assert f"Studies included in review (n = {counts['included']})" in methods and "lr-prisma-narrow" in methods
    assert "No database search has been run yet" in methods
    assert (html / "download" / "ev-metastasis-living-review-data.zip").stat().st_size > 10_000
    assert (html / "download" / "data-package" / "datapackage.json").exists()
    contributing = (html / "chapters" / "10_contributing.html").read_text(encoding="utf-8")
    assert 'href="../download/ev-metastasis-living-review-data.zip"' in contributing
    assert "pmn.csv:2:target_organ: unknown value 'lungs' for target_organ" in contributing


def test_every_page_that_states_the_findings_rows_states_the_same_number(book):
    """Counted once, from the built copy's CSV files (one of its rows was withdrawn), and found on every page."""
    findings = 0
    for table in ("mechanisms", "pmn", "therapies", "biomarkers"):
        with (book / "data" / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
            findings += sum(1 for _ in csv.DictReader(fh))
    pages = {name: re.sub(r"<[^>]+>", "", (book / "_build" / "html" / "chapters" / f"{name}.html").read_text(
        encoding="utf-8")) for name in ("intro", "11_methods", "08_evidence_map")}
    assert f"{findings} findings rows in the four evidence tables" in pages["intro"]
    assert f"Findings rows in the four evidence tables citing them: {findings}" in pages["11_methods"]
    assert f"of the {findings} findings rows in the four evidence tables" in pages["08_evidence_map"]
    for name, text in pages.items():
        stated = {int(n) for n in re.findall(r"(\d+) findings rows", text)}
        stated |= {int(n) for n in re.findall(r"Findings rows in the four evidence tables\D{0,40}?(\d+)", text)}
        assert stated == {findings}, (name, stated)


def test_only_the_explorer_page_loads_the_explorer_rows(book):
    # Jupyter Book adds every script under _static to every page: the rows (21 MB at 100x) loaded with each chapter
    pages = sorted((book / "_build/html/chapters").glob("*.html"))
    loading = {p.stem for p in pages if "_static/data/explorer.js" in p.read_text(encoding="utf-8")}
    assert loading == {"08_evidence_map"}
    # the chart library (issue 26) is in no page's script list: the book's script fetches it where there are charts
    assert not any("_static/vendor/" in p.read_text(encoding="utf-8") for p in pages)


def test_payload_reaches_pages_only_as_text(book):
    page = (book / "_build/html/chapters/03_mechanisms.html").read_text(encoding="utf-8")
    assert "<script>window.__lr_pwned" not in page
    assert "&lt;script&gt;window.__lr_pwned" in page
    assert 'onerror="window.__lr_pwned' not in page
    bib = (book / "_build/html/chapters/bibliography.html").read_text(encoding="utf-8")
    assert 'onerror="window.__lr_pwned' not in bib


@pytest.fixture(scope="module")
def server(book):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(book / "_build" / "html"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (python3 tasks.py test installs it)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


#: every chart of the page drawn (or failed, saying so): charts are drawn when they near the screen or when the
#: reader moves into them, so the test moves the focus into each one, as a keyboard reader would
DRAWN = ("() => [...document.querySelectorAll('.lr-chart')].every(c => c.classList.contains('lr-drawn') "
         "|| c.classList.contains('lr-chart-failed'))")


def open_explorer(page) -> None:
    """Bring the explorer within reach (its rows load when it nears the screen) and wait for its first rows."""
    page.locator(".lr-explorer").first.scroll_into_view_if_needed()
    page.wait_for_selector(".lr-explorer-table tbody tr", timeout=20_000)


def chart_runtime(request) -> bool:
    """Whether ``request`` asks for a script of the vendored chart runtime."""
    return request.resource_type == "script" and "/_static/vendor/" in request.url


def draw_every_chart(page, timeout: int = 20_000) -> int:
    """Have the page draw each of its charts (by focusing it); wait until all are drawn; how many there are."""
    charts = page.locator(".lr-chart").count()
    if charts:
        page.evaluate("() => document.querySelectorAll('.lr-chart').forEach(c => c.focus())")
        page.wait_for_function(DRAWN, timeout=timeout)
    return charts


@pytest.mark.browser
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_renders_offline_in_chromium(browser, server, bibliography_ids, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(f"{server}/chapters/{name}.html", wait_until="load")
    n = draw_every_chart(page)
    if n:
        assert page.locator(".lr-chart-failed").count() == 0, name
        # hover a mark so that a tooltip renders data (study lists come from the library)
        mark = page.locator(".lr-chart svg .mark-rect path, .lr-chart svg .mark-symbol path").first
        mark.scroll_into_view_if_needed()  # a chart below the fold cannot be hovered
        box = mark.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(300)
        tip = page.evaluate("() => (document.getElementById('vg-tooltip-element') || {}).innerHTML || ''")
        assert tip.startswith("<table>") and "<img" not in tip and "<script" not in tip
    if page.locator(".lr-explorer").count():
        open_explorer(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert page.evaluate("() => window.__lr_pwned") is None
    assert errors == []
    assert outside == []
    if name in ("03_mechanisms", "04_pmn", "05_therapies", "06_biomarkers", "02_subtypes", "08_evidence_map",
                "09_whats_new"):
        assert "<script>window.__lr_pwned = 1</script>" in page.inner_text("main"), name
    # every chart is named for screen readers and followed by the table of its values
    charts = page.locator(".lr-chart").count()
    names = page.evaluate("() => [...document.querySelectorAll('.lr-chart')].map(c => { const f = "
                          "c.closest('.lr-figure[role=figure]'); return f ? f.getAttribute('aria-label') : ''; })")
    assert len(names) == charts and all(n and not n.startswith("Chart:") for n in names), (name, names)
    assert page.locator(".lr-figure details.lr-chart-data table").count() == charts, name
    anchors = page.evaluate("() => [...document.querySelectorAll(\"a[href*='bibliography.html#']\")]"
                            ".map(a => a.getAttribute('href').split('#')[1])")
    assert set(anchors) <= bibliography_ids
    # a citation reads "Costa-Silva et al., 2015", never a list of surnames
    labels = page.evaluate("() => [...document.querySelectorAll(\"a[href*='bibliography.html#']\")]"
                           ".map(a => a.innerText)")
    assert all(len(label) <= 48 for label in labels), max(labels, key=len)
    if name not in ("02_subtypes", "08_evidence_map", "10_contributing", "bibliography", "11_methods"):
        assert anchors, "chapter has no citation links"
    page.close()


def _pages(book: Path) -> list[str]:
    """Every page the build made (not the theme's template fragments under _static), relative to the book's root."""
    html = book / "_build" / "html"
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if p.relative_to(html).parts[0] not in ("_static", "download"))


@pytest.mark.browser
def test_every_page_loads_without_a_console_error_or_a_failed_request(browser, server, book):
    """No page logs an error (sphinx-thebe's script declared THEBE_JS_URL twice on every one) or asks for what is
    not there (the favicon was a 404); the chart library is fetched by exactly the pages that have charts."""
    pages = _pages(book)
    assert {"index.html", "search.html", "genindex.html", "chapters/02_subtypes.html"} <= set(pages)
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} {r.failure}")
            if r.url.startswith(server) else None)  # one from outside is listed by the route below
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def route(r):
        if r.request.url.startswith(server):
            r.continue_()
        else:
            problems.append(f"asked outside the book: {r.request.url}")
            r.abort()
    page.route("**/*", route)
    library: list[str] = []
    page.on("request", lambda r: library.append(r.url) if chart_runtime(r) else None)
    with_charts = 0
    for rel in pages:
        before = len(problems)
        library.clear()
        page.goto(f"{server}/{rel}", wait_until="load")
        charts = draw_every_chart(page)
        page.wait_for_load_state("networkidle")
        if len(library) != bool(charts) or any(not url.endswith("/_static/vendor/vega.js") for url in library):
            problems.append(f"requests for the chart library {library} with {charts} chart(s)")
        with_charts += bool(charts)
        # a request still open when the next page is opened would fail as aborted: let each page finish
        page.wait_for_load_state("networkidle")
        # a headless browser may not ask for the icon at all: ask for it as a browser with a tab bar does
        icon = page.evaluate("() => { const l = document.querySelector('link[rel~=icon]'); return l && l.href; }")
        status = page.request.get(icon or f"{server}/favicon.ico").status
        if status != 200:
            problems.append(f"icon {icon or '/favicon.ico'}: HTTP {status}")
        problems[before:] = [f"{rel}: {p}" for p in problems[before:]]
    page.close()
    assert problems == [] and 0 < with_charts < len(pages)


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 390])
def test_the_subtypes_page_fits_its_text_column(browser, server, width):
    """The subtypes were a table of eight columns, 1025 px wide in a 784 px column; each is now a block."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{server}/chapters/02_subtypes.html", wait_until="load")
    sizes = page.evaluate("""() => {
        const article = document.querySelector('.bd-article');
        const blocks = [...article.querySelectorAll('.lr-entry')];
        const tables = [...article.querySelectorAll('table')].filter(t => !t.closest('.lr-chart-data'));
        return {column: article.clientWidth, page: document.documentElement.scrollWidth,
                widest: Math.max(...blocks.map(b => b.scrollWidth)), blocks: blocks.length, tables: tables.length,
                text: blocks.map(b => b.innerText).join('\\n')};
    }""")
    page.close()
    assert sizes["blocks"] >= 6 and sizes["tables"] == 0
    assert sizes["widest"] <= sizes["column"] and sizes["page"] <= width, sizes
    assert "Size 60\u2013120 nm" in sizes["text"] and not re.search(r"Size [\d\u2013]*\.0\b", sizes["text"])


@pytest.fixture(scope="module")
def bibliography_ids(browser, server) -> set[str]:
    page = browser.new_page()
    page.goto(f"{server}/chapters/bibliography.html")
    ids = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
    page.close()
    return ids


@pytest.mark.browser
def test_data_text_reaches_the_page_exactly(browser, server):
    # issue 11, item 11: smartquotes turned 5'-UTR into 5’-UTR, -- into an en dash and ... into an ellipsis
    page = browser.new_page()
    page.goto(f"{server}/chapters/03_mechanisms.html")
    text = page.inner_text("main")
    assert LITERAL in text
    assert "5\u2019-UTR" not in text and "\u2026" not in text
    page.close()


@pytest.mark.browser
def test_every_bibliography_link_is_http(browser, server):
    # issue 11, item 1: whatever an entry holds, a click in the bibliography goes only to an http(s) address
    page = browser.new_page()
    page.goto(f"{server}/chapters/bibliography.html")
    clicked = page.evaluate("""() => {
        const seen = [];
        const links = [...document.querySelectorAll('main a[href]')];
        document.addEventListener('click', e => { const a = e.target.closest('a');
            if (a) { seen.push(a.href); e.preventDefault(); } }, true);
        links.forEach(a => a.click());
        return seen;
    }""")
    external = [u for u in clicked if not u.startswith(server)]
    assert len(external) >= 130  # one or more per entry: DOI, else PubMed
    assert all(u.split(":", 1)[0] in ("http", "https") for u in clicked), [u for u in clicked if "http" not in u]
    assert all(u.startswith(("https://doi.org/10.", "https://pubmed.ncbi.nlm.nih.gov/")) or "://" in u
               for u in external)
    assert page.evaluate("() => window.__lr_pwned") is None
    page.close()


@pytest.mark.browser
def test_one_broken_chart_does_not_stop_the_others(browser, server, book):
    # issue 11, item 3: one spec that is not valid JSON stopped every later chart and the explorer
    import json

    import vl_convert as vlc

    spec = json.dumps(vlc.vegalite_to_vega({"mark": "bar", "data": {"values": [{"a": 1}]},
                                            "encoding": {"x": {"field": "a", "type": "quantitative"}}}))
    html = ("<!doctype html><html><body>"
            + "".join(f'<div class="lr-chart" id="chart-{i}"></div><script type="application/json" '
                      f'class="lr-chart-spec" data-target="chart-{i}">{body}</script>'
                      for i, body in enumerate([spec, '{"broken": <\\!-- }', spec]))
            + '<script src="../_static/livingreview.js"></script></body></html>')
    probe = book / "_build/html/chapters/lr-broken-chart-test.html"
    probe.write_text(html, encoding="utf-8")
    page = browser.new_page()
    try:  # the built book is shared with later tests (test_budget reads every page): leave no page of our own
        page.goto(f"{server}/chapters/lr-broken-chart-test.html")
        draw_every_chart(page)
        page.wait_for_function("() => ['chart-0', 'chart-2'].every(id => document.querySelector(`#${id} svg.marks`))",
                               timeout=20_000)
        assert "could not be drawn" in page.inner_text("#chart-1")
    finally:
        page.close()
        probe.unlink()


@pytest.mark.browser
def test_explorer_searches_and_pages(browser, server):
    page = browser.new_page()
    page.goto(f"{server}/chapters/08_evidence_map.html")
    open_explorer(page)
    info = page.locator(".lr-explorer-info")
    total = int(info.inner_text().split()[0])
    assert total > 100
    assert page.locator(".lr-explorer-table tbody tr").count() == 25
    page.fill(".lr-explorer-bar input[type=search]", "GPC1")
    hits = int(info.inner_text().split()[0])
    assert 0 < hits < total
    # several words: rows holding all of them, in any order
    page.fill(".lr-explorer-bar input[type=search]", "pancreatic GPC1")
    both = int(info.inner_text().split()[0])
    page.fill(".lr-explorer-bar input[type=search]", "GPC1 pancreatic")
    assert 0 < both <= hits and int(info.inner_text().split()[0]) == both
    page.fill(".lr-explorer-bar input[type=search]", "zzzz-no-such-word")
    assert info.inner_text().startswith("0 rows") and "No matching rows." in page.inner_text(".lr-explorer-table")
    page.close()


@pytest.mark.browser
def test_explorer_studies_link_to_their_bibliography_entries(browser, server, bibliography_ids):
    page = browser.new_page()
    page.goto(f"{server}/chapters/08_evidence_map.html")
    open_explorer(page)
    links = page.evaluate("() => [...document.querySelectorAll('.lr-explorer-table td[data-col=studies] a')]"
                          ".map(a => [a.getAttribute('href'), a.innerText])")
    assert len(links) >= 25  # a page of rows, each with at least one study
    for href, text in links:
        target, anchor = href.split("#")
        assert target == "bibliography.html" and anchor in bibliography_ids, href
        assert text and len(text) <= 48 and "\t" not in text
    # the hidden column is neither a header nor searched
    assert "study links" not in " ".join(page.locator(".lr-explorer-table th").all_inner_texts()).lower()
    page.fill(".lr-explorer-bar input[type=search]", "cite-")
    assert page.locator(".lr-explorer-info").inner_text().startswith("0 rows")
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", ["03_mechanisms", "06_biomarkers", "07_claims"])
def test_charts_follow_the_window_from_a_phone_to_a_laptop(browser, server, name):
    # vega re-read a container width mid-relayout going from 390 to 1400 px and drew 1834 px wide
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(f"{server}/chapters/{name}.html", wait_until="networkidle")
    widths = "() => [...document.querySelectorAll('.lr-chart')].map(c => [c.clientWidth, " \
             "parseFloat((c.querySelector('svg') || {getAttribute: () => 0}).getAttribute('width'))])"
    draw_every_chart(page)
    for width in (390, 1400, 390, 1400):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(800)
        for box, drawn in page.evaluate(widths):
            assert 0 < drawn <= box + 1, (name, width, box, drawn)
    page.close()


@pytest.mark.browser
def test_a_chart_shows_its_static_drawing_until_it_nears_the_screen(browser, server):
    """Issue 26: no chart is drawn (nor the chart library fetched) before the reader starts to use the page, then only
    those near the screen: a chart far down the page keeps its static drawing, at the height the drawn chart takes;
    scrolled to, it is drawn in that place and the drawing is gone, and nothing below it moved."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    library: list[str] = []
    page.on("request", lambda r: library.append(r.url) if chart_runtime(r) else None)
    page.goto(f"{server}/chapters/06_biomarkers.html", wait_until="networkidle")
    page.wait_for_timeout(1000)
    # a reader who has not touched the page yet reads the static drawings: no chart runtime is fetched
    assert library == [] and page.locator(".lr-chart.lr-drawn").count() == 0
    page.mouse.move(200, 300)  # the reader starts to use the page: the charts near the screen are drawn
    page.wait_for_function("() => document.querySelector('.lr-chart').classList.contains('lr-drawn')",
                           timeout=20_000)
    assert len(library) == 1
    far = page.evaluate("""() => [...document.querySelectorAll('.lr-chart')]
        .filter(c => c.getBoundingClientRect().top > 2 * window.innerHeight).map(c => c.id)""")
    assert far, "the test needs a chart more than two screens down"
    last = far[-1]
    before = page.evaluate("""id => { const c = document.getElementById(id), img = c.querySelector('img');
        return {drawn: c.classList.contains('lr-drawn'), svg: !!c.querySelector('svg'), height: c.offsetHeight,
                loaded: !!img && img.complete && img.naturalWidth > 0, imgHeight: img && img.offsetHeight,
                next: c.closest('.lr-figure').nextElementSibling.getBoundingClientRect().top + window.scrollY}; }""",
                           last)
    assert before["loaded"] and not before["drawn"] and not before["svg"], before
    assert before["height"] >= before["imgHeight"] > 100
    page.locator(f"#{last}").scroll_into_view_if_needed()
    page.wait_for_function("id => document.getElementById(id).classList.contains('lr-drawn')", arg=last,
                           timeout=20_000)
    after = page.evaluate("""id => { const c = document.getElementById(id);
        return {img: !!c.querySelector('img'), svg: !!c.querySelector('svg'), height: c.offsetHeight,
                next: c.closest('.lr-figure').nextElementSibling.getBoundingClientRect().top + window.scrollY}; }""",
                          last)
    assert after["svg"] and not after["img"], after
    assert abs(after["height"] - before["height"]) <= 2 and abs(after["next"] - before["next"]) <= 2, (before, after)
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 390])
def test_without_script_every_chart_is_its_static_drawing(browser, server, width):
    """A reader without script sees each chart as the drawing made when the book was built, whole (scaled down to
    the column where it is wider, in its own proportions), never an empty box."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": width, "height": 900})
    page = context.new_page()
    seen = 0
    for name in ("03_mechanisms", "06_biomarkers", "08_evidence_map"):
        page.goto(f"{server}/chapters/{name}.html", wait_until="load")
        charts = page.evaluate("""() => [...document.querySelectorAll('.lr-chart')].map(c => {
            const img = c.querySelector('img.lr-chart-static');
            return img && {ok: img.complete && img.naturalWidth > 0, width: img.offsetWidth, column: c.clientWidth,
                           attr: [+img.getAttribute('width'), +img.getAttribute('height')], height: img.offsetHeight,
                           box: c.offsetHeight}; })""")
        assert charts and all(charts), (name, charts)
        for c in charts:
            (w, h), shown = c["attr"], min(c["attr"][0], c["column"])
            assert c["ok"] and abs(c["width"] - shown) <= 1 and abs(c["height"] - h * shown / w) <= 2, (name, c)
            assert c["height"] > 100 and c["box"] >= c["height"], (name, c)
        seen += len(charts)
    assert seen >= 6
    context.close()


@pytest.mark.browser
def test_explorer_sorts_filters_in_level_order_and_uses_labels(browser, server):
    page = browser.new_page()
    page.goto(f"{server}/chapters/08_evidence_map.html")
    open_explorer(page)
    headers = page.locator(".lr-explorer-table th").all_inner_texts()
    assert headers[:5] == ["Row", "Table", "Cancer type", "EV type", "Evidence level"]
    levels = page.locator("select[aria-label='Filter by evidence levels'] option").all_inner_texts()
    assert levels == ["All evidence levels", "In vitro", "Animal model", "Human, observational", "Clinical trial"]
    info = page.locator(".lr-explorer-info")
    total = int(info.inner_text().split()[0])
    page.select_option("select[aria-label='Filter by cancer types']", "Pancreatic cancer")
    pancreatic = int(info.inner_text().split()[0])
    assert 0 < pancreatic < total
    cancers = set(page.locator(".lr-explorer-table tbody td:nth-child(3)").all_inner_texts())
    assert cancers == {"Pancreatic cancer"}
    page.select_option("select[aria-label='Filter by cancer types']", "")
    # sort by evidence level: level order, not alphabetical; a second click reverses it
    page.click(".lr-explorer-table th:nth-child(5) button")
    first = page.locator(".lr-explorer-table tbody tr:first-child td:nth-child(5)").inner_text()
    assert first == "In vitro"
    assert page.get_attribute(".lr-explorer-table th:nth-child(5)", "aria-sort") == "ascending"
    page.click(".lr-explorer-table th:nth-child(5) button")
    assert page.locator(".lr-explorer-table tbody tr:first-child td:nth-child(5)").inner_text() == "Clinical trial"
    page.close()


def _pdf_text(text: str) -> str:
    """Text as pypdf reads it back from the PDF and as the data hold it, made comparable: ligatures unfolded,
    white space folded, and a line break after a hyphen undone."""
    import unicodedata

    return re.sub(r"-\s+", "-", " ".join(unicodedata.normalize("NFKC", text).split()))


@pytest.fixture(scope="module")
def pdf(book):
    """The book's PDF, printed once: (path, text of each page)."""
    import pypdf

    from livingreview.publishing.pdf import print_pdf

    printed = print_pdf(book, book / "_build" / ".config.stamped.yml")
    assert printed.path == book / "_build/html/download/ev-metastasis-living-review.pdf" and printed.bytes > 100_000
    return printed.path, [page.extract_text() for page in pypdf.PdfReader(printed.path).pages]


@pytest.mark.browser
def test_the_pdf_has_a_page_per_chapter_and_reads_as_the_review(pdf):
    _, pages = pdf
    assert len(pages) >= len(CHAPTERS)
    text = " ".join(" ".join(pages).split())
    for title in ("Methods: how the evidence is found", "Mechanisms of metastasis", "Bibliography"):
        assert title in text
    assert "Fibroblast-secreted exosomes promoted breast cancer cell protrusive activity" in text  # MECH-0006
    assert "Skip to main content" not in text  # the page's furniture is not printed


@pytest.mark.browser
def test_the_pdf_holds_every_row_and_finding_with_its_citation(book, pdf):
    """No cap in print: every row id of every table and every finding's whole sentence is in the PDF, and each
    finding is followed by its citation."""
    _, pages = pdf
    text = _pdf_text(" ".join(pages))
    ev = lr.load(book)
    ids = [i for name in summaries.appendix_tables(ev) for i in ev.tables[name]["id"].astype(str)]
    assert [i for i in ids if i not in text] == []
    f = ev.findings()
    missing = []
    for row_id, finding, keys in zip(f["id"], f["finding"], f["citekeys"], strict=True):
        cited = "; ".join(summaries.citation_label(ev.library[k]) for k in keys if k in ev.library)
        if _pdf_text(f"{finding} ({cited})") not in text:
            missing.append(row_id)
    assert missing == []


@pytest.mark.browser
def test_the_pdf_has_no_browser_furniture_and_numbered_contents(book, pdf):
    """A4 pages with the book's own page numbers, no local path or print date from the browser, and a contents
    page whose numbers are the pages the chapters start on."""
    import pypdf

    path, pages = pdf
    reader = pypdf.PdfReader(path)
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = "\n".join(pages)
    assert "file://" not in text and str(book) not in text and "intro.html" not in text
    assert all(re.search(rf"\b{n} / {len(pages)}\b", page) for n, page in enumerate(pages, 1))
    contents = "\n".join(pages[:2])  # the title page's contents, and its continuation if any
    for title in ("Methods: how the evidence is found", "Mechanisms of metastasis", "Appendix: every row"):
        found = re.search(re.escape(title) + r"\s*(\d+)", contents)
        assert found, title
        start = re.sub(r"^\s*\d+ / \d+\s*", "", pages[int(found.group(1)) - 1])  # the page number is read first
        assert start.startswith(title), title
    assert f"version {version_label(lr.load(book))}" in " ".join(contents.split())  # the title page's version


@pytest.mark.browser
def test_footer_download_links_point_at_the_book_root_from_any_page(browser, server):
    for path in ("index.html", "chapters/04_pmn.html"):
        page = browser.new_page()
        page.goto(f"{server}/{path}")
        page.wait_for_load_state("networkidle")
        href = page.evaluate("() => new URL(document.querySelector('a[data-lr-href]').getAttribute('href'), "
                             "location.href).pathname")
        assert href == "/download/ev-metastasis-living-review-data.zip", (path, href)
        page.close()


AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
#: what axe still reports as serious that is not this book's markup: the theme's search and colour-mode buttons,
#: whose names differ from their visible text
THEIRS = {"label-content-name-mismatch": ("search-button", "theme-switch-button")}


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 390])
def test_no_serious_accessibility_violations_on_any_page(browser, server, width):
    found = {}
    for name in CHAPTERS:
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.goto(f"{server}/chapters/{name}.html")
        page.wait_for_load_state("networkidle")
        draw_every_chart(page)
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                                   ".filter(v => ['serious', 'critical'].includes(v.impact))"
                                   ".map(v => [v.id, v.nodes.map(n => n.html)])")
        for rule, nodes in violations:
            ours = [n for n in nodes if not any(mark in n for mark in THEIRS.get(rule, ()))]
            if ours:
                found.setdefault(name, []).append((rule, ours[0][:120]))
        page.close()
    assert found == {}, found


@pytest.mark.browser
def test_explorer_works_from_file_urls(browser, book):
    page = browser.new_page()
    page.goto((book / "_build/html/chapters/08_evidence_map.html").as_uri())
    open_explorer(page)
    assert int(page.locator(".lr-explorer-info").inner_text().split()[0]) > 100
    page.close()


def executed(output: str) -> set[str]:
    """Chapters the build executed (in its parallel pre-execution or in myst-nb), from the build's output."""
    names = set()
    for line in output.splitlines():
        if ": Executing notebook" in line:
            names.add(line.split(": Executing notebook")[0].rsplit("/", 1)[-1])
        elif match := re.match(r"\s*\[\d+/\d+\] (\S+): ", line):
            names.add(match.group(1).rsplit("/", 1)[-1])
    return names



def test_a_stylesheet_edit_alone_reaches_the_built_book(book, capfd):
    # Sphinx copies static files only when it writes pages: an edited stylesheet stayed stale in the book. The
    # engine's stylesheet ships in the package; a review's own file of the same name takes its place
    from livingreview.publishing.sphinxext import STATIC

    built = book / "_build/html/_static/livingreview.css"
    assert built.read_bytes() == (STATIC / "livingreview.css").read_bytes()
    css = book / "_static" / "livingreview.css"
    css.write_text((STATIC / "livingreview.css").read_text(encoding="utf-8") + "/* probe-7Q2 */\n", encoding="utf-8")
    try:
        assert build_book(book) == 0
        assert executed(capfd.readouterr().out) == set()
        assert "probe-7Q2" in built.read_text(encoding="utf-8")
    finally:
        css.unlink()
        assert build_book(book) == 0
        assert built.read_bytes() == (STATIC / "livingreview.css").read_bytes()


def test_rebuild_without_change_executes_nothing(book, capfd):
    assert build_book(book) == 0
    out = capfd.readouterr().out
    assert executed(out) == set()
    assert "nothing changed since the last build" in out  # not even Sphinx runs


def test_edited_value_changes_figure_and_table_on_rebuild(book, capfd):
    """Correctness over speed: a CSV edit reaches the table and chart, re-executing only chapters that read it."""
    _edit_cell(book / "data/mechanisms.csv", "MECH-0001", "finding", lambda v: "Edited finding ZX-17 for the test.")
    _edit_cell(book / "data/mechanisms.csv", "MECH-0001", "cancer_type", lambda v: "mesothelioma")
    assert build_book(book) == 0
    out = capfd.readouterr().out
    assert executed(out) == {"intro.md", "03_mechanisms.ipynb", "07_claims.ipynb", "08_evidence_map.ipynb",
                             "09_whats_new.ipynb", "11_methods.ipynb", "12_appendix.ipynb"}
    assert "executing 7 chapter(s) on 2 worker(s)" in out
    assert ": Executing notebook" not in out  # executed in parallel beforehand; myst-nb only read the cache
    # the methods chapter's outputs (the flow of records) do not depend on a finding or a cancer type: its page
    # is not read again, while those whose outputs changed are
    read = set(re.findall(r"reading sources\.\.\. .*?(chapters/\w+)", out))
    assert "chapters/03_mechanisms" in read and "chapters/11_methods" not in read, read
    assert "re-executed chapter(s) made the same outputs" in out
    page = (book / "_build/html/chapters/03_mechanisms.html").read_text(encoding="utf-8")
    assert "Edited finding ZX\\-17 for the test." in page or "Edited finding ZX-17 for the test." in page
    assert '"cancer_type": "Mesothelioma"' in page
    explorer = (book / "_build/html/_static/data/explorer.json").read_text(encoding="utf-8")
    assert "Edited finding ZX-17 for the test." in explorer


def test_a_contradicting_row_after_the_release_shows_on_rebuild(book, capfd):
    """Issue 14: after a release, one new contradicting row changes the claim's certainty, shown with the row."""
    import json

    import jsonschema

    from livingreview.publishing.publish import CLAIMS_SCHEMA

    assert (book / "releases").is_dir(), "the review's first release is committed"
    path = book / "data/mechanisms.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    twin = next(r for r in rows if r[0] == "MECH-0020")
    rows.append(["MECH-0999", *twin[1:-2], "Synthetic contradicting row for the test.", twin[-1]])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    _edit_cell(book / "data/claims.csv", "CLAIM-0005", "contradicted_by", lambda v: "MECH-0999")
    assert build_book(book) == 0
    capfd.readouterr()
    page = (book / "_build/html/chapters/07_claims.html").read_text(encoding="utf-8")
    changes = page.split('id="changes-since-the-last-release"', 1)[1].split('id="claims-trajectory"', 1)[0]
    assert "CLAIM-0005" in changes and "contradicting 0 → 1" in changes
    assert 'href="12_appendix.html#MECH-0999"' in changes
    assert 'id="chart-claims-trajectory"' in page
    data = json.loads((book / "_build/html/download/claims.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, CLAIMS_SCHEMA)
    claim = next(c for c in data["claims"] if c["id"] == "CLAIM-0005")
    assert claim["contradicting_rows"] == ["MECH-0999"] and claim["history"][0]["release"] == "2026.12"
    feed = (book / "_build/html/feed.xml").read_text(encoding="utf-8")
    assert ":claim:CLAIM-0005:" in feed


def _page_ids(html: Path) -> dict[str, set[str]]:
    return {p.relative_to(html).as_posix(): set(re.findall(r'\bid="([^"]+)"', p.read_text(encoding="utf-8")))
            for p in html.rglob("*.html") if "_static" not in p.parts}


def test_every_key_any_row_cites_has_a_bibliography_entry(book):
    """Keys cited only by rows that no page shows in full (capped groups, the ledger, withdrawn rows) are in the
    bibliography too, each with the anchor the explorer's and the appendix's study links use."""
    from livingreview.model.text import cite_anchor

    ev = lr.load(book)
    ids = _page_ids(book / "_build" / "html")["chapters/bibliography.html"]
    keys = summaries.every_cited_key(ev)
    assert "hoshino2020" in keys  # cited only by a withdrawn row
    assert [k for k in keys if cite_anchor(k) not in ids] == []


def test_every_id_link_in_the_book_resolves(book):
    """Every link to '#ID' on a page of the book lands on an element with that id, and every row id of every
    table is an anchor in the appendix (whatever the chapter pages cap)."""
    import posixpath

    html = book / "_build" / "html"
    ids = _page_ids(html)
    dead, checked = [], 0
    for rel in ids:
        text = (html / rel).read_text(encoding="utf-8")
        for target, fragment in re.findall(r'href="([^"#:]*)(?:\?[^"#]*)?#([^"]+)"', text):
            dest = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target)) if target else rel
            if dest in ids:
                checked += 1
                if fragment not in ids[dest]:
                    dead.append(f"{rel} -> {target}#{fragment}")
    assert checked > 500 and dead == []
    ev = lr.load(book)
    appendix = ids["chapters/12_appendix.html"]
    for name in summaries.appendix_tables(ev):
        assert set(ev.tables[name]["id"].astype(str)) <= appendix, name
    assert "MECH-0049" in appendix  # withdrawn in the fixture: its old id still lands


def test_a_capped_group_links_to_all_its_rows(book):
    """A chapter group with more rows than the page shows links to the appendix heading of that group, which
    lists every one of its rows."""
    page = (book / "_build/html/chapters/03_mechanisms.html").read_text(encoding="utf-8")
    notes = re.findall(r'more rows? in this group (?:are|is) not shown here: <a href="12_appendix.html#([^"]+)">all '
                       r'(\d+) rows', page)
    assert notes
    appendix = (book / "_build/html/chapters/12_appendix.html").read_text(encoding="utf-8")
    for anchor, total in notes:
        head = appendix.index(f'id="{anchor}"')
        section = appendix[head:appendix.find('<h3 class="lr-group"', head + 1)]
        assert len(re.findall(r'<p class="lr-row" id="MECH-\d+"', section)) == int(total)


@pytest.mark.browser
def test_the_explorer_lists_a_claims_rows_from_the_link_on_the_claim(browser, server, book):
    """'all N rows' on a claim opens the explorer filtered to exactly that claim's supporting rows."""
    ev = lr.load(book)
    status = summaries.claim_status(ev).set_index("id")
    claims = (book / "_build/html/chapters/07_claims.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(08_evidence_map.html\?claim=(CLAIM-\d+)#explorer-explorer)">all (\d+) rows', claims)
    assert links
    href, claim, count = links[0]
    assert int(count) == len(status.loc[claim, "supporting_rows"])
    page = browser.new_page()
    page.goto(f"{server}/chapters/{href}")
    page.wait_for_selector(".lr-explorer-table tbody tr")
    assert page.locator(".lr-explorer-info").inner_text().startswith(f"{count} rows")
    assert page.locator("select[aria-label='Filter by claims']").input_value() == claim
    page.close()


def test_item4_every_xml_and_json_file_the_build_writes_parses_back(book):
    """Issue 23 item 4: one U+FFFE in a finding made feed.xml ill-formed with exit 0; every XML and JSON artefact of
    the build (the feed, claims.json and its schema, the data package, chart specs and explorer rows, each page's
    inline JSON) must parse back, here with a script payload in every free-text column."""
    import json
    import xml.etree.ElementTree as ET
    import zipfile

    html = book / "_build" / "html"
    ET.parse(html / "feed.xml")
    parsed = {"feed.xml"}
    for path in sorted(html.rglob("*.json")):
        json.loads(path.read_text(encoding="utf-8"))
        parsed.add(path.relative_to(html).as_posix())
    archives = list((html / "download").glob("*.zip"))
    for archive in archives:
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.endswith(".json"):
                    json.loads(zf.read(name).decode("utf-8"))
                    parsed.add(f"{archive.name}/{name}")
    inline = 0
    for page in sorted(html.rglob("*.html")):
        if page.name == "lr-broken-chart-test.html":  # planted with a broken spec by the test that tests it
            continue
        for block in re.findall(r'<script type="application/(?:vnd\.vegalite\+)?json"[^>]*>(.*?)</script>',
                                page.read_text(encoding="utf-8"), re.S):
            json.loads(block)
            inline += 1
    assert {"feed.xml", "download/claims.json", "download/claims.schema.json"} <= parsed, sorted(parsed)
    assert archives and any(p.endswith("datapackage.json") for p in parsed), sorted(parsed)
    assert inline > 0  # the charts' specs


@pytest.mark.browser
def test_every_table_fits_the_printed_page(browser, server):
    """Issue 22: a printed page cannot scroll sideways; the data model's "Allowed values" and the subtypes' sources
    were cut at the PDF's right edge. In print media at A4's text width, no table is wider than its column."""
    page = browser.new_page(viewport={"width": 720, "height": 1000})  # A4 less its margins, in CSS pixels
    page.emulate_media(media="print")
    too_wide = []
    for name in CHAPTERS:
        page.goto(f"{server}/chapters/{name}.html", wait_until="load")
        too_wide += [f"{name}: {w}" for w in page.evaluate("""() => {
            const edge = document.querySelector('.bd-article').getBoundingClientRect().right + 1;
            return [...document.querySelectorAll('.bd-article table')]
                .filter(t => t.getBoundingClientRect().right > edge)
                .map(t => t.querySelector('th') ? t.querySelector('th').textContent.trim() : 'table');
        }""")]
    page.close()
    assert too_wide == []



def test_every_page_has_one_description_of_its_own(book):
    """Issue 26: each page carries one meta description, escaped, and pages are not all described alike."""
    import html as html_lib

    found = {}
    for page in sorted((book / "_build" / "html").rglob("*.html")):
        if "_static" in page.parts or page.name == "lr-broken-chart-test.html":
            continue
        text = page.read_text(encoding="utf-8")
        if 'http-equiv="refresh"' in text.lower():  # index.html only redirects
            continue
        metas = re.findall(r'<meta name="description" content="([^"]*)"', text)
        assert len(metas) == 1 and metas[0].strip(), page.name
        assert "<" not in metas[0], page.name  # data reach the attribute escaped
        found[page.relative_to(book).as_posix()] = html_lib.unescape(metas[0])
    assert len(set(found.values())) == len(found), found
