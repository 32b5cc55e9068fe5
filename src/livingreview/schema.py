"""The one declaration of every evidence table and column.

Validation (pandera), typed loading, the contributor docs and exports are all derived from ``TABLES``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from livingreview import vocab as v
from livingreview.vocab import Vocabulary

MULTI_SEPARATOR = ";"
FORMULA_PREFIXES = ("=", "+", "-", "@")
#: a BibTeX key as cited from a table: ASCII, starting with a letter, digit or '_' (never a formula prefix)
KEY_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_:.+\-]*"
#: characters that change how text displays without being seen: controls, zero-width and bidi overrides
#: (and the characters XML 1.0 forbids, which would make the feed and the pages ill-formed: lone surrogates,
#: U+FFFE and U+FFFF)
INVISIBLE_PATTERN = (r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
                     r"\ud800-\udfff\ufffe\uffff]")
INT64_MAX = 2**63 - 1
#: the largest selector (``claims.where``) a claim may have: every certainty computation matches it against every
#: row, so its size is bounded (the review's longest is under 100 characters and 5 terms)
SELECTOR_MAX_CHARS = 2_000
SELECTOR_MAX_TERMS = 100
# identifiers and links, ASCII only: a DOI or PMID in other digits or with invisible characters is a broken link
DOI_PATTERN = r"10\.[0-9]{4,9}/[!-~]+"
PMID_PATTERN = r"[1-9][0-9]{0,8}"
URL_PATTERN = r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"  # the characters RFC 3986 allows
#: one published record: 'PMID:n', 'PMCn' or 'doi:10.x/y' (a ';' inside a DOI would split the list, so refuse it)
RECORD_PATTERN = r"PMID:[1-9][0-9]{0,8}|PMC[1-9][0-9]{0,9}|doi:10\.[0-9]{4,9}/[!-:<-~]+"
#: a trial registry id as registries print it: ClinicalTrials.gov, ISRCTN, EudraCT, ChiCTR, jRCT/UMIN
TRIAL_PATTERN = (r"NCT[0-9]{8}|ISRCTN[0-9]{8}|EudraCT [0-9]{4}-[0-9]{6}-[0-9]{2}|ChiCTR[0-9A-Za-z-]{6,20}"
                 r"|jRCT[0-9a-z]{8,12}|UMIN[0-9]{9}")


class Kind(StrEnum):
    """What a column holds; decides its checks and its typed representation."""

    ID = "id"
    TEXT = "text"
    VOCAB = "vocab"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    CITEKEYS = "citekeys"
    IDREFS = "idrefs"
    SELECTOR = "selector"
    IDENTIFIER = "identifier"


@dataclass(frozen=True)
class Column:
    """One column of an evidence table."""

    name: str
    kind: Kind
    description: str
    required: bool = True
    vocab: Vocabulary | None = None
    multi: bool = False
    minimum: float | None = None
    maximum: float | None = None
    #: for IDENTIFIER columns: the regular expression each item must match, and how to say it to a contributor
    pattern: str | None = None
    pattern_hint: str = ""
    #: (column, term): the cell belongs only to rows whose ``column`` is ``term`` (there ``required`` applies) and
    #: must be empty in every other row
    only_when: tuple[str, str] | None = None
    #: for TEXT columns: the cell quotes an outside source as it stands (a database query, a record's title), so
    #: the rules for prose written by curators (formula prefixes, curation words) do not apply; what publishes it
    #: escapes it (HTML, Markdown) or formula-neutralises it (exports)
    verbatim: bool = False

    @property
    def always_required(self) -> bool:
        """Whether every row must fill this cell (a column that belongs to some rows only never is)."""
        return self.required and self.only_when is None

    @property
    def expected(self) -> str:
        """A short human description of what a valid cell looks like."""
        if self.kind is Kind.VOCAB and self.vocab is not None:
            what = "one of: " + self.vocab.listing()
            return ("one or more terms separated by ';', each " if self.multi else "") + what
        if self.kind is Kind.INTEGER:
            if self.minimum is not None and self.maximum is not None:
                return f"a whole number from {self.minimum:g} to {self.maximum:g}"
            return f"a whole number >= {self.minimum:g}" if self.minimum is not None else "a whole number"
        if self.kind is Kind.NUMBER:
            return f"a number from {self.minimum:g} to {self.maximum:g}"
        if self.kind is Kind.DATE:
            return "an ISO date YYYY-MM-DD"
        if self.kind is Kind.CITEKEYS:
            return "one or more BibTeX keys separated by ';'"
        if self.kind is Kind.ID:
            return "a row id: the table's prefix and four to nine digits, e.g. PMN-0001"
        if self.kind is Kind.IDREFS:
            return "row ids separated by ';'"
        if self.kind is Kind.SELECTOR:
            return ("conditions 'column=term|term' (or '!=' is none of, '~' contains any of, '!~' contains none of; "
                    "'>', '>=', '<', '<=' compare a number or date column with one value) "
                    f"separated by ';', at most {SELECTOR_MAX_CHARS:,} characters and {SELECTOR_MAX_TERMS} terms")
        if self.kind is Kind.IDENTIFIER:
            return ("one or more of " if self.multi else "") + self.pattern_hint + (
                ", separated by ';'" if self.multi else "")
        return "text"


@dataclass(frozen=True)
class Table:
    """One evidence table: a CSV file under ``data/`` with a declared column list."""

    name: str
    title: str
    id_prefix: str
    description: str
    columns: tuple[Column, ...]
    row_checks: tuple[str, ...] = field(default=())
    #: a review without this file has an empty table (a review need not keep an intake ledger)
    optional: bool = False

    @property
    def path(self) -> str:
        """Path of the table's CSV file, relative to the review root."""
        return f"data/{self.name}.csv"

    @property
    def column_names(self) -> list[str]:
        """Column names in declaration (and file) order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The declared column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def date_column(self) -> str:
        """The column that dates each row (``added``; ``withdrawn`` in the withdrawal log)."""
        return next(c.name for c in self.columns if c.kind is Kind.DATE)

    @property
    def is_evidence(self) -> bool:
        """True for tables whose rows are findings (they carry the common evidence columns)."""
        return self.name in EVIDENCE_TABLES


def _text(name: str, description: str, required: bool = True, multi: bool = False, verbatim: bool = False) -> Column:
    return Column(name, Kind.TEXT, description, required=required, multi=multi, verbatim=verbatim)


def _vocab(vocab: Vocabulary, name: str | None = None, multi: bool = False, required: bool = True) -> Column:
    return Column(name or vocab.name, Kind.VOCAB, vocab.description, required=required, vocab=vocab, multi=multi)


def _fraction(name: str, description: str) -> Column:
    return Column(name, Kind.NUMBER, description, required=False, minimum=0.0, maximum=1.0)


def _id(prefix: str) -> Column:
    return Column("id", Kind.ID, f"Stable row id, '{prefix}-' and four to nine digits; never reused.")


#: trial design, recorded for rows whose finding is a trial outcome, from the trial's own published record
TRIAL_ROW = ("evidence_level", "clinical_trial")
TRIAL_DESIGN = (
    Column("phase", Kind.VOCAB, "Trial phase as the trial's record states it ('not_stated' if it does not); only "
           "for clinical_trial rows.", vocab=v.PHASE, only_when=TRIAL_ROW),
    Column("randomised", Kind.VOCAB, "Whether the record states that patients were randomly allocated between "
           "arms; only for clinical_trial rows.", vocab=v.STATED, only_when=TRIAL_ROW),
    Column("controlled", Kind.VOCAB, "Whether the record describes a concurrent comparison arm (another treatment, "
           "placebo or none); 'no' where every enrolled patient received the intervention; only for "
           "clinical_trial rows.", vocab=v.STATED, only_when=TRIAL_ROW),
    Column("patients", Kind.INTEGER, "Patients enrolled (or treated, where the record gives only that) in the whole "
           "trial, as the record states; empty if it states none; only for clinical_trial rows.",
           required=False, minimum=1, only_when=TRIAL_ROW),
)

CITEKEYS = Column("citekeys", Kind.CITEKEYS, "BibTeX keys of the studies that report the finding.", multi=True)
ADDED = Column("added", Kind.DATE, "Date the row entered the review (ISO).")
SOURCE = Column(
    "source", Kind.IDENTIFIER,
    "The published record whose text supports the row: usually the cited paper's own PubMed, PMC or publisher "
    "record; where a number comes from a second paper, that paper's record too. Each id is the DOI, PMID or PMCID "
    "of an entry the row cites.",
    multi=True, pattern=RECORD_PATTERN, pattern_hint="'PMID:28104621', 'PMC5834026' or 'doi:10.1093/annonc/mdx004'")
TRIAL_ID = Column(
    "trial_id", Kind.IDENTIFIER, "Registry id of the trial, only as printed on a record.",
    required=False, multi=True, pattern=TRIAL_PATTERN,
    pattern_hint="registry ids as printed: 'NCT' and 8 digits, 'ISRCTN' and 8 digits, 'ChiCTR...', "
                 "'EudraCT YYYY-NNNNNN-NN', 'jRCT...' or 'UMIN' and 9 digits")


def _evidence(prefix: str, *specific: Column) -> tuple[Column, ...]:
    """The columns shared by every findings table, around the table's own columns."""
    return (
        _id(prefix),
        CITEKEYS,
        SOURCE,
        _vocab(v.CANCER_TYPE),
        _vocab(v.EV_TYPE),
        *specific,
        _text("cargo", "Molecules carried, as named in the study (';'-separated).", required=False, multi=True),
        _vocab(v.CARGO_CLASS, multi=True),
        _text("model", "Cell lines, animal model or patient cohort."),
        _vocab(v.EVIDENCE_LEVEL),
        _text("finding", "What the study reported, in one plain sentence."),
        ADDED,
    )


MECHANISMS = Table(
    "mechanisms",
    "Mechanisms of metastasis",
    "MECH",
    "How EVs drive a step of the metastatic cascade or a hallmark of cancer.",
    _evidence(
        "MECH",
        _vocab(v.HALLMARK),
        _text("donor_cell", "Cell that releases the EVs."),
        _text("recipient_cell", "Cell that takes up the EVs or responds to them; empty if not stated.",
              required=False),
        _text("target", "Pathway or molecule the cargo acts on.", required=False),
    ),
)

PMN = Table(
    "pmn",
    "Premetastatic niche and organotropism",
    "PMN",
    "How EVs prepare a distant organ for metastasis.",
    _evidence(
        "PMN",
        _vocab(v.ORGAN),
        _vocab(v.NICHE_PROCESS, multi=True),
        _text("recipient_cell", "Cell in the target organ that takes up the EVs or responds to them; empty if not "
              "stated.", required=False),
    ),
)

THERAPIES = Table(
    "therapies",
    "Therapies",
    "THER",
    "Therapies that block, remove or use EVs.",
    _evidence(
        "THER",
        _vocab(v.STRATEGY),
        _text("agent", "Drug, antibody, genetic tool or engineered EV used."),
        _text("target", "Molecule or process the agent acts on.", required=False),
        _vocab(v.STAGE),
        TRIAL_ID,
        _text("outcome", "Main result, as a short phrase."),
        *TRIAL_DESIGN,
    ),
)

BIOMARKERS = Table(
    "biomarkers",
    "Biomarkers",
    "BIOM",
    "EV cargo measured in body fluids as a non-invasive biomarker.",
    _evidence(
        "BIOM",
        _text("marker", "The measured marker, e.g. 'GPC1+ circulating exosomes'."),
        _vocab(v.SAMPLE, required=False),
        _vocab(v.USE),
        Column("n_patients", Kind.INTEGER, "Cancer patients in the analysis that gave the numbers.",
               required=False, minimum=1),
        Column("n_controls", Kind.INTEGER, "Controls in that analysis.", required=False, minimum=0),
        _fraction("auc", "Area under the ROC curve, as reported (0-1)."),
        _fraction("sensitivity", "Sensitivity, as reported (0-1)."),
        _fraction("specificity", "Specificity, as reported (0-1)."),
    ),
)

EV_SUBTYPES = Table(
    "ev_subtypes",
    "EV subtypes",
    "SUBT",
    "Kinds of extracellular vesicle: size, biogenesis, markers and role in cancer.",
    (
        _id("SUBT"),
        _vocab(v.EV_TYPE, name="name"),
        Column("size_nm_min", Kind.NUMBER, "Smallest reported diameter (nm); empty if not reported.",
               required=False, minimum=0, maximum=100_000),
        Column("size_nm_max", Kind.NUMBER, "Largest reported diameter (nm); empty if not reported.",
               required=False, minimum=0, maximum=100_000),
        _text("size_source", "Where the size range comes from, and how firm it is.", required=False),
        _text("biogenesis", "How the vesicles form."),
        _text("markers", "Marker proteins or features (';'-separated).", required=False, multi=True),
        _text("role_in_cancer", "Role in cancer, in one sentence."),
        CITEKEYS,
        ADDED,
    ),
    row_checks=("size_order",),
)

CLAIMS = Table(
    "claims",
    "Claims of the source review",
    "CLAIM",
    "Key statements of the source review and the evidence rows that bear on each.",
    (
        _id("CLAIM"),
        _text("section", "Section of the review the claim comes from."),
        _text("claim", "The claim, in one sentence."),
        _vocab(v.TABLE, name="table"),
        Column("where", Kind.SELECTOR, "Which rows of the table bear on the claim.", required=False, multi=True),
        Column("contradicted_by", Kind.IDREFS, "Rows whose finding contradicts the claim.", required=False,
               multi=True),
        _vocab(v.CERTAINTY, name="expected", required=False),
        ADDED,
    ),
)

WITHDRAWN = Table(
    "withdrawn",
    "Withdrawn rows",
    "WDR",
    "Rows taken out of the evidence, with why; their ids are never used again.",
    (
        _id("WDR"),
        Column("row_id", Kind.IDREFS, "Id the withdrawn row had (never reused)."),
        _vocab(v.TABLE, name="table"),
        _text("finding", "The row's finding as it stood when withdrawn."),
        _text("studies", "BibTeX keys the row cited, as recorded (';'-separated).", required=False, multi=True),
        _text("reason", "Why the row was withdrawn."),
        Column("withdrawn", Kind.DATE, "Date the row was withdrawn (ISO)."),
    ),
)

SEARCHES = Table(
    "searches",
    "Search log",
    "SRCH",
    "One row per search run: where, the exact query, when, and how many records it returned.",
    (
        _id("SRCH"),
        Column("date", Kind.DATE, "Date the search was run (ISO): the day the database answered it, which a replay "
               "of a cached response keeps."),
        _vocab(v.SEARCH_SOURCE, name="source"),
        _text("query", "The exact query string as run; for a manual source, how the records were identified.",
              verbatim=True),
        Column("records", Kind.INTEGER, "Records the search returned (for a manual source, records identified).",
               minimum=0),
        _text("notes", "Limits, filters or anything else needed to rerun the search.", required=False),
    ),
    optional=True,
)

SCREENING = Table(
    "screening",
    "Screening ledger",
    "SCR",
    "One row per record identified by a search, with the screening decision and, for an exclusion, why.",
    (
        _id("SCR"),
        Column("doi", Kind.IDENTIFIER, "DOI of the record, as printed (without 'doi:').", required=False,
               pattern=DOI_PATTERN.replace("[!-~]", "[!-:<-~]"), pattern_hint="a DOI such as '10.1038/ncb2000'"),
        Column("pmid", Kind.IDENTIFIER, "PubMed id of the record.", required=False, pattern=PMID_PATTERN,
               pattern_hint="a PubMed id: digits, not starting with 0"),
        _text("title", "Title of the record, as printed.", verbatim=True),
        Column("year", Kind.INTEGER, "Publication year.", required=False, minimum=1800, maximum=2100),
        Column("search", Kind.IDREFS, "Id of the search that found the record (SRCH-...)."),
        _vocab(v.SCREEN_STAGE, name="stage"),
        _vocab(v.DECISION),
        _vocab(v.EXCLUSION_REASON, name="reason", required=False),
        Column("duplicate_of", Kind.IDREFS, "For a duplicate: the id of the record it repeats.", required=False),
        Column("citekey", Kind.CITEKEYS, "For an inclusion: the library entry the record became (empty while "
               "awaiting extraction).", required=False),
        Column("screened", Kind.DATE, "Date of the decision, or of identification while pending (ISO)."),
        _text("screener", "Who made the decision (empty while pending).", required=False),
    ),
    row_checks=("decision_reason",),
    optional=True,
)

EVIDENCE_TABLES = ("mechanisms", "pmn", "therapies", "biomarkers")
#: the intake tables: how records were found and screened, validated like the evidence
INTAKE_TABLES = ("searches", "screening")

TABLES: dict[str, Table] = {t.name: t for t in (MECHANISMS, PMN, THERAPIES, BIOMARKERS, EV_SUBTYPES, CLAIMS,
                                                WITHDRAWN, SEARCHES, SCREENING)}
