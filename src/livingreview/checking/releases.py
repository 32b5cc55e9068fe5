"""Releases as committed: each dated snapshot of the evidence and of every claim's status, read and checked.

``livingreview release VERSION`` writes ``releases/VERSION.json`` (see ``history``); snapshots are committed, so the
book shows each claim's trajectory and the changes since the last release without git history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from livingreview.model.errors import Problem, UsageError
from livingreview.model.schema import INVISIBLE_PATTERN

FOLDER = "releases"
VERSION_RE = re.compile(r"[0-9]{4}\.[0-9]{2}(?:\.[0-9]{1,3})?")
FORMAT = 1
#: what a snapshot must hold, and of which JSON type
SNAPSHOT_KEYS = {"format": int, "version": str, "date": str, "fingerprint": str, "tables": dict, "claims": dict}
CLAIM_KEYS = {"certainty": (str, type(None)), "fragility": str, "studies": int, "by_level": (dict, type(None)),
              "contradicting_studies": int, "supporting_rows": list, "contradicting_rows": list}
#: what a claim resting on a pooled estimate also records (optional: older snapshots and other claims lack it)
POOLED_KEYS = ("synthesis", "measure", "estimate", "lower", "upper", "i_squared", "studies")


@dataclass(frozen=True)
class Release:
    """One committed snapshot."""

    version: str
    date: str
    fingerprint: str
    tables: dict[str, dict[str, str]]
    claims: dict[str, dict]

    @property
    def order(self) -> tuple[int, ...]:
        """The version as numbers, for ordering."""
        return version_key(self.version)


def version_key(version: str) -> tuple[int, ...]:
    """'2026.12' -> (2026, 12, 0)."""
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


#: bounds that no honest snapshot reaches: a pull request cannot make the build chew on invented history
MAX_BYTES = 20_000_000
MAX_CLAIMS = 2_000
MAX_ROWS = 200_000
MAX_TEXT = 2_000
FIRST_YEAR = 2000
_ROW_ID = r"^[A-Z]{2,10}-[0-9]{4,9}$"
_HASH = r"^[0-9a-f]{16}$"


def snapshot_schema() -> dict:
    """The JSON Schema (draft 2020-12) every committed snapshot must satisfy."""
    from livingreview.model.declarations import DESIGNS as LEVELS
    from livingreview.model.vocab import CERTAINTY

    count = {"type": "integer", "minimum": 0, "maximum": 10_000_000}
    number = {"type": "number"}
    rows = {"type": "array", "maxItems": MAX_ROWS, "uniqueItems": True, "items": {"type": "string", "pattern": _ROW_ID}}
    claim = {"type": "object", "additionalProperties": False, "required": list(CLAIM_KEYS),
             "properties": {
                 "claim": {"type": "string", "maxLength": MAX_TEXT, "pattern": f"^[^{INVISIBLE_PATTERN[1:-1]}]*$"},
                 "certainty": {"enum": [*CERTAINTY.values, None]},
                 "fragility": {"type": "string", "pattern": r"^(-|[0-9]{1,6}\+?)$"},
                 "studies": count, "contradicting_studies": count,
                 "by_level": {"oneOf": [{"type": "null"}, {
                     "type": "object", "additionalProperties": False, "required": list(LEVELS),
                     "properties": {lvl: count for lvl in LEVELS}}]},
                 "supporting_rows": rows, "contradicting_rows": rows,
                 # a claim resting on a pooled estimate: the estimate and its interval as the book prints them
                 "pooled": {"type": "object", "additionalProperties": False, "required": list(POOLED_KEYS),
                            "properties": {"synthesis": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
                                           "measure": {"type": "string", "pattern": r"^[A-Z]{2,4}$"},
                                           "estimate": number, "lower": number, "upper": number,
                                           "i_squared": number, "studies": count}}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": False,
        "required": [*SNAPSHOT_KEYS, "seal"],
        "properties": {
            "format": {"const": FORMAT}, "version": {"type": "string", "pattern": f"^{VERSION_RE.pattern}$"},
            "date": {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
            "fingerprint": {"type": "string", "pattern": r"^[0-9a-f]{64}$"},
            "seal": {"type": "string", "pattern": r"^[0-9a-f]{64}$"},
            "tables": {"type": "object", "propertyNames": {"pattern": r"^[a-z][a-z0-9_]*$"}, "additionalProperties": {
                "type": "object", "maxProperties": MAX_ROWS, "propertyNames": {"pattern": _ROW_ID},
                "additionalProperties": {"type": "string", "pattern": _HASH}}},
            "claims": {"type": "object", "maxProperties": MAX_CLAIMS,
                       "propertyNames": {"pattern": r"^CLAIM-[0-9]{4,9}$"}, "additionalProperties": claim}}}


def seal(data: dict) -> str:
    """SHA-256 of a snapshot's content (everything but the seal), canonical JSON: an edit by hand breaks it."""
    content = {k: v for k, v in data.items() if k != "seal"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def read_releases(root: Path) -> tuple[tuple[Release, ...], list[Problem]]:
    """Every snapshot under ``releases/``, oldest first, and a located problem for each one that is malformed."""
    folder = Path(root) / FOLDER
    releases: list[Release] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rel = path.relative_to(root).as_posix()
        data, found = _read_snapshot(path, rel)
        if found:
            problems += found
            continue
        releases.append(Release(data["version"], data["date"], data["fingerprint"], data["tables"], data["claims"]))
    return tuple(sorted(releases, key=lambda r: r.order)), problems


def _read_snapshot(path: Path, rel: str) -> tuple[dict, list[Problem]]:
    """The snapshot at ``path`` and the located problems that make it unusable (none if it is sound)."""
    expected = "; expected a snapshot written by livingreview release"
    if path.stat().st_size > MAX_BYTES:
        return {}, [Problem(rel, 1, "-", f"{path.stat().st_size:,} bytes, more than the {MAX_BYTES:,} a snapshot "
                                         f"may hold{expected}")]
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        return {}, [Problem(rel, 1, "-", f"not UTF-8 ({exc.reason} at byte {exc.start}){expected}")]
    except json.JSONDecodeError as exc:
        return {}, [Problem(rel, exc.lineno, "-", f"not valid JSON ({exc.msg}, column {exc.colno}){expected}")]
    except (ValueError, RecursionError) as exc:
        # a number of thousands of digits (ValueError) or thousands of nested brackets (RecursionError)
        why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long to read"
        return {}, [Problem(rel, 1, "-", f"not a readable snapshot: {why}{expected}")]
    try:
        problems = _schema_problems(data, text, rel)
    except RecursionError:  # nesting that json reads but the schema check, a few frames per level, cannot walk
        return {}, [Problem(rel, 1, "-", f"not a readable snapshot: nested too deeply{expected}")]
    if problems:
        return {}, problems
    why = _unsound(data, path.stem)
    if why:
        key, message = why
        return {}, [Problem(rel, _line_of(text, key), ".".join(key) or "-", message)]
    return data, []


def _schema_problems(data: object, text: str, rel: str) -> list[Problem]:
    import jsonschema

    from livingreview.model.errors import quote

    validator = jsonschema.Draft202012Validator(snapshot_schema())
    out = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])[:20]:
        key = tuple(str(p) for p in error.absolute_path)
        if error.validator == "propertyNames":  # the offending name is in the instance, not the path
            key = (*key, str(error.instance))
        value = error.instance if isinstance(error.instance, (str, int, float, bool)) or error.instance is None \
            else type(error.instance).__name__
        if error.validator in ("required", "additionalProperties"):
            what = error.message
        elif error.validator in ("maxProperties", "maxItems"):
            what = f"more than {error.validator_value:,} entries"
        else:
            what = (f"{quote(json.dumps(value, ensure_ascii=False))} fails '{error.validator}' "
                    f"({quote(json.dumps(error.validator_value, ensure_ascii=False))})")
        out.append(Problem(rel, _line_of(text, key), ".".join(key) or "-",
                           f"{what}; expected a snapshot written by livingreview release"))
    return out


def _unsound(data: dict, stem: str) -> tuple[tuple[str, ...], str] | None:
    """What the schema cannot say: the version, the date, the seal, rows that exist."""
    version = data["version"]
    if version != stem:
        return ("version",), f"version '{version}' does not match the file name '{stem}.json'"
    year, month = version_key(version)[:2]
    last_year = dt.date.today().year + 1
    if not FIRST_YEAR <= year <= last_year or not 1 <= month <= 12:
        return ("version",), (f"version '{version}' is not a real month (YYYY.MM with a year from {FIRST_YEAR} to "
                              f"{last_year}); a later version would block every release after it")
    try:
        when = dt.date.fromisoformat(data["date"])
    except ValueError:
        return ("date",), f"date '{data['date']}' is not an ISO date; expected YYYY-MM-DD"
    if when.year > last_year:
        return ("date",), f"date '{data['date']}' is in the future"
    if data["seal"] != seal(data):
        return ("seal",), ("the snapshot was edited after it was written (its content no longer matches its seal); "
                           "releases are never rewritten: restore it from git")
    for cid, claim in data["claims"].items():
        for key in ("supporting_rows", "contradicting_rows"):
            for row in claim[key]:
                table = next((t for t in data["tables"].values() if row in t), None)
                if table is None:
                    return ("claims", cid, key), f"row {row} is not among the snapshot's rows"
    return None


def _line_of(text: str, key: tuple[str, ...]) -> int:
    """The line of the innermost of ``key``'s names found in turn in ``text`` (1 if none is)."""
    offset, found = 0, 0
    for name in key:
        at = text.find(json.dumps(name, ensure_ascii=False) + ":", offset)
        if at < 0:
            break
        offset = found = at
    return text.count("\n", 0, found) + 1


def check_version(version: str, releases: tuple[Release, ...]) -> None:
    """Refuse (UsageError) a malformed version, one that exists, or one that is not after the latest."""
    if not VERSION_RE.fullmatch(version):
        raise UsageError(f"version '{version}' is not a dated version; expected YYYY.MM or YYYY.MM.N, e.g. 2026.12")
    year, month = version_key(version)[:2]
    if not FIRST_YEAR <= year <= dt.date.today().year + 1 or not 1 <= month <= 12:
        raise UsageError(f"version '{version}' is not a real month (a year from {FIRST_YEAR} to next year, a month "
                         "from 01 to 12); a later version would block every release after it")
    if any(r.version == version for r in releases):
        raise UsageError(f"release {version} exists already; releases are never rewritten")
    if releases and version_key(version) <= releases[-1].order:
        raise UsageError(f"release {version} is not after the latest release {releases[-1].version}")
