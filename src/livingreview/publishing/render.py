"""Turning summary tables and charts into page content, with every data value escaped.

Tables become MyST Markdown (so ``{cite:p}`` roles resolve to the bibliography); charts become a
container plus their spec as inert JSON, drawn by the book's own vendored vega-embed (no CDN).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from markupsafe import escape

from livingreview.model.text import cite_anchor, plain_number, row_noun

# MyST/CommonMark treat these as markup; a backslash makes each one literal text.
_MD_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+!|~$:^=-])")
CITE_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:.+\-]*$")
ROW_ID_RE = re.compile(r"^[A-Z]+-[0-9]{4,}$")



def escape_md(value: object) -> str:
    """Escape a data value for MyST Markdown: HTML-escaped, Markdown punctuation backslashed, one line."""
    if value is None or (not isinstance(value, (str, tuple, list)) and pd.isna(value)):
        return ""
    if isinstance(value, (tuple, list)):
        value = "; ".join(str(v) for v in value)
    text = " ".join(str(plain_number(value)).split())
    text = _MD_SPECIALS.sub(r"\\\1", text)
    return str(escape(text))  # then <, >, &, quotes -> entities, which Markdown shows as text


def fenced(lines: list[str], info: str = "text") -> str:
    """``lines`` as a Markdown code block whose fence no line can close (longer than any backtick run in them)."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence + info, *lines, fence])


def cite(keys: Iterable[str]) -> str:
    """A ``{cite:p}`` role for ``keys`` (validated BibTeX keys only; anything else is dropped)."""
    good = [k for k in keys if CITE_KEY_RE.match(k)]
    return "{cite:p}`" + ",".join(good) + "`" if good else ""


def cite_empty(keys: Iterable[str]) -> str:
    """A ``{cite:empty}`` role for ``keys``: cites them (each gets its bibliography entry) and shows nothing."""
    good = [k for k in keys if CITE_KEY_RE.match(k)]
    return "{cite:empty}`" + ",".join(good) + "`" if good else ""


def anchor(row_id: object) -> str:
    """An HTML anchor for a validated row id (``#ABC-0007``), else nothing."""
    text = str(row_id)
    return f'<span id="{escape(text)}"></span>' if ROW_ID_RE.match(text) else ""


def markdown_table(df: pd.DataFrame, cite_column: str | None = "citekeys", labels: dict[str, str] | None = None,
                   anchor_column: str | None = "id") -> str:
    """A MyST Markdown table of ``df``: every cell escaped, the ``cite_column`` rendered as citations.

    Each value of ``anchor_column`` that is a row id also becomes an anchor, so that rows can be linked.
    """
    labels = labels or {}
    headers = [escape_md(labels.get(c, c.replace("_", " ").capitalize())) for c in df.columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in df.itertuples(index=False):
        cells = []
        for col, value in zip(df.columns, row, strict=True):
            if col == cite_column:
                keys = value if isinstance(value, (tuple, list)) else str(value).split(";")
                cells.append(cite(keys))
            elif col == anchor_column:
                cells.append(anchor(value) + escape_md(value))
            else:
                cells.append(escape_md(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: where each kind of record id opens, for the link beside a row's citation
RECORD_LINKS = (
    (re.compile(r"^PMID:([1-9][0-9]{0,8})$"), "PubMed {0}", "https://pubmed.ncbi.nlm.nih.gov/{0}/"),
    (re.compile(r"^(PMC[1-9][0-9]{0,9})$"), "{0}", "https://pmc.ncbi.nlm.nih.gov/articles/{0}/"),
    (re.compile(r"^doi:(10\.[0-9]{4,9}/[!-~]+)$"), "DOI", "https://doi.org/{0}"),
)


def record_link(identifier: str) -> str:
    """An HTML link to the record a row names in ``source`` (validated ids only; anything else is dropped)."""
    from urllib.parse import quote

    for pattern, label, url in RECORD_LINKS:
        found = pattern.match(identifier)
        if found:
            target = url.format(quote(found.group(1), safe="/:;()._-"))
            return (f'<a class="lr-record" href="{escape(target)}" title="Record behind this row: '
                    f'{escape(identifier)}">{escape(label.format(found.group(1)))}</a>')
    return ""


def _items(value: object) -> list[str]:
    """A cell's items as text; a whole number stored as a float reads as one ('44', not '44.0')."""
    if isinstance(value, (tuple, list)):
        return [str(v) for v in value]
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return []
    return [str(plain_number(value)) if isinstance(value, float) else str(value)]


def finding_blocks(df: pd.DataFrame, labels: dict[str, str] | None = None) -> str:
    """Each row as a block: its id (an anchor), its fields as labelled chips, then the finding at full width with
    its citation and a link to the record behind it. Every data value is escaped."""
    labels = labels or {}
    fields = [c for c in df.columns if c not in ("id", "finding", "citekeys", "source")]
    blocks = []
    for row in df.to_dict(orient="records"):
        chips = []
        for col in fields:
            text = "; ".join(_items(row[col]))
            if text:
                label = escape_md(labels.get(col, col.replace("_", " ").capitalize()))
                chips.append(f'<span class="lr-chip"><span class="lr-chip-label">{label}</span> '
                             f'{escape_md(text)}</span>')
        row_id = str(row.get("id", ""))
        head = anchor(row_id) + (f'<span class="lr-row-id">{escape_md(row_id)}</span> ' if row_id else "")
        links = " ".join(filter(None, (record_link(i) for i in _items(row.get("source")))))
        tail = " ".join(filter(None, (cite(_items(row.get("citekeys"))), links)))
        blocks.append(":::{div} lr-finding\n" + head + " ".join(chips) + "\n\n"
                      + escape_md(row.get("finding", "")) + (f" {tail}" if tail else "") + "\n:::")
    return "\n\n".join(blocks)


def entry_blocks(df: pd.DataFrame, head: str, facts: list[str], texts: list[str],
                 labels: dict[str, str] | None = None, cite_column: str = "citekeys") -> str:
    """Each row as a block that fits any width: ``head`` in bold (after the row's anchor), the short ``facts`` as
    labelled chips and its citation, then each long text of ``texts`` as a labelled paragraph under it (where a
    table would need a column per text). Every data value is escaped."""
    labels = labels or {}

    def name(col: str) -> str:
        return escape_md(labels.get(col, col.replace("_", " ").capitalize()))

    blocks = []
    for row in df.to_dict(orient="records"):
        filled = {col: [str(plain_number(v)) for v in _items(row[col]) if str(v).strip()] for col in facts + texts}
        chips = [f'<span class="lr-chip"><span class="lr-chip-label">{name(col)}</span> '
                 f'{escape_md("; ".join(filled[col]))}</span>' for col in facts if filled[col]]
        first = " ".join(filter(None, [anchor(row.get("id", "")) + f"**{escape_md(row[head])}**", *chips,
                                       cite(_items(row.get(cite_column)))]))
        paragraphs = [f"**{name(col)}:** {escape_md('; '.join(filled[col]))}" for col in texts if filled[col]]
        blocks.append(":::{div} lr-finding lr-entry\n" + "\n\n".join([first, *paragraphs]) + "\n:::")
    return "\n\n".join(blocks)


def chart_title(spec: dict) -> str:
    """The chart's title and subtitle as one plain sentence (its name for screen readers)."""
    title = spec.get("title", "")
    if isinstance(title, dict):
        parts = [title.get("text", ""), title.get("subtitle", "")]
        flat = [" ".join(p) if isinstance(p, list) else str(p) for p in parts if p]
        return ". ".join(x for x in flat if x)
    return " ".join(title) if isinstance(title, list) else str(title)


def _plain(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(map(str, value))
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(plain_number(value, 4))


def data_table_html(df: pd.DataFrame, limit: int = 300) -> str:
    """The values behind a chart as a collapsible HTML table (its text alternative), every value escaped."""
    shown = df.head(limit)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(_plain(v))}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    more = f"<p>First {limit} of {len(df)} rows.</p>" if len(df) > limit else ""
    return (f'<details class="lr-chart-data"><summary>Data behind this chart ({len(df)} '
            f'{"row" if len(df) == 1 else "rows"})</summary>'
            f'<div class="lr-explorer-scroll" tabindex="0" role="region" aria-label="Data behind this chart">'
            f'<table class="table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{more}</details>")


def chart_html(spec: dict, name: str, data: pd.DataFrame | None = None) -> str:
    """A chart container with its Vega-Lite spec as inert JSON; the book's script draws it.

    The container is named by the chart's title for screen readers, and ``data`` (the frame the chart was made
    from) follows it as a collapsible table.
    """
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())
    payload = script_json(spec)
    label = chart_title(spec) or next((chart_title(part) for key in ("layer", "vconcat", "hconcat", "concat")
                                       for part in spec.get(key, []) if chart_title(part)), "") or f"Chart: {slug}"
    table = data_table_html(data) if data is not None else ""
    # a named figure around the chart (vega-embed sets its own attributes on the element it draws into), holding
    # the chart, its spec and the table of its values
    return (f'<div class="lr-figure" role="figure" aria-label="{escape(label)}">\n'
            f'<div class="lr-chart" id="chart-{slug}"></div>\n'
            f'<script type="application/json" class="lr-chart-spec" data-target="chart-{slug}">{payload}</script>'
            + (f"\n{table}" if table else "") + "\n</div>")


def script_json(value: object) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` at all, only their escapes.

    JSON allows ``\\u003c`` wherever ``<`` may stand, so the text parses to the same value, while nothing in the
    data can end the element (``</script>``) or open an HTML comment (``<!--``) that swallows later scripts.
    """
    return script_safe(json.dumps(value, sort_keys=True, ensure_ascii=False))


def script_safe(text: str) -> str:
    """JSON text made safe inside a ``<script>`` element (see ``script_json``)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_html(src: str, name: str = "explorer", page_size: int = 25, bibliography: str | None = None) -> str:
    """A searchable, filterable, paged table whose rows the book's script fetches from ``src`` (a JSON file); its
    studies link to their entries on the ``bibliography`` page, if the book has one.

    Rows are not embedded, so the page stays small however large the review grows.
    """
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower())
    script = src[:-5] + ".js" if src.endswith(".json") else src
    bib = f' data-bibliography="{escape(bibliography)}"' if bibliography else ""
    return (f'<div class="lr-explorer" id="explorer-{slug}" data-src="{escape(src)}" data-script="{escape(script)}" '
            f'data-name="{escape(name)}" data-page-size="{int(page_size)}"{bib}><p>Loading the table of all rows.</p>'
            f'</div><p class="lr-print-only">In print, every row is listed in full in the appendix '
            f'(Appendix: every row).</p>')


#: the id sphinxcontrib-bibtex gives each bibliography entry (its ``bibtex_cite_id``), so that rows can link to it
def explorer_json(df: pd.DataFrame, labels: dict[str, str] | None = None,
                  orders: dict[str, list[str]] | None = None,
                  filters: list[tuple[str, str]] | None = None) -> bytes:
    """The explorer's rows as compact JSON: column names once, then one list per row.

    ``labels`` gives each column's header; ``orders`` the order of a column's values where it is not alphabetical
    (evidence levels, lowest first), for its filter and its sort; ``filters`` the columns offered as a filter, each
    with what its values are called ('allocations'), also read from the page's address (``?alloc=...``).
    """
    frame = df.astype(object).where(df.notna(), "")
    columns = [str(c) for c in frame.columns]
    payload = {"columns": columns, "rows": frame.to_numpy().tolist()}  # the explorer's cells are text
    if labels:
        payload["labels"] = {c: labels[c] for c in columns if c in labels}
    if orders:
        payload["orders"] = {c: v for c, v in orders.items() if c in columns}
    if filters:
        payload["filters"] = [[c, what] for c, what in filters if c in columns]
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def explorer_script(name: str, payload: bytes) -> str:
    """The same rows as a script that registers them, so that the explorer also works from ``file://``."""
    return (f"window.lrExplorerData = window.lrExplorerData || {{}};\n"
            f"window.lrExplorerData[{script_json(name)}] = {script_safe(payload.decode('utf-8'))};\n")


def limit_groups(df: pd.DataFrame, group: str, limit: int) -> list[tuple[str, pd.DataFrame, int]]:
    """(group value, first ``limit`` rows, rows left out) for each group of ``df``, in order."""
    out = []
    for value, part in df.groupby(group, sort=False, observed=True):
        out.append((str(value), part.head(limit), max(0, len(part) - limit)))
    return out


def _prisma_steps(counts: dict) -> list[tuple[list[str], list[str] | None]]:
    """(main box lines, side box lines) per step of the PRISMA 2020 flow, from ``summaries.prisma_counts``.

    A line with a count ``(n = ...)`` heads a box or a part of one. The full-text boxes are drawn only when a
    record was assessed in full text: a flow whose inclusions were all decided at screening says so instead.
    """
    def listed(title: str, total: int, items: dict[str, int]) -> list[str]:
        return [f"{title} (n = {total})", *[f"{label}: {n}" for label, n in items.items()]]

    identified = listed("Records identified", counts["identified_total"], counts["identified"])
    excluded = counts["excluded_screening"]
    late = counts["excluded_full_text"]
    screened = [f"Records screened (title/abstract and published record) (n = {counts['screened']})"]
    if counts["sought"] and counts["included_at_screening"]:
        screened.append(f"Included at screening, on the published record: {counts['included_at_screening']}")
    steps: list[tuple[list[str], list[str] | None]] = [
        (identified, [f"Records removed before screening (n = {counts['duplicates']})",
                      f"Duplicate records: {counts['duplicates']}",
                      f"Awaiting screening (n = {counts['pending']})"]),
        (screened, listed("Records excluded", sum(excluded.values()), excluded)),
    ]
    if counts["sought"]:
        steps += [([f"Reports sought for retrieval (full text) (n = {counts['sought']})"],
                   [f"Reports not retrieved (n = {counts['not_retrieved']})"]),
                  ([f"Reports assessed for eligibility (full text) (n = {counts['assessed']})"],
                   listed("Reports excluded", sum(late.values()), late))]
    included = [f"Studies included in review (n = {counts['included']})"]
    if not counts["sought"]:
        included.append("Eligibility was decided at screening, on each paper's published record; "
                        "no report was assessed in full text")
    elif counts["included_at_screening"]:
        included += [f"Included at screening: {counts['included_at_screening']}",
                     f"Included after full-text assessment: {counts['included_after_full_text']}"]
    them = "these studies" if counts.get("window") else "them"
    label = counts.get("findings_label", "findings rows")
    findings = "Findings rows" if counts.get("window") else label[0].upper() + label[1:]
    included += [f"{findings} citing {them}: {counts['findings_rows']}",
                 *(f"{row_noun(title)} rows citing {them}: {n}"
                   for title, n in counts.get("reference_rows", {}).items()),
                 f"Included, awaiting extraction: {counts['awaiting_extraction']}"]
    return [*steps, (included, None)]


def _wrap(lines: list[str], width: int) -> list[tuple[str, bool]]:
    """Each line wrapped to ``width`` characters, with whether it is a heading (it gives a count) to set in bold.

    A heading is set in bold, which is wider: it wraps a little shorter, and its count '(n = 5)' stays on one line.
    """
    import textwrap

    out = []
    for line in lines:
        heading = "(n = " in line
        kept = re.sub(r"\(n = (\d+)\)", "(n\u00a0=\u00a0\\1)", line)  # textwrap never breaks at a no-break space
        parts = textwrap.wrap(kept, width - 4 if heading else width) or [""]
        out += [(part.replace("\u00a0", " "), heading) for part in parts]
    return out


def _box(x: int, y: int, w: int, lines: list[tuple[str, bool]], kind: str) -> tuple[str, int]:
    height = 14 + 16 * len(lines)
    bold = ' font-weight="600"'
    text = "".join(f'<text x="{x + 8}" y="{y + 20 + 16 * i}"{bold if heading else ""}>{escape(line)}</text>'
                   for i, (line, heading) in enumerate(lines))
    fill, stroke = ("#eef4fa", "#3182bd") if kind == "main" else ("#fafafa", "#999999")
    return (f'<rect class="lr-prisma-{kind}" x="{x}" y="{y}" width="{w}" height="{height}" rx="4" fill="{fill}" '
            f'stroke="{stroke}"/>{text}', height)


def prisma_svg(counts: dict, title: str, narrow: bool = False) -> str:
    """The PRISMA 2020 flow as an SVG that scales to its column, with its numbers as the text alternative."""
    steps = _prisma_steps(counts)
    parts, y = [], 10
    width = 360 if narrow else 660
    arrow = ('<line class="lr-prisma-arrow" x1="{0}" y1="{1}" x2="{2}" y2="{3}" stroke="#555555" stroke-width="1.2" '
             'marker-end="url(#lr-arrow{4})"/>')
    tag = "-n" if narrow else "-w"
    for i, (main, side) in enumerate(steps):
        if narrow:
            box, h = _box(10, y, 340, _wrap(main, 44), "main")
            parts.append(box)
            y += h
            if side:
                parts.append(arrow.format(30, y, 30, y + 14, tag))
                box, hs = _box(40, y + 16, 310, _wrap(side, 40), "side")
                parts.append(box)
                y += 16 + hs
        else:
            main_lines, side_lines = _wrap(main, 40), _wrap(side or [], 42)
            box, h = _box(10, y, 300, main_lines, "main")
            parts.append(box)
            bottom = y + h
            if side:
                sbox, hs = _box(350, y, 300, side_lines, "side")
                parts.append(sbox)
                parts.append(arrow.format(310, y + 18, 348, y + 18, tag))
                h = max(h, hs)
            y += h
        if i < len(steps) - 1:
            x, start = (30, y) if narrow else (160, bottom)
            parts.append(arrow.format(x, start, x, y + 22, tag))
            y += 24
    height = y + 10
    desc = "; ".join(" ".join(main + (side or [])) for main, side in steps)
    slug = "narrow" if narrow else "wide"
    return (f'<svg class="lr-prisma lr-prisma-{slug}" viewBox="0 0 {width} {height}" width="100%" role="img" '
            f'aria-labelledby="prisma-{slug}-title prisma-{slug}-desc" font-size="12" '
            f'font-family="system-ui, sans-serif" fill="#222222">'
            f'<title id="prisma-{slug}-title">{escape(title)}</title>'
            f'<desc id="prisma-{slug}-desc">{escape(desc)}</desc>'
            f'<defs><marker id="lr-arrow{tag}" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
            f'<path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>{"".join(parts)}</svg>')


def static_copy(path: Path, spec: dict) -> bool:
    """Write the SVG drawing of the Vega-Lite ``spec`` to ``path`` unless it holds that drawing; whether it drew.

    The file's first line names the spec and renderer it was drawn from, so an unchanged chart is not drawn again.
    Beside it goes the spec compiled to Vega (``vega_copy``), which the page draws with the vega runtime alone.
    """
    import hashlib

    import vl_convert as vlc

    from livingreview.model.fileio import atomic_write

    compiled = vega_copy(path)
    if compiled_for(compiled, spec) is None:
        vega = vlc.vegalite_to_vega(spec)
        atomic_write(compiled, json.dumps({"source": spec_hash(spec), "vega": vega}, sort_keys=True,
                                          ensure_ascii=False).encode("utf-8"))
    spec = _fixed_width(spec)
    key = hashlib.sha256(json.dumps([vlc.__version__, spec], sort_keys=True).encode()).hexdigest()
    mark = f"<!-- livingreview figure {key} -->\n"
    if path.is_file():
        with open(path, encoding="utf-8", errors="replace") as fh:
            if fh.readline() == mark:
                return False
    atomic_write(path, (mark + vlc.vegalite_to_svg(spec)).encode("utf-8"))
    return True


def vega_copy(svg: Path) -> Path:
    """Where the Vega compilation of the chart drawn in ``svg`` is kept (``name.vega.json`` beside it)."""
    return svg.with_name(svg.stem + ".vega.json")


def spec_hash(spec: dict) -> str:
    """A hash of a Vega-Lite spec (and of the vl-convert that compiles it), naming its compiled copy."""
    import hashlib

    import vl_convert as vlc

    return hashlib.sha256(json.dumps([vlc.__version__, spec], sort_keys=True).encode()).hexdigest()


def compiled_for(path: Path, spec: dict) -> dict | None:
    """The Vega spec compiled from ``spec`` that ``path`` holds, or None when it holds another chart's (or none)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("source") != spec_hash(spec):
        return None
    return stored.get("vega")


def compile_vega(spec: dict, svg: Path | None = None) -> dict:
    """``spec`` (Vega-Lite) as Vega: from the copy ``static_copy`` left beside ``svg`` if it is this spec's, else
    compiled now."""
    import vl_convert as vlc

    found = compiled_for(vega_copy(svg), spec) if svg is not None else None
    return found if found is not None else vlc.vegalite_to_vega(spec)


#: the width of a chart's static copy, which has no page to take its width from
STATIC_WIDTH = 720


def _fixed_width(spec: object) -> object:
    """``spec`` with every container width (the page's chart follows its column) replaced by ``STATIC_WIDTH``."""
    if isinstance(spec, dict):
        return {k: STATIC_WIDTH if k == "width" and v == "container" else _fixed_width(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_fixed_width(v) for v in spec]
    return spec


def warm_renderer() -> None:
    """Start vl-convert's renderer in this process (its first drawing takes half a second)."""
    import vl_convert as vlc

    vlc.vegalite_to_svg({"mark": "point", "data": {"values": [{"x": 1}]}, "encoding": {"x": {"field": "x"}}})


def group_anchor(table: str, group: str) -> str:
    """The id of a group's heading in the appendix (``group-trials-random-allocation``), from its table and label."""
    from docutils.nodes import make_id

    return make_id(f"group-{table}-{group}")


def row_list_html(df: pd.DataFrame, table: str, labels: dict[str, str], bibliography: str | None = None) -> str:
    """Every row of ``df`` (see ``summaries.appendix_rows``) as one compact paragraph each, headed by its group.

    Raw HTML rather than MyST, so that a review of tens of thousands of rows is not parsed row by row; each row id
    (and each extra anchor) is an element id, each citation links to its entry on the ``bibliography`` page, if the
    book has one (``labels``: key -> 'Surname et al., Year'). Every data value is escaped.
    """
    parts: list[str] = []
    current = None
    for row in df.to_dict(orient="records"):
        if row["group"] and row["group"] != current:
            current = row["group"]
            count = int((df["group"] == current).sum())
            parts.append(f'<h3 class="lr-group" id="{escape(group_anchor(table, current))}">{escape(current)} '
                         f'<span class="lr-count">({count} row{"s" if count != 1 else ""})</span></h3>')
        row_id = str(row["id"])
        if not ROW_ID_RE.match(row_id):
            continue
        extra = "".join(f'<span id="{escape(a)}"></span>' for a in row["anchors"] if ROW_ID_RE.match(str(a)))
        cites = "; ".join((f'<a href="{escape(bibliography)}#{escape(cite_anchor(k))}">{escape(labels.get(k, k))}</a>'
                           if bibliography else str(escape(labels.get(k, k))))
                          for k in row["citekeys"] if CITE_KEY_RE.match(k))
        records = " ".join(filter(None, (record_link(i) for i in row["source"])))
        tail = " ".join(filter(None, (f"({cites})" if cites else "", records)))
        facts = f' <span class="lr-facts">{escape(row["facts"])}</span>' if row["facts"] else ""
        parts.append(f'<p class="lr-row" id="{escape(row_id)}">{extra}<span class="lr-row-id">{escape(row_id)}</span> '
                     f'{escape(row["text"])}{" " + tail if tail else ""}{facts}</p>')
    return '<div class="lr-all-rows">\n' + "\n".join(parts) + "\n</div>"
