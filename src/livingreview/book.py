"""Building the web book so that it is never stale and never silently broken."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from livingreview.evidence import fingerprint

STAMP = ".livingreview-inputs"
VENDOR = Path("_static") / "vendor" / "vega-bundle.js"
FIGURES = Path("_static") / "figures"


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
    if not build_dir.exists():
        shutil.rmtree(root / FIGURES, ignore_errors=True)
    vendor_scripts(root)
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(root), "-W", "-n", "--keep-going"]
    code = subprocess.call(cmd, cwd=root)
    if code == 0:
        build_dir.mkdir(exist_ok=True)
        stamp.write_text(current + "\n")
    return code


def vendor_scripts(root: Path) -> Path:
    """Write vega, vega-lite and vega-embed (from vl-convert's bundle) under ``_static/vendor``: no CDN.

    The bundle is wrapped in a function so that its internals cannot clash with Sphinx's globals
    (``doctools.js`` declares ``_``); it publishes ``window.vegaEmbed`` itself.
    """
    import vl_convert as vlc

    target = root / VENDOR
    header = (f"/* vega {vlc.get_vega_version()}, vega-lite {vlc.get_vegalite_versions()[-1]}, "
              f"vega-embed {vlc.get_vega_embed_version()}; bundled by vl-convert-python {vlc.__version__} */")
    if target.exists() and target.read_text(encoding="utf-8").startswith(header):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(f"{header}\n(function () {{\n{vlc.javascript_bundle()}\n}})();\n", encoding="utf-8")
    tmp.replace(target)
    return target


def find_root(start: Path | None = None) -> Path:
    """The review root above ``start`` (default: the working directory, a chapter's folder in a build)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists() and (folder / "data").is_dir():
            return folder
    raise FileNotFoundError(f"no review root (with _toc.yml and data/) above {here}")
