"""Export as a Frictionless data package: every table with a schema generated from the one declared schema."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from livingreview import __version__
from livingreview.checking.bib import BIB_PATH, Library
from livingreview.checking.evidence import Evidence, fingerprint, load
from livingreview.model.datapackage import LICENCE_URLS, NS, to_descriptor, to_field, to_table_schema
from livingreview.model.errors import UsageError
from livingreview.model.fileio import atomic_write, mark_folder, owned, umask
from livingreview.model.schema import FORMULA_PREFIXES, Column, Table

#: the file that marks a folder as a data package this command wrote (and so may replace)
MARKER = ".livingreview-package"
#: inside the review root, packages go only here (or into a folder that does not exist yet)
BUILD_FOLDER = "_build"


def field_descriptor(col: Column, table: Table) -> dict:
    """A Frictionless Table Schema field for ``col``: type, description, constraints, categories and the engine's
    own properties (``datapackage.to_field``)."""
    return to_field(col, table)


def table_schema(table: Table) -> dict:
    """The Frictionless Table Schema of ``table`` (``datapackage.to_table_schema``)."""
    return to_table_schema(table)


def _neutral(cell: str) -> str:
    # a spreadsheet runs a cell starting with one of these as a formula; a leading quote makes it text
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) and not re.fullmatch(r"-?\d+(\.\d+)?", cell) else cell


def _csv(rows: list[list[str]]) -> bytes:
    """Every exported CSV goes through here: each cell formula-neutralised, one way for every file."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[_neutral(c) for c in row] for row in rows])
    return out.getvalue().encode("utf-8")


def _table_rows(root: Path, table: Table) -> list[list[str]]:
    path = root / table.path
    if not path.exists():  # an optional table the review does not keep (validation refused any other): no rows
        return [table.column_names]
    text = path.read_text(encoding="utf-8")
    return [row for row in csv.reader(io.StringIO(text, newline="")) if row]


def references_rows(library: Library) -> list[list[str]]:
    """The library as a flat table: key, authors, title, journal, year, DOI, PMID, URL, retracted."""
    header = ["key", "authors", "title", "journal", "year", "doi", "pmid", "url", "retracted"]
    rows = [header]
    for key in sorted(library.references):
        r = library[key]
        rows.append([key, r.fields.get("author", ""), r.title, r.venue, str(r.year or ""), r.doi, r.pmid, r.url,
                     "yes" if r.retracted else ""])
    return rows


def csl_json(library: Library) -> list[dict]:
    """The library as CSL-JSON items."""
    items = []
    for key in sorted(library.references):
        r = library[key]
        item: dict = {"id": key, "type": "article-journal", "title": r.title, "container-title": r.venue,
                      "author": [{"family": last, "given": first} for last, first in r.authors]}
        if r.year:
            item["issued"] = {"date-parts": [[r.year]]}
        for field, name in (("volume", "volume"), ("number", "issue"), ("pages", "page")):
            if r.fields.get(field):
                item[name] = r.fields[field]
        if r.doi:
            item["DOI"] = r.doi
        if r.pmid:
            item["PMID"] = r.pmid
        if r.pmcid:
            item["PMCID"] = r.pmcid
        items.append(item)
    return items


def descriptor(ev: Evidence) -> dict:
    """The ``datapackage.json`` descriptor."""
    # the review's own declarations travel with it, so that `livingreview new --from-datapackage` gives them back
    declared = to_descriptor(ev.declarations) if ev.declarations is not None else {"resources": [],
                                                                                   "contributors": []}
    resources = declared["resources"]
    ref_fields = [{"name": n, "type": "string"} for n in
                  ("key", "authors", "title", "journal", "year", "doi", "pmid", "url", "retracted")]
    resources.append({"name": "references", "title": "References", "path": "references.csv", NS + "library": True,
                      "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv",
                      "encoding": "utf-8", "schema": {"fields": ref_fields, "primaryKey": ["key"],
                                                      "missingValues": [""]}})
    resources.append({
        "name": "citations", "title": "Which row cites which reference", "path": "citations.csv", NS + "library": True,
        "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "schema": {"fields": [{"name": "table", "type": "string", "constraints": {"enum": list(ev.declared)}},
                              {"name": "row_id", "type": "string"}, {"name": "citekey", "type": "string"}],
                   "missingValues": [""],
                   "foreignKeys": [{"fields": ["citekey"], "reference": {"resource": "references",
                                                                        "fields": ["key"]}}]},
    })
    who = ev.identity
    licences = [{"name": who.licence, **({"path": LICENCE_URLS[who.licence]} if who.licence in LICENCE_URLS else {})}]
    return {"name": who.slug, "title": f"{who.title}: evidence tables", "version": __version__,
            "licenses": licences if who.licence else [],
            "description": f"The evidence tables of {who.title}, each row citing papers of its library.",
            "fingerprint": ev.fingerprint, "profile": "tabular-data-package",
            "contributors": declared["contributors"],
            **{key: value for key, value in declared.items() if key.startswith(NS)}, "resources": resources}


#: top-level folders of a review that hold its sources, history or tools: never an export target
OWN_FOLDERS = frozenset({"data", "chapters", "_static", "_templates", "releases", "cache", "src", "tests",
                         "benchmarks", ".git", ".github", ".venv"})


def own_folders(root: Path) -> frozenset[str]:
    """The review's own top-level folders: the fixed ones, and those of its tables and of every page of its TOC."""
    from livingreview.checking.layout import toc_sources

    real_root = Path(os.path.realpath(root))
    tops = {"data"}  # every table is a file under data/
    try:
        pages = toc_sources(real_root)
    except Exception:  # an unreadable TOC is validate's business; the fixed folders still hold
        pages = []
    tops |= {p.relative_to(real_root).parts[0] for p in pages
             if real_root in p.parents and len(p.relative_to(real_root).parts) > 1}
    return frozenset(OWN_FOLDERS | tops)


def check_out(root: Path, out: Path, force: bool = False) -> Path:
    """``out`` resolved, or a UsageError when writing a package there could destroy what this command did not write.

    Refused: the review root, a folder that contains it, anything inside it other than under ``_build/`` or a
    new folder, a path that is not a folder, and a non-empty folder without this command's marker (unless
    ``force``, which writes the package's files into it and removes nothing).
    """
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(out))
    if real == real_root or real in real_root.parents:
        raise UsageError(f"--out {out} is the review root or contains it; choose a new folder for the package")
    if real_root in real.parents:
        top = real.relative_to(real_root).parts[0]
        if top in own_folders(real_root):
            raise UsageError(f"--out {out} is the review's own folder {top}/, which export never replaces (a marker "
                             f"file there proves nothing: a pull request can commit one); write the package under "
                             f"{BUILD_FOLDER}/ or into a new folder")
        if top != BUILD_FOLDER and (real_root / top).exists() and not (real == real_root / top and
                                                                       (real / MARKER).exists()):
            raise UsageError(f"--out {out} lies inside the review's own files ({top}/); inside the review root "
                             f"write the package under {BUILD_FOLDER}/ or into a new folder")
    if real.exists() and not real.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if not owned(real, MARKER) and not force:
        raise UsageError(f"--out {out} is a non-empty folder that livingreview export did not write; choose "
                         "a new or empty folder, or pass --force to add the package's files to it (nothing "
                         "else in it is removed)")
    return real


def export_package(root: Path, out: Path, force: bool = False, ev: Evidence | None = None) -> Path:
    """Write the data package for the review under ``root`` into ``out``; return the descriptor's path.

    ``out`` is checked first (:func:`check_out`); only a folder this command wrote is ever replaced. ``ev`` is the
    review's validated evidence, loaded here when not given or when the files changed since.
    """
    root = Path(root)
    out = check_out(root, Path(out), force)
    if ev is None or ev.fingerprint != fingerprint(root):  # the package holds the files as they were validated
        ev = load(root)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        _write_package(root, ev, staging)
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out / "datapackage.json"


def _publish(staging: Path, out: Path) -> None:
    """Move the finished package to ``out`` in one step where ``out`` is ours, file by file where forced."""
    if out.exists() and not (out / MARKER).exists() and any(out.iterdir()):
        # --force into a folder we did not write: add our files, remove nothing
        # the marker stays out: the folder remains theirs, and a later export must not replace it whole
        moves = [(p, out / p.relative_to(staging)) for p in sorted(staging.rglob("*")) if p.name != MARKER]
        for path, target in moves:
            if target.is_symlink() or (target.exists() and target.is_dir() != path.is_dir()):
                raise UsageError(f"{target} is in the way of the package's {path.relative_to(staging)}; "
                                 "nothing was changed")
        for path, target in moves:
            if path.is_dir():
                target.mkdir(exist_ok=True)
            else:
                os.replace(path, target)
        return
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.rmdir(old)
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old)
    else:
        staging.rename(out)


def _write_package(root: Path, ev: Evidence, staging: Path) -> None:
    os.chmod(staging, 0o777 & ~umask())
    mark_folder(staging, MARKER)
    (staging / "data").mkdir()
    for table in ev.declared.values():
        (staging / table.path).write_bytes(_csv(_table_rows(root, table)))
    (staging / "references.csv").write_bytes(_csv(references_rows(ev.library)))
    citations = [["table", "row_id", "citekey"]]
    for name, df in ev.tables.items():
        if "citekeys" in df.columns:
            citations += [[name, row_id, key] for row_id, keys in zip(df["id"], df["citekeys"], strict=True)
                          for key in keys]
    (staging / "citations.csv").write_bytes(_csv(citations))
    shutil.copyfile(root / BIB_PATH, staging / "references.bib")
    (staging / "references.csl.json").write_text(json.dumps(csl_json(ev.library), indent=1, ensure_ascii=False),
                                                 encoding="utf-8")
    atomic_write(staging / "datapackage.json",
                 json.dumps(descriptor(ev), indent=1, ensure_ascii=False).encode("utf-8"))
