"""The review's living cadence (``living.toml``) and its status: last search, records awaiting screening, next due."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from livingreview.model.errors import Problem

LIVING_PATH = "living.toml"
STATUSES = ("living", "paused", "retired")


@dataclass(frozen=True)
class Cadence:
    """How often the review searches for new evidence, and whether it still does."""

    status: str
    search_every_days: int


@dataclass(frozen=True)
class LivingStatus:
    """Where the review stands on a given day."""

    status: str
    last_search: dt.date | None
    pending: int
    next_due: dt.date | None
    overdue: bool
    every_days: int | None


def today() -> dt.date:
    """The day the living status is computed for: one clock for the banner, the Methods page and the build state."""
    return dt.date.today()


def overdue_key(root: Path, on: dt.date | None = None) -> str:
    """What of the living status depends on the day alone (whether the next search is overdue), read cheaply.

    The rest of the status comes from the tables and ``living.toml``, which the build already follows; this makes
    a page that shows the status stale on the day the search falls due, and on no other day.
    """
    import csv

    cadence, problems = read_cadence(root)
    path = Path(root) / "data" / "searches.csv"
    if cadence is None or problems or cadence.status != "living" or not path.exists():
        return ""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            dates = [dt.date.fromisoformat(r["date"]) for r in csv.DictReader(fh) if (r.get("date") or "").strip()]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, csv.Error):
        return ""  # an invalid log fails validation, which stops the build before any page
    if not dates:
        return ""
    due = max(dates) + dt.timedelta(days=cadence.search_every_days)
    return f"overdue since {due.isoformat()}" if (on or today()) > due else f"due {due.isoformat()}"


def _line_of(text: str, key: str) -> int:
    found = re.search(rf"(?m)^\s*{re.escape(key)}\s*=", text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def _shown(value: object) -> str:
    """A TOML value for a message: short, and never ``repr`` of a huge integer (which raises ValueError)."""
    from livingreview.model.errors import quote

    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
        return f"(an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits)"
    if isinstance(value, str):
        return quote(value)
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}… ({len(text):,} characters)"


def read_cadence(root: Path) -> tuple[Cadence | None, list[Problem]]:
    """The cadence declared in ``living.toml`` (None if the review declares none), with located problems."""
    path = Path(root) / LIVING_PATH
    if not path.exists():
        return None, []
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(LIVING_PATH, 1, "-", f"cannot read file ({exc})")]
    except tomllib.TOMLDecodeError as exc:
        line = int(m.group(1)) if (m := re.search(r"line (\d{1,9})", str(exc))) else 1
        return None, [Problem(LIVING_PATH, line, "-", f"not valid TOML ({exc}); expected a [living] table")]
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits; arrays nested thousands deep
        why = "nested too deeply" if isinstance(exc, RecursionError) else "a number too long to read"
        return None, [Problem(LIVING_PATH, 1, "-", f"not readable TOML ({why}); expected a [living] table")]
    living = data.get("living")
    if not isinstance(living, dict):
        return None, [Problem(LIVING_PATH, 1, "living", "no [living] table; expected status and search_every_days")]
    problems = []
    status = living.get("status")
    if status not in STATUSES:
        problems.append(Problem(LIVING_PATH, _line_of(text, "status"), "status",
                                f"status {_shown(status)}; expected one of: {', '.join(STATUSES)}"))
    every = living.get("search_every_days")
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 3650:
        problems.append(Problem(LIVING_PATH, _line_of(text, "search_every_days"), "search_every_days",
                                f"search_every_days {_shown(every)}; expected a whole number of days from 1 to 3650"))
    unknown = sorted(set(living) - {"status", "search_every_days"})
    problems += [Problem(LIVING_PATH, _line_of(text, k), k, f"unknown setting '{k}'; expected status and "
                                                            "search_every_days") for k in unknown]
    if problems:
        return None, problems
    return Cadence(status, every), []


def living_status(searches: pd.DataFrame, screening: pd.DataFrame, cadence: Cadence | None,
                  today: dt.date) -> LivingStatus:
    """The status on ``today``: the last search's date, pending records, and when the next search is due."""
    dates = pd.to_datetime(searches["date"]) if len(searches) else pd.Series([], dtype="datetime64[ns]")
    last = dates.max().date() if len(dates) else None
    pending = int((screening["decision"].astype(str) == "pending").sum()) if len(screening) else 0
    if cadence is None or cadence.status != "living" or last is None:
        return LivingStatus(cadence.status if cadence else "not declared", last, pending, None, False,
                            cadence.search_every_days if cadence else None)
    due = last + dt.timedelta(days=cadence.search_every_days)
    return LivingStatus(cadence.status, last, pending, due, today > due, cadence.search_every_days)


def status_text(status: LivingStatus) -> str:
    """The one-line status shown on every page (plain text)."""
    parts = [{"living": "Living review", "paused": "Living review (paused)", "retired": "Retired review"}.get(
        status.status, "Review")]
    parts.append(f"last search {status.last_search.isoformat()}" if status.last_search else "no search recorded")
    parts.append(f"{status.pending} record{'s' if status.pending != 1 else ''} awaiting screening")
    if status.next_due:
        parts.append(("next search overdue since " if status.overdue else "next search due ")
                     + status.next_due.isoformat())
    return " · ".join(parts)
