"""The review check: warnings for rows that look mis-graded or mis-sourced (``livingreview validate --review``).

Each check reads the row as the grading rule in ``vocab.EVIDENCE_LEVEL`` reads it: the level is that of the
finding the row states, so the finding's own words are what is compared with the level.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from itertools import combinations

import pandas as pd

from livingreview.errors import Problem, Severity
from livingreview.schema import EVIDENCE_TABLES, TABLES

#: words that say a result was measured in people
PATIENT_WORDS = re.compile(
    r"(?i)\b(?:patients?|cohorts?|subjects|participants|individuals|women|men|donors|cases|healthy controls?|"
    r"people|survival of (?!mice|rats|animals)|clinical(?:ly)? (?:outcomes?|responses?|benefit)|trials?|in humans|"
    r"human (?:plasma|serum|tissues?|samples?|metastases|tumou?rs|afferent lymph\w*)|"
    r"in (?:plasma|serum|urine|saliva|bile|ascites)|(?:plasma|serum|urine|tissue|tumou?r) samples)\b")
#: words that say a result came from people, even when the row does not say 'patients' (a biomarker's AUC)
HUMAN_RESULT_WORDS = re.compile(
    PATIENT_WORDS.pattern + r"|\b(?:plasma|serum|urine|saliva|bile|ascites|effusions?|survival|prognos\w*|"
    r"AUCs?|sensitivity|diagnos\w*|TNM|stages? [IV]+|healthy|controls|recurrence|relapse|tissues?)\b")
#: words that can only mean a result in living animals
IN_VIVO_WORDS = re.compile(
    r"(?i)\b(?:mice|rats|zebrafish|in vivo|xenografts?|orthotopic\w*|injected|intravenous\w*|tail[- ]vein|"
    r"syngeneic|chorioallantoic|animals|animal (?:experiments?|models?))\b")
#: words that suggest a result in animals when the row is graded so (a metastasis count, a mouse model)
ANIMAL_WORDS = re.compile(
    IN_VIVO_WORDS.pattern + r"|\b(?:mouse|murine|rat|chick|"
    r"(?:lung|liver|brain|bone|lymph[- ]node|peritoneal|pulmonary|distant|distant-organ|spontaneous) "
    r"metastas[ie]s|tumou?r growth|form tumou?rs|homed|colonisation|colonization)\b")
#: where people or animals are only the source of the cells or vesicles studied ('EVs from patients', 'of obese
#: mice', 'patient-derived'), not where the result was measured
SOURCE_PHRASE = re.compile(
    r"(?i)\b(?:(?:exosomes|EVs|sEVs|vesicles|microvesicles|microparticles|cells|fibroblasts|CAFs|MSCs|adipocytes|"
    r"sera|plasma|serum|fractions|lines|ascites|material|tumou?rs)"
    r"(?:\s+(?:isolated|derived|obtained|collected|purified))?\s+(?:from|of)\s+(?:the\s+same\s+)?"
    r"(?:[\w-]+\s+){0,5}?(?:patients?|women|men|donors|humans|mice|rats)"
    r"(?:\s+(?:and|or|vs\.?|versus)\s+(?:[\w-]+\s+){0,4}?(?:patients?|women|men|donors|humans|mice|rats))*"
    r"|(?:patient|donor|PDX)-derived|patient\s+[\w-]+-derived)")
#: the levels below people
PRECLINICAL = ("in_vitro", "animal")
#: two findings of one paper this alike state the same result
SAME_FINDING = 0.85


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a.lower(), b.lower(), autojunk=False).ratio()


def _measured(text: str) -> str:
    """``text`` without the phrases that name only where the material came from."""
    return SOURCE_PHRASE.sub(" ", text)


def _row_flags(row: pd.Series) -> list[tuple[str, str]]:
    """(column, message) for each way one row's grade disagrees with what it states."""
    # people named only as the source of the material do not make a preclinical result a human one; but a human
    # row may well state its result about such material ('PD-L1 DNA was present in EVs from patients')
    level, stated = row["evidence_level"], row["finding"]
    finding, model = _measured(stated), _measured(row["model"])
    flags = []
    if level in PRECLINICAL and PATIENT_WORDS.search(finding):
        word = PATIENT_WORDS.search(finding).group()
        flags.append(("evidence_level", f"the finding states a result in people ('{word}') but is graded "
                                        f"{level}; give the patient result its own human_observational row"))
    elif level in PRECLINICAL and PATIENT_WORDS.search(model):
        word = PATIENT_WORDS.search(model).group()
        flags.append(("model", f"the model lists patient material ('{word}') but the row is graded {level}; "
                               "list only the models behind this finding"))
    if level in ("human_observational", "clinical_trial") and not HUMAN_RESULT_WORDS.search(stated):
        flags.append(("evidence_level", f"graded {level} but the finding states no result in patients; grade "
                                        "it by what it states, or add the patient result"))
    if level == "human_observational" and IN_VIVO_WORDS.search(finding):
        word = IN_VIVO_WORDS.search(finding).group()
        flags.append(("finding", f"graded human_observational but the finding also states an animal result "
                                 f"('{word}'); give that result its own animal row"))
    if level == "animal" and not ANIMAL_WORDS.search(finding):
        flags.append(("evidence_level", "graded animal but the finding states no result in animals; grade it "
                                        "in_vitro, or say what was done in vivo"))
    if level == "in_vitro" and IN_VIVO_WORDS.search(finding):
        word = IN_VIVO_WORDS.search(finding).group()
        flags.append(("evidence_level", f"graded in_vitro but the finding states an in vivo result ('{word}'); "
                                        "grade it animal or give that result its own row"))
    return flags


def _pair_flags(frame: pd.DataFrame) -> list[tuple[int, str, str]]:
    """(line, column, message) for rows of one paper that repeat, or contradict, another row's grade."""
    flags = []
    # rows of one paper that differ in a structured field (cancer type, marker, organ...) state different results
    same = [c for c in frame.columns if c not in ("id", "source", "model", "evidence_level", "finding", "added")]
    for _, group in frame.groupby(same, sort=False, dropna=False):
        for (line_a, a), (line_b, b) in combinations(group.iterrows(), 2):
            likeness = _similar(a["finding"], b["finding"])
            if likeness < SAME_FINDING:
                continue
            if a["evidence_level"] != b["evidence_level"]:
                flags.append((line_b, "evidence_level",
                              f"{b['id']}: same paper and nearly the same finding as {a['id']} (line {line_a}) but "
                              f"graded {b['evidence_level']}, not {a['evidence_level']}"))
            else:
                flags.append((line_b, "finding",
                              f"{b['id']}: nearly the same finding as {a['id']} (line {line_a}) from the same paper "
                              f"({likeness:.0%} alike); merge the rows or say how they differ"))
    return flags


def review_problems(frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """Warnings for every evidence row that looks mis-graded, mis-sourced or duplicated (frames by file line)."""
    problems = []
    for name in EVIDENCE_TABLES:
        frame = frames[name].fillna("")
        path = TABLES[name].path
        for line, row in frame.iterrows():
            problems += [Problem(path, int(line), column, f"{row['id']}: {message}", Severity.WARNING)
                         for column, message in _row_flags(row)]
        problems += [Problem(path, int(line), column, message, Severity.WARNING)
                     for line, column, message in _pair_flags(frame)]
    return sorted(problems, key=Problem.sort_key)
