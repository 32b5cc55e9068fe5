"""Controlled vocabularies: every allowed term of every vocabulary column, with its human label.

Declared once here; validation, chart legends, summary tables and the contributor docs all read them.
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

        'pan_cancer (Several cancer types)', but 'lung' and 'breast' (whose labels begin with the term itself).
        """
        def repeats(term: str, label: str) -> bool:
            return label.lower().startswith(term.replace("_", " ").lower())
        return ", ".join(t if repeats(t, lab) else f"{t} ({lab})" for t, lab in self.terms.items())


def _vocab(name: str, description: str, **terms: str) -> Vocabulary:
    return Vocabulary(name, description, dict(terms))


CANCER_TYPE = _vocab(
    "cancer_type",
    "Cancer type the finding was made in.",
    breast="Breast cancer",
    pancreatic="Pancreatic cancer",
    colorectal="Colorectal cancer",
    lung="Lung cancer",
    melanoma="Melanoma",
    prostate="Prostate cancer",
    ovarian="Ovarian cancer",
    gastric="Gastric cancer",
    hepatocellular="Hepatocellular carcinoma",
    glioma="Glioma / glioblastoma",
    renal="Renal cell carcinoma",
    bladder="Bladder cancer",
    head_and_neck="Head and neck cancer",
    nasopharyngeal="Nasopharyngeal carcinoma",
    esophageal="Esophageal cancer",
    cervical="Cervical cancer",
    endometrial="Endometrial cancer",
    osteosarcoma="Osteosarcoma",
    sarcoma="Sarcoma (other)",
    leukemia="Leukemia",
    lymphoma="Lymphoma",
    multiple_myeloma="Multiple myeloma",
    neuroblastoma="Neuroblastoma",
    thyroid="Thyroid cancer",
    cholangiocarcinoma="Cholangiocarcinoma",
    mesothelioma="Mesothelioma",
    pan_cancer="Several cancer types",
    not_applicable="Not cancer-specific",
)

EV_TYPE = _vocab(
    "ev_type",
    "Kind of extracellular vesicle, as the study defines it.",
    small_ev="Exosome / small EV",
    microvesicle="Microvesicle / ectosome",
    apoptotic_body="Apoptotic body",
    large_oncosome="Large oncosome",
    exomere="Exomere",
    supermere="Supermere",
    migrasome="Migrasome",
    mitovesicle="Mitovesicle",
    large_ev="Large EV (unspecified)",
    ev="EV (size unspecified)",
)

CARGO_CLASS = _vocab(
    "cargo_class",
    "Molecular class of the cargo that carries the effect.",
    protein="Protein",
    mirna="microRNA",
    lncrna="Long non-coding RNA",
    circrna="Circular RNA",
    mrna="mRNA",
    dna="DNA",
    lipid="Lipid",
    metabolite="Metabolite",
    not_applicable="Not applicable",
)

EVIDENCE_LEVEL = Vocabulary(
    "evidence_level",
    "Level of the finding as the row states it (not of the paper): a paper with a mouse result and a patient "
    "result gives two rows, each graded by its own finding, each model naming only what that finding used.",
    {"in_vitro": "In vitro", "animal": "Animal model", "human_observational": "Human, observational",
     "clinical_trial": "Clinical trial"},
    {"in_vitro": "the stated result comes from cells, organoids or EVs in culture only (e.g. exosomes from "
                 "metastatic cells made endothelial monolayers leaky)",
     "animal": "the stated result was measured in living animals (e.g. exosomes injected into mice increased "
               "lung metastasis), even when the paper also studied patients",
     "human_observational": "the stated result was measured in patient samples or cohorts (e.g. an AUC in patient "
                            "plasma, or a marker's correlation with metastasis in patient tissue)",
     "clinical_trial": "the stated result is an outcome of an interventional trial in patients (e.g. a phase I "
                       "trial of dendritic-cell exosomes was safe)"},
)

HALLMARK = _vocab(
    "hallmark",
    "Step of metastasis or hallmark of cancer that the EVs act on.",
    migration="Migration",
    invasion="Invasion",
    emt="Epithelial-mesenchymal transition",
    angiogenesis="Angiogenesis",
    vascular_permeability="Vascular permeability",
    immune_evasion="Immune evasion",
    stromal_reprogramming="Stromal reprogramming",
    metabolic_reprogramming="Metabolic reprogramming",
    drug_resistance="Drug resistance",
    proliferation="Proliferation and survival",
)

ORGAN = _vocab(
    "target_organ",
    "Organ whose premetastatic niche the EVs prepare.",
    lung="Lung",
    liver="Liver",
    brain="Brain",
    bone="Bone",
    bone_marrow="Bone marrow",
    lymph_node="Lymph node",
    peritoneum="Peritoneum",
    omentum="Omentum",
    spleen="Spleen",
)

NICHE_PROCESS = _vocab(
    "niche_process",
    "Process by which the EVs condition the premetastatic niche.",
    vascular_leakiness="Vascular leakiness",
    ecm_remodeling="ECM remodeling",
    immunosuppression="Immunosuppression",
    inflammation="Inflammation",
    metabolic_reprogramming="Metabolic reprogramming",
    homing_organotropism="Homing / organotropism",
    bone_remodeling="Bone remodeling",
    fibroblast_activation="Fibroblast activation",
    myeloid_recruitment="Myeloid cell recruitment",
    angiogenesis="Angiogenesis",
    lymphangiogenesis="Lymphangiogenesis",
)

STRATEGY = _vocab(
    "strategy",
    "Therapeutic strategy that targets or uses EVs.",
    inhibit_biogenesis="Inhibit EV biogenesis",
    inhibit_secretion="Inhibit EV secretion",
    block_uptake="Block uptake or EV-receptor interaction",
    remove_circulating="Remove circulating EVs",
    delivery_vehicle="EVs as delivery vehicles",
    vaccine_immunotherapy="EV-based vaccine / immunotherapy",
)

STAGE = _vocab(
    "stage",
    "Furthest stage of development the study reports.",
    in_vitro="In vitro",
    animal="Animal",
    early_clinical="Clinical study, phase not stated",
    phase_1="Phase I",
    phase_2="Phase II",
    phase_3="Phase III",
    approved="Approved",
)

PHASE = _vocab(
    "phase",
    "Trial phase, as the trial's own published record states it.",
    phase_0="Phase 0",
    phase_1="Phase I",
    phase_1_2="Phase I/II",
    phase_2="Phase II",
    phase_2_3="Phase II/III",
    phase_3="Phase III",
    phase_4="Phase IV",
    not_stated="Not stated",
)

STATED = _vocab(
    "stated",
    "Yes or no, as the trial's own published record states it.",
    yes="Yes",
    no="No",
    not_stated="Not stated",
)

SAMPLE = _vocab(
    "sample",
    "Body fluid the EVs were isolated from.",
    plasma="Plasma",
    serum="Serum",
    urine="Urine",
    saliva="Saliva",
    csf="Cerebrospinal fluid",
    bile="Bile",
    ascites="Ascites",
    pleural_effusion="Pleural effusion",
    whole_blood="Whole blood",
    bronchoalveolar_lavage="Bronchoalveolar lavage",
)

USE = _vocab(
    "use",
    "Clinical question the biomarker answers.",
    diagnosis="Diagnosis",
    prognosis="Prognosis",
    metastasis_prediction="Metastasis prediction",
    treatment_response="Treatment response",
)

TABLE = _vocab(
    "table",
    "Evidence table a claim selects its rows from.",
    mechanisms="Mechanisms of metastasis",
    pmn="Premetastatic niche and organotropism",
    therapies="Therapies",
    biomarkers="Biomarkers",
    ev_subtypes="EV subtypes",
)

SEARCH_SOURCE = _vocab(
    "search_source",
    "Where a search was run.",
    pubmed="PubMed (E-utilities)",
    crossref="Crossref",
    openalex="OpenAlex",
    europepmc="Europe PMC",
    manual="Manual identification (no database query)",
)

SCREEN_STAGE = _vocab(
    "screen_stage",
    "How far a record was read before the decision.",
    title_abstract="Title, abstract and published record (PubMed, PMC or publisher page)",
    full_text="Full text",
)

DECISION = _vocab(
    "decision",
    "What screening decided about a record.",
    include="Included",
    exclude="Excluded",
    pending="Awaiting screening",
)

EXCLUSION_REASON = _vocab(
    "exclusion_reason",
    "Why a record was excluded (required for an exclusion, empty otherwise).",
    not_about_evs="Not about extracellular vesicles",
    not_about_metastasis="Not about cancer or metastasis",
    review_or_editorial="Review, editorial or comment",
    no_primary_data="No primary data on the question",
    duplicate="Duplicate of another record",
    retracted="Retracted",
    not_retrievable="Record or full text not retrievable",
    incomplete_record="Record lacks what the review must cite (authors, DOI or PMID)",
)

CERTAINTY = _vocab(
    "certainty",
    "How sure a claim is, by the review's certainty rule (lowest first).",
    very_low="Very low",
    low="Low",
    moderate="Moderate",
    high="High",
)

VOCABULARIES: dict[str, Vocabulary] = {
    v.name: v
    for v in (
        CANCER_TYPE,
        EV_TYPE,
        CARGO_CLASS,
        EVIDENCE_LEVEL,
        HALLMARK,
        ORGAN,
        NICHE_PROCESS,
        STRATEGY,
        STAGE,
        PHASE,
        STATED,
        SAMPLE,
        USE,
        TABLE,
        CERTAINTY,
        SEARCH_SOURCE,
        SCREEN_STAGE,
        DECISION,
        EXCLUSION_REASON,
    )
}
