"""livingreview serve (issue 16): builds, serves on 127.0.0.1, rebuilds on change, and the open page learns of it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from livingreview.commands.serve import STATUS_PATH, serve, signature
from test_build_fails import tiny_book

pytestmark = pytest.mark.book


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def _wait(predicate, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_serve_rebuilds_on_change_and_reports_a_broken_row(review):
    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1 + 1)")
    said: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=serve, kwargs={"root": root, "port": 0, "say": said.append, "stop": stop,
                                                    "interval": 0.2}, daemon=True)
    thread.start()
    try:
        line = _wait(lambda: next((s for s in said if s.startswith("serving the book at")), None))
        url = line.split(" at ", 1)[1].split(" ", 1)[0].rstrip("/")
        assert url.startswith("http://127.0.0.1:")
        page = _get(f"{url}/chapters/intro.html")
        assert STATUS_PATH.encode() in page and page.rstrip().endswith(b"</html>")
        assert STATUS_PATH.encode() not in (root / "_build/html/chapters/intro.html").read_bytes()  # served only
        status = lambda: json.loads(_get(url + STATUS_PATH))  # noqa: E731
        assert status() == {"build": 1, "error": ""}
        text = (root / "data/pmn.csv").read_text(encoding="utf-8")
        (root / "data/pmn.csv").write_text(text.replace(",liver,", ",lungs,"), encoding="utf-8")
        broken = _wait(lambda: status()["error"])
        assert "data/pmn.csv:2:target_organ: unknown value 'lungs'" in broken
        assert status()["build"] == 1  # the page keeps the last good build
        (root / "data/pmn.csv").write_text(text, encoding="utf-8")
        assert _wait(lambda: status()["build"] == 2 and not status()["error"])
        assert any(s.startswith("rebuilt in ") for s in said)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and said[-1] == "stopped"


def test_signature_sees_inputs_but_not_generated_files(review):
    root = tiny_book(review, "x", "print(1)")
    before = signature(root)
    (root / "_static" / "figures").mkdir(exist_ok=True)
    (root / "_static" / "figures" / "x.svg").write_text("<svg/>")
    assert signature(root) == before
    (root / "chapters" / "intro.md").write_text("# Changed\n")
    assert signature(root) != before



def test_serve_builds_in_process_and_restarts_when_the_package_changes(review, monkeypatch):
    """From the command line, Sphinx runs inside the server (warm between builds); a changed package must not be
    built with the old code, so the server stops and restarts instead."""
    import livingreview.commands.serve as serve_module

    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1 + 1)")
    said: list[str] = []
    restarted = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(target=serve, kwargs={"root": root, "port": 0, "say": said.append, "stop": stop,
                                                    "interval": 0.2, "restart": restarted.set}, daemon=True)
    thread.start()
    try:
        line = _wait(lambda: next((s for s in said if s.startswith("serving the book at")), None))
        url = line.split(" at ", 1)[1].split(" ", 1)[0].rstrip("/")
        status = lambda: json.loads(_get(url + STATUS_PATH))  # noqa: E731
        text = (root / "chapters/intro.md").read_text(encoding="utf-8")
        (root / "chapters/intro.md").write_text(text.replace("Tiny chapter", "Tiny chapter, edited"),
                                                encoding="utf-8")
        assert _wait(lambda: status()["build"] == 2 and not status()["error"])  # a second build in this process
        assert "Tiny chapter, edited" in (root / "_build/html/chapters/intro.html").read_text(encoding="utf-8")
        real = serve_module.package_signature
        monkeypatch.setattr(serve_module, "package_signature", lambda: (*real(), ("changed", 0, 0)))
        (root / "chapters/intro.md").write_text(text, encoding="utf-8")
        assert restarted.wait(60)
        thread.join(30)
        assert not thread.is_alive()
        assert any("restarting with the new code" in s for s in said)
        assert not any(s.startswith("rebuilt in ") for s in said[said.index(next(
            s for s in said if "restarting" in s)):])  # the second edit was not built with the old code
        with pytest.raises(OSError):
            _get(url + STATUS_PATH)  # the port is free for the new server
    finally:
        stop.set()
        thread.join(30)


def test_a_served_build_validates_again_only_when_what_validation_reads_changed(review):
    """The server keeps the validated review while the tables, library, releases and chapter citations hold."""
    from livingreview.checking.evidence import check_key
    from livingreview.commands.serve import WarmBuild
    from livingreview.model.errors import ValidationError

    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1 + 1)")
    given: list = []
    warm = WarmBuild(build=lambda r, ev: given.append(ev) or 0)
    assert warm(root) == 0 and warm(root) == 0
    assert given[0] is given[1]  # nothing changed: the same validated evidence
    key = check_key(root)
    page = root / "chapters" / "intro.md"
    page.write_text(page.read_text(encoding="utf-8").replace("Cited", "Now cited"), encoding="utf-8")
    assert check_key(root) == key and warm(root) == 0 and given[2] is given[0]  # prose only
    page.write_text(page.read_text(encoding="utf-8").replace("alpha2020", "alpha2020,beta2021"), encoding="utf-8")
    assert check_key(root) != key and warm(root) == 0 and given[3] is not given[0]  # a citation changes warnings
    key = check_key(root)
    (root / "releases").mkdir()
    (root / "releases" / "2026.12.json").write_text("{}", encoding="utf-8")
    assert check_key(root) != key
    (root / "releases" / "2026.12.json").unlink()
    pmn = root / "data" / "pmn.csv"
    text = pmn.read_text(encoding="utf-8")
    pmn.write_text(text.replace(",liver,", ",lungs,"), encoding="utf-8")
    with pytest.raises(ValidationError):
        warm(root)
    pmn.write_text(text.replace(",liver,", ",lung,"), encoding="utf-8")
    assert warm(root) == 0 and given[4] is not given[3]
    assert (given[4]["pmn"]["target_organ"] == "lung").any()


def test_a_chapter_counts_as_changed_by_its_bytes_not_its_mtime(review):
    """A build touches the chapters it re-executed (so Sphinx reads them again); that must not start a new build."""
    import os

    root = tiny_book(review, "Cited {cite:p}`alpha2020`.", "print(1 + 1)")
    page = root / "chapters" / "intro.md"
    before = signature(root)
    st = page.stat()
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert signature(root) == before
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    assert signature(root) != before
    table = root / "data" / "pmn.csv"
    after = signature(root)
    st = table.stat()
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert signature(root) != after  # a table saved again still rebuilds (its check is cheap to skip)
