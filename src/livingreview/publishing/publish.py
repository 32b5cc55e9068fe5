"""What the build publishes beside the pages: ``claims.json`` (with its JSON Schema) and an Atom feed of updates."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from livingreview.analysis.history import version_label

ATOM = "http://www.w3.org/2005/Atom"
FEED_ROWS = 50  # newest rows in the feed

#: a pooled estimate a claim rests on, on the scale the book prints (a ratio, not its logarithm)
POOLED: dict = {
    "type": "object", "required": ["synthesis", "measure", "estimate", "lower", "upper", "i_squared", "studies"],
    "properties": {"synthesis": {"type": "string"}, "measure": {"type": "string"}, "estimate": {"type": "number"},
                   "lower": {"type": "number"}, "upper": {"type": "number"}, "pi_lower": {"type": "number"},
                   "pi_upper": {"type": "number"}, "i_squared": {"type": "number"},
                   "studies": {"type": "integer", "minimum": 0}}}

CLAIMS_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Claims of a living review and how sure each one is",
    "type": "object",
    "required": ["version", "fingerprint", "rule", "claims"],
    "properties": {
        "version": {"type": "string", "description": "The latest release, and the rows changed since it if unreleased"},
        "release": {"type": ["string", "null"], "description": "The latest release (null before the first)"},
        "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "rule": {"type": "array", "items": {"type": "string"}},
        "claims": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "section", "claim", "table", "selector", "certainty", "explanation", "fragility",
                         "studies", "studies_by_level", "contradicting_studies", "supporting_rows",
                         "contradicting_rows", "history"],
            "properties": {
                "id": {"type": "string", "pattern": "^CLAIM-[0-9]{4,}$"},
                "section": {"type": "string"}, "claim": {"type": "string"}, "table": {"type": "string"},
                "selector": {"type": "array", "items": {"type": "string"}},
                "certainty": {"enum": ["very_low", "low", "moderate", "high", None]},
                "expected": {"enum": ["very_low", "low", "moderate", "high", None]},
                "explanation": {"type": "string"}, "fragility": {"type": "string"},
                "studies": {"type": "integer", "minimum": 0},
                "studies_by_level": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
                "contradicting_studies": {"type": "integer", "minimum": 0},
                "supporting_rows": {"type": "array", "items": {"type": "string"}},
                "contradicting_rows": {"type": "array", "items": {"type": "string"}},
                "history": {"type": "array", "items": {
                    "type": "object", "required": ["release", "date", "certainty", "studies"],
                    "properties": {"release": {"type": "string"}, "date": {"type": "string"},
                                   "certainty": {"enum": ["very_low", "low", "moderate", "high", None]},
                                   "studies": {"type": "integer"}, "contradicting_studies": {"type": "integer"},
                                   "pooled": POOLED}}},
                "synthesis": {"type": ["string", "null"],
                              "description": "The declared synthesis whose pooled estimate the claim rests on"},
                "pooled": {**POOLED, "type": ["object", "null"]},
            },
            # the number of distinct values of the review's first directness facet, named as its column and an 's'
            "patternProperties": {"^[a-z][a-z0-9_]*s$": True}}},
    },
}


def claims_json(ev) -> dict:
    """Every claim with its selector, certainty, studies, fragility, rows and its history across releases."""
    from livingreview.analysis.certainty import LEVELS, rule
    from livingreview.analysis.summaries import claim_status, scope_facet, ungraded_titles

    status = {row["id"]: row for row in claim_status(ev).to_dict(orient="records")}
    claims = []
    facet = scope_facet(ev)
    for _, claim in ev.claims.iterrows():
        s = status[claim["id"]]
        graded = bool(s["graded"])
        claims.append({
            "id": claim["id"], "section": claim["section"], "claim": claim["claim"], "table": claim["table"],
            "selector": list(claim["where"]), "certainty": s["certainty"], "expected": s["expected"],
            "explanation": s["explanation"], "fragility": s["fragility"], "studies": int(s["studies"]),
            "studies_by_level": {lvl: int(s[lvl]) for lvl in LEVELS} if graded else None,
            "contradicting_studies": int(s["contradicting_studies"]),
            **({f"{facet[0]}s": int(s["scope_count"]) if graded else None} if facet else {}),
            "supporting_rows": list(s["supporting_rows"]), "contradicting_rows": list(s["contradicting_rows"]),
            "history": [{"release": r.version, "date": r.date, "certainty": r.claims[claim["id"]]["certainty"],
                         "studies": r.claims[claim["id"]]["studies"],
                         "contradicting_studies": r.claims[claim["id"]]["contradicting_studies"],
                         **({"pooled": r.claims[claim["id"]]["pooled"]} if "pooled" in r.claims[claim["id"]] else {})}
                        for r in ev.releases if claim["id"] in r.claims],
            "synthesis": s["pooled"].synthesis if s["pooled"] is not None else None,
            "pooled": ({"synthesis": s["pooled"].synthesis, "measure": s["pooled"].measure,
                        **{k: float(getattr(s["pooled"], k)) for k in ("estimate", "lower", "upper", "pi_lower",
                                                                       "pi_upper", "i_squared")},
                        "studies": int(s["pooled"].studies)} if s["pooled"] is not None else None),
        })
    return {"version": version_label(ev), "release": ev.releases[-1].version if ev.releases else None,
            "fingerprint": ev.fingerprint,
            "rule": [text for _, text in rule(ev.declarations.certainty, ungraded_titles(ev),
                                              bool(ev.declarations.synthesis))],
            "claims": claims}


def _stamp(day: str) -> str:
    return f"{day}T00:00:00Z"


def atom_feed(ev, today: dt.date | None = None) -> bytes:
    """An Atom feed (RFC 4287) of updates: releases, claims whose certainty moved, and the newest rows.

    Links are relative to the site root (``xml:base`` is the feed's own folder), so the feed works wherever the
    book is served.
    """
    from livingreview.analysis.history import claim_changes
    from livingreview.analysis.summaries import recent_rows

    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    recent = recent_rows(ev).head(FEED_ROWS)
    dates = [r.date for r in ev.releases] + list(recent["added"])
    updated = _stamp(max(dates)) if dates else _stamp((today or dt.date.today()).isoformat())

    def add(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    who = ev.identity
    feed_id = who.feed_id
    add(feed, "id", feed_id)
    add(feed, "title", f"{who.title}: updates")
    add(feed, "subtitle", "New evidence rows, releases, and claims whose certainty changed.")
    add(feed, "updated", updated)
    author = add(feed, "author")
    add(author, "name", who.contributors)
    from livingreview.checking.layout import page_of

    pages = {role: page_of(ev.root, role) if ev.root is not None else None for role in ("whats_new", "claims",
                                                                                        "appendix")}
    home = pages["whats_new"] or pages["appendix"]
    if home:
        add(feed, "link", rel="alternate", href=home)
    add(feed, "link", rel="self", href="feed.xml")
    def entry(ident: str, title: str, when: str, link: str | None, summary: str) -> None:
        # RFC 4287: an entry without an alternate link (the book has no such page) carries its content
        item = add(feed, "entry")
        add(item, "id", ident)
        add(item, "title", title)
        add(item, "updated", when)
        if link:
            add(item, "link", rel="alternate", href=link)
        add(item, "summary", summary)
        if not link:
            add(item, "content", summary, type="text")

    claims_page, appendix = pages["claims"], pages["appendix"]
    for r in reversed(ev.releases):
        entry(f"{feed_id}:release:{r.version}", f"Release {r.version}", _stamp(r.date),
              claims_page and f"{claims_page}#claims-trajectory",
              f"Snapshot of {sum(len(t) for t in r.tables.values())} rows and {len(r.claims)} claims.")
    for change in claim_changes(ev).itertuples(index=False):
        rows = ", ".join(change.support_added + change.against_added) or "none"
        entry(f"{feed_id}:claim:{change.id}:{ev.fingerprint[:12]}",
              f"{change.id}: certainty {change.before.lower()} to {change.now.lower()}", updated,
              claims_page and f"{claims_page}#{change.id}",
              f"{change.claim} Studies {change.studies_before} to {change.studies_now}; "
              f"contradicting {change.against_before} to {change.against_now}; new rows: {rows}.")
    for row in recent.itertuples(index=False):
        entry(f"{feed_id}:row:{row.id}", f"{row.id} ({row.table})", _stamp(row.added),
              appendix and f"{appendix}#{row.id}", row.finding)
    ET.indent(feed)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8") + b"\n"
