"""Issue 24 item 5: the engine's Jupyter Book settings ship inside the package; a review's ``_config.yml`` holds
only its own choices, overrides any engine setting it names, and adds to the engine's lists."""

from __future__ import annotations

import yaml

from conftest import REPO
from livingreview.checking.layout import ENGINE_CONFIG, book_config
from livingreview.publishing.book import stamped_config


def test_a_config_of_a_title_alone_gets_every_engine_setting(tmp_path):
    (tmp_path / "_config.yml").write_text('title: "A review"\n', encoding="utf-8")
    (tmp_path / "references.bib").write_text("", encoding="utf-8")
    config = book_config(tmp_path)
    assert config["title"] == "A review"
    for key in ("execute", "latex", "launch_buttons", "parse", "only_build_toc_files", "bibtex_bibfiles"):
        assert config[key] == ENGINE_CONFIG[key]
    assert config["sphinx"]["config"]["smartquotes"] is False
    assert "livingreview.publishing.sphinxext" in config["sphinx"]["extra_extensions"]


def test_the_reviews_own_choice_wins_and_its_lists_add_to_the_engines(tmp_path):
    (tmp_path / "_config.yml").write_text(
        "execute:\n  timeout: 60\nexclude_patterns: [notes]\nsphinx:\n  extra_extensions: [sphinx.ext.mathjax]\n"
        "  config:\n    numfig: true\n", encoding="utf-8")
    config = book_config(tmp_path)
    assert config["execute"]["timeout"] == 60 and config["execute"]["execute_notebooks"] == "cache"
    assert config["exclude_patterns"][-1] == "notes" and "_build" in config["exclude_patterns"]
    assert config["sphinx"]["extra_extensions"] == ["livingreview.publishing.sphinxext", "sphinx.ext.mathjax"]
    assert config["sphinx"]["config"]["numfig"] is True and config["sphinx"]["config"]["smartquotes"] is False
    assert "bibtex_bibfiles" not in config  # no library beside it: nothing for sphinxcontrib-bibtex to read


def test_the_reviews_of_this_repository_set_no_engine_setting():
    """The EV review's and the BCG example's _config.yml name only their own choices."""
    engine_only = set(ENGINE_CONFIG) - {"exclude_patterns", "html"}
    for root in (REPO, REPO / "examples" / "bcg-vaccine"):
        own = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
        assert not engine_only & set(own), root
        assert "sphinx" not in own
        stamped = yaml.safe_load(stamped_config(root))
        assert stamped["execute"]["execute_notebooks"] == "cache" and stamped["title"] == own["title"]


def test_stamping_a_config_never_changes_the_engines_settings(review):
    """The stamped config adds extensions to its copy; the engine's own settings stay as declared."""
    import copy

    before = copy.deepcopy(ENGINE_CONFIG)
    assert "extensions" in yaml.safe_load(stamped_config(review.root))["sphinx"]["config"]
    assert ENGINE_CONFIG == before and "extensions" not in ENGINE_CONFIG["sphinx"]["config"]
