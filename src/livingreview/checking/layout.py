"""A review's book as files: its table of contents, the pages it names, which page holds what, and where the build
writes what it generates. Read by the checks (a symlink the build would follow), the chapters and the build."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from livingreview.model.errors import UsageError

#: marks a folder this package made (generated figures and data), so it may remove it
GENERATED_MARKER = ".livingreview-generated"
#: the chart runtime: vega alone (charts are compiled from Vega-Lite to Vega when the book is built)
VENDOR = Path("_static") / "vendor" / "vega.js"
FIGURES = Path("_static") / "figures"
DATA_FILES = Path("_static") / "data"
SOURCE_SUFFIXES = (".ipynb", ".md", ".rst")


def read_source(path: Path) -> str:
    """A page's text as Sphinx reads it (UTF-8, a byte-order mark tolerated)."""
    return path.read_text(encoding="utf-8-sig")


#: the chapter call that makes a page what it is: where row links, claim links, the explorer link and the feed land
PAGE_CALLS = {"appendix": "chapter.all_rows(", "explorer": "chapter.explorer(",
              "claims": "chapter.summary_of_findings(", "whats_new": "chapter.whats_new(",
              "bibliography": "{bibliography}"}


def page_of(root: Path, role: str) -> str | None:
    """The book page (its ``.html`` path from the review's folder) whose source makes the call ``PAGE_CALLS[role]``,
    the first in TOC order; None if no page of the book does (so nothing links to a page that does not exist)."""
    toc = root / "_toc.yml"
    return _pages(str(root.resolve()), toc.stat().st_mtime_ns if toc.exists() else 0).get(role)


@functools.lru_cache(maxsize=8)
def _pages(root: str, toc_stamp: int) -> dict[str, str]:
    out: dict[str, str] = {}
    base = Path(root)
    for path in toc_sources(base):
        text = read_source(path)
        if path.suffix == ".ipynb":
            try:
                text = "\n".join("".join(c.get("source", "")) for c in json.loads(text).get("cells", [])
                                 if c.get("cell_type") == "code")
            except ValueError:
                continue  # an unreadable notebook is the build's to report
        for role, call in PAGE_CALLS.items():
            if role not in out and call in text:
                out[role] = path.relative_to(base).with_suffix(".html").as_posix()
    return out


def toc_sources(root: Path) -> list[Path]:
    """Every page the book's ``_toc.yml`` names, as a file (wherever it lies), in TOC order.

    Read with the same parser Jupyter Book uses, and ``glob:`` entries matched as sphinx-external-toc matches them
    (Sphinx's ``patfilter`` over the documents Sphinx finds), so that no page the book shows escapes the build state.
    """
    import yaml
    from sphinx_external_toc.api import FileItem, GlobItem
    from sphinx_external_toc.parsing import parse_toc_data

    toc = root / "_toc.yml"
    if not toc.exists():
        return []
    site_map = parse_toc_data(yaml.safe_load(read_source(toc)))
    found = _found_docs(root) if site_map.globs() else {}
    out: list[Path] = []

    def add(path: Path | None) -> None:
        if path is not None and path not in out:
            out.append(path)

    def resolve(docname: str) -> Path | None:
        path = next((root / (docname + s) for s in SOURCE_SUFFIXES if (root / (docname + s)).is_file()), None)
        if path is None and Path(docname).suffix in SOURCE_SUFFIXES and (root / docname).is_file():
            path = root / docname
        return path

    def walk(docname: str) -> None:  # a document, then its toctrees' entries in order, depth first
        if docname in seen:
            return
        seen.add(docname)
        add(resolve(docname))
        current = docname[:-len(Path(docname).suffix)] if Path(docname).suffix in SOURCE_SUFFIXES else docname
        for tree in site_map[docname].subtrees:
            for item in tree.items:
                if isinstance(item, GlobItem):
                    from sphinx.util.matching import patfilter  # Sphinx only for a TOC with globs (validate's start)

                    for match in sorted(patfilter([d for d in found if d != current], str(item))):
                        add(found[match])
                elif isinstance(item, FileItem) and item in site_map:
                    walk(str(item))

    seen: set[str] = set()
    walk(site_map.root.docname)
    for docname in site_map:  # anything the walk did not reach (the parser allows it), as before
        walk(docname)
    return out


#: the engine's own Jupyter Book settings: what every review's book needs (chapters run by the engine, warnings as
#: errors, no LaTeX or launch buttons, data text exactly as written); a review's ``_config.yml`` holds only its own
#: choices and overrides any of these
ENGINE_CONFIG: dict = {
    "only_build_toc_files": True,
    "exclude_patterns": ["_build", "**/.ipynb_checkpoints", ".venv", ".github", "README.md", "references.md",
                         "CHANGELOG.md"],
    "execute": {"execute_notebooks": "cache", "timeout": 300, "allow_errors": False, "stderr_output": "warn"},
    "bibtex_bibfiles": ["references.bib"],
    "html": {"use_issues_button": False, "use_repository_button": False, "use_edit_page_button": False,
             "home_page_in_navbar": True},
    # the PDF is printed by Chromium, not LaTeX; Jupyter Book's LaTeX extension would also turn figure numbering
    # back on, which walks every page's doctree on every build
    "latex": {"use_jupyterbook_latex": False},
    "launch_buttons": {"notebook_interface": "classic", "binderhub_url": "", "thebe": False},
    "parse": {"myst_enable_extensions": ["colon_fence", "deflist"]},
    "sphinx": {"extra_extensions": ["livingreview.publishing.sphinxext"], "config": {
        "bibtex_reference_style": "author_year_etal", "bibtex_default_style": "plain_etal",
        "nb_render_markdown_format": "myst", "nb_merge_streams": True, "html_show_copyright": True,
        "html_last_updated_fmt": "", "html_context": {"default_mode": "light"},
        "suppress_warnings": ["mystnb.unknown_mime_type"],
        # data text reaches the page exactly as written: no curly quotes, dashes or ellipses substituted
        "smartquotes": False,
        # no page numbers its figures or tables (numbering walks every page's doctree on every build)
        "numfig": False}},
}
#: lists the engine's and the review's entries both belong in (the review adds to them, never drops the engine's)
_UNION = {("exclude_patterns",), ("sphinx", "extra_extensions")}


def _merged(engine: object, own: object, path: tuple[str, ...] = ()) -> object:
    if isinstance(engine, dict) and isinstance(own, dict):
        return {**{k: _merged(v, own[k], (*path, k)) if k in own else v for k, v in engine.items()},
                **{k: v for k, v in own.items() if k not in engine}}
    if path in _UNION and isinstance(engine, list):
        items = own if isinstance(own, list) else [own]
        return [*engine, *(x for x in items if x not in engine)]
    return own


def book_config(root: Path) -> dict:
    """The book's Jupyter Book settings: the engine's (``ENGINE_CONFIG``) under the review's ``_config.yml``."""
    import copy

    import yaml

    config = root / "_config.yml"
    own = (yaml.safe_load(read_source(config)) if config.exists() else None) or {}
    # a copy: what a caller adds to the settings (the stamped config's extensions) never reaches the engine's
    merged = copy.deepcopy(_merged(ENGINE_CONFIG, own))
    if "bibtex_bibfiles" not in own and not (root / "references.bib").is_file():
        merged.pop("bibtex_bibfiles")  # a book without a library has nothing for sphinxcontrib-bibtex to read
    return merged


def _found_docs(root: Path) -> dict[str, Path]:
    """Docname -> file of every source Sphinx finds under ``root`` (as ``env.find_files`` does for this book)."""
    from sphinx.project import EXCLUDE_PATHS
    from sphinx.util.matching import get_matching_files

    settings = book_config(root)
    # Jupyter Book always adds its defaults; the HTML builder excludes its static and template folders
    excludes = {"_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "_static", "_templates",
                *(settings.get("exclude_patterns") or []), *EXCLUDE_PATHS}
    out: dict[str, Path] = {}
    for name in get_matching_files(root, ("**",), sorted(excludes)):
        suffix = next((s for s in SOURCE_SUFFIXES if name.endswith(s)), None)
        if suffix is not None:
            out.setdefault(name[:-len(suffix)], root / name)
    return out


def chapter_files(root: Path) -> list[Path]:
    """Every executable page of the TOC: notebooks, and MyST text notebooks (Markdown with a kernelspec)."""
    out = []
    for path in toc_sources(root):
        if path.suffix == ".ipynb":
            out.append(path)
        elif path.suffix == ".md":
            text = read_source(path)
            if text.startswith("---") and "kernelspec:" in text.split("---", 2)[1]:
                out.append(path)
    return out


def declared_reads(path: Path) -> list[str] | None:
    """The tables a chapter declares it reads (``livingreview: reads:`` in its metadata); None if undeclared."""
    import yaml

    try:
        if path.suffix == ".ipynb":
            meta = json.loads(read_source(path)).get("metadata", {})
        else:
            text = read_source(path)
            meta = yaml.safe_load(text.split("---", 2)[1]) if text.startswith("---") else {}
        reads = ((meta or {}).get("livingreview") or {}).get("reads")
    except (ValueError, RecursionError, AttributeError, yaml.YAMLError) as exc:
        # a chapter is input like any other: a number of thousands of digits or nesting thousands deep is refused
        why = "nested too deeply" if isinstance(exc, RecursionError) else type(exc).__name__
        raise UsageError(f"{path}: its metadata cannot be read ({why}); expected a notebook or MyST page whose "
                         "metadata says which tables it reads") from None
    return list(reads) if isinstance(reads, list) else None


def read_chapter(path: Path):
    """A chapter as the notebook myst-nb will see (so its cache key matches): .ipynb, or MyST Markdown."""
    import nbformat

    text = read_source(path)
    if path.suffix == ".ipynb":
        return nbformat.reads(text, as_version=4)
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(text, path=path)


def find_root(start: Path | None = None) -> Path:
    """The review root above ``start`` (default: the working directory, a chapter's folder in a build)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists() and (folder / "data").is_dir():
            return folder
    raise FileNotFoundError(f"no review root (with _toc.yml and data/) above {here}")
