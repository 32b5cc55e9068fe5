"""Preview while editing: build, serve ``_build/html`` on 127.0.0.1, rebuild on change, reload the open page.

Served pages get a small script that asks the server for the build number once a second and reloads when it
changes; a failed build shows its located errors in a banner instead. Nothing is injected into the built files,
so the published book is unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from livingreview.checking.layout import DATA_FILES, FIGURES, VENDOR

STATUS_PATH = "/__livingreview__/status"
#: seconds an idle connection is kept
IDLE_SECONDS = 15
#: the most of an error the banner shows (it is polled every second)
BANNER_LIMIT = 8_000
WATCHED = ("data", "chapters", "_static", "releases", "references.bib", "living.toml", "_config.yml", "_toc.yml")
RELOAD_SCRIPT = """<script>(function () {
  var seen = null;
  function banner(text) {
    var el = document.getElementById("lr-preview-banner");
    if (!el) {
      el = document.createElement("pre"); el.id = "lr-preview-banner";
      el.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:9999;margin:0;padding:0.6em 1em;" +
        "max-height:40vh;overflow:auto;background:#fde2e1;color:#67000d;font-size:12px;white-space:pre-wrap";
      document.body.appendChild(el);
    }
    el.textContent = text;
  }
  function poll() {
    fetch("STATUS_PATH", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (seen !== null && s.build !== seen && !s.error) { location.reload(); return; }
      seen = s.build;
      if (s.error) banner("Build failed; the page shows the last good build.\\n" + s.error);
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();</script>""".replace("STATUS_PATH", STATUS_PATH)


@dataclass
class State:
    """The build number the pages show, and the error of the last failed build (empty when it succeeded)."""

    build: int = 0
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps({"build": self.build, "error": self.error}).encode()


def signature(root: Path) -> tuple:
    """A cheap fingerprint of every watched input (path, size, mtime), generated files left out.

    Chapters count by their bytes: a build touches the mtime of a chapter it re-executed (so that Sphinx reads it
    again), which is no edit and must not start another build.
    """
    generated = {root / FIGURES, root / DATA_FILES, root / VENDOR.parent}
    package = Path(__file__).parents[1]  # the whole package, every layer
    paths = [root / name for name in WATCHED] + [package]
    out = []
    for top in paths:
        if top.is_file():
            files = [top]
        elif top.is_dir():
            files = [p for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                     and not any(g in p.parents for g in generated)]
        else:
            continue
        chapters = top == root / "chapters"
        for p in sorted(files):
            try:
                st = p.stat()
                out.append((str(p), st.st_size, hashlib.sha256(p.read_bytes()).hexdigest() if chapters
                            else st.st_mtime_ns))
            except OSError:  # removed or made unreadable while looked at: the next look sees what stays
                out.append((str(p), -1, -1))
    return tuple(out)


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a request to this server on ``port`` may carry (lower case)."""
    names = ("127.0.0.1", "localhost", "[::1]")
    # a browser leaves out the port it would use anyway (RFC 9110 section 7.2)
    return frozenset(f"{name}:{port}" for name in names) | (frozenset(names) if port == 80 else frozenset())


def handler(html: Path, state: State) -> type[http.server.SimpleHTTPRequestHandler]:
    """A request handler for ``html`` that answers the status path and adds the reload script to pages."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        #: seconds a connection may stay silent: an idle client must not hold a thread for ever
        timeout = IDLE_SECONDS

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(html), **kwargs)

        def log_message(self, *args) -> None:  # the terminal shows builds, not every request
            pass

        def parse_request(self) -> bool:
            """Answer only requests addressed to this server by name: a page elsewhere whose domain resolves
            to 127.0.0.1 (DNS rebinding) sends its own name as ``Host`` and gets nothing."""
            if not super().parse_request():
                return False
            host = self.headers.get("Host")
            if host is None:
                self.send_error(400, "Host header required")
                return False
            if host.lower() not in allowed_hosts(self.server.server_address[1]):
                self.send_error(421, "Misdirected request: this server answers only 127.0.0.1, localhost, [::1]")
                return False
            if "\x00" in urllib.parse.unquote(self.path) or "\x00" in self.path:
                self.send_error(400, "Bad path")
                return False
            return True

        def list_directory(self, path: str) -> None:
            """No directory listings: only the built pages are served."""
            self.send_error(404, "Not found")
            return None

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] == STATUS_PATH:
                self._send(state.as_json(), "application/json")
                return
            target = Path(self.translate_path(self.path))
            if target.is_dir():
                target = target / "index.html"
            if target.suffix == ".html" and target.is_file():
                page = target.read_bytes()
                at = page.rfind(b"</body>")
                page = page[:at] + RELOAD_SCRIPT.encode() + page[at:] if at >= 0 else page + RELOAD_SCRIPT.encode()
                self._send(page, "text/html; charset=utf-8")
                return
            super().do_GET()

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

    return Handler


def rebuild(root: Path, state: State, build: Callable[[Path], int], say: Callable[[str], None]) -> None:
    """Build once; on success bump the build number (open pages reload), on failure record the error."""
    from livingreview.model.errors import LivingReviewError, ValidationError, one_line, quote

    start = time.perf_counter()
    try:
        code = build(root)  # validates first, raising ValidationError for invalid data
        error = "" if code == 0 else f"the book build failed (exit {code}); see the terminal for the located warning"
    except ValidationError as exc:
        error = "\n".join(str(p) for p in exc.errors[:30])
    except LivingReviewError as exc:
        error = quote(one_line(str(exc)), BANNER_LIMIT)
    except Exception as exc:  # the server outlives any input: the next edit may fix it
        error = (f"the build stopped on {type(exc).__name__}: {quote(one_line(str(exc)), BANNER_LIMIT)}; "
                 "fix the input and save again")
    error = error if len(error) <= BANNER_LIMIT else error[:BANNER_LIMIT] + f"… ({len(error):,} characters)"
    seconds = time.perf_counter() - start
    with state.lock:
        state.error = error
        if not error:
            state.build += 1
    say(f"rebuilt in {seconds:.1f} s" if not error else f"build failed after {seconds:.1f} s:\n{error}")


@dataclass
class WarmBuild:
    """Builds in this process (Sphinx kept warm), reusing the last validated review while nothing it read changed."""

    #: builds ``root`` with the given evidence (default: ``build_book`` with Sphinx in this process)
    build: Callable[..., int] | None = None
    key: str = ""
    ev: object = None
    #: the last check's parts (``validate.check``): an edit to one table checks that table alone again
    parts: dict = field(default_factory=dict)

    def __call__(self, root: Path) -> int:
        from livingreview.checking.evidence import check_key, from_checked
        from livingreview.checking.validate import check
        from livingreview.publishing.book import build_book

        key = check_key(root)  # taken before reading, so that an edit made during the load changes the next key
        if key != self.key:
            self.key, self.ev = "", None
            checked = check(root, reuse=self.parts)
            self.parts = checked.parts
            self.ev, self.key = from_checked(root, checked), key  # raises ValidationError for invalid data
        return (self.build or functools.partial(build_book, in_process=True))(root, ev=self.ev)

    def warm(self, root: Path) -> None:
        """Make the first edit's build as fast as the next: run Sphinx here once, on the built book (which it
        finds up to date), and start vl-convert's renderer, so that neither starts cold on the first edit."""
        from livingreview.publishing.book import (
            STAMPED_CONFIG,
            footer_stamp,
            page_stamp,
            run_jupyter_book,
            sphinx_args,
            stamp_pages,
        )
        from livingreview.publishing.render import warm_renderer

        warm_renderer()
        config = root / "_build" / STAMPED_CONFIG
        if self.build is None and config.exists():
            run_jupyter_book(root, sphinx_args(root, config), in_process=True)
            html = root / "_build" / "html"
            stamp_pages(html, page_stamp(html) or footer_stamp(root))  # in case it wrote a page


def package_signature() -> tuple:
    """(path, size, mtime) of every file of this package: a change means the running code is stale."""
    package = Path(__file__).parents[1]  # the whole package, every layer
    return tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                 for p in sorted(package.rglob("*.py")) if "__pycache__" not in p.parts)


def serve(root: Path, port: int = 8000, build: Callable[[Path], int] | None = None, interval: float = 0.1,
          settle: float = 0.1, say: Callable[[str], None] = print, stop: threading.Event | None = None,
          restart: Callable[[], None] | None = None) -> None:
    """Build, serve on 127.0.0.1:``port`` and rebuild whenever a watched input changes, until ``stop`` or Ctrl-C.

    The inputs are looked at every ``interval`` seconds; a build starts once they stayed the same for ``settle``.

    With ``restart`` (the command line's), builds run Sphinx in this process, kept warm between builds, and a
    change to the package itself stops the server and calls ``restart`` (which starts a fresh one) instead.
    """
    from livingreview.publishing.book import build_book

    root = Path(root).resolve()
    build = build or (WarmBuild() if restart else build_book)
    code_seen = package_signature()
    state = State()
    stop = stop or threading.Event()
    if restart is not None:
        from livingreview.publishing import execute

        execute.warm_up()  # the chapters' fork server imports the package while the first build runs
    seen = signature(root)  # before the first build, so that no edit made from now on is missed
    rebuild(root, state, build, say)
    if isinstance(build, WarmBuild) and not state.error:  # after a failed build the pages wait for a good one
        with contextlib.redirect_stdout(io.StringIO()):  # the warm-up's own build says nothing worth showing
            build.warm(root)
    html = root / "_build" / "html"
    html.mkdir(parents=True, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler(html, state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    say(f"serving the book at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop); "
        "watching data/, references.bib, the chapters and the package")
    try:
        while not stop.wait(interval):
            now = signature(root)
            if now != seen:
                while True:  # let an editor finish writing: rebuild once the files stay as they are
                    time.sleep(settle)
                    seen, now = now, signature(root)
                    if now == seen:
                        break
                if restart is not None and package_signature() != code_seen:
                    say("the livingreview package changed: restarting with the new code")
                    server.shutdown()
                    server.server_close()
                    restart()  # does not return (it replaces this process)
                    return
                rebuild(root, state, build, say)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()
        say("stopped")

