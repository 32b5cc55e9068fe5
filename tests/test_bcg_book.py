"""The BCG example review builds from the same engine as the EV review, shows the published pooled numbers on its
page, and no word of the EV review reaches any of its pages.

The expected numbers are metafor's for ``dat.bcg`` (the sources ``test_meta.py`` cites: the metafor README and
its tests comparing ``rma.uni`` with Stata's ``metan``), never this implementation's output.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from livingreview.publishing.book import build_book

BCG = REPO / "examples" / "bcg-vaccine"
#: the EV review's words (the issue's list): none may reach a page of another review
EV_WORDS = re.compile(r"\bEVs?\b|extracellular|vesicle|exosom|cancer|metasta|tumou?r|premetastatic", re.IGNORECASE)
#: the published numbers of dat.bcg (log risk ratios): REML (z), equal effects and DerSimonian-Laird
PUBLISHED = {
    "REML log RR": "-0.7145", "REML RR": "0.4894", "REML RR CI lower": "0.3441", "REML RR CI upper": "0.6962",
    "REML tau2": "0.3132", "REML I2": "92.22%", "Q": "152.2330",
    "EE log RR": "-0.4303", "EE CI lower": "-0.5097", "EE CI upper": "-0.3509",
    "DL log RR": "-0.7141", "DL CI lower": "-1.0644", "DL CI upper": "-0.3638",
}

pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A copy of the example built once (HTML only); its ``_build/html``."""
    root = tmp_path_factory.mktemp("bcg") / "review"
    shutil.copytree(BCG, root, ignore=shutil.ignore_patterns("_build", "vendor", "figures", "data"))
    shutil.copytree(BCG / "data", root / "data")
    assert build_book(root, pdf=False) == 0
    return root / "_build" / "html"


def _text(page: Path) -> str:
    """What a reader reads on a page: its text without markup, entities resolved, Markdown escapes gone."""
    source = page.read_text(encoding="utf-8")
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.DOTALL | re.IGNORECASE)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_every_page_of_the_toc_is_built(built):
    for name in ("intro", "trials", "synthesis", "claims", "bibliography"):
        assert (built / "chapters" / f"{name}.html").exists(), name


def test_the_synthesis_page_shows_the_published_numbers(built):
    text = _text(built / "chapters" / "synthesis.html")
    missing = {what: number for what, number in PUBLISHED.items() if number not in text}
    assert not missing, missing
    # the random-effects estimate with its interval, and the prediction interval, in the same sentence
    assert re.search(r"Pooled RR 0\.4894 \(95% CI 0\.3441 to 0\.6962\).*?prediction interval[^:]*: "
                     r"[0-9.]+ to [0-9.]+\.", text)
    assert "τ² = 0.3132, I² = 92.22%, Q = 152.2330 (df = 12, p < 0.0001)" in text


def test_the_synthesis_page_draws_its_four_charts_with_their_data(built):
    page = (built / "chapters" / "synthesis.html").read_text(encoding="utf-8")
    for slug in ("forest-bcg", "subgroups-bcg-alloc", "regression-bcg-ablat", "cumulative-bcg"):
        assert f'id="chart-{slug}"' in page, slug
        assert (built / "_static" / "figures" / f"{slug}.svg").exists(), slug
    assert page.count('class="lr-chart-data"') == 4


def test_the_claim_resting_on_the_pooled_estimate_is_graded_from_it(built):
    text = _text(built / "chapters" / "claims.html")
    # the published REML estimate (0.4894 [0.3441, 0.6962]) as the claim prints it, to two decimals
    assert "pooled RR 0.49 (95% CI 0.34 to 0.70;" in text
    # I2 = 92.22% (published) is above the rule's 50%, and the prediction interval reaches past 1: one step down
    # from the randomised trials' high, and nothing else lowers it (13 trials, CI below 1)
    claim = text[text.index("CLAIM-0002 BCG vaccination lowers the risk of tuberculosis."):]
    assert re.match(r"CLAIM-0002 BCG vaccination lowers the risk of tuberculosis\. Moderate randomised controlled "
                    r"trials: started high; lowered for inconsistency: I² above 50% and a prediction interval "
                    r"crossing the null ·", claim), claim[:400]
    assert "imprecision" not in claim[:claim.index("fragility")]
    # the rule the page prints says how a pooled claim is rated
    assert "rests on the pooled estimate of a declared synthesis" in text


def test_the_pooled_claims_trajectory_has_a_point_per_release(built):
    page = (built / "chapters" / "claims.html").read_text(encoding="utf-8")
    assert 'id="chart-pooled-trajectory-claim-0002"' in page
    text = _text(built / "chapters" / "claims.html")
    releases = sorted(p.stem for p in (BCG / "releases").glob("*.json"))
    assert releases, "the example has a release"
    # the chart's data table: one row per release, then now, each with the pooled RR
    table = text[text.index("CLAIM-0002 BCG vaccination lowers the risk of tuberculosis. The pooled RR with its "
                            "confidence interval at each release and now:"):]
    table = table[table.index("Release Studies pooled Pooled estimate CI lower CI upper"):]
    for release in [*releases, "now"]:
        assert re.search(rf"\b{re.escape(release)} 13 0\.489", table), (release, table[:600])


def test_no_ev_wording_reaches_any_page(built):
    found = {}
    for page in sorted(built.rglob("*.html")):
        # the whole page: its text, and the chart specs and attributes a reader's tools read too
        source = page.read_text(encoding="utf-8")
        hits = sorted({m.group(0) for m in EV_WORDS.finditer(source)})
        if hits:
            found[page.relative_to(built).as_posix()] = hits
    # the rows the explorer fetches: every value shown (its column keys are the engine's, never shown; the first
    # facet is still keyed 'cancer' there and in the explorer's address, which the engine's own move will rename)
    def values(node):
        if isinstance(node, dict):
            for v in node.values():
                yield from values(v)
        elif isinstance(node, list):
            for v in node:
                yield from values(v)
        else:
            yield str(node)

    for data in sorted((built / "_static" / "data").glob("*.json")):
        payload = json.loads(data.read_text(encoding="utf-8"))
        shown = {key: value for key, value in payload.items() if key != "columns"}
        hits = sorted({m.group(0) for v in values(shown) for m in EV_WORDS.finditer(v)})
        if hits:
            found[data.name] = hits
    assert not found, found
