"""Sphinx extension for the book: print 'et al.' where a library entry lists its authors as 'X and others'.

Entries verified only as far as the first author are stored as ``author = {Surname and others}``; pybtex and
sphinxcontrib-bibtex would print that literally ("Surname and others, 2014"). This registers an author-year
citation style and a bibliography style that render it as "Surname *et al.*".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import jinja2
import jinja2.bccache
from pybtex.richtext import HRef, Tag, Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import FieldIsMissing, first_of, node, optional, sentence, tag
from pybtex.style.template import field as bibfield
from pybtex.style.template import join as pybtex_join
from sphinxcontrib.bibtex.style.referencing import PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join as sphinx_join

from livingreview.model.schema import DOI_PATTERN, PMID_PATTERN, URL_PATTERN

ET_AL = Tag("em", "et al.")


def _split_others(persons: list) -> tuple[list, bool]:
    kept = [p for p in persons if str(p).strip().lower() != "others"]
    return kept, len(kept) != len(persons)


#: a bibliography entry lists at most this many authors, then 'et al.'
BIBLIOGRAPHY_AUTHORS = 10


def _names_with_et_al(data, role, join, format_person, kwargs, limit: int | None = None):
    """Format ``role``'s persons with ``format_person``, joined by ``join``; a trailing 'others' becomes 'et al.'.

    In a citation (``other`` given) three or more authors, or a list ending in 'others', read "First *et al.*"
    whatever the entry holds; a bibliography entry lists at most ``limit`` authors before "*et al.*".
    """
    try:
        persons = data["entry"].persons[role]
    except KeyError:
        raise FieldIsMissing(role, data["entry"]) from None
    persons, others = _split_others(list(persons))
    if kwargs.get("other") is not None and persons and (others or len(persons) > 2):
        return Text(join(sep=", ")[[format_person(persons[0])]].format_data(data), " ", ET_AL)
    if limit is not None and len(persons) > limit:
        persons, others = persons[:limit], True
    formatted = [_formatted_person(format_person, p, data) for p in persons]
    if others:
        return Text(join(sep=kwargs.get("sep", ", "))[formatted].format_data(data), " ", ET_AL)
    return join(**kwargs)[formatted].format_data(data)


_PERSONS: dict[tuple, Text] = {}


def _formatted_person(format_person, person, data) -> Text:
    """One person's name as rich text, formatted once per build process (decoding LaTeX names is slow)."""
    key = (getattr(format_person, "cache_key", None), str(person))
    if key[0] is None:
        return format_person(person).format_data(data)
    if key not in _PERSONS:
        _PERSONS[key] = format_person(person).format_data(data)
    return _PERSONS[key]


@node
def names_etal(children, data, role, **kwargs):
    """Citation-label names (sphinxcontrib-bibtex templates) with 'et al.' for 'others'."""
    assert not children
    person = data["style"].person

    def format_person(p):
        return person.style_plugin.format(p, person.abbreviate)

    format_person.cache_key = ("citation", type(person.style_plugin), person.abbreviate)
    return _names_with_et_al(data, role, sphinx_join, format_person, kwargs)


@node
def author_or_editor_or_title_etal(children, data, **kwargs):
    """As sphinxcontrib-bibtex's author_or_editor_or_title, with 'et al.' for 'others'."""
    assert not children
    return first_of[
        optional[names_etal("author", **kwargs)],
        optional[names_etal("editor", **kwargs)],
        tag("em")[bibfield("title")],
    ].format_data(data)


@dataclass
class EtAlPersonStyle(PersonStyle):
    """Person style whose templates print 'et al.' for a trailing 'others'."""

    def names(self, role: str, full: bool):
        return names_etal(role=role, sep=self.sep, sep2=self.sep2, last_sep=self.last_sep,
                          other=None if full else self.other)

    def author_or_editor_or_title(self, full: bool):
        return author_or_editor_or_title_etal(sep=self.sep, sep2=self.sep2, last_sep=self.last_sep,
                                              other=None if full else self.other)


@dataclass
class EtAlAuthorYearStyle(AuthorYearReferenceStyle):
    """Author-year citations with 'et al.' for entries listed as 'X and others'."""

    person: PersonStyle = field(default_factory=EtAlPersonStyle)


@node
def bibliography_names(children, context, role, **kwargs):
    """Bibliography-entry names (pybtex templates) with 'et al.' for 'others'."""
    assert not children
    style = context["style"]
    def format_person(p):
        return style.format_name(p, style.abbreviate_names)

    # the same style class and abbreviation always format a name the same way
    format_person.cache_key = ("bibliography", type(style), style.abbreviate_names)
    return _names_with_et_al(context, role, pybtex_join, format_person, kwargs, limit=BIBLIOGRAPHY_AUTHORS)


DOI_LINK_RE = re.compile(rf"^{DOI_PATTERN}$")
PMID_LINK_RE = re.compile(rf"^{PMID_PATTERN}$")
URL_LINK_RE = re.compile(rf"^{URL_PATTERN}$", re.IGNORECASE)


def web_links(fields) -> list[tuple[str, str]]:
    """(label, URL) of an entry's links: DOI, else PubMed, else its own http(s) URL; nothing else, ever.

    Whatever an entry holds, the bibliography links only to https://doi.org/, PubMed or an http(s) URL.
    """
    doi = str(fields.get("doi", "")).strip()
    pmid = str(fields.get("pmid", "") or fields.get("pubmed", "")).strip()
    url = str(fields.get("url", "")).strip()
    links = []
    if DOI_LINK_RE.match(doi):
        links.append((f"doi:{doi}", f"https://doi.org/{doi}"))
    if PMID_LINK_RE.match(pmid):
        links.append((f"PMID {pmid}", f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"))
    if not links and URL_LINK_RE.match(url):
        links.append((url, url))
    return links


@node
def safe_web_refs(children, data):
    """The entry's links as :func:`web_links` allows them, separated by commas."""
    assert not children
    parts: list = []
    for label, url in web_links(data["entry"].fields):
        parts += [", "] if parts else []
        parts.append(HRef(url, label))
    return Text(*parts)


def author_year_label(entry) -> str:
    """'Surname et al., Year' (three or more authors, or a list ending in 'others'), 'A and B, Year', 'A, Year'."""
    persons = entry.persons.get("author", [])
    names = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in persons]
    others = bool(names) and names[-1].lower() == "others"
    names = [n for n in names if n.lower() != "others"] or ["Anonymous"]
    if others or len(names) >= 3:
        who = f"{names[0]} et al."
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = names[0]
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Bibliography labels as the citations read them ('Costa-Silva et al., 2015'); a repeated label gets a, b..."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        seen: dict[str, int] = {}
        for label in labels:
            if counts[label] > 1:
                seen[label] = seen.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[min(seen[label] - 1, 25)]
            else:
                yield label


class EtAlPlainStyle(PlainStyle):
    """pybtex's plain style with 'et al.' for 'and others', and links only to DOI, PubMed or http(s) URLs."""

    default_label_style = AuthorYearLabels
    #: formatted entries by their label and content: sphinxcontrib-bibtex formats every entry twice per build
    #: (the entry and its tooltip), and a preview server's builds format the same library again and again
    _formatted: ClassVar[dict[tuple, object]] = {}

    def format_entry(self, label, entry, bib_data=None):
        key = (type(self), self.abbreviate_names, label, entry.key, entry.type, tuple(entry.fields.items()),
               tuple((role, tuple(str(p) for p in persons)) for role, persons in entry.persons.items()))
        if key not in self._formatted:
            self._formatted[key] = super().format_entry(label, entry, bib_data=bib_data)
        return self._formatted[key]

    def format_names(self, role, as_sentence=True):
        formatted = bibliography_names(role, sep=", ", sep2=" and ", last_sep=", and ")
        return sentence[formatted] if as_sentence else formatted

    def format_web_refs(self, e):
        return sentence[optional[safe_web_refs]]


_PLUGINS_REGISTERED = False


def setup(app):
    """The styles are registered as entry points (pyproject.toml); _config.yml selects them by name.

    They, and the pybtex plugins sphinxcontrib-bibtex asks for on every citation, are also registered at run time
    (both libraries look there first): looking a plugin up among the installed entry points takes about 20 ms, and
    a build asks about a thousand times. The rest keeps builds run one after another in one process (``serve``)
    fast and independent of each other.
    """
    global _PLUGINS_REGISTERED
    if not _PLUGINS_REGISTERED:  # registering scans the entry points too, so once per process
        from pybtex.backends.plaintext import Backend as PlaintextBackend
        from pybtex.plugin import register_plugin
        from pybtex.style.names.plain import NameStyle
        from pybtex.style.sorting.none import SortingStyle
        from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin

        register_plugin("pybtex.style.formatting", "plain_etal", EtAlPlainStyle, force=True)
        register_plugin("pybtex.backends", "plaintext", PlaintextBackend, force=True)
        register_plugin("pybtex.style.names", "plain", NameStyle, force=True)
        register_plugin("pybtex.style.sorting", "none", SortingStyle, force=True)
        register_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_etal", EtAlAuthorYearStyle,
                               force=True)
        _PLUGINS_REGISTERED = True
    import sphinx_external_toc.collectors

    sphinx_external_toc.collectors.disable_builtin_toctree_collector = disable_builtin_toctree_collector
    app.connect("config-inited", _engine_static)
    app.connect("config-inited", _data_scripts_only_where_shown)
    app.connect("builder-inited", _reuse_compiled_templates)
    app.connect("builder-inited", _lighter_theme_templates)
    app.connect("html-page-context", _meta_description)
    app.connect("html-page-context", _defer_scripts)
    app.connect("html-page-context", _static_charts)
    app.connect("html-page-context", _bibliography_roles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def disable_builtin_toctree_collector(app) -> None:
    """Disable Sphinx's own toctree collector in ``app`` (sphinx-external-toc puts its own in its place).

    sphinx-external-toc's version looks for the collector among every object on the heap (``gc.get_objects``),
    which grows with each build in one process (a served book's heap holds the last build's environment); this
    looks only among ``app``'s listeners. It replaces the original from this extension's setup on, that is from a
    process's second build.
    """
    from sphinx.environment.collectors.toctree import TocTreeCollector

    for listeners in list(app.events.listeners.values()):
        for listener in list(listeners):
            collector = getattr(listener.handler, "__self__", None)
            if isinstance(collector, TocTreeCollector) and collector.listener_ids is not None:
                collector.disable(app)


class CompiledTemplates(jinja2.BytecodeCache):
    """A jinja2 bytecode cache in memory: each build's new template environment reuses what earlier ones compiled.

    jinja2 keys it by template name and file and checks it against the source's hash, so an edited template is
    compiled again.
    """

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = CompiledTemplates()


def _reuse_compiled_templates(app) -> None:
    environment = getattr(getattr(app.builder, "templates", None), "environment", None)
    if environment is not None and environment.bytecode_cache is None:
        environment.bytecode_cache = _TEMPLATES


#: what the theme's templates put on every page and this book does not need, cut from their source as it is read:
#: Font Awesome's script (1.4 MB raw, run before the page is ready) draws the header's icons as SVG, which the
#: theme's stylesheet already draws from its icon font; Sphinx's search scripts and the whole search index (which
#: grows with the review) block every page's first paint for the inline search-as-you-type the book leaves off,
#: and the search page loads them itself
THEME_CUTS = {
    "static/webpack-macros.html": (
        '<script defer src="{{ pathto(\'_static/scripts/fontawesome.js\', 1) }}?digest=',
    ),
    "pydata_sphinx_theme/layout.html": (
        "<script src=\"{{ pathto('_static/searchtools.js', 1) | e }}\"></script>",
        "<script src=\"{{ pathto('_static/language_data.js', 1) | e }}\"></script>",
        "<script src=\"{{ pathto('searchindex.js', 1) | e }}\"></script>",
    ),
}


def cut_lines(source: str, starts: tuple[str, ...]) -> str:
    """``source`` without the lines that begin (after indentation) with one of ``starts``."""
    return "".join(line for line in source.splitlines(keepends=True) if not line.lstrip().startswith(starts))


def _lighter_theme_templates(app) -> None:
    templates = getattr(app.builder, "templates", None)
    if templates is None or getattr(templates, "_lr_cuts", False):
        return
    read = templates.get_source

    def get_source(environment, template):
        source, filename, uptodate = read(environment, template)
        starts = THEME_CUTS.get(template.lstrip("!"))
        return (cut_lines(source, starts) if starts else source), filename, uptodate

    templates.get_source = get_source
    templates._lr_cuts = True


#: the engine's own script (charts, the explorer), stylesheet and favicon, shipped in the package
STATIC = Path(__file__).parent / "static"
ENGINE_SCRIPT, ENGINE_STYLE, ENGINE_FAVICON = "livingreview.js", "livingreview.css", "favicon.svg"


def _engine_static(app, config) -> None:
    """Every book gets the engine's script, stylesheet and favicon from the package, so that an instance's
    ``_config.yml`` names none of them; a file of the same name in the review's own ``_static/`` takes their place
    (Sphinx copies the static folders in order, the review's last)."""
    if str(STATIC) not in map(str, config.html_static_path):
        config.html_static_path = [str(STATIC), *config.html_static_path]
    names = lambda files: [f[0] if isinstance(f, tuple) else f for f in files]  # noqa: E731
    if ENGINE_STYLE not in names(config.html_css_files):
        config.html_css_files = [*config.html_css_files, ENGINE_STYLE]
    if ENGINE_SCRIPT not in names(config.html_js_files):
        config.html_js_files = [*config.html_js_files, ENGINE_SCRIPT]
    if not config.html_favicon:
        config.html_favicon = str(STATIC / ENGINE_FAVICON)


def _data_scripts_only_where_shown(app, config) -> None:
    """Keep the generated data scripts and the chart library off every page's script list.

    Jupyter Book adds every ``.js`` file under ``_static`` to every page; the explorer's rows (megabytes in a
    large review) and the chart library (about 900 KB) would then load with each chapter. The explorer's own page
    names its script itself, and the book's script fetches the chart library on a page that has charts.
    """
    from livingreview.checking.layout import DATA_FILES, VENDOR

    skipped = tuple(folder.relative_to("_static").as_posix() + "/" for folder in (DATA_FILES, VENDOR.parent))
    config.html_js_files = [f for f in config.html_js_files
                            if not str(f[0] if isinstance(f, tuple) else f).startswith(skipped)]


#: the most a search engine shows of a page's description
DESCRIPTION_CHARS = 155
_PARAGRAPH_RE = re.compile(r"<p\b[^>]*>(.*?)</p>", re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")


def page_description(body: str, title: str, project: str) -> str:
    """A page's description for search engines: its first paragraph of prose, cut at a word, else its title."""
    import html

    for found in _PARAGRAPH_RE.finditer(body or ""):
        text = " ".join(html.unescape(_TAG_RE.sub("", found.group(1))).split())
        if len(text) >= 40:  # a caption or a stamp is no description of the page
            if len(text) > DESCRIPTION_CHARS:
                text = text[:DESCRIPTION_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
            return text
    title = " ".join(html.unescape(_TAG_RE.sub("", title or "")).split())
    return f"{title} · {project}" if title and title != project else project


def _meta_description(app, pagename, templatename, context, doctree) -> None:
    """Give every page a meta description (its first paragraph), escaped like any data value."""
    from markupsafe import escape

    book = context.get("docstitle") or app.config.html_title or ""  # Jupyter Book sets the book's title here
    title = context.get("title") or {"genindex": "Index", "search": "Search"}.get(pagename, "")
    text = page_description(context.get("body", ""), title, book)
    if text:
        context["metatags"] = context.get("metatags", "") + f'\n<meta name="description" content="{escape(text)}">'


#: scripts that stay synchronous: the page's inline scripts set fields of the object this one declares
SYNCHRONOUS_SCRIPTS = ("documentation_options.js",)


def _defer_scripts(app, pagename, templatename, context, doctree) -> None:
    """Every script file runs after the page is parsed, in the same order, so none holds up its first paint.

    Each script the theme and the extensions add waited, in the page's head, to be fetched and run before any
    text was shown; deferred, they still run in document order before ``DOMContentLoaded``, which is when they
    start their work.
    """
    from sphinx.builders.html._assets import _JavaScript

    scripts = context.get("script_files")
    if not scripts or pagename == "search":  # the search page's own scripts, in its body, need doctools.js run
        return
    deferred = []
    for js in scripts:
        if (isinstance(js, _JavaScript) and js.filename and not {"async", "defer"} & set(js.attributes)
                and not str(js.filename).endswith(SYNCHRONOUS_SCRIPTS)):
            js = _JavaScript(js.filename, priority=js.priority, **{**js.attributes, "defer": "defer"})
        deferred.append(js)
    context["script_files"] = deferred


_CHART_BOX_RE = re.compile(r'<div class="lr-chart" id="chart-([a-z0-9-]+)"></div>')
_CHART_SPEC_RE = re.compile(r'(<script type="application/json" class="lr-chart-spec" data-target="chart-([a-z0-9-]+)">)'
                            r'(.*?)</script>', re.DOTALL)
_SVG_SIZE_RE = {name: re.compile(rf'<svg\b[^>]*?\s{name}="([0-9]+(?:\.[0-9]+)?)"') for name in ("width", "height")}


def drawn_size(svg: Path) -> tuple[int, int] | None:
    """The width and height in pixels of a chart's static drawing (its SVG's), or None when there is none."""
    try:
        with open(svg, encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    found = [_SVG_SIZE_RE[name].search(head) for name in ("width", "height")]
    return (round(float(found[0].group(1))), round(float(found[1].group(1)))) if all(found) else None


def _static_charts(app, pagename, templatename, context, doctree) -> None:
    """Show each chart's static drawing in its box until the page's script draws it, and hand the script Vega.

    The drawing is an image with its own width and height (scaled down to a narrower column), so a reader without
    script sees the whole chart; the box keeps the drawing's height until the chart is drawn (livingreview.css), so
    nothing below it moves then: the page's chart comes from the same spec (only a container width differs). The
    spec the script draws is the chart's Vega-Lite compiled to Vega at build time (``render.compile_vega``), so the
    page needs the vega runtime alone.
    """
    from markupsafe import escape

    from livingreview.checking.layout import FIGURES
    from livingreview.publishing.render import compile_vega, script_json

    body = context.get("body") or ""
    if 'class="lr-chart"' not in body:
        return
    figures = Path(app.srcdir) / FIGURES
    pathto = context.get("pathto")

    def boxed(found: re.Match) -> str:
        slug = found.group(1)
        size = drawn_size(figures / f"{slug}.svg")
        if size is None:
            return found.group(0)
        width, height = size
        rel = f"{FIGURES.as_posix()}/{slug}.svg"
        src = pathto(rel, 1) if callable(pathto) else rel
        return (f'<div class="lr-chart" id="chart-{slug}" style="--lr-chart-height: {height}px">'
                f'<img class="lr-chart-static" src="{escape(src)}" width="{width}" height="{height}" alt="" '
                f'decoding="async"></div>')

    def compiled(found: re.Match) -> str:
        try:
            spec = json.loads(found.group(3))
        except ValueError:  # the page's script says this chart could not be drawn; its static copy stays
            return found.group(0)
        if not isinstance(spec, dict) or "vega-lite" not in str(spec.get("$schema", "")):
            return found.group(0)
        return found.group(1) + script_json(compile_vega(spec, figures / f"{found.group(2)}.svg")) + "</script>"

    context["body"] = _CHART_SPEC_RE.sub(compiled, _CHART_BOX_RE.sub(boxed, body))


_BIBLIOENTRY_RE = re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry">')


def _bibliography_roles(app, pagename, templatename, context, doctree) -> None:
    """Mark each bibliography entry as an item of its list (docutils gives it ``doc-biblioentry``, a role ARIA 1.2
    deprecates and does not allow on a ``div``, so that the list seemed to hold its entries' links instead)."""
    body = context.get("body") or ""
    if 'role="doc-biblioentry"' in body:
        context["body"] = _BIBLIOENTRY_RE.sub(r'\1 role="listitem">', body)
