"""How sure each claim is: a declared rule inspired by GRADE, computed from independent studies, not rows.

The rule is declared once (``RULE``): the book prints these sentences, ``rate`` applies them, and its reasons
name the steps that applied. A study is a distinct, non-retracted reference; one paper with three rows is one
study. ``fragility`` says how many supporting studies would have to go before the rating drops.
"""

from __future__ import annotations

import collections
import functools
import itertools
from dataclasses import dataclass, field

from livingreview.vocab import CERTAINTY, EVIDENCE_LEVEL

LEVELS = tuple(EVIDENCE_LEVEL.values)  # weakest first: in_vitro, animal, human_observational, clinical_trial
RATINGS = tuple(CERTAINTY.values)  # lowest first: very_low, low, moderate, high
HUMAN = frozenset({"human_observational", "clinical_trial"})
#: where a claim starts, by the strongest level that at least ``MIN_STUDIES`` studies reach
START = {"clinical_trial": "high", "human_observational": "moderate", "animal": "moderate", "in_vitro": "low"}
MIN_STUDIES = 2
SMALL_BASE = 3
FRAGILITY_BUDGET = 5_000  # removal sets tried before fragility is reported as "at least k"

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


def fragility(basis: Basis, budget: int = FRAGILITY_BUDGET) -> str:
    """How many supporting studies must be removed, at the least, before the certainty drops.

    Every set of one study is tried, then every set of two, and so on ("2" means some pair of studies holds the
    rating up). A rating already at the floor cannot drop ("-"). When the budget of sets runs out, the answer is
    a lower bound ("4+").
    """
    rating = rate(basis)
    if rating.certainty is None or rating.certainty == RATINGS[0]:
        return "-"
    floor = RATINGS.index(rating.certainty)
    studies = sorted(basis.studies)
    # each study's strongest level and cancer types, so that a removal set is summarised without a new Basis
    # per study: its strongest level, whether it is in patients, its cancer types; a removal set is then
    # summarised from the totals minus what it removes, in time proportional to its size
    strongest = {k: max(i for i, lvl in enumerate(LEVELS) if k in basis.supporting.get(lvl, ())) for k in studies}
    human = {k: any(k in basis.supporting.get(lvl, ()) for lvl in HUMAN) for k in studies}
    cancers = {k: basis.cancers.get(k, frozenset()) for k in studies}
    at_or_above = [sum(strongest[s] >= i for s in studies) for i in range(len(LEVELS))]
    humans = sum(human.values())
    per_cancer = collections.Counter(c for s in studies for c in cancers[s])
    against = len(basis.contradicting)
    tried = 0
    for k in range(1, len(studies) + 1):
        for removed in itertools.combinations(studies, k):
            tried += 1
            if tried > budget:
                return f"{k}+"
            lost = collections.Counter(c for s in removed for c in cancers[s])
            summary = (tuple(n - sum(strongest[s] >= i for s in removed) for i, n in enumerate(at_or_above)),
                       humans - sum(human[s] for s in removed) > 0,
                       sum(1 for c, n in per_cancer.items() if n > lost[c]), len(studies) - k, against)
            if RATINGS.index(rate_summary(summary).certainty) < floor:
                return str(k)
    return str(len(studies))


def explain(rating: Rating) -> str:
    """The rating with its start and the steps that lowered it, in words."""
    if rating.certainty is None:
        return "not graded"
    if not rating.reasons:
        return f"{rating.label} (started {CERTAINTY.label(rating.start).lower()})"
    why = ", ".join(REASONS[r] for r in rating.reasons)
    return f"{rating.label} (started {CERTAINTY.label(rating.start).lower()}; lowered for {why})"
