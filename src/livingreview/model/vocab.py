"""Controlled vocabularies: the allowed terms of a vocabulary column, in order, with their labels.

A review declares its own in its ``review.yml``; validation, chart legends, summary tables and the contributor docs
all read them. The engine keeps one of its own: the certainty rule's ratings.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Vocabulary:
    """An ordered set of allowed terms, each with a human-readable label (and, where it matters, a definition)."""

    name: str
    description: str
    terms: dict[str, str]
    definitions: dict[str, str] = field(default_factory=dict)
    #: terms that stand for several values or none ('several countries', 'not applicable'): a count of the
    #: distinct values a set of rows covers leaves them out
    uncounted: tuple[str, ...] = ()

    def __contains__(self, term: object) -> bool:
        return term in self.terms

    def label(self, term: str) -> str:
        """Return the human label of ``term`` (the term itself if unknown)."""
        return self.terms.get(term, term)

    @property
    def values(self) -> list[str]:
        """The allowed terms, in declaration order."""
        return list(self.terms)

    def listing(self) -> str:
        """The terms for an error message, each with its label unless the label only repeats the term.

        'alternate (Alternating allocation)' but 'random' (whose label begins with the term itself).
        """
        def repeats(term: str, label: str) -> bool:
            return label.lower().startswith(term.replace("_", " ").lower())
        return ", ".join(t if repeats(t, lab) else f"{t} ({lab})" for t, lab in self.terms.items())


#: the certainty rule's ratings (GRADE's four levels), the engine's own: every review grades on this scale
CERTAINTY = Vocabulary(
    "certainty",
    "How sure a claim is, by the review's certainty rule (lowest first).",
    {"very_low": "Very low", "low": "Low", "moderate": "Moderate", "high": "High"},
)
