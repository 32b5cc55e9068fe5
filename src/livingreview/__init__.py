"""livingreview: a living review of extracellular vesicles in cancer metastasis, as validated data."""

from livingreview.errors import LivingReviewError, Problem, Severity, ValidationError
from livingreview.evidence import Evidence, load
from livingreview.schema import TABLES
from livingreview.validate import validate
from livingreview.vocab import VOCABULARIES

__all__ = [
    "TABLES",
    "VOCABULARIES",
    "Evidence",
    "LivingReviewError",
    "Problem",
    "Severity",
    "ValidationError",
    "load",
    "validate",
]
__version__ = "2026.12"
