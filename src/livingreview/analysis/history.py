"""What changed since a release: the snapshot a release records, rows and claims that moved since, each claim's
trajectory, and the version readers see."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from livingreview.checking.releases import FOLDER, FORMAT, check_version, seal
from livingreview.model.errors import UsageError


def row_hash(values: list) -> str:
    """A short hash of one row's values (as text), to tell a changed row from an unchanged one."""
    text = json.dumps([None if v is None or (not isinstance(v, (tuple, list)) and pd.isna(v)) else
                       (list(v) if isinstance(v, (tuple, list)) else str(v)) for v in values], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def table_hashes(ev) -> dict[str, dict[str, str]]:
    """Row id -> row hash, per table."""
    out = {}
    for name, df in ev.tables.items():
        columns = [c for c in ev.declared[name].column_names if c != "id"]
        out[name] = {str(i): row_hash(list(values)) for i, values in zip(df["id"], df[columns].itertuples(index=False),
                                                                          strict=True)}
    return out


def claim_snapshot(ev) -> dict[str, dict]:
    """Each claim's computed status, as a release records it."""
    from livingreview.analysis.certainty import LEVELS
    from livingreview.analysis.summaries import claim_status

    out = {}
    for row in claim_status(ev).to_dict(orient="records"):
        graded = bool(row["graded"])
        out[row["id"]] = {
            "claim": row["claim"], "certainty": row["certainty"], "fragility": row["fragility"],
            "studies": int(row["studies"]),
            "by_level": {lvl: int(row[lvl]) for lvl in LEVELS} if graded else None,
            "contradicting_studies": int(row["contradicting_studies"]),
            "supporting_rows": list(row["supporting_rows"]), "contradicting_rows": list(row["contradicting_rows"]),
        }
        pooled = row["pooled"]
        if pooled is not None:
            # rounded as printed: a snapshot records what readers saw, and JSON cannot hold NaN
            out[row["id"]]["pooled"] = {"synthesis": pooled.synthesis, "measure": pooled.measure,
                                        **{k: round(float(getattr(pooled, k)), 6) for k in ("estimate", "lower",
                                                                                            "upper", "i_squared")},
                                        "studies": int(pooled.studies)}
    return out


def snapshot(ev, version: str, date: dt.date) -> dict:
    """The snapshot of ``ev`` that ``release`` writes."""
    data = {"format": FORMAT, "version": version, "date": date.isoformat(), "fingerprint": ev.fingerprint,
            "tables": table_hashes(ev), "claims": claim_snapshot(ev)}
    return {**data, "seal": seal(data)}


def cut_release(root: Path, version: str, today: dt.date | None = None) -> Path:
    """Validate, write ``releases/VERSION.json``, date the CITATION.cff and CHANGELOG; return the snapshot's path."""
    from livingreview.checking.evidence import load
    from livingreview.model.fileio import atomic_write, inside, review_lock

    root = Path(root)
    today = today or dt.date.today()
    with review_lock(root):
        ev = load(root)
        check_version(version, ev.releases)
        path = inside(root, root / FOLDER / f"{version}.json")
        if path.exists():
            raise UsageError(f"{path} exists already; releases are never rewritten")
        updates = {p: text for p, text in ((root / "CITATION.cff", _citation(root / "CITATION.cff", version, today)),
                                           (root / "CHANGELOG.md", _changelog(root / "CHANGELOG.md", version, today)))
                   if text is not None}
        data = json.dumps(snapshot(ev, version, today), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        path.parent.mkdir(exist_ok=True)
        atomic_write(path, data.encode("utf-8"))
        for target, text in updates.items():
            atomic_write(inside(root, target), text.encode("utf-8"))
    return path


def _citation(path: Path, version: str, today: dt.date) -> str | None:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    for key, value in (("version", version), ("date-released", today.isoformat())):
        line = f'{key}: "{value}"'
        text, n = re.subn(rf"(?m)^{re.escape(key)}:.*$", line, text, count=1)
        if not n:
            text = text.rstrip("\n") + "\n" + line + "\n"
    return text


def _changelog(path: Path, version: str, today: dt.date) -> str | None:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    heading = f"## {version} ({today.isoformat()})"
    if re.search(r"(?m)^## Unreleased[ \t]*$", text):
        return re.sub(r"(?m)^## Unreleased[ \t]*$", heading, text, count=1)
    first = re.search(r"(?m)^## ", text)
    entry = f"{heading}\n\n- Release of the evidence as of {today.isoformat()}.\n\n"
    return text[:first.start()] + entry + text[first.start():] if first else text.rstrip("\n") + "\n\n" + entry


def row_changes(ev) -> pd.DataFrame:
    """Rows added, changed and removed per table since the latest release (empty before the first release)."""
    columns = ["table", "change", "id"]
    if not ev.releases:
        return pd.DataFrame(columns=columns)
    before, now = ev.releases[-1].tables, table_hashes(ev)
    withdrawn = set(ev.tables["withdrawn"]["row_id"].astype(str)) if "withdrawn" in ev.tables else set()
    records = []
    for name in ev.declared:
        if name == "withdrawn":
            continue  # the log itself: its rows show as 'withdrawn' in their own tables
        old, new = before.get(name, {}), now.get(name, {})
        records += [(name, "added", i) for i in new if i not in old]
        records += [(name, "changed", i) for i in new if i in old and old[i] != new[i]]
        records += [(name, "withdrawn" if i in withdrawn else "removed", i) for i in old if i not in new]
    return pd.DataFrame.from_records(records, columns=columns)


def version_label(ev) -> str:
    """The version readers see: the latest release, and how many rows changed since it if the data are unreleased.

    A build of data that changed after a release is not that release ("2026.12 + 151 changed rows, unreleased").
    """
    from livingreview import __version__

    if not ev.releases:
        return f"{__version__}, unreleased (no release yet)"
    changed = len(row_changes(ev))
    last = ev.releases[-1].version
    return last if not changed else f"{last} + {changed} changed row{'s' if changed != 1 else ''}, unreleased"


def claim_changes(ev) -> pd.DataFrame:
    """Every claim whose certainty, studies or contradicting studies moved since the latest release, and why."""
    from livingreview.model.vocab import CERTAINTY

    columns = ["id", "claim", "before", "now", "studies_before", "studies_now", "against_before", "against_now",
               "support_added", "support_removed", "against_added", "against_removed", "pooled_before", "pooled_now"]
    if not ev.releases:
        return pd.DataFrame(columns=columns)
    last = ev.releases[-1]
    records = []
    for cid, now in claim_snapshot(ev).items():
        was = last.claims.get(cid)
        if was is None:
            was = {"certainty": None, "studies": 0, "contradicting_studies": 0, "supporting_rows": [],
                   "contradicting_rows": []}
        pooled_was, pooled_now = _pooled_words(was.get("pooled")), _pooled_words(now.get("pooled"))
        moved = (was["certainty"], was["studies"], was["contradicting_studies"], pooled_was) != (
            now["certainty"], now["studies"], now["contradicting_studies"], pooled_now)
        if not moved:
            continue
        def moved_rows(key: str, was: dict = was, now: dict = now) -> tuple[tuple[str, ...], tuple[str, ...]]:
            then, today = set(was[key]), set(now[key])
            return tuple(sorted(today - then)), tuple(sorted(then - today))

        label = lambda c: CERTAINTY.label(c) if c else "not graded"  # noqa: E731
        records.append((cid, now["claim"], label(was["certainty"]), label(now["certainty"]), was["studies"],
                        now["studies"], was["contradicting_studies"], now["contradicting_studies"],
                        *moved_rows("supporting_rows"), *moved_rows("contradicting_rows"), pooled_was, pooled_now))
    return pd.DataFrame.from_records(records, columns=columns)


def _pooled_words(pooled: dict | None) -> str | None:
    """A recorded pooled estimate as the book prints it ('RR 0.49 (CI 0.34 to 0.70)'), or None: two estimates
    that print the same have not moved."""
    if not pooled:
        return None
    return f"{pooled['measure']} {pooled['estimate']:.2f} (CI {pooled['lower']:.2f} to {pooled['upper']:.2f})"


def trajectory(ev) -> pd.DataFrame:
    """Each claim's certainty and supporting studies at every release and in the current build; a claim resting on
    a pooled estimate also has the estimate and its confidence interval (NaN for other claims, and at a release
    that recorded none)."""
    from livingreview.model.vocab import CERTAINTY

    points = [(r.version, r.claims) for r in ev.releases] + [("now", claim_snapshot(ev))]
    records = []
    nan = float("nan")
    for order, (version, claims) in enumerate(points):
        for cid, status in claims.items():
            c = status["certainty"]
            pooled = status.get("pooled") or {}
            records.append({"id": cid, "release": version, "order": order,
                            "certainty": CERTAINTY.label(c) if c else "Not graded",
                            "level": CERTAINTY.values.index(c) if c else -1, "studies": status["studies"],
                            "against": status["contradicting_studies"],
                            **{k: pooled.get(k, nan) for k in ("estimate", "lower", "upper")},
                            "measure": pooled.get("measure"), "pooled_studies": pooled.get("studies")})
    return pd.DataFrame.from_records(records, columns=["id", "release", "order", "certainty", "level", "studies",
                                                       "against", "estimate", "lower", "upper", "measure",
                                                       "pooled_studies"])
