#!/usr/bin/env python3
"""The project's two commands, runnable on a fresh machine that has only Python 3.11.

    python3 tasks.py book   # install into .venv/, validate the data, build the book into _build/html
    python3 tasks.py test   # install into .venv/ (with test tools), lint, validate, run the whole test suite
    python3 tasks.py bench  # the performance benchmark, Lighthouse included (writes benchmarks/results.json)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
LOCK = ROOT / "requirements.lock"


def run(*cmd: str | Path, **kw) -> None:
    """Run a command; stop with its exit code if it fails."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)
    if code != 0:
        sys.exit(code)


def ensure_venv() -> None:
    """Create .venv and install the pinned dependencies, unless the lock file has not changed."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Python 3.11 is required (this is {sys.version.split()[0]}); run it with python3.11")
    want = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text().strip() == want and (BIN / "livingreview").exists():
        return
    if not (BIN / "python").exists():
        run(sys.executable, "-m", "venv", VENV)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", LOCK)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--no-build-isolation", "-e", ROOT)
    stamp.write_text(want + "\n")


def ensure_chromium() -> None:
    """Install Debian's chromium for the browser tests when missing and we may (root with apt)."""
    if shutil.which("chromium"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run("apt-get", "update", "-qq", env=env)
        run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", env=env)
    else:
        print("note: chromium not found and cannot be installed here; browser tests will be skipped", flush=True)


def book() -> None:
    """Validate the data and build the book (and, with Chromium, its PDF)."""
    ensure_venv()
    ensure_chromium()
    run(BIN / "livingreview", "build")


def test() -> None:
    """Lint, validate, and run every test (unit, notebooks, book build, browser)."""
    ensure_venv()
    ensure_chromium()
    run(BIN / "ruff", "check", "src", "tests", "tasks.py")
    run(BIN / "livingreview", "validate", "--quiet", "--claims")
    # the BCG example review: the same engine with its own declarations, validated and built (HTML only, no PDF);
    # tests/test_bcg_book.py (in the suite below) checks its pages
    example = ROOT / "examples" / "bcg-vaccine"
    run(BIN / "livingreview", "validate", "--quiet", "--root", example)
    run(BIN / "livingreview", "build", "--no-pdf", "--root", example)
    run(BIN / "pytest")


def bench() -> None:
    """Run the benchmark (benchmarks/run.py); extra arguments such as --quick are passed on."""
    ensure_venv()
    run(BIN / "python", ROOT / "benchmarks" / "run.py", *sys.argv[2:])


def deps() -> None:
    """Only create .venv and install the pinned dependencies (used by the GitHub workflows)."""
    ensure_venv()


if __name__ == "__main__":
    commands = {"book": book, "test": test, "deps": deps, "bench": bench}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or (len(sys.argv) > 2 and sys.argv[1] != "bench"):
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(commands)}}}")
    commands[sys.argv[1]]()
