"""The book's bibliography style prints 'et al.' for entries verified only to the first author."""

from __future__ import annotations

from pybtex.database import parse_string
from pybtex.plugin import find_plugin


def render(author: str) -> str:
    bib = parse_string(f"@article{{a, author={{{author}}}, title={{T}}, journal={{J}}, year={{2014}}}}", "bibtex")
    style = find_plugin("pybtex.style.formatting", "plain_etal")()
    return next(iter(style.format_entries(bib.entries.values()))).text.render_as("text")


def test_trailing_others_becomes_et_al():
    assert render("Zhou, Weiying and others").startswith("Weiying Zhou et al. T.")
    assert render("Zhou and others").startswith("Zhou et al. T.")


def test_full_author_lists_are_unchanged():
    assert render("Zhou, W. and Fong, M. Y.").startswith("W. Zhou and M. Y. Fong. T.")


def test_citation_style_is_registered():
    from sphinxcontrib.bibtex.plugin import find_plugin as find_sphinx_plugin

    style = find_sphinx_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_etal")()
    assert type(style.person).__name__ == "EtAlPersonStyle"


def links(fields: str) -> list[str]:
    """Every link target of one entry as the book's bibliography style renders it (HTML backend)."""
    import re

    bib = parse_string(f"@article{{a, author={{A, B}}, title={{T}}, journal={{J}}, year={{2014}}, {fields}}}",
                       "bibtex")
    style = find_plugin("pybtex.style.formatting", "plain_etal")()
    html = next(iter(style.format_entries(bib.entries.values()))).text.render_as("html")
    return re.findall(r'href="([^"]*)"', html)


def test_bibliography_links_only_to_doi_pubmed_or_http():
    assert links("doi={10.1038/nature15756}") == ["https://doi.org/10.1038/nature15756"]
    assert links("pmid={26524530}") == ["https://pubmed.ncbi.nlm.nih.gov/26524530/"]
    assert links("url={https://example.org/x}") == ["https://example.org/x"]
    for bad in ("url={javascript:alert(document.domain)}", "url={JaVaScRiPt:alert(1)}",
                "url={data:text/html;base64,PHNjcmlwdD4=}", "url={vbscript:x}", "doi={javascript:alert(1)}",
                "pmid={1 onmouseover=alert(1)}", "eprint={javascript:alert(1)}", "pubmed={javascript:x}",
                "url={https://ok.example/\"onclick=\"alert(1)}"):
        assert links(bad) == [], bad


def test_long_author_lists_are_cut_in_the_bibliography():
    many = " and ".join(f"Author{i}, A." for i in range(30))
    text = render(many)
    assert text.startswith("A. Author0, A. Author1") and "A. Author9 et al. T." in text and "Author10" not in text
    assert render(many + " and others").count("Author") == 10


def citation(author: str) -> str:
    """The in-text citation label the book's author-year style gives an entry."""
    from sphinxcontrib.bibtex.plugin import find_plugin as find_sphinx_plugin

    bib = parse_string(f"@article{{a, author={{{author}}}, title={{T}}, journal={{J}}, year={{2018}}}}", "bibtex")
    style = find_sphinx_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_etal")()
    entry = next(iter(bib.entries.values()))
    template = style.person.author_or_editor_or_title(full=False)
    return template.format_data({"entry": entry, "style": style}).render_as("text")


def test_citations_read_first_author_et_al_for_three_or_more():
    assert citation("Théry, C. and Witwer, K. and Aikawa, E. and others") == "Théry et al."
    assert citation(" and ".join(f"Name{i}, A." for i in range(130))) == "Name0 et al."
    assert citation("Kalluri, R. and LeBleu, V. S.") == "Kalluri and LeBleu"
    assert citation("Zhou, W. and others") == "Zhou et al."
    assert citation("Smith, J.") == "Smith"


def test_bibliography_labels_read_as_the_citations_do():
    # issue 12: numeric [1] labels stood beside "Costa-Silva et al., 2015" citations
    bib = parse_string(
        "@article{a, author={Costa-Silva, B. and Aiello, N. M. and Ocean, A. J.}, title={T}, journal={J}, year={2015}}"
        "@article{b, author={Wang, J. and others}, title={U}, journal={J}, year={2020}}"
        "@article{c, author={Wang, J. and Li, K. and Zhou, W.}, title={V}, journal={J}, year={2020}}"
        "@article{d, author={Peinado, H. and Lyden, D.}, title={W}, journal={J}, year={2012}}"
        "@article{e, author={{San Lucas}, F. A.}, title={X}, journal={J}, year={2017}}", "bibtex")
    style = find_plugin("pybtex.style.formatting", "plain_etal")()
    labels = {e.key: e.label for e in style.format_entries(bib.entries.values())}
    # the bibliography sorts by author, year and title; a repeated label takes a, b in that order
    assert labels == {"a": "Costa-Silva et al., 2015", "b": "Wang et al., 2020b", "c": "Wang et al., 2020a",
                      "d": "Peinado and Lyden, 2012", "e": "San Lucas, 2017"}


def test_compiled_templates_are_reused_and_an_edited_template_is_compiled_again():
    import jinja2

    from livingreview.publishing.sphinxext import CompiledTemplates

    cache, sources = CompiledTemplates(), {"page.html": "Hello {{ name }}"}
    first = jinja2.Environment(loader=jinja2.DictLoader(sources), bytecode_cache=cache)
    assert first.get_template("page.html").render(name="A") == "Hello A"
    assert len(cache.store) == 1
    compiled = []

    class Counting(jinja2.Environment):
        def compile(self, *args, **kwargs):
            compiled.append(args[0])
            return super().compile(*args, **kwargs)

    assert Counting(loader=jinja2.DictLoader(sources), bytecode_cache=cache).get_template(
        "page.html").render(name="B") == "Hello B"
    assert compiled == []  # a new environment (a new build) reuses the compiled template
    sources["page.html"] = "Goodbye {{ name }}"
    assert Counting(loader=jinja2.DictLoader(sources), bytecode_cache=cache).get_template(
        "page.html").render(name="C") == "Goodbye C"
    assert compiled == ["Goodbye {{ name }}"]


def test_later_applications_in_one_process_listen_as_the_first(tmp_path):
    """From the second application on, our own search for Sphinx's toctree collector disables it, as the first
    application's (sphinx-external-toc's, which scans the whole heap) did."""
    from sphinx.application import Sphinx

    (tmp_path / "conf.py").write_text("extensions = ['sphinx_external_toc', 'livingreview.publishing.sphinxext']\n"
                                      "external_toc_path = '_toc.yml'\n")
    (tmp_path / "_toc.yml").write_text("root: index\n")
    (tmp_path / "index.md").write_text("# Home\n")

    def app(n: int) -> Sphinx:
        return Sphinx(str(tmp_path), str(tmp_path), str(tmp_path / f"out{n}"), str(tmp_path / f"doctrees{n}"),
                      "html", status=None, warning=None)

    def listening(a: Sphinx) -> dict[str, int]:
        return {event: len(listeners) for event, listeners in a.events.listeners.items() if listeners}

    first = app(1)  # kept alive, as an earlier build's application may be
    second, third = app(2), app(3)
    assert listening(second) == listening(first) == listening(third)


def test_a_page_is_described_by_its_first_paragraph_cut_at_a_word():
    """Issue 26: a meta description per page (SEO), from the page's own prose, never a stamp or a caption."""
    from livingreview.publishing.sphinxext import DESCRIPTION_CHARS, page_description

    long = "Extracellular vesicles carry cargo " * 10
    body = f'<p class="lr-stamp">v 1</p><p>Short.</p><p>{long}<a href="#x">link</a> &amp; more.</p>'
    text = page_description(body, "Title", "Book")
    assert text.startswith("Extracellular vesicles carry cargo Extracellular") and text.endswith("…")
    assert len(text) <= DESCRIPTION_CHARS + 1 and not text[:-1].endswith(" ")
    assert page_description("<p>" + "A page about EVs & niches, in one sentence here." + "</p>", "T", "B") == (
        "A page about EVs & niches, in one sentence here.")
    assert page_description("<div>no prose</div>", "Index", "Book") == "Index · Book"
