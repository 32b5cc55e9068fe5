"""livingreview: a living review as validated data, declared by the review itself (its ``review.yml``).

The package is in layers, lowest first: ``model`` (declarations, tables, errors), ``meta`` (the numerics of pooling),
``checking`` (reading and validating a review into one ``Evidence``), ``curation`` (changing its files safely),
``analysis`` (summaries, certainty, pooled effects, history), ``publishing`` (the book, the data package, the feed)
and ``commands`` (the CLI and the preview server). A chapter needs only the names below.
"""

import importlib

from livingreview.checking.evidence import Evidence, load
from livingreview.checking.validate import validate
from livingreview.model.declarations import Declarations
from livingreview.model.errors import LivingReviewError, Problem, Severity, ValidationError

#: what a chapter imports by name (``from livingreview import chapter, figures, summaries``), wherever it lives
CHAPTER_API = {"chapter": "livingreview.publishing.chapter", "figures": "livingreview.publishing.figures",
               "forest": "livingreview.publishing.forest", "summaries": "livingreview.analysis.summaries",
               "synthesis": "livingreview.analysis.synthesis"}


def __getattr__(name: str):
    # imported on first use: loading the package for validation alone does not import the book's chart code
    if name in CHAPTER_API:
        return importlib.import_module(CHAPTER_API[name])
    raise AttributeError(f"module 'livingreview' has no attribute {name!r}")


__all__ = [
    "Declarations",
    "Evidence",
    "LivingReviewError",
    "Problem",
    "Severity",
    "ValidationError",
    "load",
    "validate",
    *CHAPTER_API,
]
__version__ = "2026.12"
