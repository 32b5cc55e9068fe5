"""Building the web book so that it is never stale and never silently broken."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from livingreview.evidence import fingerprint

STAMP = ".livingreview-inputs"
VENDOR = Path("_static") / "vendor" / "vega-bundle.js"
FIGURES = Path("_static") / "figures"
DATA_FILES = Path("_static") / "data"


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
        shutil.rmtree(root / DATA_FILES, ignore_errors=True)
    vendor_scripts(root)
    build_dir.mkdir(exist_ok=True)
    config = build_dir / ".config.stamped.yml"
    atomic_text(config, stamped_config(root))
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(root), "--config", str(config), "-W", "-n", "--keep-going"]
    code = subprocess.call(cmd, cwd=root)
    if code == 0:
        from livingreview.export import export_package

        download = build_dir / "html" / "download"
        download.mkdir(parents=True, exist_ok=True)
        export_package(root, download / "data-package")
        archive = shutil.make_archive(str(download / "ev-metastasis-living-review-data"), "zip",
                                      download, "data-package")
        print(f"data package: {Path(archive).relative_to(root)}", flush=True)
        stamp.write_text(current + "\n")
    return code


def atomic_text(path: Path, text: str) -> None:
    """Write text through a temporary file and a rename."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def build_stamp(root: Path) -> dict[str, str]:
    """Version, build date, data fingerprint and (when available) the git commit of this build."""
    import datetime as dt

    from livingreview import __version__

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"version": __version__, "date": dt.datetime.now(dt.UTC).date().isoformat(),
            "fingerprint": fingerprint(root)[:12], "commit": commit if re.fullmatch(r"[0-9a-f]{4,40}", commit) else ""}


def stamped_config(root: Path) -> str:
    """The book's ``_config.yml`` with the build stamp added to every page's footer."""
    import yaml
    from markupsafe import escape

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    s = build_stamp(root)
    parts = [f"version {s['version']}", f"built {s['date']}", f"data fingerprint <code>{s['fingerprint']}</code>"]
    if s["commit"]:
        parts.append(f"commit <code>{s['commit']}</code>")
    footer = '<p class="lr-stamp">' + " · ".join(str(escape(p)) if "<code>" not in p else p for p in parts) + "</p>"
    config.setdefault("html", {})["extra_footer"] = footer
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


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
