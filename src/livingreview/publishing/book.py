"""Building the web book so that it is never stale and never silently broken."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from livingreview.checking.evidence import fingerprint
from livingreview.checking.layout import (
    DATA_FILES,
    FIGURES,
    GENERATED_MARKER,
    VENDOR,
    book_config,
    chapter_files,
    declared_reads,
    read_chapter,
    toc_sources,
)
from livingreview.model.declarations import identity
from livingreview.model.errors import UsageError
from livingreview.model.fileio import atomic_text, atomic_write, mark_folder, owned

STAMP = ".livingreview-inputs"
CHAPTER_STAMPS = ".livingreview-chapters.json"
#: per chapter, the hash of the outputs its page was last built from (written by a successful build only)
OUTPUTS = ".livingreview-outputs.json"
STATE = ".livingreview-state"
#: marks a folder this package made (the build folder), so it may remove it
BUILD_MARKER = ".livingreview-build"
VENDOR_HEADER = "/* vega "


def inputs_fingerprint(root: Path) -> str:
    """Hash of what every chapter depends on besides the data: the package and the book's configuration.

    A change here rebuilds the book from scratch; data changes re-execute only the chapters that read them.
    """
    digest = hashlib.sha256()
    package = Path(__file__).parents[1]  # the whole package, every layer
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".js", ".css", ".svg")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for name in ("_config.yml", "_toc.yml", "living.toml", "review.yml"):
        if (root / name).exists():
            digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    # a release changes every claim's history (rare, so a full rebuild is fine)
    for path in sorted((root / "releases").glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def chapter_fingerprints(root: Path) -> dict[str, str]:
    """Per chapter: a hash of its own inputs (the tables it reads and the library); undeclared reads everything."""
    from livingreview.checking.bib import BIB_PATH
    from livingreview.checking.living import overdue_key
    from livingreview.model.declarations import load

    def file_hash(rel: str) -> bytes:
        path = root / rel
        return hashlib.sha256(path.read_bytes() if path.exists() else b"<missing>").digest()

    from livingreview.model.errors import ValidationError

    try:
        declared_tables = load(root).tables
    except ValidationError:
        declared_tables = {}  # the build's validation reports the declarations; there is nothing to hash
    TABLES = declared_tables
    tables = {name: file_hash(t.path) for name, t in TABLES.items()}
    declared = file_hash("review.yml")
    library = file_hash(BIB_PATH)
    # a chapter that reads the search log may show the living status, which also changes with the day it falls due
    overdue = overdue_key(root).encode()
    out = {}
    for path in chapter_files(root):
        reads = declared_reads(path)
        names = sorted(TABLES) if reads is None else sorted(set(reads) & set(TABLES))
        digest = hashlib.sha256(library + declared)
        for name in names:
            digest.update(name.encode() + tables[name])
        if "searches" in names:
            digest.update(b"living\0" + overdue)
        out[path.relative_to(root).as_posix()] = digest.hexdigest()
    return out


def outputs_hash(nb) -> str:
    """A hash of a notebook's code cells' outputs (canonical JSON): equal means myst-nb makes the same page."""
    text = json.dumps([cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def invalidate_chapters(root: Path, stale: list[str]) -> None:
    """Drop the cached runs of ``stale`` chapters, so that one whose new run fails is executed by the book build."""
    from jupyter_cache import get_cache

    cache_dir = root / "_build" / ".jupyter_cache"
    if cache_dir.exists():
        cache = get_cache(str(cache_dir))
        targets = {str((root / rel).resolve()) for rel in stale}
        for record in cache.list_cache_records():
            if str(Path(record.uri).resolve()) in targets:
                cache.remove_cache(record.pk)


def mark_changed(root: Path, chapters: list[str]) -> None:
    """Make Sphinx read ``chapters`` again (it re-reads a source whose mtime changed)."""
    for rel in chapters:
        os.utime(root / rel)


def execute_chapters(root: Path, stale: list[str], workers: int = 2, timeout: int = 300,
                     ev=None) -> dict[str, str]:
    """Execute ``stale`` chapters in parallel and store them in the cache; return the stored ones' ``outputs_hash``.

    With the build's evidence ``ev`` (and a POSIX fork server) each chapter runs in a fork of a warm interpreter
    (``execute``); otherwise each gets a Jupyter kernel. The book build then finds every result in jupyter-cache
    and executes nothing itself. A chapter that fails is left uncached, so the build executes it again in a
    kernel and reports the failure as a located warning.
    """
    import time
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    from livingreview.publishing import execute
    from livingreview.publishing.render import static_copy

    if not stale:
        return {}
    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    stored: dict[str, str] = {}

    def store(rel: str, nb, seconds: float) -> None:
        stored[rel] = outputs_hash(nb)
        cache.cache_notebook_bundle(CacheBundleIn(nb, str((root / rel).resolve()),
                                                  data={"execution_seconds": seconds}),
                                    check_validity=False, overwrite=True)

    def kernel(rel: str):
        from jupyter_cache.executors.utils import single_nb_execution

        path = root / rel
        nb = read_chapter(path)
        start = time.perf_counter()
        result = single_nb_execution(nb, cwd=str(path.parent), timeout=timeout, allow_errors=False)
        return rel, nb, result, time.perf_counter() - start

    forked = ev is not None and execute.available()
    print(f"executing {len(stale)} chapter(s) on {workers} worker(s)"
          + (" (forks of a warm interpreter)" if forked else " (Jupyter kernels)"), flush=True)
    if forked:
        for done, run in enumerate(execute.run_chapters([(rel, root / rel) for rel in stale], ev, workers,
                                                        timeout), 1):
            print(f"  [{done}/{len(stale)}] {run.rel}: {'failed' if run.error else 'ok'} in {run.seconds:.1f} s",
                  flush=True)
            if not run.error:
                for path, spec in run.figures:
                    static_copy(path, spec)
                store(run.rel, run.notebook, run.seconds)
        return stored
    with ThreadPoolExecutor(max(1, min(workers, len(stale)))) as pool:
        futures = [pool.submit(kernel, rel) for rel in stale]
        for done, future in enumerate(as_completed(futures), 1):
            rel, nb, result, seconds = future.result()
            status = "failed" if result.err is not None else "ok"
            print(f"  [{done}/{len(stale)}] {rel}: {status} in {seconds:.1f} s", flush=True)
            if result.err is None:
                store(rel, nb, result.time)
    return stored


STAMPED_CONFIG = ".config.stamped.yml"


def sphinx_args(root: Path, config: Path) -> list[str]:
    """The ``jupyter-book`` arguments of a build: warnings are errors, every one reported."""
    return ["build", str(root), "--config", str(config), "-W", "-n", "--keep-going"]


def run_jupyter_book(root: Path, args: list[str], in_process: bool = False) -> int:
    """Run ``jupyter-book args``; return its exit code.

    In a process of its own by default. A preview server runs it in its own process instead (``in_process``),
    where Sphinx's imports and the formatted bibliography stay warm from one build to the next; it restarts
    itself when the package changes, so no build runs stale code.
    """
    if not in_process:
        return subprocess.call([str(Path(sys.executable).with_name("jupyter-book")), *args], cwd=root)
    from jupyter_book.cli.main import main as jupyter_book

    try:
        jupyter_book.main(args, standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # jupyter-book wraps a Sphinx exception in a RuntimeError with its message
        print(exc, flush=True)
        return 1
    return 0


def build_book(root: Path, workers: int | None = None, pdf: bool = False, ev=None, in_process: bool = False) -> int:
    """Build ``root``'s book into ``root/_build/html`` with warnings as errors; return the exit code.

    jupyter-cache keys only on code cells, so data changes would leave stale pages: a changed package or
    configuration rebuilds from scratch, and a changed table or library re-executes the chapters that read it.
    ``ev`` is the review's validated evidence (loaded here when not given; ``ValidationError`` if invalid);
    ``in_process`` runs Sphinx in this process (see ``run_jupyter_book``).
    """
    from livingreview.analysis.history import version_label
    from livingreview.checking.evidence import load

    root = root.resolve()
    ev = ev if ev is not None else load(root)
    build_dir = root / "_build"
    if not owned(build_dir, BUILD_MARKER, STAMP, CHAPTER_STAMPS, STATE):
        raise UsageError(f"{build_dir} exists and was not made by livingreview build; move it away (the build "
                         "removes and rewrites that folder)")
    stamp = build_dir / STAMP
    current = inputs_fingerprint(root)
    if build_dir.exists() and (not stamp.exists() or stamp.read_text().strip() != current):
        shutil.rmtree(build_dir)
    if not build_dir.exists():
        clean_generated(root)
    vendor_scripts(root)
    mark_folder(build_dir, BUILD_MARKER)
    chapters_file = build_dir / CHAPTER_STAMPS
    outputs_file = build_dir / OUTPUTS
    before = json.loads(chapters_file.read_text()) if chapters_file.exists() else {}
    now = chapter_fingerprints(root)
    stale = [rel for rel, fp in now.items() if before.get(rel) != fp]
    if before and stale:
        print(f"re-executing {len(stale)} chapter(s) whose inputs changed: {', '.join(stale)}", flush=True)
    # the data package, claims.json and the feed depend on the data alone, so they are made beside the build:
    # claims.json and the feed while the chapters run (then Sphinx, running here in a served build, has this
    # interpreter to itself), the package while Sphinx builds the pages (into a staging folder that replaces the
    # published one only if the build succeeds)
    with ThreadPoolExecutor(1) as pool:
        files = pool.submit(published_files, root, ev) if stale else None  # stale: Sphinx runs for certain
        # what each page was last read with, recorded by the last build only if it succeeded (a failed one may
        # have cached runs that Sphinx never read)
        read_with = json.loads(outputs_file.read_text()) if outputs_file.exists() else {}
        if stale:
            outputs_file.unlink(missing_ok=True)
        invalidate_chapters(root, stale)
        ran = execute_chapters(root, stale, workers or min(2, os.cpu_count() or 1), ev=ev)
        # a page whose chapter made the same outputs again is already right: Sphinx need not read it again
        changed = [rel for rel in stale if rel not in ran or ran[rel] != read_with.get(rel)]
        mark_changed(root, changed)
        if len(changed) < len(stale):
            print(f"{len(stale) - len(changed)} re-executed chapter(s) made the same outputs: their pages stay as "
                  "they are", flush=True)
        config = build_dir / STAMPED_CONFIG
        atomic_text(config, stamped_config(root, pdf=pdf, ev=ev))
        page_stamp = footer_stamp(root, version_label(ev))
        state = build_state(root, now, config, page_stamp)
        state_file = build_dir / STATE
        if not stale and state_file.exists() and state_file.read_text().strip() == state \
                and (build_dir / "html" / "index.html").exists():
            print("nothing changed since the last build: _build/html is up to date", flush=True)
            return 0
        state_file.unlink(missing_ok=True)
        args = sphinx_args(root, config)
        files = files or pool.submit(published_files, root, ev)
        staged = pool.submit(stage_data_package, root, build_dir, in_process, ev)
        code = run_jupyter_book(root, args, in_process)
        staging = staged.result()
    if code == 0:
        archive = install_data_package(staging, build_dir / "html" / "download", identity(root).data_archive)
        print(f"data package: {archive.relative_to(root)}", flush=True)
        sync_static(root, build_dir / "html")
        stamp_pages(build_dir / "html", page_stamp)
        redirect_page(build_dir / "html")
        publish_files(root, build_dir / "html", files=files.result())
        stamp.write_text(current + "\n")
        atomic_text(chapters_file, json.dumps(now, indent=1, sort_keys=True))
        # a stale chapter that failed in its fork was run again by myst-nb: its outputs are not recorded
        built = {rel: h for rel, h in read_with.items() if rel not in stale} | ran
        atomic_text(outputs_file, json.dumps(built, indent=1, sort_keys=True))
        atomic_text(state_file, state + "\n")
    else:
        chapters_file.unlink(missing_ok=True)  # a failed build proves nothing about any chapter
    return code


STAGING = ".data-package-staging"


def stage_data_package(root: Path, build_dir: Path, forked: bool = False, ev=None) -> Path | None:
    """Export the data package and its zip into the build's staging folder; None when the published one is current.

    With ``forked`` the export runs in a fork of the warm interpreter (``execute``), so that it does not compete
    for this process's interpreter lock with a Sphinx build running here.
    """
    download = build_dir / "html" / "download"
    descriptor = download / "data-package" / "datapackage.json"
    published = json.loads(descriptor.read_text()).get("fingerprint") if descriptor.exists() else None
    if published == fingerprint(root) and (download / identity(root).data_archive).exists():
        return None
    staging = build_dir / STAGING  # inside the build folder, which is ours
    if staging.exists():
        shutil.rmtree(staging)
    if forked:
        from livingreview.publishing import execute

        execute.run_function(export_data_package, root, staging, ev)
    else:
        export_data_package(root, staging, ev)
    return staging


def export_data_package(root: Path, staging: Path, ev=None) -> None:
    """The data package and its zip, written into ``staging`` (from the validated evidence ``ev``, if given)."""
    from livingreview.publishing.export import export_package

    export_package(root, staging / "data-package", ev=ev)
    shutil.make_archive(str(staging / Path(identity(root).data_archive).stem), "zip", staging, "data-package")


def install_data_package(staging: Path | None, download: Path, name: str) -> Path:
    """Move a staged data package and its zip ``name`` into ``download`` (replacing the ones published before); the
    zip's path."""
    archive = download / name
    if staging is not None:
        download.mkdir(parents=True, exist_ok=True)
        if (download / "data-package").exists():
            shutil.rmtree(download / "data-package")
        (staging / "data-package").rename(download / "data-package")
        (staging / name).replace(archive)
        shutil.rmtree(staging)
    return archive


def sync_static(root: Path, html: Path) -> list[str]:
    """Copy every file of ``_static`` whose bytes differ into the built pages' ``_static``; return what changed.

    Sphinx copies static files only when it writes pages, so a stylesheet or script edited on its own would
    otherwise stay stale in the built book.
    """
    from livingreview.publishing.sphinxext import STATIC

    source, target = root / "_static", html / "_static"
    changed = []
    # the engine's files first, then the review's own (which take their place where a name is the same)
    files = {p.relative_to(STATIC): p for p in sorted(STATIC.rglob("*")) if p.is_file()}
    files |= {p.relative_to(source): p for p in sorted(source.rglob("*")) if p.is_file()} if source.is_dir() else {}
    for rel, path in files.items():
        dest = target / rel
        data = path.read_bytes()
        if not dest.exists() or dest.read_bytes() != data:
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dest, data)
            changed.append(path.relative_to(root).as_posix() if root in path.parents else f"livingreview:{rel}")
    return changed


def published_files(root: Path, ev=None) -> dict[str, bytes]:
    """``download/claims.json`` (and its JSON Schema) and the Atom feed ``feed.xml``, by path under the pages."""
    from livingreview.checking.evidence import load
    from livingreview.publishing.publish import CLAIMS_SCHEMA, atom_feed, claims_json

    ev = ev if ev is not None else load(root)
    return {"download/claims.json": json.dumps(claims_json(ev), indent=1, ensure_ascii=False).encode("utf-8"),
            "download/claims.schema.json": json.dumps(CLAIMS_SCHEMA, indent=1).encode("utf-8"),
            "feed.xml": atom_feed(ev)}


def publish_files(root: Path, html: Path, ev=None, files: dict[str, bytes] | None = None) -> None:
    """Write the ``published_files`` beside the pages."""
    for rel, data in (files if files is not None else published_files(root, ev)).items():
        atomic_write(html / rel, data)
    print("published: download/claims.json, feed.xml", flush=True)


def clean_generated(root: Path) -> None:
    """Remove the generated figures and data files before a clean build; a folder without our mark stays."""
    for generated in (root / FIGURES, root / DATA_FILES):
        if (generated / GENERATED_MARKER).exists() and not generated.is_symlink():
            shutil.rmtree(generated)


def build_state(root: Path, chapters: dict[str, str], config: Path, stamp: str = "") -> str:
    """Hash of every input of a build: package, data, chapter sources, static files, the stamped config and the
    pages' build stamp.

    Equal to the last successful build's state means the pages on disk are exactly what a build would make.
    """
    digest = hashlib.sha256(inputs_fingerprint(root).encode())
    digest.update(json.dumps(chapters, sort_keys=True).encode())
    digest.update(config.read_bytes())
    digest.update(stamp.encode())
    generated = {VENDOR.parent, FIGURES, DATA_FILES}
    files = {path for folder in ("chapters", "_static") for path in (root / folder).rglob("*")}
    files.update(toc_sources(root))  # pages outside chapters/ count too
    for path in sorted(files):
        rel = path.relative_to(root)
        if path.is_file() and not any(parent in generated for parent in rel.parents):
            digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_stamp(root: Path, version: str | None = None) -> dict[str, str]:
    """Version (``version``: the evidence's ``history.version_label``), build date, data fingerprint and (when
    available) the git commit of this build."""
    import datetime as dt

    from livingreview import __version__

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"version": version or __version__, "date": dt.datetime.now(dt.UTC).date().isoformat(),
            "fingerprint": fingerprint(root)[:12], "commit": commit if re.fullmatch(r"[0-9a-f]{4,40}", commit) else ""}


#: where every page's build stamp goes; the stamp itself is written in after Sphinx (``stamp_pages``)
STAMP_SLOT = '<p class="lr-stamp"></p>'
STAMP_RE = re.compile(r'<p class="lr-stamp">.*?</p>', re.DOTALL)


def footer_stamp(root: Path, version: str | None = None) -> str:
    """The build stamp every page shows: version, build date, data fingerprint and commit (HTML)."""
    from markupsafe import escape

    s = build_stamp(root, version)
    parts = [str(escape(f"version {s['version']}")), str(escape(f"built {s['date']}")),
             f"data fingerprint <code>{escape(s['fingerprint'])}</code>"]
    if s["commit"]:
        parts.append(f"commit <code>{escape(s['commit'])}</code>")
    return '<p class="lr-stamp">' + " · ".join(parts) + "</p>"


def page_stamp(html: Path) -> str | None:
    """The build stamp written into the built book's pages (the root page's), or None before a build."""
    page = html / "chapters" / "intro.html"
    found = STAMP_RE.search(page.read_text(encoding="utf-8")) if page.exists() else None
    return found.group(0) if found and found.group(0) != STAMP_SLOT else None


_REDIRECT_RE = re.compile(r'^<meta http-equiv="Refresh" content="0; url=([A-Za-z0-9_./-]+\.html)" />\s*$')
_ICON_RE = re.compile(r'<link rel="icon" href="([^"]+)"\s*/?>')
_TITLE_RE = re.compile(r"<title>(.*?)</title>", re.DOTALL)
#: the largest icon written into the redirect page itself
ICON_INLINE_BYTES = 4096


def redirect_page(folder: Path) -> bool:
    """Make Jupyter Book's ``index.html`` (a bare refresh to the first page) a whole page; whether it changed it.

    The bare tag names no icon, so a browser asked the site's root for ``/favicon.ico`` and logged the 404 as an
    error; the page now holds the book's icon (an SVG, written into it), its title and language, and links to the
    page it sends the reader on to.
    """
    import posixpath
    from urllib.parse import quote

    from markupsafe import Markup, escape

    index = folder / "index.html"
    found = _REDIRECT_RE.match(index.read_text(encoding="utf-8")) if index.is_file() else None
    if found is None or not (folder / found.group(1)).is_file():
        return False
    target = found.group(1)
    page = (folder / target).read_text(encoding="utf-8")
    icon = _ICON_RE.search(page)
    title = _TITLE_RE.search(page)
    head = [f'<meta http-equiv="Refresh" content="0; url={escape(target)}">', '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">']
    if title:  # the target page's title is already escaped HTML
        head.append(f"<title>{Markup(title.group(1))}</title>")
    if icon:
        # the icon itself, in the page: a request for a file would be cut off by the refresh (a failed request)
        path = folder / posixpath.normpath(posixpath.join(posixpath.dirname(target), icon.group(1)))
        if path.suffix == ".svg" and path.is_file() and path.stat().st_size <= ICON_INLINE_BYTES:
            href = "data:image/svg+xml," + quote(path.read_text(encoding="utf-8").strip(), safe="=:/,.-")
            head.append(f'<link rel="icon" href="{escape(href)}">')
    text = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{chr(10).join(head)}\n</head>\n<body>\n'
            f'<p><a href="{escape(target)}">{Markup(title.group(1)) if title else escape(target)}</a></p>\n'
            f"</body>\n</html>\n")
    atomic_write(index, text.encode("utf-8"))
    return True


def stamp_pages(folder: Path, stamp: str) -> int:
    """Write ``stamp`` into the stamp of every page under ``folder``; return how many pages changed.

    The stamp changes with every data change, so it stays out of Sphinx's configuration (which would make
    Sphinx write every page again); pages Sphinx did not rewrite get the new stamp here, so none is stale.
    """
    changed = 0
    for page in sorted(folder.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        new = STAMP_RE.sub(lambda _: stamp, text)
        if new != text:
            atomic_write(page, new.encode("utf-8"))
            changed += 1
    return changed


def stamped_config(root: Path, pdf: bool = False, ev=None) -> str:
    """The book's ``_config.yml`` with a slot for the build stamp in every page's footer, download links (with
    ``pdf``, also to the PDF of the whole book) and the living status at the top of every page."""
    import yaml
    from markupsafe import escape

    from livingreview.model.text import CITE_ID

    config = book_config(root)
    # bibliography entries get ids from their keys, which the explorer's studies link to
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["bibtex_cite_id"] = CITE_ID
    # the themes append their folders to templates_path; without a list of its own per build they append to
    # Sphinx's shared default, which grows with every build in one process and so rewrites every page
    sphinx.setdefault("templates_path", [])
    sphinx["extensions"] = book_extensions(config)
    if (root / FAVICON).is_file():  # a page without one has the browser ask for /favicon.ico, a 404
        sphinx["html_favicon"] = FAVICON.as_posix()
    footer = STAMP_SLOT
    # the script points these at the book's root from any page (Sphinx gives it as the html's data-content_root)
    who = identity(root)
    links = [f'<a data-lr-href="download/{escape(who.data_archive)}" '
             f'href="../download/{escape(who.data_archive)}">data package (zip)</a>']
    if pdf:
        links.append(f'<a data-lr-href="download/{escape(who.pdf_name)}" '
                     f'href="../download/{escape(who.pdf_name)}">the whole book as a PDF</a>')
    footer += '<p class="lr-downloads">Download: ' + " · ".join(links) + "</p>"
    config.setdefault("html", {})["extra_footer"] = footer
    announcement = living_announcement(root, ev)
    if announcement:
        config["html"]["announcement"] = announcement
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


FAVICON = Path("_static") / "favicon.svg"


def book_extensions(config: dict) -> list[str]:
    """The Sphinx extensions Jupyter Book would load for ``config``, less sphinx-thebe.

    The book has no launch or live-code buttons, and sphinx-thebe's inline script, added twice, declared
    ``THEBE_JS_URL`` twice: an error in the console of every page. Set as Sphinx's ``extensions``, the list
    replaces Jupyter Book's, which has no switch to leave one of its defaults out.
    """
    from jupyter_book.config import get_default_sphinx_config

    extensions = [e for e in get_default_sphinx_config()["extensions"] if e != "sphinx_thebe"]
    extra = config.get("sphinx", {}).get("extra_extensions") or []
    extensions += [e for e in ([extra] if isinstance(extra, str) else extra) if e not in extensions]
    if config.get("bibtex_bibfiles") or config.get("bibtex_reference_style"):
        extensions.append("sphinxcontrib.bibtex")  # as Jupyter Book adds it for a book with a library
    return extensions


def living_announcement(root: Path, ev=None) -> str:
    """The living status shown at the top of every page (HTML), or nothing for a review with no search log."""

    from markupsafe import escape

    from livingreview.checking.evidence import load
    from livingreview.checking.living import living_status, status_text, today

    ev = ev if ev is not None else load(root)
    if not ev.has("searches") or ev["searches"].empty:  # a review may keep no search log at all
        return ""
    st = living_status(ev["searches"], ev["screening"], ev.cadence, today())
    css = "lr-living lr-living-overdue" if st.overdue else "lr-living"
    return f'<span class="{css}">{escape(status_text(st))}</span>'


def vendor_scripts(root: Path) -> Path:
    """Write the vega runtime (from vl-convert's bundler) under ``_static/vendor``: no CDN.

    Only vega: every chart is compiled from Vega-Lite to Vega when the book is built (``render.static_copy``), so
    no page needs the Vega-Lite compiler or vega-embed (a third of the weight). The bundle is wrapped in a function
    so that its internals cannot clash with Sphinx's globals (``doctools.js`` declares ``_``); it publishes
    ``window.vega``.
    """
    import vl_convert as vlc

    target = root / VENDOR
    # the earlier bundle (vega, vega-lite and vega-embed) would otherwise be published with every build
    earlier = target.parent / "vega-bundle.js"
    if earlier.is_file() and earlier.read_bytes()[:len(VENDOR_HEADER)] == VENDOR_HEADER.encode():
        earlier.unlink()
    header = f"{VENDOR_HEADER}{vlc.get_vega_version()} alone; bundled by vl-convert-python {vlc.__version__} */"
    if target.exists():
        with open(target, encoding="utf-8", errors="replace") as fh:
            head = fh.readline().rstrip("\n")
        if head == header:
            return target
        if not head.startswith(VENDOR_HEADER):
            raise UsageError(f"{target} exists and was not written by livingreview; move it away")
    target.parent.mkdir(parents=True, exist_ok=True)
    # vl-convert's own name for vega is no namespace (its default import, which vega lacks): import the module it
    # bundles by the address it is known by (no download: vl-convert holds its source)
    module = f"https://cdn.jsdelivr.net/npm/vega@{vlc.get_vega_version()}/+esm"
    bundle = vlc.javascript_bundle(f'import * as runtime from "{module}";\nwindow.vega = runtime;')
    atomic_write(target, f"{header}\n(function () {{\n{bundle}\n}})();\n".encode())
    return target


