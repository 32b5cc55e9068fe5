"""What a chapter notebook calls: load the evidence once, show tables and charts."""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import pandas as pd
from IPython.display import HTML, Markdown

from livingreview.evidence import Evidence, load
from livingreview.layout import DATA_FILES, FIGURES, GENERATED_MARKER, find_root
from livingreview.render import chart_html, explorer_html, markdown_table, static_copy


class _RecordingTables(dict):
    """The evidence tables, appending the name of each one read to a log (to check declared reads)."""

    def __init__(self, tables, log: str):
        super().__init__(tables)
        self.log = log

    def __getitem__(self, name):
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
        return super().__getitem__(name)


_GIVEN: dict[Path, Evidence] = {}


def use_evidence(ev: Evidence) -> None:
    """Hand the build's already validated evidence to the chapter about to run (see ``execute``)."""
    _GIVEN[find_root()] = ev


def evidence() -> Evidence:
    """The review that contains the running chapter: the build's evidence, or loaded and validated here.

    With LIVINGREVIEW_READS_LOG set, every table the chapter reads is logged there, so tests can check that
    the tables a chapter declares in its metadata (which decide when it re-executes) are the ones it reads.
    """
    import dataclasses
    import os

    root = find_root()
    ev = _GIVEN.get(root) or load(root)
    log = os.environ.get("LIVINGREVIEW_READS_LOG")
    return dataclasses.replace(ev, tables=_RecordingTables(ev.tables, log)) if log else ev


def _generated_folder(rel: Path) -> Path:
    """The review's folder for generated files, marked as generated when this creates it."""
    from livingreview.fileio import mark_folder

    folder = find_root() / rel
    if not folder.exists():
        mark_folder(folder, GENERATED_MARKER)
    return folder


def table(df: pd.DataFrame, cite_column: str | None = "citekeys", labels: dict[str, str] | None = None) -> Markdown:
    """Show ``df`` as a MyST table whose citations link to the bibliography."""
    return Markdown(markdown_table(df, cite_column, labels))


#: set in a chapter's fork (``execute``): ``figure`` leaves its static copies here, for the build to draw where
#: vl-convert's runtime is already running, instead of starting one in every fork (half a second each)
DEFERRED: list[tuple[Path, dict]] | None = None


def figure(chart: alt.TopLevelMixin, name: str) -> HTML:
    """Show an interactive chart and write its static SVG copy next to the book, linked under it."""
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())
    spec = chart.to_dict()
    path = _generated_folder(FIGURES) / f"{slug}.svg"
    if DEFERRED is None:
        static_copy(path, spec)
    else:
        DEFERRED.append((path, spec))
    link = Path("..") / FIGURES / f"{slug}.svg"
    return HTML(chart_html(spec, slug, _chart_frame(chart, spec))
                + f'\n<p class="lr-figure-links">Static copy: <a href="{link.as_posix()}">SVG</a></p>')


def _chart_frame(chart: alt.TopLevelMixin, spec: dict | None = None) -> pd.DataFrame | None:
    """The DataFrame a chart (or its first layer) was made from, for its accessible data table: the columns the
    chart names for it (``figures.data_table``), under their human headers, or else every column but internal ones."""
    parts = (chart, *getattr(chart, "layer", ()), *getattr(chart, "vconcat", ()), *getattr(chart, "hconcat", ()))
    frames = [p.data for p in parts if isinstance(getattr(p, "data", None), pd.DataFrame)]
    if not frames:
        return None
    data = max(frames, key=len)  # a layered chart's reference line has a frame of its own, of one row
    usermeta = (spec if spec is not None else chart.to_dict(validate=False)).get("usermeta") or {}
    named = [(column, header) for column, header in usermeta.get("table", []) if column in data.columns]
    if named:
        return data[[column for column, _ in named]].set_axis([header for _, header in named], axis=1)
    data = data.drop(columns=[c for c in data.columns if str(c).startswith("_")], errors="ignore")
    return data.set_axis([str(c).replace("_", " ").capitalize() for c in data.columns], axis=1)


def entries(df: pd.DataFrame, head: str, facts: list[str], texts: list[str],
            labels: dict[str, str] | None = None) -> Markdown:
    """Show each row of ``df`` as a block (see ``render.entry_blocks``): one that fits a phone, unlike a wide table."""
    from livingreview.render import entry_blocks

    return Markdown(entry_blocks(df, head, facts, texts, labels))


def explorer(df: pd.DataFrame, name: str = "explorer") -> HTML:
    """Show the searchable, filterable, paged table of ``df``; its rows go to a JSON file next to the book."""
    from livingreview.fileio import atomic_text
    from livingreview.render import explorer_json, explorer_script
    folder = _generated_folder(DATA_FILES)
    # the summary names its headers and sort orders (from the review's declarations)
    payload = explorer_json(df, df.attrs.get("labels", {}), df.attrs.get("orders", {}), df.attrs.get("filters"))
    atomic_text(folder / f"{name}.json", payload.decode("utf-8"))
    atomic_text(folder / f"{name}.js", explorer_script(name, payload))
    return HTML(explorer_html(f"../{DATA_FILES.as_posix()}/{name}.json", name))


def grouped_table(df: pd.DataFrame, group: str, limit: int = 15, labels: dict[str, str] | None = None) -> Markdown:
    """One section per group (e.g. per allocation), at most ``limit`` findings each; the rest are in the explorer.

    A frame with a ``finding`` column is shown as finding blocks (the sentence at full width, its facts as chips,
    its citation and record beside it); any other frame as a table.
    """
    from markupsafe import escape

    from livingreview.render import escape_md, finding_blocks, group_anchor, limit_groups

    table = df.attrs.get("table", "")  # set by the summary the frame came from
    parts = []
    for value, rows, left_out in limit_groups(df, group, limit):
        rows = rows.drop(columns=[group])
        shown = finding_blocks(rows, labels) if "finding" in rows.columns else markdown_table(rows, labels=labels)
        text = f"### {escape_md(value)}\n\n" + shown
        appendix = page("appendix")
        if left_out and appendix is not None:
            text += (f"\n\n*{left_out} more row{'s' if left_out != 1 else ''} in this group "
                     f"{'are' if left_out != 1 else 'is'} not shown here: "
                     f'<a href="{escape(appendix)}#{escape(group_anchor(table, value))}">all {len(rows) + left_out} '
                     f"rows of this group are listed in the appendix</a>.*")
        elif left_out:
            text += f"\n\n*{left_out} more row{'s' if left_out != 1 else ''} in this group not shown here.*"
        parts.append(text)
    return Markdown("\n\n".join(parts))


def all_rows(ev: Evidence, *tables: str) -> HTML:
    """Every row of each of ``tables`` for the appendix, each with its id as an anchor, grouped as on its chapter
    page (several tables: each under its title)."""
    from markupsafe import escape

    from livingreview.render import row_list_html
    from livingreview.summaries import appendix_rows, citation_label

    parts = []
    for table in tables:
        df = appendix_rows(ev, table)
        keys = {k for cell in df["citekeys"] for k in cell}
        body = (row_list_html(df, table, {k: citation_label(ev.library[k]) for k in keys if k in ev.library})
                if len(df) else "<p>No rows yet.</p>")
        parts.append((f'<h3 class="lr-table-title">{escape(ev.table_title(table))}</h3>\n' if len(tables) > 1
                      else "")
                     + body)
    return HTML("\n".join(parts))


def cite_all(ev: Evidence) -> Markdown:
    """Register every key that any row cites with the bibliography, so that each has an entry there (shows nothing).

    sphinxcontrib-bibtex lists only keys cited on a rendered page; rows that no page shows in full (a capped group,
    the explorer, the ledger) would otherwise link to entries that do not exist.
    """
    from livingreview.render import cite_empty
    from livingreview.summaries import every_cited_key

    return Markdown(cite_empty(every_cited_key(ev)))


def coverage_note(ev: Evidence, maps: tuple[tuple[str, str, str], ...] = ()) -> Markdown:
    """What the evidence maps and growth chart describe: this review's coverage, not the field's literature.

    ``maps`` names each map: (its name, the table it is drawn from, what that table's rows are called), e.g.
    ``("allocation map", "trials", "trial rows")``.
    """
    from livingreview.summaries import findings_rows, findings_rows_label

    sources = set(ev["searches"]["source"].astype(str)) if "searches" in ev.tables else set()
    how = ("papers found by the searches recorded in the Methods chapter" if sources - {"manual"} else
           "papers identified by hand; no database search has been run yet (see the Methods chapter)" if sources
           else "papers identified without a recorded search; no database search has been run yet")
    drawn = [f"The {name} is drawn from the review's {len(ev[table])} {rows}" if i == 0 else
             f"the {name} from its {len(ev[table])} {rows}" for i, (name, table, rows) in enumerate(maps)]
    source = (" and ".join(drawn) + ", of the") if drawn else "They are drawn from the"
    return Markdown(
        f"These maps and the growth chart describe **this review's coverage**, not the field's literature. "
        f"{source} {findings_rows(ev)} {findings_rows_label(ev)}, extracted from "
        f"{how}. An empty cell is a combination "
        f"this review holds no row for, which may be a gap in the review rather than in the published evidence; "
        f"the growth chart shows when the studies this review includes were published, not how fast the field "
        f"grows. The explorer at the bottom lists each of these rows: search it, filter it, and follow the links "
        f"to the papers.")


def status_block(ev: Evidence) -> Markdown:
    """The introduction's status block: headline numbers of the evidence base at build time."""
    from livingreview.render import escape_md
    from livingreview.summaries import findings_rows_label, status
    from livingreview.text import row_noun

    s = status(ev)
    retracted = ", ".join(s["retracted"]) or "none"
    others = "".join(f" and **{n}** {escape_md(row_noun(title))} rows" for title, n in s["reference_rows"].items())
    lines = [
        f"- **{s['findings_rows']}** {findings_rows_label(ev)}{others}, citing "
        f"**{s['cited_references']}** of the library's **{s['references']}** references (citation coverage "
        f"{s['citation_coverage']:.0%}).",
        *([f"- **{s['claims']}** claims of the source review, each checked against these rows; "
           f"**{s['withdrawn_rows']}** withdrawn rows are listed apart on the What's new page."]
          if ev.has("claims") else []),
        *([f"- **{s['facet_values'][1]}** {escape_md(s['facet_values'][0])}s covered."] if s["facet_values"] else []),
        f"- Last row added: **{escape_md(s['last_added'])}**.",
        f"- Retracted papers recorded (never used as support): {escape_md(retracted)}.",
        # the fingerprint itself is in every page's footer; here it would change this page with every edit
        "- The data fingerprint at the foot of every page changes whenever any table or the library changes.",
    ]
    return Markdown("\n".join(lines))


def data_model_tables(ev: Evidence) -> Markdown:
    """The contributor data model: one table per declared table, generated from the declarations."""
    from livingreview.docs import data_models
    from livingreview.render import escape_md

    parts = []
    for title, df in data_models(ev.declared).items():
        parts.append(f"### {escape_md(title)}\n\n" + markdown_table(df, cite_column=None))
    return Markdown("\n\n".join(parts))


def whats_new(ev: Evidence, limit: int = 50) -> Markdown:
    """Rows added, grouped by month (newest first), at most ``limit`` per month, each with its citations."""
    from markupsafe import escape

    from livingreview.render import limit_groups
    from livingreview.summaries import recent_rows

    parts = []
    df = recent_rows(ev)
    for month, rows, left_out in limit_groups(df, "month", limit):
        counts = df[df["month"] == month]["table"].value_counts()
        summary = ", ".join(f"{n} in {t}" for t, n in counts.items())
        text = (f"## {month}\n\n{int(counts.sum())} rows added ({summary}).\n\n"
                + markdown_table(rows.drop(columns=["month"]),
                                 labels={"id": "Row", "citekeys": "Studies", "added": "Added"}))
        explorer = page("explorer")
        if left_out and explorer is not None:
            text += (f"\n\n*{left_out} more rows added that month are not shown here: "
                     f'<a href="{escape(explorer)}#explorer-explorer">see them in the evidence explorer</a>.*')
        elif left_out:
            text += f"\n\n*{left_out} more rows added that month are not shown here.*"
        parts.append(text)
    return Markdown("\n\n".join(parts) if parts else "No rows yet.")


def validation_example(table: str, cells: tuple[str, ...], planted: str) -> Markdown:
    """Run validation on a scratch copy with one planted mistake and show exactly what a contributor sees: the first
    of ``cells`` (e.g. ``",liver,"``) found in ``table``'s first row becomes ``planted`` (``",lungs,"``)."""
    import shutil
    import tempfile

    from livingreview.render import escape_md
    from livingreview.validate import validate

    root = find_root()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copytree(root / "data", copy / "data")
        shutil.copy(root / "references.bib", copy / "references.bib")
        shutil.copy(root / "review.yml", copy / "review.yml")
        path = copy / "data" / f"{table}.csv"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if len(lines) < 2:
            return Markdown(escape_md(f"The {table} table has no rows yet, so there is no example."))
        for cell in cells:
            if cell in lines[1]:
                lines[1] = lines[1].replace(cell, planted, 1)
                break
        path.write_text("".join(lines), encoding="utf-8")
        problems = [str(p) for p in validate(copy) if p.severity.value == "error"]
    from livingreview.render import fenced

    return Markdown(fenced(problems) if problems else escape_md("no error"))


def page(role: str) -> str | None:
    """A link to the book's page for ``role`` (``layout.PAGE_CALLS``: the appendix, where every row has its anchor; the
    explorer, which can list one claim's rows; the claims page) from the page being executed; None without one."""
    import os

    from livingreview.layout import page_of

    root = find_root()
    target = page_of(root, role)
    if target is None:
        return None
    here = Path.cwd().resolve()
    # a chapter runs in its own folder; called from elsewhere, the link is made as if from the target's folder
    start = here if root.resolve() in here.parents else (root / target).parent
    return Path(os.path.relpath(root / target, start)).as_posix()


def _row_links(ids, limit: int = 6, claim: str | None = None, linkable: set[str] | None = None) -> str:
    """Links to rows where they have their anchors (claims on the Claims page, every other row in the appendix):
    the first ``limit``, then one link to all of them (a claim's rows in the explorer when ``claim`` is given, else
    each remaining row). An id outside ``linkable`` (a row removed without a withdrawal) is shown unlinked."""
    from urllib.parse import urlencode

    from markupsafe import escape

    from livingreview.render import ROW_ID_RE

    claims, appendix, explorer = page("claims"), page("appendix"), page("explorer")

    def link(i: str) -> str:
        target = claims if i.startswith(_claim_prefix()) else appendix
        if (linkable is not None and i not in linkable) or target is None:
            return str(escape(i))
        return f'<a href="{escape(target)}#{escape(i)}">{escape(i)}</a>'

    ids = [str(i) for i in ids if ROW_ID_RE.match(str(i))]
    if claim is not None and len(ids) > limit and explorer is not None:
        url = f"{explorer}?{urlencode({'claim': claim})}#explorer-explorer"
        return ", ".join([*(link(i) for i in ids[:limit]), f'<a href="{escape(url)}">all {len(ids)} rows</a>'])
    return ", ".join(link(i) for i in ids)


def _claim_prefix() -> str:
    """The prefix of the claims' row ids ('CLAIM-'), as the review declares its claims table."""
    from livingreview.declarations import load as load_declarations

    claims = load_declarations(find_root()).tables.get("claims")
    return f"{claims.id_prefix}-" if claims is not None else "\0"


def certainty_rule(ev: Evidence) -> Markdown:
    """The certainty rule, step by step, as the package declares and applies it, and how it falls short of GRADE."""
    from livingreview.certainty import not_grade, rule
    from livingreview.render import escape_md
    from livingreview.summaries import ungraded_titles

    inputs = ev.declarations.certainty
    steps = "\n".join(f"{n}. {escape_md(text)}" for n, (_, text) in enumerate(rule(inputs, ungraded_titles(ev)), 1))
    return Markdown(f"{steps}\n\n{escape_md(not_grade(inputs))}")


def certainty_badge(certainty: str | None) -> str:
    """The certainty as a coloured label (a fixed CSS class per rating; the text says it too)."""
    from livingreview.vocab import CERTAINTY

    term = certainty if certainty in CERTAINTY.values else "not_graded"
    text = CERTAINTY.label(certainty) if certainty in CERTAINTY.values else "Not graded"
    return f'<span class="lr-certainty lr-certainty-{term.replace("_", "-")}">{text}</span>'


def summary_of_findings(ev: Evidence) -> Markdown:
    """The summary of findings: one block per claim (an anchor), its certainty, studies, fragility and rows.

    Blocks rather than a wide table, so that each claim reads as a sentence at any screen width.
    """
    from livingreview.render import anchor, escape_md
    from livingreview.summaries import claim_status
    from livingreview.summaries import summary_of_findings as sof

    blocks = []
    for row, s in zip(sof(ev).itertuples(index=False), claim_status(ev).itertuples(index=False), strict=True):
        reasons = row.certainty.split("(", 1)[1].rstrip(")") if "(" in row.certainty else ""
        rows = _row_links(s.supporting_rows, 4, claim=row.id if s.table in ev.finding_tables else None)
        facts = [f"{certainty_badge(s.certainty)} {escape_md(reasons)}".rstrip(),
                 f"studies: {escape_md(row.studies) or 'none'}",
                 *([f"{escape_md(name)}: {int(n)}" for name, n in (s.scope_counts or {}).items()]
                   if s.graded else []),
                 f"contradicting studies: {int(row.against)}",
                 f"fragility: {escape_md(row.fragility)}", f"rows: {rows}"]
        blocks.append(f'{anchor(row.id)}**{escape_md(row.id)}** {escape_md(row.claim)}\\\n'
                      + '<span class="lr-facts">' + " · ".join(facts) + "</span>")
    return Markdown("\n\n".join(blocks))


def unsupported_claims(ev: Evidence) -> Markdown:
    """Claims whose computed certainty fell below the certainty the review asserts (their ``expected``)."""
    from livingreview.render import escape_md
    from livingreview.summaries import claim_status
    from livingreview.vocab import CERTAINTY

    status = claim_status(ev)
    below = status[status["below_expected"]]
    asserted = int(status["expected"].notna().sum())
    if below.empty:
        return Markdown(escape_md(f"None: each of the {asserted} claims with an asserted certainty still has at least "
                                  "that certainty." if asserted else "No claim asserts a certainty yet."))
    lines = [f"- **{escape_md(r.id)}** {escape_md(r.claim)} Asserted: {escape_md(CERTAINTY.label(r.expected))}; "
             f"now: {escape_md(r.explanation)}." for r in below.itertuples(index=False)]
    return Markdown("\n".join(lines))


def changes_since_release(ev: Evidence) -> Markdown:
    """Rows added, changed and removed since the latest release, and every claim whose status moved."""
    from livingreview.history import claim_changes, row_changes
    from livingreview.render import escape_md
    from livingreview.summaries import linkable_rows

    if not ev.releases:
        return Markdown(escape_md("No release has been cut yet; changes are counted from the first release."))
    last = ev.releases[-1]
    rows = row_changes(ev)
    linkable = linkable_rows(ev)
    parts = [f"Since release **{escape_md(last.version)}** ({escape_md(last.date)}):", ""]
    if rows.empty:
        parts.append("- no row was added, changed or removed.")
    for name, group in rows.groupby("table", sort=False):
        counts = ", ".join(f"{len(g)} {change}" for change, g in group.groupby("change", sort=False))
        parts.append(f"- {escape_md(ev.table_title(name) if ev.has(name) else name)}: {escape_md(counts)} "
                     f"({_row_links(list(group['id']), linkable=linkable)})")
    claims = claim_changes(ev)
    parts += ["", "Claims whose certainty or studies moved:" if len(claims) else "No claim's certainty or studies "
              "moved.", ""]
    for c in claims.itertuples(index=False):
        moved = [(what, rows) for what, rows in (("new supporting rows", c.support_added),
                                                 ("rows no longer supporting", c.support_removed),
                                                 ("new contradicting rows", c.against_added),
                                                 ("rows no longer contradicting", c.against_removed)) if rows]
        why = "; ".join(f"{what}: {_row_links(rows, linkable=linkable)}" for what, rows in moved) or "no row moved"
        parts.append(f"- **{escape_md(c.id)}** {escape_md(c.claim)} Certainty {escape_md(c.before.lower())} → "
                     f"{escape_md(c.now.lower())}; supporting studies {c.studies_before} → {c.studies_now}; "
                     f"contradicting {c.against_before} → {c.against_now}. {why[0].upper() + why[1:]}.")
    return Markdown("\n".join(parts))


def trajectory(ev: Evidence) -> HTML:
    """The chart of each claim's certainty and studies at every release and now."""
    from livingreview import figures
    from livingreview.history import trajectory as points
    from livingreview.summaries import short_text

    labels = {c["id"]: c["id"].removeprefix("CLAIM-") + " " + short_text(c["claim"], 26)
              for c in ev.claims.to_dict(orient="records")}
    return figure(figures.trajectory_chart(points(ev), labels), "claims-trajectory")


def withdrawn_rows(ev: Evidence) -> Markdown:
    """Every withdrawn row: its old id, table, finding, the studies it cited, the reason and the date."""
    from livingreview.render import escape_md

    log = ev.tables.get("withdrawn")
    if log is None or log.empty:
        return Markdown(escape_md("No row has been withdrawn."))
    keys = log["studies"].map(lambda cell: tuple(cell) if isinstance(cell, (tuple, list)) else ())
    df = log.assign(table=log["table"].astype(object).map(lambda t: ev.table_title(t) if ev.has(t) else t),
                    studies=keys.map(lambda cell: tuple(k for k in cell if k in ev.library)),
                    withdrawn=log["withdrawn"].dt.strftime("%Y-%m-%d"))
    text = markdown_table(df[["row_id", "table", "finding", "studies", "reason", "withdrawn"]], cite_column="studies",
                          labels={"row_id": "Row", "studies": "Studies cited", "withdrawn": "Withdrawn on"},
                          anchor_column="row_id")
    # a key the library no longer holds cannot be cited (the build would fail); it is named instead
    gone = [f"{row_id}: {key}" for row_id, cell in zip(log["row_id"], keys, strict=True) for key in cell
            if key not in ev.library]
    if gone:
        text += "\n\nStudies no longer in the library: " + escape_md("; ".join(gone)) + "."
    return Markdown(text)


def cite_example(identifier: str) -> Markdown:
    """What ``livingreview cite IDENTIFIER --offline`` says on a scratch copy of this review (nothing is written)."""
    import shutil
    import tempfile

    from livingreview.cite import CiteError, cite
    from livingreview.render import escape_md, fenced

    root = find_root()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copy(root / "references.bib", copy / "references.bib")
        shutil.copy(root / "review.yml", copy / "review.yml")
        if (root / "cache").is_dir():
            shutil.copytree(root / "cache", copy / "cache")
        try:
            result = cite(copy, identifier, dry_run=True, offline=True)
        except CiteError as exc:
            return Markdown(fenced([f"$ livingreview cite {identifier} --offline", f"error: {exc}"]))
    return Markdown(escape_md(f"would add '{result.key}' (metadata from {result.source})"))


def living_status_block(ev: Evidence) -> Markdown:
    """The review's living status: cadence, last search, records awaiting screening, next search due."""

    from livingreview.living import living_status, status_text, today
    from livingreview.render import escape_md

    st = living_status(ev["searches"], ev["screening"], ev.cadence, today())
    lines = [f"**{escape_md(status_text(st))}.**", ""]
    if st.every_days:
        lines.append(f"The review declares a search every {st.every_days} days (`living.toml`); status: "
                     f"**{escape_md(st.status)}**.")
    if st.overdue:
        lines.append("")
        lines.append(f"**The next search is overdue** (it was due {st.next_due.isoformat()}).")
    sources = set(ev["searches"]["source"].astype(str))
    if sources <= {"manual"}:
        lines += ["", "No database search has been run yet: every record so far was identified manually, as the "
                      "search log below says. Database searches (`livingreview search --source pubmed`) are "
                      "recorded here with their exact query and counts once the review's build machine can reach "
                      "PubMed; until then this manual baseline stands."]
    return Markdown("\n".join(lines))


def search_log_table(ev: Evidence) -> Markdown:
    """The search strategy: every search with its source, exact query, date and records."""
    from livingreview.summaries import search_log

    return Markdown(markdown_table(search_log(ev), cite_column=None,
                                   labels={"id": "Search", "query": "Query (exact)", "records": "Records"}))


def screening_rules(ev: Evidence) -> Markdown:
    """The screening decisions and exclusion reasons, as the screening table's vocabularies declare them."""
    from livingreview.render import escape_md

    ledger = ev.declared["screening"]
    DECISION, SCREEN_STAGE, EXCLUSION_REASON = (ledger.column(c).vocab for c in ("decision", "stage", "reason"))

    lines = ["Each record identified is screened once and recorded in `data/screening.csv` with its decision, the "
             "stage it was read to, the date and the screener:", ""]
    lines += [f"- **{escape_md(DECISION.label(t))}** (`{t}`)" for t in DECISION.values]
    lines += ["", "Stages: " + "; ".join(f"{escape_md(SCREEN_STAGE.label(t))} (`{t}`)" for t in SCREEN_STAGE.values)
              + ".", "", "An exclusion gives one reason:", ""]
    lines += [f"- `{t}`: {escape_md(EXCLUSION_REASON.label(t))}" for t in EXCLUSION_REASON.values]
    lines += ["", "A record found again (same DOI, PMID or normalised title) is recorded as a duplicate of the first, "
                  "never dropped. A retracted paper cannot be included. Every paper cited as evidence has an "
                  "inclusion record, and every inclusion names its library entry once its rows are extracted."]
    return Markdown("\n".join(lines))


def prisma(ev: Evidence) -> HTML:
    """The PRISMA 2020 flow of the whole review and, if a release exists, of the records since it."""
    from markupsafe import escape

    from livingreview.render import prisma_svg
    from livingreview.summaries import prisma_counts, prisma_problems

    def flow(counts: dict, title: str) -> str:
        broken = prisma_problems(counts)
        if broken:  # a flow whose boxes do not add up must never reach a reader
            raise ValueError(f"the PRISMA flow '{title}' does not add up: " + "; ".join(broken))
        return f"<h3>{escape(title)}</h3>" + prisma_svg(counts, title) + prisma_svg(counts, title, narrow=True)

    whole = prisma_counts(ev)
    parts = [flow(whole, "PRISMA 2020 flow of the whole review")]
    if whole["identified_total"] and not whole["sought"]:
        parts.insert(0, "<p>Every inclusion so far was decided at screening, when the paper's own published record "
                        "(PubMed, PMC or the publisher's page) was read: screening and the eligibility assessment "
                        "were one step, so the flow has no full-text boxes. Records awaiting screening are counted "
                        "apart and never as screened.</p>")
    if ev.releases:
        import datetime as dt

        last = ev.releases[-1]
        since = prisma_counts(ev, since=dt.date.fromisoformat(last.date))
        heading = f"Since release {last.version} ({last.date})"
        if since["identified_total"]:
            parts.append(flow(since, heading))
        else:
            parts.append(f"<h3>{escape(heading)}</h3><p>No record has been identified since this release.</p>")
    return HTML("\n".join(parts))


def exclusions_table(ev: Evidence) -> Markdown:
    """The flow's numbers as a table (its text alternative): records per stage and per exclusion reason."""
    from livingreview.summaries import prisma_counts
    from livingreview.text import row_noun

    c = prisma_counts(ev)
    rows = [("Records identified", c["identified_total"]),
            ("Records removed before screening: duplicate records", c["duplicates"]),
            ("Awaiting screening (not yet screened)", c["pending"]),
            ("Records screened (title/abstract and published record)", c["screened"])]
    rows += [(f"Records excluded at screening: {reason}", n) for reason, n in c["excluded_screening"].items()]
    if c["sought"]:
        rows += [("Included at screening, on the published record", c["included_at_screening"]),
                 ("Reports sought for retrieval (full text)", c["sought"]),
                 ("Reports not retrieved", c["not_retrieved"]),
                 ("Reports assessed for eligibility (full text)", c["assessed"])]
        rows += [(f"Reports excluded: {reason}", n) for reason, n in c["excluded_full_text"].items()]
    rows += [("Studies included in review", c["included"]),
             ("Included, awaiting extraction", c["awaiting_extraction"]),
             (f"{c['findings_label'][0].upper()}{c['findings_label'][1:]} citing included studies", c["findings_rows"]),
             *((f"{row_noun(title)} rows citing included studies", n) for title, n in c["reference_rows"].items())]
    # said, because the table follows the since-release flow but gives the whole review's numbers
    return Markdown("The flow of the whole review, box by box:\n\n"
                    + markdown_table(pd.DataFrame(rows, columns=["Step", "Count"]), cite_column=None))


def grading_rule(ev: Evidence) -> Markdown:
    """The evidence-level rule with its examples, as the vocabulary declares it (the one source of the rule)."""
    from livingreview.render import escape_md

    level = ev.roles.evidence_level
    if level is None or not ev.finding_tables:
        return Markdown(escape_md("This review grades no finding by an evidence level."))
    vocab = ev.column_vocab(ev.finding_tables[0], level)
    lines = [escape_md(vocab.description), ""]
    lines += [f"- `{t}` ({escape_md(vocab.label(t))}): {escape_md(vocab.definitions[t])}." if t in vocab.definitions
              else f"- `{t}` ({escape_md(vocab.label(t))})." for t in vocab.values]
    # columns recorded only for some levels (a trial's design): where they are and what they record
    for name in ev.finding_tables:
        only = [c for c in ev.declared[name].columns if c.only_when and c.only_when[0] == level]
        if only:
            term = only[0].only_when[1]
            lines += ["", escape_md(f"A {term} row of the {name} table also records the trial's design, from the "
                                    "trial's own published record, as the certainty rule reads it:")
                      + " " + ", ".join(f"`{c.name}`" for c in only) + "."]
    return Markdown("\n".join(lines))
