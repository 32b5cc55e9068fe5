"""What a chapter notebook calls: load the evidence once, show tables and charts."""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import pandas as pd
from IPython.display import HTML, Markdown

from livingreview.checking.evidence import Evidence, load
from livingreview.checking.layout import DATA_FILES, FIGURES, GENERATED_MARKER, find_root
from livingreview.publishing.render import chart_html, explorer_html, markdown_table, static_copy


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
    from livingreview.model.fileio import mark_folder

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
    from livingreview.publishing.render import entry_blocks

    return Markdown(entry_blocks(df, head, facts, texts, labels))


def explorer(df: pd.DataFrame, name: str = "explorer") -> HTML:
    """Show the searchable, filterable, paged table of ``df``; its rows go to a JSON file next to the book."""
    from livingreview.model.fileio import atomic_text
    from livingreview.publishing.render import explorer_json, explorer_script
    folder = _generated_folder(DATA_FILES)
    # the summary names its headers and sort orders (from the review's declarations)
    payload = explorer_json(df, df.attrs.get("labels", {}), df.attrs.get("orders", {}), df.attrs.get("filters"))
    atomic_text(folder / f"{name}.json", payload.decode("utf-8"))
    atomic_text(folder / f"{name}.js", explorer_script(name, payload))
    return HTML(explorer_html(f"../{DATA_FILES.as_posix()}/{name}.json", name, bibliography=page("bibliography")))


def grouped_table(df: pd.DataFrame, group: str, limit: int = 15, labels: dict[str, str] | None = None) -> Markdown:
    """One section per group (e.g. per allocation), at most ``limit`` findings each; the rest are in the explorer.

    A frame with a ``finding`` column is shown as finding blocks (the sentence at full width, its facts as chips,
    its citation and record beside it); any other frame as a table.
    """
    from markupsafe import escape

    from livingreview.publishing.render import escape_md, finding_blocks, group_anchor, limit_groups

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

    from livingreview.analysis.summaries import appendix_rows, citation_label
    from livingreview.publishing.render import row_list_html

    parts = []
    for table in tables:
        df = appendix_rows(ev, table)
        keys = {k for cell in df["citekeys"] for k in cell}
        body = (row_list_html(df, table, {k: citation_label(ev.library[k]) for k in keys if k in ev.library},
                              bibliography=page("bibliography")) if len(df) else "<p>No rows yet.</p>")
        parts.append((f'<h3 class="lr-table-title">{escape(ev.table_title(table))}</h3>\n' if len(tables) > 1
                      else "")
                     + body)
    return HTML("\n".join(parts))


def cite_all(ev: Evidence) -> Markdown:
    """Register every key that any row cites with the bibliography, so that each has an entry there (shows nothing).

    sphinxcontrib-bibtex lists only keys cited on a rendered page; rows that no page shows in full (a capped group,
    the explorer, the ledger) would otherwise link to entries that do not exist.
    """
    from livingreview.analysis.summaries import every_cited_key
    from livingreview.publishing.render import cite_empty

    return Markdown(cite_empty(every_cited_key(ev)))


def coverage_note(ev: Evidence, maps: tuple[tuple[str, str, str], ...] = ()) -> Markdown:
    """What the evidence maps and growth chart describe: this review's coverage, not the field's literature.

    ``maps`` names each map: (its name, the table it is drawn from, what that table's rows are called), e.g.
    ``("allocation map", "trials", "trial rows")``.
    """
    from livingreview.analysis.summaries import findings_rows, findings_rows_label

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
    from livingreview.analysis.summaries import findings_rows_label, status
    from livingreview.model.text import row_noun
    from livingreview.publishing.render import escape_md

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
    from livingreview.publishing.docs import data_models
    from livingreview.publishing.render import escape_md

    parts = []
    for title, df in data_models(ev.declared).items():
        parts.append(f"### {escape_md(title)}\n\n" + markdown_table(df, cite_column=None))
    return Markdown("\n\n".join(parts))


def whats_new(ev: Evidence, limit: int = 50) -> Markdown:
    """Rows added, grouped by month (newest first), at most ``limit`` per month, each with its citations."""
    from markupsafe import escape

    from livingreview.analysis.summaries import recent_rows
    from livingreview.publishing.render import limit_groups

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

    from livingreview.checking.validate import validate
    from livingreview.publishing.render import escape_md

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
    from livingreview.publishing.render import fenced

    return Markdown(fenced(problems) if problems else escape_md("no error"))


def page(role: str) -> str | None:
    """A link to the book's page for ``role`` (``layout.PAGE_CALLS``: the appendix, where every row has its anchor; the
    explorer, which can list one claim's rows; the claims page) from the page being executed; None without one."""
    import os

    from livingreview.checking.layout import page_of

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

    from livingreview.publishing.render import ROW_ID_RE

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
    from livingreview.model.declarations import load as load_declarations

    claims = load_declarations(find_root()).tables.get("claims")
    return f"{claims.id_prefix}-" if claims is not None else "\0"


def certainty_rule(ev: Evidence) -> Markdown:
    """The certainty rule, step by step, as the package declares and applies it, and how it falls short of GRADE."""
    from livingreview.analysis.certainty import not_grade, rule
    from livingreview.analysis.summaries import ungraded_titles
    from livingreview.publishing.render import escape_md

    inputs, pooled = ev.declarations.certainty, bool(ev.declarations.synthesis)
    steps = "\n".join(f"{n}. {escape_md(text)}"
                      for n, (_, text) in enumerate(rule(inputs, ungraded_titles(ev), pooled), 1))
    return Markdown(f"{steps}\n\n{escape_md(not_grade(inputs, pooled))}")


def certainty_badge(certainty: str | None) -> str:
    """The certainty as a coloured label (a fixed CSS class per rating; the text says it too)."""
    from livingreview.model.vocab import CERTAINTY

    term = certainty if certainty in CERTAINTY.values else "not_graded"
    text = CERTAINTY.label(certainty) if certainty in CERTAINTY.values else "Not graded"
    return f'<span class="lr-certainty lr-certainty-{term.replace("_", "-")}">{text}</span>'


def summary_of_findings(ev: Evidence) -> Markdown:
    """The summary of findings: one block per claim (an anchor), its certainty, studies, fragility and rows.

    Blocks rather than a wide table, so that each claim reads as a sentence at any screen width.
    """
    from livingreview.analysis.pooled import moderator_compared, synthesis_of
    from livingreview.analysis.summaries import claim_status
    from livingreview.analysis.summaries import summary_of_findings as sof
    from livingreview.publishing.render import anchor, escape_md

    said = {str(c["id"]): c for c in ev.claims.to_dict(orient="records")} if "claims" in ev.tables else {}
    blocks = []
    for row, s in zip(sof(ev).itertuples(index=False), claim_status(ev).itertuples(index=False), strict=True):
        claim = said.get(str(row.id), {})
        moderator = moderator_compared(ev, claim) if synthesis_of(claim) else None
        reasons = row.certainty.split("(", 1)[1].rstrip(")") if "(" in row.certainty else ""
        rows = _row_links(s.supporting_rows, 4, claim=row.id if s.table in ev.finding_tables else None)
        facts = [f"{certainty_badge(s.certainty)} {escape_md(reasons)}".rstrip(),
                 f"studies: {escape_md(row.studies) or 'none'}",
                 *([f"{escape_md(name)}: {int(n)}" for name, n in (s.scope_counts or {}).items()]
                   if s.graded else []),
                 *([escape_md(_pooled_fact(s.pooled, moderator, ev.declared[s.table].column(moderator).heading.lower()
                                           if moderator else None))] if s.pooled is not None else []),
                 f"contradicting studies: {int(row.against)}",
                 f"fragility: {escape_md(row.fragility)}", f"rows: {rows}"]
        blocks.append(f'{anchor(row.id)}**{escape_md(row.id)}** {escape_md(row.claim)}\\\n'
                      + '<span class="lr-facts">' + " · ".join(facts) + "</span>")
    return Markdown("\n\n".join(blocks))


def _pooled_fact(p, moderator: str | None = None, words: str | None = None) -> str:
    """The pooled result a claim rests on, in words: 'pooled RR 0.49 (95% CI 0.34 to 0.70; prediction interval
    0.15 to 1.55), I² 92%, 13 studies'; for a claim on a moderator's slope, that slope with its interval."""
    name = p.measure if p.measure != "GEN" else "estimate"
    slope = next((x for x in p.slopes if x[0] == moderator), None)
    if moderator is not None and slope is not None:
        scale = f"log {name}" if p.ratio else name
        return (f"meta-regression on {words or moderator}: slope {slope[1]:.4f} {scale} per unit ({p.level:g}% CI "
                f"{slope[2]:.4f} to {slope[3]:.4f}, p {slope[4]:.2g}), {p.studies} studies")
    return (f"pooled {name} {p.estimate:.2f} ({p.level:g}% CI {p.lower:.2f} to {p.upper:.2f}; prediction interval "
            f"{p.pi_lower:.2f} to {p.pi_upper:.2f}), I² {p.i_squared:.0f}%, {p.studies} studies")


def unsupported_claims(ev: Evidence) -> Markdown:
    """Claims whose computed certainty fell below the certainty the review asserts (their ``expected``)."""
    from livingreview.analysis.summaries import claim_status
    from livingreview.model.vocab import CERTAINTY
    from livingreview.publishing.render import escape_md

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
    from livingreview.analysis.history import claim_changes, row_changes
    from livingreview.analysis.summaries import linkable_rows
    from livingreview.publishing.render import escape_md

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
        reasons = [f"{what}: {_row_links(rows, linkable=linkable)}" for what, rows in moved]
        if c.pooled_before != c.pooled_now:
            # a claim resting on a pooled estimate: how the estimate itself moved
            reasons.append(f"pooled {escape_md(c.pooled_before or 'none')} → {escape_md(c.pooled_now or 'none')}")
        why = "; ".join(reasons) or "no row moved"
        parts.append(f"- **{escape_md(c.id)}** {escape_md(c.claim)} Certainty {escape_md(c.before.lower())} → "
                     f"{escape_md(c.now.lower())}; supporting studies {c.studies_before} → {c.studies_now}; "
                     f"contradicting {c.against_before} → {c.against_now}. {why[0].upper() + why[1:]}.")
    return Markdown("\n".join(parts))


def trajectory(ev: Evidence) -> HTML:
    """The chart of each claim's certainty and studies at every release and now."""
    from livingreview.analysis.history import trajectory as points
    from livingreview.analysis.summaries import short_text
    from livingreview.publishing import figures

    labels = {c["id"]: c["id"].removeprefix("CLAIM-") + " " + short_text(c["claim"], 26)
              for c in ev.claims.to_dict(orient="records")}
    columns = ["id", "release", "order", "certainty", "level", "studies", "against"]
    chart = figure(figures.trajectory_chart(points(ev)[columns], labels), "claims-trajectory")
    # a claim resting on a pooled estimate: how the estimate itself moved, release by release
    return HTML(chart.data + "\n" + pooled_trajectory(ev).data)


def pooled_trajectory(ev: Evidence) -> HTML:
    """For each claim resting on a pooled estimate, the estimate with its confidence interval at every release that
    recorded it and now (nothing for a review without such a claim)."""
    from markupsafe import escape

    from livingreview.analysis.history import trajectory as points
    from livingreview.analysis.pooled import synthesis_of
    from livingreview.analysis.synthesis import is_ratio
    from livingreview.publishing import forest as plots

    traj = points(ev)
    said = dict(zip(ev.claims["id"].astype(str), ev.claims["claim"].astype(str), strict=True))
    rests_on = {str(c["id"]): synthesis_of(c) for c in ev.claims.to_dict(orient="records")}
    from livingreview.analysis.pooled import moderator_compared

    # a claim on a moderator's slope is about a difference between studies, not the pooled estimate: its certainty
    # by release is in the chart above, and its pooled estimate would tell another story
    on_slope = {cid for cid, name in rests_on.items() if name and moderator_compared(
        ev, ev.claims[ev.claims["id"].astype(str) == cid].iloc[0])}
    parts = []
    for cid, group in traj[traj["estimate"].notna() & ~traj["id"].isin(on_slope)].groupby("id", sort=False):
        measure = str(group["measure"].iloc[-1])
        missing = sorted(set(traj.loc[traj["id"] == cid, "release"]) - set(group["release"]))
        # the claim in words above its chart, so the data table under it says which claim it is about
        parts.append(f"<p><strong>{escape(cid)}</strong> {escape(said.get(cid, ''))} The pooled {escape(measure)} "
                     "with its confidence interval at each release and now:</p>")
        # a generic estimate is a ratio only as its synthesis declares it (the snapshot records the measure alone)
        declared = ev.declarations.synthesis.get(rests_on.get(cid) or "")
        ratio = is_ratio(declared) if declared is not None else None
        chart = plots.pooled_trajectory_plot(group, measure=measure, ratio=ratio,
                                             title=f"{cid}: pooled {measure} by release")
        parts.append(figure(chart, f"pooled-trajectory-{cid}").data)
        if missing:
            parts.append(f"<p>{escape(f'Releases that recorded no pooled estimate for {cid}: ' + ', '.join(missing))}"
                         ".</p>")
    return HTML("\n".join(parts))


def withdrawn_rows(ev: Evidence) -> Markdown:
    """Every withdrawn row: its old id, table, finding, the studies it cited, the reason and the date."""
    from livingreview.publishing.render import escape_md

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

    from livingreview.curation.cite import CiteError, cite
    from livingreview.publishing.render import escape_md, fenced

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

    from livingreview.checking.living import living_status, status_text, today
    from livingreview.publishing.render import escape_md

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
    from livingreview.analysis.summaries import search_log

    return Markdown(markdown_table(search_log(ev), cite_column=None,
                                   labels={"id": "Search", "query": "Query (exact)", "records": "Records"}))


def screening_rules(ev: Evidence) -> Markdown:
    """The screening decisions and exclusion reasons, as the screening table's vocabularies declare them."""
    from livingreview.publishing.render import escape_md

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

    from livingreview.analysis.summaries import prisma_counts, prisma_problems
    from livingreview.publishing.render import prisma_svg

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
    from livingreview.analysis.summaries import prisma_counts
    from livingreview.model.text import row_noun

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
    from livingreview.publishing.render import escape_md

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


# --- quantitative synthesis (a review's declared ``synthesis:``; see ``livingreview.analysis.synthesis``) ----

def _fixed(x: float, digits: int = 4) -> str:
    """A number as metafor prints it (4 decimals by default), with a plain minus sign."""
    return "n/a" if x != x else f"{x:.{digits}f}"


def _p_value(p: float) -> str:
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


def _scales(measure: str, ratio: bool) -> tuple[str, str]:
    """What a synthesis' estimate is called on its own scale and on the scale it is pooled on."""
    if measure == "GEN":
        return ("ratio", "log ratio") if ratio else ("estimate", "estimate")
    return measure, (f"log {measure}" if ratio else measure)


def _nothing_to_pool(exc: Exception) -> str:
    from livingreview.publishing.render import escape_md

    return escape_md(f"Nothing to pool: {exc}.".replace("..", "."))


def forest(ev: Evidence, name: str) -> HTML:
    """The forest plot of synthesis ``name``: every study with its CI, the pooled diamond and prediction interval
    (no diamond for a single study)."""
    from markupsafe import escape

    from livingreview import meta
    from livingreview.analysis.synthesis import analysis, effects, pooled
    from livingreview.publishing import forest as plots

    s = analysis(ev, name)
    try:
        dat, res = effects(ev, name), pooled(ev, name)
    except meta.CannotPool as exc:
        return HTML(f"<p>{escape(_nothing_to_pool(exc))}</p>")
    chart = plots.forest(dat, res, measure=s.measure, ratio=s.ratio or None, title="Forest plot")
    return figure(chart, f"forest-{name}")


def pooled_estimate(ev: Evidence, name: str) -> Markdown:
    """The pooled estimate of synthesis ``name`` in words: the model, k, the estimate with its confidence interval,
    its test and (random effects) the prediction interval, on the measure's scale and the analysis scale."""
    import numpy as np

    from livingreview import meta
    from livingreview.analysis.synthesis import analysis, is_ratio, pooled
    from livingreview.publishing import forest as plots
    from livingreview.publishing.render import escape_md

    s = analysis(ev, name)
    try:
        res = pooled(ev, name)
    except meta.CannotPool as exc:
        return Markdown(_nothing_to_pool(exc))
    ratio = is_ratio(s)
    shown, analysis_scale = _scales(s.measure, ratio)
    level = f"{res.level:g}%"
    p = res.transf(np.exp) if ratio else res.predict()
    if not res.pooled:
        return Markdown(escape_md(f"One study only, so nothing is pooled: its {shown} is {_fixed(p.pred)} ({level} "
                                  f"CI {_fixed(p.ci_lb)} to {_fixed(p.ci_ub)})."))
    model = plots.METHOD_NAMES.get(res.method, res.method)
    stat = f"t({res.df})" if res.df is not None else "z"
    text = (f"**{escape_md(model)}, {res.k} studies.** Pooled {escape_md(shown)} **{_fixed(p.pred)}** ({level} CI "
            f"{_fixed(p.ci_lb)} to {_fixed(p.ci_ub)})")
    if ratio:
        text += f"; {escape_md(analysis_scale)} {_fixed(res.beta)} (SE {_fixed(res.se)})"
    text += f", {stat} = {_fixed(res.zval)}, {_p_value(res.pval)}."
    if res.method != "EE":
        text += (f" {level} prediction interval (where the true {escape_md(shown)} of a new study is expected to "
                 f"lie): **{_fixed(p.pi_lb)} to {_fixed(p.pi_ub)}**.")
    return Markdown(text)


def heterogeneity(ev: Evidence, name: str) -> Markdown:
    """The heterogeneity line of synthesis ``name``: tau², I² and Cochran's Q with its df and p value."""
    from livingreview import meta
    from livingreview.analysis.synthesis import pooled

    try:
        res = pooled(ev, name)
    except meta.CannotPool as exc:
        return Markdown(_nothing_to_pool(exc))
    if not res.pooled:
        return Markdown("One study only: there is no heterogeneity to estimate.")
    parts = [] if res.method == "EE" else [f"τ² = {_fixed(res.tau2)}"]
    parts += [f"I² = {res.I2:.2f}%", f"Q = {_fixed(res.QE)} (df = {res.k - 1}, {_p_value(res.QEp)})"]
    return Markdown(", ".join(parts))


def estimators(ev: Evidence, name: str, methods: tuple[str, ...] = ("EE", "DL", "REML")) -> Markdown:
    """Synthesis ``name`` pooled by each of ``methods`` (how much the estimate depends on the tau² estimator)."""
    import numpy as np
    import pandas as pd

    from livingreview import meta
    from livingreview.analysis.synthesis import analysis, is_ratio, pooled
    from livingreview.publishing import forest as plots

    s = analysis(ev, name)
    ratio = is_ratio(s)
    rows = []
    for method in methods:
        try:
            res = pooled(ev, name, method)
        except meta.CannotPool as exc:
            return Markdown(_nothing_to_pool(exc))
        p = res.transf(np.exp) if ratio else res.predict()
        rows.append({"model": plots.METHOD_NAMES.get(res.method, res.method), "k": res.k,
                     "beta": f"{_fixed(res.beta)} ({_fixed(res.ci_lb)} to {_fixed(res.ci_ub)})",
                     **({"ratio": f"{_fixed(p.pred)} ({_fixed(p.ci_lb)} to {_fixed(p.ci_ub)})"} if ratio else {}),
                     "tau2": "" if res.method == "EE" else _fixed(res.tau2),
                     "I2": f"{res.I2:.2f}%" if res.pooled else ""})
    shown, scale = _scales(s.measure, ratio)
    level = f"{s.level:g}% CI"
    labels = {"model": "Model", "k": "Studies", "beta": f"{scale} ({level})", "ratio": f"{shown} ({level})",
              "tau2": "τ²", "I2": "I²"}
    return Markdown(markdown_table(pd.DataFrame(rows), cite_column=None, labels=labels, anchor_column=None))


def cumulative(ev: Evidence, name: str) -> HTML:
    """The cumulative forest plot of synthesis ``name``: the pooled estimate as each study is added in the declared
    order (e.g. by year)."""
    from markupsafe import escape

    from livingreview import meta
    from livingreview.analysis.synthesis import accumulated, analysis, is_ratio
    from livingreview.publishing import forest as plots

    s = analysis(ev, name)
    try:
        cum = accumulated(ev, name)
    except meta.CannotPool as exc:
        return HTML(f"<p>{escape(_nothing_to_pool(exc))}</p>")
    order = f" by {ev.declared[s.table].column(s.cumulative).name}" if s.cumulative else ""
    chart = plots.cumulative_plot(cum, measure=s.measure if s.measure != "GEN" else None, ratio=is_ratio(s),
                                  title=f"Cumulative meta-analysis{order}")
    return figure(chart, f"cumulative-{name}")


def accuracy_forests(ev: Evidence, table: str, **columns: str | tuple[str, ...]) -> HTML:
    """Per-marker forest plots of the diagnostic odds ratio, one for each marker that at least two studies report
    with its sensitivity, specificity and group sizes in the same stratum (``columns``: see
    ``analysis.accuracy.Columns``), after one sentence saying how many rows have those data."""
    from markupsafe import escape

    from livingreview import meta
    from livingreview.analysis import accuracy
    from livingreview.publishing import forest as plots

    cols = accuracy.Columns(**columns)
    parts = [f"<p>{escape(accuracy.note(ev, table, cols))}</p>"]
    for (marker, *strata), rows in accuracy.marker_groups(ev, table, cols):
        labels = [f"{r['id']} ({', '.join(r['citekeys'])})" for r in rows.to_dict(orient="records")]
        dat = meta.escalc("OR", rows, ai="tp", bi="fn", ci="fp", di="tn", slab=labels)
        res = meta.rma(dat["yi"], dat["vi"])
        where = ", ".join(str(v) for v in strata)
        chart = plots.forest(dat.assign(label=labels), res, measure="OR", title=f"{marker} ({where})",
                             xlabel="Diagnostic odds ratio (log scale)")
        parts.append(figure(chart, f"accuracy-{marker}-{where}").data)
    return HTML("\n".join(parts))


def _subgroups(ev: Evidence, name: str, column: str):
    """The studies and subgroup fits of ``column``, its terms shown by their labels."""
    import dataclasses

    from livingreview.analysis.synthesis import analysis, by_subgroup

    s = analysis(ev, name)
    dat, res = by_subgroup(ev, name, column)
    vocab = ev.column_vocab(s.table, column)
    label = vocab.label if vocab is not None else str
    dat[column] = dat[column].map(label)
    return dat, dataclasses.replace(res, groups={label(g): fit for g, fit in res.groups.items()})


def subgroup_forest(ev: Evidence, name: str, column: str) -> HTML:
    """The forest plot of synthesis ``name`` in subgroups of the vocabulary column ``column``, each with its
    diamond, the overall diamond and the test for subgroup differences."""
    from markupsafe import escape

    from livingreview import meta
    from livingreview.analysis.synthesis import analysis, pooled
    from livingreview.publishing import forest as plots

    s = analysis(ev, name)
    try:
        dat, res = _subgroups(ev, name, column)
        overall = pooled(ev, name)
    except meta.CannotPool as exc:
        return HTML(f"<p>{escape(_nothing_to_pool(exc))}</p>")
    vocab = ev.column_vocab(s.table, column)
    by = vocab.name if vocab is not None else column
    chart = plots.subgroup_forest(dat, column, res, overall, measure=s.measure if s.measure != "GEN" else None,
                                  ratio=s.ratio or None,
                                  title=f"Forest plot by {by.replace('_', ' ')}")
    return figure(chart, f"subgroups-{name}-{column}")


def subgroup_table(ev: Evidence, name: str, column: str) -> Markdown:
    """Each subgroup's pooled estimate of synthesis ``name`` as numbers, and the test for subgroup differences."""
    import numpy as np
    import pandas as pd

    from livingreview import meta
    from livingreview.analysis.synthesis import analysis, is_ratio
    from livingreview.publishing.render import escape_md

    s = analysis(ev, name)
    try:
        _, res = _subgroups(ev, name, column)
    except meta.CannotPool as exc:
        return Markdown(_nothing_to_pool(exc))
    ratio = is_ratio(s)
    shown = _scales(s.measure, ratio)[0]
    rows = []
    for group, fit in res.groups.items():
        p = fit.transf(np.exp) if ratio else fit.predict()
        rows.append({"group": group, "k": fit.k,
                     "estimate": f"{_fixed(p.pred)} ({_fixed(p.ci_lb)} to {_fixed(p.ci_ub)})"
                                 + ("" if fit.pooled else ", one study: not pooled"),
                     "tau2": _fixed(fit.tau2) if fit.pooled and fit.method != "EE" else "",
                     "I2": f"{fit.I2:.2f}%" if fit.pooled else ""})
    text = markdown_table(pd.DataFrame(rows), cite_column=None, anchor_column=None,
                          labels={"group": "Subgroup", "k": "Studies",
                                  "estimate": f"{shown} ({s.level:g}% CI)", "tau2": "τ²", "I2": "I²"})
    if res.QMdf:
        text += ("\n\n" + escape_md(f"Test for subgroup differences (mixed-effects model with the subgroup as "
                                    f"moderator): QM = {_fixed(res.QM)} (df = {res.QMdf}, {_p_value(res.QMp)}).")
                 + " " + escape_md(f"Between-subgroup Q of the equal-effects model: {_fixed(res.Qbet)} "
                                   f"(df = {res.Qbetdf}, {_p_value(res.Qbetp)})."))
    return Markdown(text)


def _regression_chart(dat: pd.DataFrame, reg, column: str, title: str, xlabel: str, ratio: bool, measure: str,
                      level: float) -> alt.LayerChart:
    """Each study as a bubble (size: its weight in the model) at its moderator value, with the fitted line and its
    confidence band, on the measure's scale."""
    import textwrap

    import numpy as np
    from scipy import stats

    from livingreview.publishing.figures import data_table

    x = dat[column].astype(float).to_numpy()
    w = 1 / (dat["vi"].to_numpy() + reg.tau2)
    X = np.column_stack([np.ones(len(x)), x])
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    if reg.df is not None:  # Hartung-Knapp scales the covariance by the weighted residual variance
        res = dat["yi"].to_numpy() - X @ np.asarray(reg.beta)
        cov = cov * float((w * res**2).sum()) / reg.df
    q = 1 - (1 - level / 100) / 2
    crit = stats.t.ppf(q, reg.df) if reg.df is not None else stats.norm.ppf(q)
    grid = np.linspace(x.min(), x.max(), 50)
    G = np.column_stack([np.ones(len(grid)), grid])
    fit = G @ np.asarray(reg.beta)
    half = crit * np.sqrt(np.einsum("ij,jk,ik->i", G, cov, G))
    back = np.exp if ratio else (lambda a: a)
    line = pd.DataFrame({"x": grid, "fit": back(fit), "lo": back(fit - half), "hi": back(fit + half)})
    points = pd.DataFrame({"label": dat["label"], "x": x, "estimate": back(dat["yi"].to_numpy()),
                           "ci_lb": dat["ci_lb"], "ci_ub": dat["ci_ub"], "weight": 100 * w / w.sum()})
    values = [*points["estimate"], *line["lo"], *line["hi"]]
    if ratio:
        from livingreview.publishing.forest import _ticks

        domain, ticks = _ticks(values)
        scale = alt.Scale(type="log", domain=domain, nice=False)
        y_axis = alt.Axis(values=ticks, format="~g", grid=False, title=f"{measure} (log scale)")
    else:
        scale, y_axis = alt.Scale(zero=False), alt.Axis(grid=False, title=measure)
    xs = alt.X("x:Q", title=xlabel, scale=alt.Scale(zero=False), axis=alt.Axis(grid=False, tickCount=8))
    # the fitted line as inline values, not a frame: the chart's data table is made from its frames (the studies)
    fitted_values = alt.Data(values=line.to_dict(orient="records"))
    band = alt.Chart(fitted_values).mark_area(opacity=0.18, color="#2171b5").encode(
        x=xs, y=alt.Y("lo:Q", scale=scale, axis=y_axis), y2="hi:Q")
    fitted = alt.Chart(fitted_values).mark_line(color="#08306b").encode(x=xs, y=alt.Y("fit:Q", scale=scale))
    null = alt.Chart(pd.DataFrame({"y": [1.0 if ratio else 0.0]})).mark_rule(color="#999999", strokeDash=[4, 3]) \
        .encode(y=alt.Y("y:Q", scale=scale))
    bubbles = alt.Chart(points).mark_circle(color="#4d4d4d", opacity=0.7, stroke="#ffffff", strokeWidth=0.5).encode(
        x=xs, y=alt.Y("estimate:Q", scale=scale),
        size=alt.Size("weight:Q", scale=alt.Scale(range=[30, 600]), legend=None),
        tooltip=[alt.Tooltip("label:N", title="Study"), alt.Tooltip("x:Q", title=xlabel),
                 alt.Tooltip("estimate:Q", title=measure, format=".3f"),
                 alt.Tooltip("weight:Q", title="Weight (%)", format=".1f")])
    slope = reg.coef(column)
    scale_name = f"log {measure}" if ratio else measure
    subtitle = (f"{scale_name} changes by {slope['estimate']:.4f} per unit of {xlabel[0].lower() + xlabel[1:]} "
                f"({level:g}% CI "
                f"{slope['ci_lb']:.4f} to {slope['ci_ub']:.4f}); residual τ² = {reg.tau2:.4f}")
    description = (f"{title}. {len(points)} studies, each a bubble (size: weight) at its {xlabel.lower()} and "
                   f"{measure}, with the meta-regression line and its {level:g}% confidence band. {subtitle}.")
    # wrapped, so that a phone's narrow chart keeps its whole title
    heading = alt.TitleParams(textwrap.wrap(title, 40), subtitle=textwrap.wrap(subtitle, 48), anchor="start",
                              frame="bounds")
    chart = alt.layer(band, fitted, null, bubbles, title=heading)
    chart = chart.properties(width="container", height=320, description=description)
    return data_table(chart, {"label": "Study", "x": xlabel, "estimate": measure, "ci_lb": "CI lower",
                              "ci_ub": "CI upper", "weight": "Weight (%)"})


def _moderator_label(ev: Evidence, table: str, column: str) -> str:
    """A column's description as an axis title (its first clause, without the final period)."""
    text = ev.declared[table].column(column).description.strip().rstrip(".")
    return text.split(",")[0] or column


def meta_regression(ev: Evidence, name: str, column: str) -> HTML:
    """The meta-regression of synthesis ``name`` on the numeric moderator ``column`` as a bubble plot."""
    from markupsafe import escape

    from livingreview import meta
    from livingreview.analysis.synthesis import analysis, is_ratio, regression

    s = analysis(ev, name)
    try:
        dat, reg = regression(ev, name, column)
    except meta.CannotPool as exc:
        return HTML(f"<p>{escape(_nothing_to_pool(exc))}</p>")
    moderator = _moderator_label(ev, s.table, column)
    chart = _regression_chart(dat, reg, column, f"Meta-regression on {moderator[0].lower() + moderator[1:]}",
                              moderator, is_ratio(s),
                              _scales(s.measure, is_ratio(s))[0], s.level)
    return figure(chart, f"regression-{name}-{column}")


def regression_table(ev: Evidence, name: str, column: str) -> Markdown:
    """The coefficients of the meta-regression of synthesis ``name`` on ``column``, its test and the residual
    heterogeneity, as numbers (metafor's ``rma(yi, vi, mods = ~ column)``)."""
    import pandas as pd

    from livingreview import meta
    from livingreview.analysis.synthesis import analysis, is_ratio, pooled, regression
    from livingreview.publishing.render import escape_md

    s = analysis(ev, name)
    try:
        _, reg = regression(ev, name, column)
        base = pooled(ev, name)
    except meta.CannotPool as exc:
        return Markdown(_nothing_to_pool(exc))
    stat = "t" if reg.df is not None else "z"
    moderator = _moderator_label(ev, s.table, column)
    rows = [{"name": "intercept" if n == "intrcpt" else moderator if n == column else n,
             "estimate": _fixed(c["estimate"]), "se": _fixed(c["se"]),
             "stat": _fixed(c["stat"]), "p": _p_value(c["pval"]).removeprefix("p = ").replace("p < ", "< "),
             "ci": f"{_fixed(c['ci_lb'])} to {_fixed(c['ci_ub'])}"}
            for n in reg.names for c in [reg.coef(n)]]
    scale = _scales(s.measure, is_ratio(s))[1]
    text = markdown_table(pd.DataFrame(rows), cite_column=None, anchor_column=None,
                          labels={"name": f"Coefficient ({scale})", "estimate": "Estimate", "se": "SE",
                                  "stat": stat, "p": "p", "ci": f"{s.level:g}% CI"})
    test = (f"QM = {_fixed(reg.QM)} (df = {reg.QMdf}, {_p_value(reg.QMp)})" if reg.df is None else
            f"F({reg.QMdf}, {reg.df}) = {_fixed(reg.QM)}, {_p_value(reg.QMp)}")
    explained = ""
    if base.pooled and base.tau2 > 0 and base.k == reg.k and s.method != "EE":
        share = max(0.0, (base.tau2 - reg.tau2) / base.tau2)
        explained = (f"; the moderator accounts for {share:.2%} of the between-study variance (pseudo-R², as metafor "
                     f"reports it: τ² {_fixed(base.tau2)} without it)")
    text += "\n\n" + escape_md(f"{reg.k} studies. Test of the moderator: {test}. Residual heterogeneity: "
                               f"τ² = {_fixed(reg.tau2)}, I² = {reg.I2:.2f}%, QE = {_fixed(reg.QE)} "
                               f"(df = {reg.k - len(reg.names)}, {_p_value(reg.QEp)}){explained}.")
    return Markdown(text)
