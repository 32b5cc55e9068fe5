"""Building the web book so that it is never stale and never silently broken."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from livingreview.evidence import fingerprint

STAMP = ".livingreview-inputs"


def inputs_fingerprint(root: Path) -> str:
    """Hash of everything a chapter's output depends on besides its own code: data, library, package."""
    digest = hashlib.sha256(fingerprint(root).encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for name in ("_config.yml", "_toc.yml"):
        if (root / name).exists():
            digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()


def build_book(root: Path) -> int:
    """Build ``root``'s book into ``root/_build/html`` with warnings as errors; return the exit code.

    jupyter-cache keys only on code cells, so a data, library or package change clears the build first.
    """
    root = root.resolve()
    build_dir = root / "_build"
    stamp = build_dir / STAMP
    current = inputs_fingerprint(root)
    if build_dir.exists() and (not stamp.exists() or stamp.read_text().strip() != current):
        shutil.rmtree(build_dir)
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(root), "-W", "-n", "--keep-going"]
    code = subprocess.call(cmd, cwd=root)
    if code == 0:
        build_dir.mkdir(exist_ok=True)
        stamp.write_text(current + "\n")
    return code
