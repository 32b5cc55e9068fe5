"""Escaping on the way to Markdown and HTML: data can never inject markup or script."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from livingreview.publishing.render import (
    chart_html,
    cite,
    escape_md,
    explorer_html,
    explorer_json,
    explorer_script,
    limit_groups,
    markdown_table,
)

PAYLOAD = '<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3)) {cite:p}`k` | *b*'


def test_escape_md_neutralises_html_markdown_and_roles():
    out = escape_md(PAYLOAD)
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out and "&#34;alert" in out
    assert "\\{cite\\:p\\}\\`k\\`" in out  # role syntax broken up, shown as text
    assert "\\|" in out and "\\*b\\*" in out and "\\[x\\]\\(javascript" in out
    assert escape_md(None) == "" and escape_md(float("nan")) == ""
    assert escape_md(("a", "b")) == "a; b"
    assert escape_md("two\nlines") == "two lines"


def test_cite_keeps_only_valid_keys():
    assert cite(["hoshino2015", "peinado2012"]) == "{cite:p}`hoshino2015,peinado2012`"
    assert cite(["bad key`"]) == ""


def test_markdown_table_escapes_cells_and_cites():
    df = pd.DataFrame({"finding": [PAYLOAD], "citekeys": [("a2020", "b2021")]})
    md = markdown_table(df)
    header, rule, row = md.splitlines()
    assert header == "| Finding | Citekeys |"
    assert rule == "|---|---|"
    assert row.endswith("| {cite:p}`a2020,b2021` |")
    assert "<script>" not in row
    # the only unescaped pipes are the cell borders
    assert len(re.findall(r"(?<!\\)\|", row)) == 3


def test_chart_html_json_cannot_close_its_script():
    spec = {"data": {"values": [{"finding": "</script><script>alert(1)</script>"}]}}
    html = chart_html(spec, "My Chart!")
    assert html.count("</script>") == 1
    inner = html.split('data-target="chart-my-chart-">', 1)[1].rsplit("</script>", 1)[0]
    assert json.loads(inner) == spec
    assert 'id="chart-my-chart-"' in html


@pytest.mark.parametrize("value", ["<!--", "a <!-- b --> c", "<script>", "x & y > z", "</SCRIPT >", "\u2028"])
def test_chart_json_has_no_markup_characters_and_parses_to_the_same_value(value):
    # issue 11, item 3: '<!--' became '<\\!--', invalid JSON that stopped every later chart on the page
    spec = {"data": {"values": [{"marker": value}]}, "title": value}
    inner = chart_html(spec, "c").split('data-target="chart-c">', 1)[1].rsplit("</script>", 1)[0]
    assert not set(inner) & set("<>&")
    assert json.loads(inner) == spec


def test_explorer_html_points_to_its_data_and_json_roundtrips():
    df = pd.DataFrame({"id": ["MECH-0001"], "finding": ["<b>bold</b> & </script>"], "links": [None]})
    html = explorer_html('../x/"onload=alert(1).json', page_size=10)
    assert 'data-src="../x/&#34;onload=alert(1).json"' in html and 'data-page-size="10"' in html
    assert json.loads(explorer_json(df)) == {"columns": ["id", "finding", "links"],
                                             "rows": [["MECH-0001", "<b>bold</b> & </script>", ""]]}
    assert 'data-script="../x/&#34;onload=alert(1).js"' in html


def test_explorer_script_registers_the_same_rows_and_cannot_close_its_element():
    df = pd.DataFrame({"id": ["MECH-0001"], "finding": ["</script><!-- & x"]})
    payload = explorer_json(df, {"id": "Row"}, {"id": ["MECH-0001"]})
    script = explorer_script("explorer", payload)
    assert not set(script) & set("<>&")
    body = script.split(' = ', 2)[-1].rstrip(";\n")
    assert json.loads(body) == json.loads(payload) == {"columns": ["id", "finding"],
                                                       "rows": [["MECH-0001", "</script><!-- & x"]],
                                                       "labels": {"id": "Row"}, "orders": {"id": ["MECH-0001"]}}


def test_limit_groups_keeps_order_and_counts_the_rest():
    df = pd.DataFrame({"g": ["a", "a", "a", "b"], "v": [1, 2, 3, 4]})
    out = limit_groups(df, "g", 2)
    assert [(g, list(part["v"]), rest) for g, part, rest in out] == [("a", [1, 2], 1), ("b", [4], 0)]


def test_entry_blocks_put_long_texts_under_the_row_escaped_and_anchored():
    from livingreview.publishing.render import entry_blocks

    df = pd.DataFrame({"id": ["SUBT-0001", "SUBT-0002"], "subtype": ["Exomere <b>", "Migrasome"],
                       "size_nm": ["35", ""], "markers": [("ARF6", "annexin A1"), ()],
                       "biogenesis": ["made <script>x</script> by *AF4*", "fibres"], "role": [pd.NA, "none"],
                       "citekeys": [("zhangh2018",), ("ma2015", "bad key!")]})
    text = entry_blocks(df, "subtype", ["size_nm", "markers"], ["biogenesis", "role"], labels={"size_nm": "Size (nm)"})
    first, second = text.split("\n\n:::{div}")
    assert first.startswith(":::{div} lr-finding lr-entry\n") and first.endswith("\n:::")
    assert '<span id="SUBT-0001"></span>**Exomere &lt;b&gt;**' in first
    assert '<span class="lr-chip-label">Size \\(nm\\)</span> 35</span>' in first
    assert "ARF6; annexin A1" in first and "{cite:p}`zhangh2018`" in first
    # a long text is a paragraph of its own, never a chip; an empty one is left out, as is an empty chip
    assert "\n\n**Biogenesis:** made &lt;script&gt;x&lt;/script&gt; by \\*AF4\\*" in first and "Role" not in first
    assert "Size" not in second and "Markers" not in second and "**Role:** none" in second
    assert "{cite:p}`ma2015`" in second and "bad key" not in second


def test_explorer_filters_name_only_columns_the_rows_have():
    df = pd.DataFrame({"id": ["A-0001"], "alloc": ["Random"]})
    payload = json.loads(explorer_json(df, filters=[("alloc", "allocations"), ("level", "evidence levels")]))
    assert payload["filters"] == [["alloc", "allocations"]]
