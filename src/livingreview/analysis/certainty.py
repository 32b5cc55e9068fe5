"""How sure each claim is: GRADE's domains, as far as the extracted fields support them, computed from studies.

The rule is declared once (``rule``): the book prints these sentences, ``rate`` applies them, and its reasons
name the steps that applied. A study is a distinct, non-retracted reference; one paper with three rows is one
study. Each study joins one evidence stream by its design; each stream is rated on its own and the claim takes
the best stream, as GRADE rates a body of evidence by its best evidence. ``fragility`` says how
many supporting studies would have to go before the rating drops.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from livingreview.model.declarations import DESIGNS, CertaintyInputs
from livingreview.model.vocab import CERTAINTY

#: the study designs a review maps its evidence levels to (``certainty.streams`` in its review.yml), weakest first
LEVELS = DESIGNS
RATINGS = tuple(CERTAINTY.values)  # lowest first: very_low, low, moderate, high
#: fewer independent studies than this in a stream is imprecise (unless the review declares its own)
MIN_STUDIES = 3
#: fewer patients than this across the trials of a stream is imprecise (GRADE's optimal information size)
MIN_PATIENTS = 100
#: a pooled result with I² above this (in percent) is inconsistent (GRADE's "substantial" heterogeneity)
POOLED_I2 = 50


@dataclass(frozen=True)
class Stream:
    """One evidence stream: the studies of one design, where their rating starts, and how indirect they are."""

    name: str
    label: str
    start: str
    #: how close to patients the stream's evidence is: a contradicting study weighs against streams of its
    #: weight or below (patients outrank animals, animals outrank cells)
    weight: int
    #: steps lowered because the stream's models are not patients
    indirect: int = 0
    #: whether the stream holds trials (and so is judged on the patients they enrolled)
    trials: bool = False


#: highest start first: a study joins the first stream that one of its supporting rows reaches, and a claim
#: whose streams tie takes the first
STREAMS = (
    Stream("rct", "randomised controlled trials", "high", 4, trials=True),
    Stream("animal", "animal experiments", "high", 1, indirect=1),
    Stream("trial", "other clinical trials", "low", 3, trials=True),
    Stream("human_observational", "observational studies in patients", "low", 2),
    Stream("in_vitro", "in vitro experiments", "high", 0, indirect=2),
)
STREAM = {s.name: s for s in STREAMS}

def _scope(inputs: CertaintyInputs) -> str:
    return " or ".join(words for _, words in inputs.directness) or "facet"


def rule(inputs: CertaintyInputs, ungraded: tuple[str, ...] = (), pooled: bool = False) -> tuple[tuple[str, str], ...]:
    """The rule, step by step, in the words the book prints, for a review's declared inputs (``ungraded``: the
    titles of its tables that record no evidence level; ``pooled``: whether the review declares a synthesis a
    claim may rest on)."""
    scope, first = _scope(inputs), (inputs.directness[0][1] if inputs.directness else "")
    steps = [
        ("streams", "Each independent supporting study joins one evidence stream, the first of these that one of "
                    "its supporting rows reaches: randomised controlled trials (a clinical trial whose record states "
                    "that it was both randomised and controlled), animal experiments, other clinical trials "
                    "(non-randomised, uncontrolled, or design not stated), observational studies in patients, in "
                    "vitro experiments. A paper with a mouse experiment and a patient cohort counts once, as an "
                    "animal experiment. Each stream is rated on its own."),
        ("start", "Study design: randomised controlled trials start at high certainty; other trials and "
                  "observational studies in patients start at low, as GRADE starts observational evidence; animal "
                  "and in vitro experiments are controlled experiments and start at high."),
        ("indirectness", f"Indirectness (population): every claim is about {inputs.population or 'people'}, so "
                         "animal experiments are lowered one step and in vitro experiments two steps."),
    ]
    if inputs.directness:
        steps.append(("scope", f"Indirectness (scope): lower a stream one step if all its studies share a single "
                               f"{scope} while the claim's selector does not restrict it to that one {scope} (a "
                               f"claim about one {first} is not lowered because its studies are of that type)."))
    steps += [
        ("imprecision", f"Imprecision: lower a stream one step if it has fewer than {inputs.min_studies} "
                        f"independent studies, and one step if it holds trials that enrolled fewer than "
                        f"{inputs.min_patients} patients in total as their records state (below GRADE's optimal "
                        "information size: too few patients to judge benefit or harm)."),
        ("inconsistency", "Inconsistency: lower a stream one step if the studies contradicting the claim at least "
                          "as close to patients as the stream (in vitro, then animal, then observational studies in "
                          "patients, then other trials, then randomised controlled trials) number at least a "
                          "quarter of the stream's studies, and two steps if at least half; a contradiction further "
                          "from patients, or a lone one against many studies, does not lower it."),
    ]
    if pooled:
        steps.append(("pooled", (
            "A claim that rests on the pooled estimate of a declared synthesis holds when the pooled result meets "
            "its selector; its studies are the studies pooled, in their streams as above, but its inconsistency and "
            "imprecision are read from the pooled result instead of from counts of studies: lower each stream one "
            f"step for inconsistency if I² is above {POOLED_I2:g}% or the prediction interval crosses the null while "
            "the confidence interval does not, and one step for imprecision if the confidence interval crosses the "
            f"null, fewer than {inputs.min_studies} studies were pooled, or the pooled studies enrolled fewer than "
            f"{inputs.min_patients} participants (a proxy for GRADE's optimal information size). A claim whose "
            "pooled result does not meet its selector has no supporting study. A claim that compares the slope of a "
            "moderator (a meta-regression across studies, such as a larger effect farther from the equator) is "
            "about a difference between studies, which no study randomised: each stream starts at most at low, as "
            "observational evidence does (the credibility of effect modification across studies, as ICEMAN judges "
            "it); imprecision is read from the slope's confidence interval (crossing zero), and inconsistency is not "
            "lowered for, since the moderator is offered as the explanation of the heterogeneity.")))
    steps += [
        ("best", "The claim takes the highest rating of any stream (so only randomised controlled trials can give "
                 "high certainty); streams that tie are explained by the one closest to patients. With no "
                 "supporting study a claim is very low."),
        ("floor", "Certainty never falls below very low. Retracted papers never count, and a claim about a table "
                  "that records no evidence level" + (f" ({', '.join(ungraded)})" if ungraded else "")
                  + " is not graded."),
    ]
    return tuple(steps)


def not_grade(inputs: CertaintyInputs, pooled: bool = False) -> str:
    """What the rating is not: printed with the rule so that no reader takes it for a full GRADE assessment
    (``pooled``: whether claims may rest on a declared synthesis)."""
    return (
        "This is not a full GRADE assessment. It is computed automatically from the extracted fields of each row: "
        "no study is appraised with a risk-of-bias tool (a trial's design counts only as its record states it), "
        "publication bias is not assessed, "
        + ("only a claim resting on a declared synthesis reads a pooled effect and its intervals, "
           if pooled else "no effect size or confidence interval is pooled, ")
        + "and certainty is never raised (for a large effect or a dose-response). "
        + "".join(f"{c} " for c in inputs.caveats)
        + "A rating says how much and how direct the evidence behind a claim is, as the rule above reads it, not "
        "how large or important the effect is.")


def reasons(inputs: CertaintyInputs) -> dict[str, str]:
    """Each step's reason, in the words an explanation uses."""
    return {
        "indirect_animal": "indirectness: animal models",
        "indirect_in_vitro": "indirectness: in vitro models, two steps",
        "narrow": f"a single {_scope(inputs)} while the claim is broader",
        "small": f"fewer than {inputs.min_studies} studies",
        "few_patients": f"fewer than {inputs.min_patients} patients in its trials",
        "contradicted": "contradicting studies, a quarter as many or more",
        "strongly_contradicted": "contradicting studies, half as many or more",
        "none": "no supporting study",
        "pooled_i2": f"inconsistency: I² above {POOLED_I2:g}%",
        "pooled_pi": "inconsistency: a prediction interval crossing the null",
        "pooled_i2_pi": f"inconsistency: I² above {POOLED_I2:g}% and a prediction interval crossing the null",
        "pooled_ci": "imprecision: the confidence interval crosses the null",
        "pooled_small": f"imprecision: fewer than {inputs.min_studies} studies pooled",
        "pooled_few": f"imprecision: fewer than {inputs.min_patients} participants pooled",
        "pooled_unmet": "the pooled estimate does not meet the claim's selector",
        "between_studies": "a difference between studies (a moderator), observational whatever each study's design",
        "pooled_slope_ci": "imprecision: the slope's confidence interval crosses zero",
    }


STEPS = {"indirect_in_vitro": 2, "strongly_contradicted": 2, "none": 0}


@dataclass(frozen=True)
class Basis:
    """What a claim's rating is computed from: its studies, their designs and facets, and contradicting studies."""

    #: level -> keys of the studies with a supporting row at that level
    supporting: dict[str, frozenset[str]]
    contradicting: frozenset[str] = frozenset()
    #: facet (see ``Basis.directness``) -> study key -> the facet's values in its supporting rows
    facets: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    graded: bool = True
    #: supporting studies with a clinical-trial row whose record states it was randomised and controlled
    rct: frozenset[str] = frozenset()
    #: trial study key -> patients its record states
    patients: dict[str, int] = field(default_factory=dict)
    #: contradicting study key -> the stream of its contradicting row closest to patients (a study missing here
    #: weighs against every stream)
    against: dict[str, str] = field(default_factory=dict)
    #: facet -> the values the claim's selector restricts it to (a facet missing here is not restricted)
    scope: dict[str, frozenset[str]] = field(default_factory=dict)
    #: the facets that decide directness (the review's ``certainty.directness``)
    directness: tuple[str, ...] = ()
    min_studies: int = MIN_STUDIES
    min_patients: int = MIN_PATIENTS

    @property
    def studies(self) -> frozenset[str]:
        """Every independent supporting study."""
        return frozenset().union(*self.supporting.values())

    def values_of(self, facet: str) -> frozenset[str]:
        """The values of ``facet`` across the supporting studies."""
        by_study = self.facets.get(facet, {})
        return frozenset().union(*(by_study.get(k, frozenset()) for k in self.studies))

    def stream_of(self, key: str) -> str:
        """The stream of a supporting study: the first in ``STREAMS`` that one of its supporting rows reaches."""
        reached = {lvl for lvl in LEVELS if key in self.supporting.get(lvl, ())}
        if "clinical_trial" in reached:
            reached.add("rct" if key in self.rct else "trial")
        return next(s.name for s in STREAMS if s.name in reached)

    def streams(self) -> dict[str, frozenset[str]]:
        """Stream name -> its supporting studies (every stream, strongest first; a study is in exactly one)."""
        out: dict[str, set[str]] = {s.name: set() for s in STREAMS}
        for key in self.studies:
            out[self.stream_of(key)].add(key)
        return {name: frozenset(keys) for name, keys in out.items()}

    def without(self, keys: frozenset[str]) -> Basis:
        """The same basis with the supporting studies ``keys`` removed."""
        return Basis({lvl: ks - keys for lvl, ks in self.supporting.items()}, self.contradicting,
                     {f: {k: v for k, v in by.items() if k not in keys} for f, by in self.facets.items()},
                     self.graded, self.rct - keys, {k: n for k, n in self.patients.items() if k not in keys},
                     self.against, self.scope, self.directness, self.min_studies, self.min_patients)


@dataclass(frozen=True)
class Rating:
    """A claim's certainty (None when not graded), the stream it rests on, where it started and what lowered it."""

    certainty: str | None
    start: str | None = None
    reasons: tuple[str, ...] = ()
    stream: str | None = None

    @property
    def label(self) -> str:
        """The rating in words."""
        return CERTAINTY.label(self.certainty) if self.certainty else "Not graded"

    def below(self, expected: str) -> bool:
        """Whether this rating is lower than ``expected`` (a claim that is not graded is never below)."""
        return self.certainty is not None and RATINGS.index(self.certainty) < RATINGS.index(expected)


#: what the rule reads of one stream: studies, whether they are narrower than the claim's scope, patients stated
#: in its trials, contradicting studies at its design or a stronger one, and the review's two thresholds
StreamSummary = tuple[int, bool, int, int, int, int]


def _narrow(basis: Basis, keys: frozenset[str]) -> bool:
    """Whether ``keys`` share a single value of a directness facet that the claim does not fix to that value."""
    for facet in basis.directness:
        declared = basis.scope.get(facet)
        # a facet the claim's table does not record, or that the claim fixes to one value, cannot be narrower
        if facet not in basis.facets or (declared is not None and len(declared) == 1):
            continue
        by_study = basis.facets[facet]
        if len(frozenset().union(*(by_study.get(k, frozenset()) for k in keys))) <= 1:
            return True
    return False


def _against(basis: Basis, stream: str) -> int:
    """Contradicting studies at least as close to patients as ``stream`` (an unknown design counts as closest)."""
    top = max(s.weight for s in STREAMS)
    return sum(1 for k in basis.contradicting
               if (STREAM[basis.against[k]].weight if k in basis.against else top) >= STREAM[stream].weight)


def summarise(basis: Basis) -> tuple[StreamSummary | None, ...]:
    """The few numbers ``rule`` reads from a basis, one summary per stream (None for an empty stream)."""
    out: list[StreamSummary | None] = []
    for stream, keys in zip(STREAMS, basis.streams().values(), strict=True):
        out.append((len(keys), _narrow(basis, keys), sum(basis.patients.get(k, 0) for k in keys),
                    _against(basis, stream.name), basis.min_studies, basis.min_patients) if keys else None)
    return tuple(out)


def rate_stream(stream: Stream, summary: StreamSummary) -> tuple[str, tuple[str, ...]]:
    """One stream's certainty and the steps that lowered it."""
    studies, narrow, patients, against, min_studies, min_patients = summary
    reasons: list[str] = []
    if stream.indirect:
        reasons.append(f"indirect_{stream.name}")
    if narrow:
        reasons.append("narrow")
    if studies < min_studies:
        reasons.append("small")
    if stream.trials and patients < min_patients:
        reasons.append("few_patients")
    if against and 2 * against >= studies:
        reasons.append("strongly_contradicted")
    elif against and 4 * against >= studies:
        reasons.append("contradicted")
    steps = sum(STEPS.get(r, 1) for r in reasons)
    return RATINGS[max(0, RATINGS.index(stream.start) - steps)], tuple(reasons)


def rate(basis: Basis) -> Rating:
    """Apply ``rule`` to ``basis``."""
    if not basis.graded:
        return Rating(None)
    return rate_summary(summarise(basis))


@functools.lru_cache(maxsize=4096)
def rate_summary(summary: tuple[StreamSummary | None, ...]) -> Rating:
    """Apply ``rule`` to the numbers it reads (see ``summarise``): the best stream, on a tie the closest to patients."""
    best: Rating | None = None
    for stream, s in zip(STREAMS, summary, strict=True):
        if s is None:
            continue
        certainty, reasons = rate_stream(stream, s)
        rank = (RATINGS.index(certainty), stream.weight)
        if best is None or rank > (RATINGS.index(best.certainty or RATINGS[0]), STREAM[best.stream or ""].weight):
            best = Rating(certainty, stream.start, reasons, stream.name)
    return best or Rating(RATINGS[0], None, ("none",))


def _stream_fragility(basis: Basis, stream: Stream, keys: frozenset[str], reasons: tuple[str, ...]) -> int:
    """The fewest of ``keys`` whose removal lowers this stream by at least one step."""
    n = len(keys)
    options = [n]  # remove the whole stream
    if "small" not in reasons:
        options.append(n - (basis.min_studies - 1))
    if stream.trials and "few_patients" not in reasons:
        # the largest trials first: the fewest removals that bring the stated patients below the threshold
        stated = sorted((basis.patients.get(k, 0) for k in keys), reverse=True)
        total, removed = sum(stated), 0
        while total >= basis.min_patients:
            total, removed = total - stated[removed], removed + 1
        options.append(removed)
    if "narrow" not in reasons:
        for facet in basis.directness:
            declared = basis.scope.get(facet)
            if facet not in basis.facets or (declared is not None and len(declared) == 1):
                continue
            by_study = basis.facets[facet]
            values = frozenset().union(*(by_study.get(k, frozenset()) for k in keys))
            # keep only the studies whose values are all one value: the rest must go
            options += [n - sum(1 for k in keys if by_study.get(k, frozenset()) <= {v}) for v in values]
    against = _against(basis, stream.name)
    if against and "strongly_contradicted" not in reasons:
        options.append(n - (2 if "contradicted" in reasons else 4) * against)
    return min(options)


def fragility(basis: Basis) -> str:
    """How many supporting studies must be removed, at the least, before the certainty drops ("-" at the floor).

    Removing studies never raises a stream's rating: its studies and patients can only fall, so imprecision,
    a single value of a directness facet and the share of contradicting studies can only set in. The claim's
    rating is its best
    stream's, so it drops exactly when every stream at that rating drops a step; a study is in one stream only,
    so the answer is the sum, over those streams, of the cheapest way to lower each: empty it, leave fewer than
    three studies, bring its trials' patients below the threshold, leave a single value of a facet, or let the
    contradicting studies reach the next share. (A test checks this against trying every removal set.)
    """
    rating = rate(basis)
    if rating.certainty is None or rating.certainty == RATINGS[0]:
        return "-"
    total = 0
    for stream, (name, keys), s in zip(STREAMS, basis.streams().items(), summarise(basis), strict=True):
        if s is None:
            continue
        certainty, reasons = rate_stream(stream, s)
        if certainty == rating.certainty:
            total += _stream_fragility(basis, STREAM[name], keys, reasons)
    return str(total)


def explain(rating: Rating, inputs: CertaintyInputs | None = None) -> str:
    """The rating with the stream it rests on, where that started and the steps that lowered it, in words."""
    REASONS = reasons(inputs or CertaintyInputs())
    if rating.certainty is None:
        return "not graded"
    if rating.stream is None:
        return f"{rating.label} ({REASONS[rating.reasons[0] if rating.reasons else 'none']})"
    where = f"{rating.label} ({STREAM[rating.stream].label}: started {CERTAINTY.label(rating.start).lower()}"
    if not rating.reasons:
        return where + ")"
    return where + "; lowered for " + ", ".join(REASONS[r] for r in rating.reasons) + ")"


# --- claims resting on a pooled estimate -----------------------------------------------------------

@dataclass(frozen=True)
class PooledSummary:
    """What the rule reads of a pooled result: studies, I², whether the confidence and prediction intervals cross
    the null (None for a measure without one, a proportion), participants pooled (None where the measure does not
    say), and whether the result meets the claim's selector."""

    studies: int
    i_squared: float
    ci_crosses: bool | None
    pi_crosses: bool | None
    participants: int | None
    holds: bool = True
    #: the claim compares a moderator's slope (a difference between studies); ``ci_crosses`` is then the slope's
    between: bool = False


#: the steps the pooled result replaces: it judges inconsistency and imprecision itself
_REPLACED = frozenset({"small", "few_patients", "contradicted", "strongly_contradicted"})


def pooled_reasons(pooled: PooledSummary, min_studies: int, min_patients: int) -> tuple[str, ...]:
    """The steps the pooled result lowers a stream by: inconsistency (one step at most), imprecision (one at most)."""
    wide, spread = pooled.i_squared > POOLED_I2, bool(pooled.pi_crosses) and pooled.ci_crosses is False
    inconsistent = ["pooled_i2_pi"] if wide and spread else ["pooled_i2"] if wide else ["pooled_pi"] if spread else []
    if pooled.between:  # the moderator is the claim's explanation of the heterogeneity
        inconsistent = ["between_studies"]
    crossing = "pooled_slope_ci" if pooled.between else "pooled_ci"
    imprecise = [r for r, applies in ((crossing, bool(pooled.ci_crosses)),
                                      ("pooled_small", pooled.studies < min_studies),
                                      ("pooled_few", pooled.participants is not None
                                       and pooled.participants < min_patients)) if applies]
    return (*inconsistent, *imprecise)


def _pooled_steps(reasons: tuple[str, ...]) -> int:
    """Steps of the pooled reasons: one for any inconsistency, one for any imprecision (GRADE's two domains)."""
    return int(any(r in ("pooled_i2", "pooled_pi", "pooled_i2_pi") for r in reasons)) + int(
        any(r in ("pooled_ci", "pooled_slope_ci", "pooled_small", "pooled_few") for r in reasons))


def rate_pooled(basis: Basis, pooled: PooledSummary) -> Rating:
    """``rule`` for a claim resting on a pooled estimate: each stream starts and is lowered for indirectness as the
    rule says, then for the pooled result's inconsistency and imprecision instead of its own counts."""
    if not basis.graded:
        return Rating(None)
    if not pooled.holds:
        return Rating(RATINGS[0], None, ("pooled_unmet",))
    extra = pooled_reasons(pooled, basis.min_studies, basis.min_patients)
    best: Rating | None = None
    for stream, s in zip(STREAMS, summarise(basis), strict=True):
        if s is None:
            continue
        _, own = rate_stream(stream, s)
        kept = tuple(r for r in own if r not in _REPLACED)
        steps = sum(STEPS.get(r, 1) for r in kept) + _pooled_steps(extra)
        # a difference between studies starts where observational evidence does, whatever each study's design
        start = RATINGS.index(stream.start) if not pooled.between else min(RATINGS.index(stream.start), 1)
        certainty = RATINGS[max(0, start - steps)]
        rank = (RATINGS.index(certainty), stream.weight)
        if best is None or rank > (RATINGS.index(best.certainty or RATINGS[0]), STREAM[best.stream or ""].weight):
            best = Rating(certainty, stream.start, (*kept, *extra), stream.name)
    return best or Rating(RATINGS[0], None, ("none",))
