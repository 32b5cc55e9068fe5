"""Located problems and the typed exceptions that carry them."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from enum import StrEnum

from livingreview.model.schema import INVISIBLE_PATTERN

_UNPRINTABLE = re.compile(INVISIBLE_PATTERN)
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with every line break, control, zero-width or bidi character shown as an escape (``\\n``, ``\\u202e``).

    A message is always one line, so data can neither start a line of its own in a report nor hide in it.
    """
    return _UNPRINTABLE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


#: how much of a value a message quotes: a whole cell may be megabytes, and reports are polled and size-limited
QUOTE_LIMIT = 80
#: the longest a message, a path or a column name of a problem may be (long vocabularies fit)
MESSAGE_LIMIT = 2_000


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` quoted for a message: ``'abc'``, or its first ``limit`` characters and its length if longer."""
    text = str(value)
    if len(text) <= limit:
        return f"'{text}'"
    return f"'{text[:limit]}…' ({len(text):,} characters)"


class Severity(StrEnum):
    """How bad a problem is: errors fail validation, warnings are reported only."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at one place: ``PATH:LINE:COLUMN: message``.

    ``column`` is a CSV column name, a BibTeX field name, or ``-`` for a whole line or file.
    """

    path: str
    line: int
    column: str
    message: str
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        # one search over the three texts decides for most problems (validation may make hundreds of thousands)
        if (_UNPRINTABLE.search(f"{self.path} {self.column} {self.message}") is None
                and max(len(self.path), len(self.column), len(self.message)) <= MESSAGE_LIMIT):
            return
        for name in ("path", "column", "message"):
            value = getattr(self, name)
            if _UNPRINTABLE.search(value):
                value = one_line(value)
                object.__setattr__(self, name, value)
            if len(value) > MESSAGE_LIMIT:  # a message that quoted a whole value somewhere: never megabytes
                object.__setattr__(self, name, f"{value[:MESSAGE_LIMIT]}… ({len(value):,} characters)")

    @classmethod
    def checked(cls, path: str, line: int, column: str, message: str, severity: Severity) -> Problem:
        """A problem from fields a ``Problem`` already holds (sent from another process): not escaped or shortened
        again (a shortened message would be shortened twice)."""
        problem = object.__new__(cls)
        object.__setattr__(problem, "__dict__", {"path": path, "line": line, "column": column, "message": message,
                                                 "severity": severity})
        return problem

    #: the dataclass order as a plain tuple, made in C: sorts many problems far faster than ``__lt__`` or a method
    sort_key = operator.attrgetter("path", "line", "column", "message", "severity")

    def __str__(self) -> str:
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


class LivingReviewError(Exception):
    """Base class of every error this package raises on purpose."""


class UsageError(LivingReviewError):
    """The request itself is wrong (unknown table or column, a path the command may not write), exit 2."""


class ValidationError(LivingReviewError):
    """The evidence tables or the library are invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=Problem.sort_key)
        errors = [p for p in self.problems if p.severity is Severity.ERROR]
        lines = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} validation error(s):\n{lines}{more}")

    @property
    def errors(self) -> list[Problem]:
        """The problems that are errors, not warnings."""
        return [p for p in self.problems if p.severity is Severity.ERROR]
