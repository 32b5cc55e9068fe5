"""How sure each claim is: a declared rule inspired by GRADE, computed from independent studies, not rows.

The rule is declared once (``RULE``): the book prints these sentences, ``rate`` applies them, and its reasons
name the steps that applied. A study is a distinct, non-retracted reference; one paper with three rows is one
study. ``fragility`` says how many supporting studies would have to go before the rating drops.
"""

from __future__ import annotations

import collections
import functools
from dataclasses import dataclass, field

from livingreview.vocab import CERTAINTY, EVIDENCE_LEVEL

LEVELS = tuple(EVIDENCE_LEVEL.values)  # weakest first: in_vitro, animal, human_observational, clinical_trial
RATINGS = tuple(CERTAINTY.values)  # lowest first: very_low, low, moderate, high
HUMAN = frozenset({"human_observational", "clinical_trial"})
#: where a claim starts, by the strongest level that at least ``MIN_STUDIES`` studies reach
START = {"clinical_trial": "high", "human_observational": "moderate", "animal": "moderate", "in_vitro": "low"}
MIN_STUDIES = 2
SMALL_BASE = 3

#: the rule, step by step, in the words the book prints
RULE: tuple[tuple[str, str], ...] = (
    ("start", "Start from the strongest evidence level that at least two independent studies reach (a study "
              "counts at its own level and every level below it): clinical trials give high certainty, human "
              "observational studies and animal models moderate, in vitro studies low. With fewer than two "
              "supporting studies, start at very low."),
    ("preclinical", "Lower one step if no study in patients supports the claim (indirectness: preclinical "
                    "models only)."),
    ("one_cancer", "Lower one step if every supporting study comes from a single cancer type (indirectness)."),
    ("small", "Lower one step if fewer than three independent studies support the claim (a small evidence "
              "base)."),
    ("contradicted", "Lower one step if any independent study contradicts the claim, and two steps if the "
                     "contradicting studies are at least half as many as the supporting ones (inconsistency)."),
    ("floor", "Certainty never falls below very low. Retracted papers never count, and a claim about a table "
              "that records no evidence level (EV subtypes) is not graded."),
)
REASONS = {
    "preclinical": "preclinical models only",
    "one_cancer": "a single cancer type",
    "small": "fewer than three studies",
    "contradicted": "contradicting studies",
    "strongly_contradicted": "many contradicting studies",
}


@dataclass(frozen=True)
class Basis:
    """What a claim's rating is computed from: studies by level, contradicting studies and cancer types."""

    #: level -> keys of the studies with a supporting row at that level
    supporting: dict[str, frozenset[str]]
    contradicting: frozenset[str] = frozenset()
    #: study key -> the cancer types of its supporting rows
    cancers: dict[str, frozenset[str]] = field(default_factory=dict)
    graded: bool = True

    @property
    def studies(self) -> frozenset[str]:
        """Every independent supporting study."""
        return frozenset().union(*self.supporting.values())

    @property
    def cancer_types(self) -> frozenset[str]:
        """The cancer types of the supporting studies."""
        return frozenset().union(*(self.cancers.get(k, frozenset()) for k in self.studies))

    def without(self, keys: frozenset[str]) -> Basis:
        """The same basis with the supporting studies ``keys`` removed."""
        return Basis({lvl: ks - keys for lvl, ks in self.supporting.items()}, self.contradicting,
                     {k: c for k, c in self.cancers.items() if k not in keys}, self.graded)


@dataclass(frozen=True)
class Rating:
    """A claim's certainty (None when not graded), where it started, and the steps that lowered it."""

    certainty: str | None
    start: str | None = None
    reasons: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The rating in words."""
        return CERTAINTY.label(self.certainty) if self.certainty else "Not graded"

    def below(self, expected: str) -> bool:
        """Whether this rating is lower than ``expected`` (a claim that is not graded is never below)."""
        return self.certainty is not None and RATINGS.index(self.certainty) < RATINGS.index(expected)


def studies_at_or_above(basis: Basis, level: str) -> frozenset[str]:
    """Studies with a supporting row at ``level`` or a stronger one."""
    return frozenset().union(*(basis.supporting.get(lvl, frozenset()) for lvl in LEVELS[LEVELS.index(level):]))


#: what the rule looks at: studies at or above each level (weakest first), any study in patients, the number of
#: cancer types, of supporting studies and of contradicting studies
Summary = tuple[tuple[int, ...], bool, int, int, int]


def summarise(basis: Basis) -> Summary:
    """The few numbers ``RULE`` reads from a basis."""
    studies = basis.studies
    return (tuple(len(studies_at_or_above(basis, lvl)) for lvl in LEVELS),
            any(basis.supporting.get(lvl) for lvl in HUMAN), len(basis.cancer_types), len(studies),
            len(basis.contradicting))


def rate(basis: Basis) -> Rating:
    """Apply ``RULE`` to ``basis``."""
    if not basis.graded:
        return Rating(None)
    return rate_summary(summarise(basis))


@functools.lru_cache(maxsize=4096)
def rate_summary(summary: Summary) -> Rating:
    """Apply ``RULE`` to the numbers it reads (see ``summarise``)."""
    at_or_above, human, cancer_types, studies, against = summary
    start = next((START[lvl] for lvl, n in zip(reversed(LEVELS), reversed(at_or_above), strict=True)
                  if n >= MIN_STUDIES), "very_low")
    reasons: list[str] = []
    if studies and not human:
        reasons.append("preclinical")
    if studies and cancer_types == 1:
        reasons.append("one_cancer")
    if studies < SMALL_BASE:
        reasons.append("small")
    if against:
        reasons.append("strongly_contradicted" if 2 * against >= studies else "contradicted")
    steps = sum(2 if r == "strongly_contradicted" else 1 for r in reasons)
    return Rating(RATINGS[max(0, RATINGS.index(start) - steps)], start, tuple(reasons))


def fragility(basis: Basis) -> str:
    """How many supporting studies must be removed, at the least, before the certainty drops ("-" at the floor).

    Removing studies never raises a rating: the start can only fall and the steps that lower it can only be
    added. So the rating drops as soon as one thing happens, and the answer is the cheapest of: a weaker start
    (fewer than two studies left at the start's level), preclinical models only (every study in patients
    removed), a single cancer type left, a small base left, contradicting studies reaching half of those left,
    or no study left. (A test checks this against trying every removal set.)
    """
    rating = rate(basis)
    if rating.certainty is None or rating.certainty == RATINGS[0]:
        return "-"
    studies = sorted(basis.studies)
    n = len(studies)
    at_or_above, _, _, _, against = summarise(basis)
    options = [n]
    if rating.start != "very_low":
        start = RATINGS.index(rating.start)
        weakest = next(i for i, lvl in enumerate(LEVELS) if RATINGS.index(START[lvl]) >= start)
        options.append(at_or_above[weakest] - (MIN_STUDIES - 1))
    if "preclinical" not in rating.reasons:
        options.append(sum(1 for k in studies if any(k in basis.supporting.get(lvl, ()) for lvl in HUMAN)))
    if "one_cancer" not in rating.reasons:
        alone = collections.Counter(next(iter(c)) for k in studies if len(c := basis.cancers.get(k, frozenset())) == 1)
        options.append(n - max(alone.values(), default=0))
    if "small" not in rating.reasons:
        options.append(n - (SMALL_BASE - 1))
    if against and "strongly_contradicted" not in rating.reasons:
        options.append(n - 2 * against)
    return str(min(options))


def explain(rating: Rating) -> str:
    """The rating with its start and the steps that lowered it, in words."""
    if rating.certainty is None:
        return "not graded"
    if not rating.reasons:
        return f"{rating.label} (started {CERTAINTY.label(rating.start).lower()})"
    why = ", ".join(REASONS[r] for r in rating.reasons)
    return f"{rating.label} (started {CERTAINTY.label(rating.start).lower()}; lowered for {why})"
