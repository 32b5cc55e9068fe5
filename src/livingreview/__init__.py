"""livingreview: a living review as validated data, declared by the review itself (its ``review.yml``)."""

from livingreview.declarations import Declarations
from livingreview.errors import LivingReviewError, Problem, Severity, ValidationError
from livingreview.evidence import Evidence, load
from livingreview.validate import validate

__all__ = [
    "Declarations",
    "Evidence",
    "LivingReviewError",
    "Problem",
    "Severity",
    "ValidationError",
    "load",
    "validate",
]
__version__ = "2026.12"
