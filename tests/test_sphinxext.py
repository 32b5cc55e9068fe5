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
