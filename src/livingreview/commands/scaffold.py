"""``livingreview new``: a new review that validates and builds at once, from nothing or from a data package.

A review is a folder of data and declarations, never a fork of another review: ``review.yml``, one CSV per table
under ``data/``, ``references.bib``, an introduction, one generic chapter per table, ``_toc.yml``, ``_config.yml``
and a CI workflow. ``new`` writes only into a folder that does not exist or is empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import yaml

from livingreview import __version__
from livingreview.model.datapackage import DESCRIPTOR, NS, convert, line_of, parse
from livingreview.model.declarations import DECLARATIONS, SLUG_RE, Declarations, Identity, Roles, dump, read
from livingreview.model.errors import Problem, UsageError, ValidationError
from livingreview.model.schema import Column, Kind, Table

#: the starter table of a review made from nothing: one row per study, its citation, its finding, when it came in
STARTER = Table("studies", "Studies", "STUDY", "One row per finding of a published study.", (
    Column("id", Kind.ID, "Stable row id, 'STUDY-' and four to nine digits; never reused."),
    Column("citekeys", Kind.CITEKEYS, "BibTeX keys of the studies the finding rests on.", multi=True),
    Column("finding", Kind.TEXT, "The finding, in one plain sentence."),
    Column("added", Kind.DATE, "Date the row entered the review (ISO)."),
))


def slugify(title: str) -> str:
    """A slug for ``title``: its ASCII letters and digits in lower case, words joined by '-'."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "living-review"


def check_target(target: Path) -> None:
    """Refuse (``UsageError``) a target that exists and is not an empty folder: ``new`` never overwrites."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UsageError(f"{target} exists and is not a folder; choose a new or empty folder for the review")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; livingreview new writes only into a new or empty folder "
                         "(nothing was written)")


# --- the files ----------------------------------------------------------------------------------------------------

def config_yml(identity: Identity) -> str:
    """``_config.yml``: the review's own choices (the engine brings its settings: ``layout.ENGINE_CONFIG``)."""
    # Sphinx's themes insert the title and author into pages as markup (and escape them again in <title>): what
    # would be read as a tag or an entity is escaped, a plain '&' is left as browsers read it
    own = yaml.safe_dump({"title": _markup_safe(identity.title), "author": _markup_safe(identity.contributors),
                          "copyright": str(dt.date.today().year)}, sort_keys=False, allow_unicode=True, width=118)
    return ("# This review's own choices; the engine's settings (chapters, library, extension, theme options) come "
            "from\n# livingreview itself, and any key here overrides them.\n" + own)


#: the appendix's page: the engine's row links and the explorer's print note point there
APPENDIX = "12_appendix"


def _markup_safe(text: str) -> str:
    """``text`` with '<', '>' and any '&' that starts an entity escaped, for a setting a theme inserts as markup."""
    text = re.sub(r"&(?=#?[A-Za-z0-9]+;)", "&amp;", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def toc_yml(tables: list[str], appendix: bool) -> str:
    """``_toc.yml``: the introduction, one chapter per table, the appendix of every row, the bibliography."""
    chapters = "".join(f"  - file: chapters/{i:02d}_{name}\n" for i, name in enumerate(tables, start=1))
    chapters += f"  - file: chapters/{APPENDIX}\n" if appendix else ""
    return f"format: jb-book\nroot: chapters/intro\nchapters:\n{chapters}  - file: chapters/bibliography\n"


def intro_md(identity: Identity, decl: Declarations) -> str:
    """The introduction: the review's title and what its tables hold, from its declarations."""
    lines = [f"# {_md(identity.title)}", "",
             "This living review keeps its evidence as tables of data, each row citing published studies. "
             "Every table and chart in this book is regenerated from the data whenever the book is built.", ""]
    for table in decl.tables.values():
        lines.append(f"- **{_md(table.title)}**: {_md(table.description)}" if table.description
                     else f"- **{_md(table.title)}**")
    return "\n".join(lines).rstrip() + "\n"


BIBLIOGRAPHY_MD = "# Bibliography\n\nEvery study cited in this book.\n\n```{bibliography}\n```\n"


def _md(text: str) -> str:
    """``text`` as literal Markdown (a declared title may hold characters Markdown reads as markup)."""
    from livingreview.publishing.render import escape_md

    return escape_md(text)


def _cells(*cells: tuple) -> list[dict]:
    """Notebook cells from (kind, source[, tags]) tuples, with the ids nbformat 4.5 asks for."""
    return [{**_cell(*c), "id": f"cell-{i}"} for i, c in enumerate(cells, start=1)]


def _cell(kind: str, source: str, tags: tuple[str, ...] = ()) -> dict:
    cell: dict = {"cell_type": kind, "metadata": {"tags": list(tags)} if tags else {}, "source": source}
    if kind == "code":
        cell.update({"execution_count": None, "outputs": []})
    return cell


def chapter_notebook(decl: Declarations, name: str, explorer: bool) -> dict:
    """A generic chapter for table ``name``: its rows (grouped by its group column, if any), and the explorer of
    every finding when ``explorer``; committed without outputs."""
    table = decl.tables[name]
    shown = [c.name for c in table.columns if c.name not in ("id", "citekeys", "added")]
    # grouped findings link a group too long for the page to its rows in the appendix, which lists findings
    group = decl.roles.group(name) if name in decl.roles.findings else None
    if "citekeys" in table.column_names:
        frame = f"summaries.summary(ev, {name!r}, {['id', *shown]!r}{f', sort=[{group!r}]' if group else ''})"
        labels = {"id": "Row", "citekeys": "Studies"}
        show = (f"chapter.grouped_table({frame}, {group!r}, labels={labels!r})" if group
                else f"chapter.table({frame}, labels={labels!r})")
    else:
        show = f"chapter.table(ev[{name!r}], cite_column=None)"
    cells = [("markdown", f"# {_md(table.title)}\n\n{_md(table.description)}".rstrip()),
             ("code", "from livingreview import chapter, summaries\n\nev = chapter.evidence()", ("remove-input",)),
             ("code", show, ("remove-input",))]
    reads = [name]
    if explorer:
        cells += [("markdown", "## Explore every finding"),
                  ("code", "chapter.explorer(summaries.explorer(ev))", ("remove-input",))]
        reads = list(dict.fromkeys([name, *decl.roles.findings]))
    return {"cells": _cells(*cells), "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}, "livingreview": {"reads": reads}}}


def appendix_notebook(decl: Declarations) -> dict:
    """The appendix: every finding, in full (the chapters and the explorer show a part at a time); it also registers
    every cited study with the bibliography."""
    cells = [("markdown", "# Appendix: every row\n\nEvery row of the review's tables, in full, with its "
                               "citation. Every row link in the book lands here."),
             ("code", "from livingreview import chapter\n\nev = chapter.evidence()\nchapter.cite_all(ev)",
              ("remove-input",))]
    cited = [n for n in decl.tables if n in decl.roles.findings]
    for name in cited:
        cells += [("markdown", f"## {_md(decl.tables[name].title)}"),
                  ("code", f"chapter.all_rows(ev, {name!r})", ("remove-input",))]
    return {"cells": _cells(*cells), "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}, "livingreview": {"reads": cited}}}


WORKFLOW = """\
name: Validate and build the review
on:
  push:
  pull_request:
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-24.04
    timeout-minutes: 45
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      # the engine, at the version this review was made with
      - run: pip install -r requirements.txt
      - run: livingreview validate --markdown >> "$GITHUB_STEP_SUMMARY"
      - run: livingreview build --no-pdf
      - uses: actions/upload-artifact@v4
        with:
          name: book
          path: _build/html
"""


def _csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def _write_review(target: Path, decl: Declarations, rows: dict[str, list[list[str]]], bib: bytes) -> list[Path]:
    """Write every file of the review into ``target`` (new or empty); return them in the order written."""
    files: dict[str, bytes] = {
        DECLARATIONS: dump(decl.identity, decl.tables, decl.roles, decl.certainty, library=decl.library,
                           synthesis=decl.synthesis).encode("utf-8"),
        "references.bib": bib,
        "_config.yml": config_yml(decl.identity).encode("utf-8"),
        "_toc.yml": toc_yml(list(decl.tables), appendix=bool(decl.roles.findings)).encode("utf-8"),
        "chapters/intro.md": intro_md(decl.identity, decl).encode("utf-8"),
        "chapters/bibliography.md": BIBLIOGRAPHY_MD.encode("utf-8"),
        "requirements.txt": f"livingreview=={__version__}\n".encode(),
        ".github/workflows/build.yml": WORKFLOW.encode("utf-8"),
        # what the build generates (the book, chart and explorer files, the chart library) is never committed
        ".gitignore": b"_build/\n.venv/\n_static/vendor/\n_static/figures/\n_static/data/\n",
    }
    first_findings = next((t for t in decl.tables if t in decl.roles.findings), None)
    for i, name in enumerate(decl.tables, start=1):
        files[decl.tables[name].path] = _csv_bytes(rows.get(name) or [decl.tables[name].column_names])
        notebook = chapter_notebook(decl, name, explorer=name == first_findings)
        files[f"chapters/{i:02d}_{name}.ipynb"] = (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()
    if decl.roles.findings:
        files[f"chapters/{APPENDIX}.ipynb"] = (json.dumps(appendix_notebook(decl), indent=1, ensure_ascii=False)
                                               + "\n").encode()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as fh:  # never overwrite, even a file that appeared since the check
            fh.write(data)
        written.append(path)
    return written


def new(target: Path, title: str, slug: str | None = None, author: str | None = None) -> list[Path]:
    """Write a new review into ``target`` (new or empty): one starter table ``studies``, empty, ready to fill."""
    target = Path(target)
    check_target(target)
    identity = _identity(title, slug, author)
    decl = Declarations(identity, {}, {"studies": STARTER}, Roles(findings=("studies",), finding="finding"))
    return _write_review(target, decl, {}, b"")


def _identity(title: str, slug: str | None, author: str | None) -> Identity:
    title = (title or "").strip()
    if not title:
        raise UsageError("--title is empty; a review needs a title")
    slug = slug if slug is not None else slugify(title)
    if not SLUG_RE.match(slug):
        raise UsageError(f"--slug {slug!r}: expected lower case words joined by '-', e.g. my-living-review")
    return Identity(title, slug, (author or f"The {title} contributors",), "CC-BY-4.0")


# --- from a data package ------------------------------------------------------------------------------------------

def _resource_rows(source: Path, resource: dict, where: str, lines: dict[str, int], table: Table,
                   added: bool, numbered: bool, today: str, path: str) -> list[list[str]]:
    """The rows of one resource's CSV, as the review's table holds them (an id and an added date if it had none)."""
    def at(message: str, key: str = where) -> Problem:
        return Problem(path, line_of(lines, key), key, message)

    rel = resource.get("path")
    if not isinstance(rel, str) or not rel:
        raise ValidationError([at("expected a path to the resource's CSV file (inline data is not read)",
                                  f"{where}.path")])
    if re.match(r"^[a-z][a-z0-9+.-]*:", rel, re.I) or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise ValidationError([at(f"path '{rel}' must be a file beside the descriptor (no URL, no '..')",
                                  f"{where}.path")])
    dialect = resource.get("dialect")
    if isinstance(dialect, dict) and dialect.get("delimiter", ",") != ",":
        raise ValidationError([at("expected a CSV file with ',' between fields", f"{where}.dialect")])
    file = source / rel
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ValidationError([at(f"cannot read the resource's file {rel}: {exc.strerror}", f"{where}.path")]) \
            from None
    except UnicodeDecodeError:
        raise ValidationError([Problem(rel, 1, "-", "not UTF-8 text; expected a UTF-8 CSV file")]) from None
    records = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    fields = [f.get("name") for f in resource["schema"]["fields"]]
    if not records or records[0] != fields:
        got = ", ".join(records[0]) if records else "nothing"
        raise ValidationError([Problem(rel, 1, "-", f"the header is {got}; expected the schema's fields: "
                                                    f"{', '.join(str(f) for f in fields)}")])
    body = records[1:]
    if numbered:
        body = [[f"{table.id_prefix}-{n:04d}", *r] for n, r in enumerate(body, start=1)]
    if added:
        body = [[*r, today] for r in body]
    return [table.column_names, *body]


def new_from_datapackage(target: Path, descriptor_path: Path, title: str | None = None,
                         slug: str | None = None) -> list[Path]:
    """Write a review into ``target`` (new or empty) from a Frictionless Data Package: its resources become the
    tables (their Table Schemas the declarations), their CSVs the data, a ``references.bib`` beside the
    descriptor the library. Problems are located errors in the descriptor or the files."""
    target, descriptor_path = Path(target), Path(descriptor_path)
    check_target(target)
    if descriptor_path.is_dir():
        descriptor_path = descriptor_path / DESCRIPTOR
    shown = descriptor_path.name
    try:
        text = descriptor_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--from-datapackage {descriptor_path}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ValidationError([Problem(shown, 1, "-", "not UTF-8 text")]) from None
    descriptor, lines = parse(text, shown)
    data, resources = convert(descriptor, shown, lines)
    today = dt.date.today().isoformat()
    data["review"] = {**data["review"], **({"title": title} if title else {})}
    if slug:
        data["review"]["slug"] = slug
    elif title or not SLUG_RE.match(str(data["review"].get("slug", ""))):
        data["review"]["slug"] = slugify(data["review"].get("title") or "")
    if not data["review"].get("title"):
        raise UsageError(f"{shown} has no title; pass --title")
    # a package from elsewhere: a table that cites the library and states each row's finding (a text column named
    # finding) holds findings, grouped on its page by its first vocabulary column
    needed = {("citekeys", "citekeys"), ("finding", "text")}
    findings = tuple(n for n, t in data["tables"].items() if needed <= {(c["name"], c["type"]) for c in t["columns"]})
    if "roles" not in data and NS + "review" not in descriptor and findings:
        groups = {n: next(c["name"] for c in data["tables"][n]["columns"] if c["type"] == "vocab") for n in findings
                  if any(c["type"] == "vocab" for c in data["tables"][n]["columns"])}
        data["roles"] = {"findings": list(findings), "finding": "finding", **({"groups": groups} if groups else {})}
    try:
        decl = read(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    except ValidationError as exc:
        raise ValidationError([Problem(shown, 1, p.column, p.message) for p in exc.errors]) from None
    source = descriptor_path.parent
    rows = {name: _resource_rows(source, r["resource"], f"resources[{r['index']}]", lines, decl.tables[name],
                                 r["dated"], r["numbered"], today, shown) for name, r in resources.items()}
    bib = source / "references.bib"
    return _write_review(target, decl, rows, bib.read_bytes() if bib.is_file() else b"")

