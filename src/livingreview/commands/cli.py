"""The ``livingreview`` command: validate, stats, build."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import os
import sys
from pathlib import Path

import click

from livingreview.checking.evidence import load
from livingreview.checking.validate import check
from livingreview.model.errors import Problem, Severity, UsageError, ValidationError

ROOT_OPTION = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Root folder of the review (holds data/ and references.bib).",
)


def _report(problems, err: bool = False) -> tuple[int, int]:
    errors = sum(p.severity is Severity.ERROR for p in problems)
    for p in problems:
        click.echo(str(p), err=err)
    return errors, len(problems) - errors


@contextlib.contextmanager
def _refused(rejected: str, err: bool = False):
    """A UsageError as click's (exit 2); a ValidationError as its located lines, then 'rejected: ...' (exit 1).

    ``rejected`` may name ``{errors}``, the number of errors.
    """
    try:
        yield
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    except ValidationError as exc:
        _report(exc.errors, err=err)
        click.echo("rejected: " + rejected.format(errors=len(exc.errors)), err=err)
        sys.exit(1)


def _tables(root: Path) -> dict:
    """The review's declared tables; its review.yml's located errors (exit 1) if it cannot be read."""
    from livingreview.model.declarations import load

    with _refused("the review's declarations cannot be read"):
        return load(root).tables


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="livingreview")
def main() -> None:
    """A living review: validated evidence tables, declared in review.yml, built into a book."""
    # what is imported by now lives until exit: the collector need not scan it again, nor at exit
    gc.freeze()


#: the most a Markdown report holds: GitHub refuses a job summary over 1 MiB (and then shows nothing at all)
MARKDOWN_LIMIT = 500_000


def markdown_report(lines: list[str], title: str = "Validation", limit: int = MARKDOWN_LIMIT) -> str:
    """``lines`` as a Markdown section (for a CI job summary) in a code block that no line can close.

    Past ``limit`` characters the first lines are kept, with how many were left out (the last line, the summary,
    always stays).
    """
    from livingreview.publishing.render import fenced

    kept, size = [], len(lines[-1]) if lines else 0
    for line in lines[:-1]:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    left = len(lines) - 1 - len(kept)
    if left > 0:
        kept.append(f"... and {left:,} more (run livingreview validate locally to see every problem)")
    return f"## {title}\n\n{fenced([*kept, *lines[-1:]])}"


@main.command()
@ROOT_OPTION
@click.option("--quiet", "-q", is_flag=True, help="Print errors only, no warnings.")
@click.option("--markdown", is_flag=True, help="Print the report as a Markdown section (for a CI job summary).")
@click.option("--claims", is_flag=True, help="Also fail for a claim whose certainty fell below its 'expected'.")
@click.option("--review", is_flag=True,
              help="Also warn about rows that look mis-graded, mis-sourced or duplicated (the review check).")
def validate(root: Path, quiet: bool, markdown: bool, claims: bool, review: bool) -> None:
    """Check every table and the library; print PATH:LINE:COLUMN: message for each problem."""
    checked = check(root, frames=claims or review)
    extra: list[Problem] = []
    if claims and not checked.errors:
        from livingreview.analysis.summaries import expectation_problems

        extra += expectation_problems(root, checked)
    if review and not checked.errors:
        from livingreview.checking.review import review_problems

        extra += review_problems(checked.frames, checked.declarations.tables, checked.declarations.findings)
    if extra:
        checked = dataclasses.replace(checked, problems=sorted(checked.problems + extra, key=Problem.sort_key))
    shown = checked.errors if quiet else checked.problems
    errors = sum(p.severity is Severity.ERROR for p in shown)
    rows = sum(checked.rows.values())
    if errors:
        summary = (f"invalid: {errors} error(s), {len(checked.warnings)} warning(s) "
                   f"in {len(checked.rows)} table(s), {rows} row(s), {len(checked.library)} reference(s)")
    else:
        summary = (f"valid: {len(checked.rows)} tables, {rows} rows, {len(checked.library)} references, "
                   f"{len(checked.warnings)} warning(s)")
    lines = [str(p) for p in shown] + [summary]
    click.echo(markdown_report(lines) if markdown else "\n".join(lines))
    sys.exit(1 if errors else 0)


def _load_or_exit(root: Path):
    try:
        return load(root)
    except ValidationError as exc:
        _report(exc.errors, err=True)
        click.echo(f"invalid: {len(exc.errors)} error(s); run 'livingreview validate' for details", err=True)
        sys.exit(1)


@main.command()
@ROOT_OPTION
def stats(root: Path) -> None:
    """Print rows per table, references and citation coverage."""
    from livingreview.analysis.summaries import status, table_counts

    ev = _load_or_exit(root)
    counts = table_counts(ev)
    click.echo(counts.to_string(index=False))
    click.echo("")
    for key, value in status(ev).items():
        if isinstance(value, list):
            value = ", ".join(value) or "none"
        click.echo(f"{key}: {value}")


@main.command()
@ROOT_OPTION
@click.option("--pdf/--no-pdf", default=True, show_default=True,
              help="Also print the whole book to download/SLUG.pdf (SLUG: review.yml's) with headless Chromium, "
                   "linked from every page (skipped, with a note, where no Chromium is installed).")
def build(root: Path, pdf: bool) -> None:
    """Validate, then build the book with warnings as errors (and its PDF)."""
    from livingreview.model.declarations import identity
    from livingreview.publishing.book import STATE, build_book
    from livingreview.publishing.pdf import find_browser, print_pdf

    ev = _load_or_exit(root)
    if pdf:
        try:
            find_browser()
        except UsageError as exc:
            click.echo(f"note: no PDF this time: {exc}", err=True)
            pdf = False
    try:
        code = build_book(root, pdf=pdf, ev=ev)
        if code == 0 and pdf:
            build_dir = root.resolve() / "_build"
            out = build_dir / "html" / "download" / identity(root).pdf_name
            if out.exists() and out.stat().st_mtime >= (build_dir / STATE).stat().st_mtime:
                click.echo(f"pdf: {out.relative_to(root.resolve())} is up to date")
            else:
                printed = print_pdf(root, build_dir / ".config.stamped.yml")
                click.echo(f"pdf: {printed.path.relative_to(root.resolve())} ({printed.bytes / 1e6:.1f} MB, "
                           f"{printed.seconds:.0f} s)")
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    sys.exit(code)


def _parse_sets(sets: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in sets:
        if "=" not in item:
            raise click.UsageError(f"--set expects COLUMN=VALUE, got '{item}'")
        column, value = item.split("=", 1)
        values[column.strip()] = value
    return values


def _prompt_row(table) -> dict[str, str]:
    from livingreview.curation.add import AUTOMATIC
    from livingreview.model.schema import Kind

    values: dict[str, str] = {}
    click.echo(f"New row for {table.path} (id and date are filled in automatically).")
    for col in table.columns:
        if col.name in AUTOMATIC:
            continue
        hint = f"{col.description} Expected: {col.expected}."
        click.echo(click.style(col.name, bold=True) + f": {hint}")
        if col.kind is Kind.VOCAB and not col.multi and col.vocab is not None:
            choice = click.Choice(col.vocab.values)
            value = click.prompt(col.name, type=choice, default="" if not col.always_required else None,
                                 show_choices=False)
        else:
            value = click.prompt(col.name, default="", show_default=False)
        values[col.name] = value
    return values


@main.command()
@click.argument("table")
@ROOT_OPTION
@click.option("--set", "sets", multiple=True, metavar="COLUMN=VALUE", help="A column value; repeat for each column.")
@click.option("--dry-run", is_flag=True, help="Validate and show the row, but write nothing.")
def add(table: str, root: Path, sets: tuple[str, ...], dry_run: bool) -> None:
    """Append one validated row to TABLE (one of the tables review.yml declares)."""
    from livingreview.curation.add import add_row

    tables = _tables(root)
    if table not in tables:
        raise click.UsageError(f"unknown table '{table}'; expected one of: {', '.join(tables)}")
    if sets:
        values = _parse_sets(sets)
    elif sys.stdin.isatty():
        values = _prompt_row(tables[table])
    else:
        raise click.UsageError("give the row as --set COLUMN=VALUE ... (or run in a terminal to be prompted)")
    with _refused("{errors} error(s); nothing was written"):
        result = add_row(root, table, values, dry_run=dry_run)
    verb = "would add" if dry_run else "added"
    click.echo(f"{verb} {result.row['id']} at {result.path}:{result.line}")
    for column, value in result.row.items():
        click.echo(f"  {column}: {value}")


@main.command(name="cite")
@click.argument("identifier")
@ROOT_OPTION
@click.option("--dry-run", is_flag=True, help="Show the entry, but write nothing.")
@click.option("--offline", is_flag=True, help="Use only cached responses; never touch the network.")
def cite_command(identifier: str, root: Path, dry_run: bool, offline: bool) -> None:
    """Add a BibTeX entry for a DOI or PMID (Crossref / PubMed metadata, cached under cache/)."""
    from livingreview.curation.cite import CiteError, cite

    try:
        with _refused("the new entry would make references.bib invalid; nothing was written", err=True):
            result = cite(root, identifier, dry_run=dry_run, offline=offline)
    except CiteError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    verb = "would add" if dry_run else "added"
    click.echo(f"{verb} '{result.key}' to references.bib (metadata from {result.source}); "
               "check it against the published record before citing it")
    click.echo(result.entry, nl=False)


@main.command()
@ROOT_OPTION
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for the data package: new, empty, or one this command wrote (then replaced whole).")
@click.option("--force", is_flag=True, help="Add the package's files to a non-empty folder; nothing else in it is "
                                            "removed.")
def export(root: Path, out: Path, force: bool) -> None:
    """Write a Frictionless data package: datapackage.json, the CSVs, references (BibTeX, CSV, CSL-JSON)."""
    from livingreview.publishing.export import check_out, export_package

    try:
        check_out(root, out, force)
        _load_or_exit(root)
        path = export_package(root, out, force=force)
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"wrote {path}")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--title", help="The review's title (with --from-datapackage: instead of the package's).")
@click.option("--slug", help="Lower case words joined by '-' that name the published files; from the title if not "
                             "given.")
@click.option("--author", help="Who the review names as its authors; 'The TITLE contributors' if not given.")
@click.option("--from-datapackage", "package", type=click.Path(path_type=Path),
              help="A Frictionless datapackage.json (or its folder): its resources become the review's tables.")
def new(directory: Path, title: str | None, slug: str | None, author: str | None, package: Path | None) -> None:
    """Start a review in DIRECTORY (new or empty): declarations, tables, library, chapters, book and CI files."""
    from livingreview.commands.scaffold import new as scaffold
    from livingreview.commands.scaffold import new_from_datapackage

    if package is None and not title:
        raise click.UsageError("give the review a --title (or start from a data package: --from-datapackage PATH)")
    with _refused("nothing was written", err=True):
        written = (new_from_datapackage(directory, package, title, slug) if package is not None
                   else scaffold(directory, title, slug, author))
    click.echo(f"wrote {len(written)} files into {directory}")
    with _refused("the new review does not validate yet; fix the lines above", err=True):
        report = check(directory)
        if report.errors:
            raise ValidationError(list(report.errors))
    click.echo(f"valid; next: cd {directory} && livingreview build")


@main.command()
@click.argument("version")
@ROOT_OPTION
def release(version: str, root: Path) -> None:
    """Cut release VERSION (e.g. 2026.12): snapshot the evidence and every claim's status under releases/."""
    from livingreview.analysis.history import cut_release

    with _refused("the review is invalid; no release was written", err=True):
        path = cut_release(root, version)
    click.echo(f"released {version}: {path}; CITATION.cff and CHANGELOG.md dated (commit all three)")


@main.command()
@click.argument("table")
@click.argument("row_id", metavar="ID")
@ROOT_OPTION
@click.option("--set", "sets", multiple=True, required=True, metavar="COLUMN=VALUE", help="A new value; repeatable.")
@click.option("--dry-run", is_flag=True, help="Validate and show the diff, but write nothing.")
def edit(table: str, row_id: str, root: Path, sets: tuple[str, ...], dry_run: bool) -> None:
    """Correct one row of TABLE: other rows stay byte-identical; validated with the whole review first."""
    from livingreview.curation.edit import edit_row

    _change(lambda: edit_row(root, table, row_id, _parse_sets(sets), dry_run=dry_run), dry_run,
            ("edited {id} in {path}", "would edit {id} in {path}"))


@main.command()
@click.argument("table")
@click.argument("row_id", metavar="ID")
@ROOT_OPTION
@click.option("--reason", required=True, help="Why the row is withdrawn (recorded in data/withdrawn.csv).")
@click.option("--dry-run", is_flag=True, help="Validate and show the diff, but write nothing.")
def withdraw(table: str, row_id: str, root: Path, reason: str, dry_run: bool) -> None:
    """Take one row out of the evidence, recording it in data/withdrawn.csv; its id is never used again."""
    from livingreview.curation.edit import withdraw_row

    _change(lambda: withdraw_row(root, table, row_id, reason, dry_run=dry_run), dry_run,
            ("withdrew {id} from {path} into data/withdrawn.csv", "would withdraw {id} from {path} into "
             "data/withdrawn.csv"))


def _change(run, dry_run: bool, said: tuple[str, str]) -> None:
    """Run an edit or a withdrawal and say what it did, or (``said[1]``, a dry run) what it would do."""
    with _refused("{errors} error(s); nothing was written"):
        change = run()
    click.echo(change.diff, nl=False)
    if not change.diff:
        click.echo(f"no change to {change.row_id}")
        return
    text = said[1 if dry_run else 0].format(id=change.row_id, path=f"data/{change.table}.csv")
    click.echo(f"{text} (dry run: nothing was written)" if dry_run else text)


@main.command()
@click.argument("tables", nargs=-1, metavar="[TABLE]...")
@ROOT_OPTION
@click.option("--dry-run", is_flag=True, help="Say what would change, but write nothing.")
def tidy(tables: tuple[str, ...], root: Path, dry_run: bool) -> None:
    """Rewrite tables saved by a spreadsheet in canonical form: no BOM, no empty rows, one line ending, declared
    column order. Nothing else changes; a canonical file is left as it is."""
    from livingreview.curation.tidy import tidy_table

    for name in tables or tuple(_tables(root)):
        try:
            result = tidy_table(root, name, dry_run=dry_run)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None
        if result.changes:
            click.echo(f"{result.path}: {'would be ' if dry_run else ''}" + "; ".join(result.changes))
        else:
            click.echo(f"{result.path}: already canonical")


@main.command()
@ROOT_OPTION
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
def serve(root: Path, port: int) -> None:
    """Build, serve the book on 127.0.0.1, and rebuild and reload the open page whenever an input changes."""
    from livingreview.commands.serve import serve as run

    def restart() -> None:
        # the same command in a fresh interpreter, on the same port, with the new package
        os.execv(sys.executable, [sys.executable, sys.argv[0], *sys.argv[1:]])

    try:
        run(root, port, say=lambda text: click.echo(text), restart=restart)
    except OSError as exc:
        raise click.UsageError(f"cannot serve on 127.0.0.1:{port} ({exc.strerror or exc}); try --port 0") from None
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None


@main.command(name="search")
@click.argument("query")
@click.option("--source", type=click.Choice(["pubmed"]), default="pubmed", show_default=True,
              help="Database to search (PubMed through E-utilities).")
@click.option("--max", "limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="How many records (newest first) to record for screening.")
@ROOT_OPTION
@click.option("--offline", is_flag=True, help="Use only a cached response under cache/search/; never the network.")
@click.option("--refresh", is_flag=True, help="Ask PubMed anew even if a response is cached (needs the network).")
@click.option("--dry-run", is_flag=True, help="Validate and report, but write nothing.")
def search_command(query: str, source: str, limit: int, root: Path, offline: bool, refresh: bool,
                   dry_run: bool) -> None:
    """Run QUERY, record it in data/searches.csv and append its records to data/screening.csv as pending
    (a record the ledger already holds is recorded as its duplicate). A cached response is replayed, dated the
    day PubMed returned it, and says so; --refresh searches PubMed again."""
    from livingreview.curation.search import run_search

    with _refused("nothing was written", err=True):
        run = run_search(root, source, query, limit, offline=offline, dry_run=dry_run, refresh=refresh)
    if run.cached:
        what = (f"a replay of {run.replay_of}" if run.replay_of else "recorded for the first time")
        click.echo(f"cached response ({run.cached}), returned by PubMed on {run.retrieved}: {what}. PubMed was not "
                   f"searched now: the log row is dated {run.retrieved} (the day it answered), so the review's last "
                   "search does not move to today (--refresh searches PubMed anew)")
    verb = "would record" if dry_run else "recorded"
    click.echo(f"{verb} {run.search_id}: {run.total} hit(s); {len(run.new)} new record(s) awaiting screening, "
               f"{len(run.duplicates)} duplicate(s) of records already in the ledger")
    if run.new and not dry_run:
        click.echo("screen them with: livingreview screen")


def _screen_one(root: Path, record_id: str, values: dict[str, str], dry_run: bool) -> None:
    from livingreview.curation.edit import edit_row

    _change(lambda: edit_row(root, "screening", record_id, values, dry_run=dry_run), dry_run, "screened")


@main.command(help="Record a screening decision: for ID with --include or --exclude REASON, or, with no ID, one "
                   "pending record after another at the terminal. Exclusion reasons: the terms of the screening "
                   "table's reason vocabulary in review.yml.")
@click.argument("record_id", metavar="[ID]", required=False)
@ROOT_OPTION
@click.option("--include", "decision", flag_value="include", help="Include the record.")
@click.option("--exclude", "reason", metavar="REASON", help="Exclude the record, for REASON (see below).")
@click.option("--stage", type=click.Choice(["title_abstract", "full_text"]), default=None,
              help="How far the record was read (default: as recorded).")
@click.option("--citekey", default="", help="For an inclusion: the library entry it became.")
@click.option("--screener", default=None, help="Who decides (default: $LIVINGREVIEW_SCREENER or $USER).")
@click.option("--dry-run", is_flag=True, help="Validate and show the diff, but write nothing.")
def screen(record_id: str | None, root: Path, decision: str | None, reason: str | None, stage: str | None,
           citekey: str, screener: str | None, dry_run: bool) -> None:
    import os

    who = screener or os.environ.get("LIVINGREVIEW_SCREENER") or os.environ.get("USER") or ""
    if record_id:
        if bool(decision) == bool(reason):
            raise click.UsageError("give exactly one of --include or --exclude REASON")
        values = {"decision": "include" if decision else "exclude", "reason": reason or "", "screener": who,
                  "screened": dt.date.today().isoformat(), "citekey": citekey}
        if stage:
            values["stage"] = stage
        _screen_one(root, record_id, values, dry_run)
        return
    if decision or reason:
        raise click.UsageError("give the record's ID with --include or --exclude")
    if not sys.stdin.isatty():
        raise click.UsageError("no ID given and no terminal to ask at; give ID with --include or --exclude REASON")
    checked = check(root)
    if checked.errors:
        _report(checked.errors)
        sys.exit(1)
    ledger = checked.frames["screening"]
    pending = [row for _, row in ledger.iterrows() if row["decision"] == "pending"]
    if not pending:
        click.echo("no records awaiting screening")
        return
    reason_vocab = checked.declarations.tables["screening"].column("reason").vocab
    reasons = reason_vocab.values
    for number, row in enumerate(pending, 1):
        click.echo(f"\n[{number}/{len(pending)}] {row['id']}  {row['title']}")
        click.echo("  " + "  ".join(f"{k}: {row[k]}" for k in ("year", "doi", "pmid") if isinstance(row[k], str)))
        answer = click.prompt("  include, exclude, skip or quit", type=click.Choice(["i", "e", "s", "q"]),
                              show_choices=True)
        if answer == "q":
            break
        if answer == "s":
            continue
        values = {"decision": "include" if answer == "i" else "exclude", "screener": who,
                  "screened": dt.date.today().isoformat()}
        if answer == "e":
            for i, term in enumerate(reasons, 1):
                click.echo(f"    {i}. {term}: {reason_vocab.label(term)}")
            values["reason"] = reasons[click.prompt("  reason", type=click.IntRange(1, len(reasons))) - 1]
        else:
            values["citekey"] = click.prompt("  citekey of its library entry (empty while awaiting extraction)",
                                             default="", show_default=False)
        _screen_one(root, str(row["id"]), values, dry_run)
