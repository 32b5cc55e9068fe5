"""The review check: warnings for rows that look mis-graded or mis-sourced (``livingreview validate --review``).

Each check reads the row as the grading rule in ``vocab.EVIDENCE_LEVEL`` reads it: the level is that of the
finding the row states, so the finding's own words are what is compared with the level.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import combinations

import pandas as pd

from livingreview.model.errors import Problem, Severity
from livingreview.model.schema import Kind, Table

#: the engine's words that say a result was measured in people ({people}: the review's own, see ``_patterns``)
PATIENT_WORDS = (
    r"(?i)\b(?:patients?|cohorts?|subjects|participants|individuals|women|men|donors|cases|healthy controls?|"
    r"people|survival of (?!mice|rats|animals)|clinical(?:ly)? (?:outcomes?|responses?|benefit)|trials?|in humans|"
    r"human (?:plasma|serum|tissues?|samples?|afferent lymph\w*)|{people}"
    r"in (?:plasma|serum|urine|saliva|bile|ascites)|(?:plasma|serum|urine|tissue) samples)\b")
#: words that say a result came from people, even when the row does not say 'patients' (a diagnostic AUC)
HUMAN_RESULT_WORDS = (
    r"|\b(?:plasma|serum|urine|saliva|bile|ascites|effusions?|survival|prognos\w*|"
    r"AUCs?|sensitivity|diagnos\w*|TNM|stages? [IV]+|healthy|controls|recurrence|relapse|tissues?)\b")
#: words that can only mean a result in living animals
IN_VIVO_WORDS = re.compile(
    r"(?i)\b(?:mice|rats|zebrafish|in vivo|xenografts?|orthotopic\w*|injected|intravenous\w*|tail[- ]vein|"
    r"syngeneic|chorioallantoic|animals|animal (?:experiments?|models?))\b")
#: words that suggest a result in animals when the row is graded so (a mouse model; {animals}: the review's own)
ANIMAL_WORDS = r"|\b(?:mouse|murine|rat|chick|{animals}homed|colonisation|colonization)\b"
#: where people or animals are only the source of the cells or material studied ('cells from patients', 'of obese
#: mice', 'patient-derived'), not where the result was measured ({material}: the review's own kinds of material)
SOURCE_PHRASE = (
    r"(?i)\b(?:(?:{material}cells|fibroblasts|CAFs|MSCs|adipocytes|"
    r"sera|plasma|serum|fractions|lines|ascites|material)"
    r"(?:\s+(?:isolated|derived|obtained|collected|purified))?\s+(?:from|of)\s+(?:the\s+same\s+)?"
    r"(?:[\w-]+\s+){{0,5}}?(?:patients?|women|men|donors|humans|mice|rats)"
    r"(?:\s+(?:and|or|vs\.?|versus)\s+(?:[\w-]+\s+){{0,4}}?(?:patients?|women|men|donors|humans|mice|rats))*"
    r"|(?:patient|donor|PDX)-derived|patient\s+[\w-]+-derived)")


@dataclass(frozen=True)
class Patterns:
    """The review check's compiled words: the engine's, with the review's own (``certainty.wording``)."""

    patient: re.Pattern
    human_result: re.Pattern
    animal: re.Pattern
    source: re.Pattern


@functools.lru_cache(maxsize=8)
def _patterns(wording: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> Patterns:
    """The check's patterns with the review's own words put in as alternatives (each a regular expression)."""
    words = dict(wording)

    def alternatives(key: str) -> str:
        return "".join(f"{w}|" for w in words.get(key, ()))

    patient = PATIENT_WORDS.replace("{people}", alternatives("people"))
    return Patterns(re.compile(patient), re.compile(patient + HUMAN_RESULT_WORDS),
                    re.compile(IN_VIVO_WORDS.pattern + ANIMAL_WORDS.replace("{animals}", alternatives("animals"))),
                    re.compile(SOURCE_PHRASE.format(material=alternatives("material"))))


#: the levels below people
PRECLINICAL = ("in_vitro", "animal")
#: rows of one paper that agree on every structured field and share this much of their content words state one
#: result in other words (a reworded finding shares about half its words; two results of one paper, a quarter)
REWORDED = 0.4
#: rows of one paper that agree on its vocabulary and numbers but not on a text field (donor, marker) must be
#: this alike to be one result: text fields are worded freely, but a paper's rows differ there for a reason
NEAR_IDENTICAL = 0.8
WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
FUNCTION_WORDS = frozenset(
    "a an the and or of in to by with from for on at as its their it that this these those was were is are be been "
    "which whereas where while than then into through via not but also both".split())
#: the kinds of column that name which result a row states (two rows that differ in one state two results)
IDENTITY_KINDS = (Kind.VOCAB, Kind.INTEGER, Kind.NUMBER, Kind.IDENTIFIER)


def _content_words(text: str) -> frozenset[str]:
    """The distinct content words of ``text`` (made once per row; pairs compare these sets, never the texts)."""
    return frozenset(w for w in WORD.findall(text.lower()) if w not in FUNCTION_WORDS)


def _shared(a: frozenset[str], b: frozenset[str]) -> float:
    """Token-set Jaccard similarity: linear in the smaller set, whatever the length of the findings."""
    if not a and not b:
        return 1.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    common = sum(1 for w in small if w in large)
    return common / (len(a) + len(b) - common)


def _row_flags(row: dict, words: Patterns) -> list[tuple[str, str]]:
    """(column, message) for each way one row's grade disagrees with what it states."""
    # people named only as the source of the material do not make a preclinical result a human one; but a human
    # row may well state its result about such material ('a protein was present in plasma from patients')
    PATIENT_WORDS, HUMAN_RESULT_WORDS, ANIMAL_WORDS = words.patient, words.human_result, words.animal
    level, stated = row["evidence_level"], row["finding"]
    finding, model = words.source.sub(" ", stated), words.source.sub(" ", row.get("model", ""))
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


def _pair_flags(frame: pd.DataFrame, table: Table) -> list[tuple[int, str, str]]:
    """(line, column, message) for rows of one paper that repeat, or contradict, another row's grade.

    Only rows with the same citekeys and the same vocabulary and numbers are compared, and each by the sets of its
    content words, so the work grows with the text and the rows of one paper, not with the square of either.
    """
    flags = []
    free = ("id", "source", "model", "evidence_level", "finding", "added")
    identity = ["citekeys"] + [c.name for c in table.columns if c.kind in IDENTITY_KINDS and c.name not in free
                               and c.name in frame.columns]
    detail = [c for c in frame.columns if c not in free and c not in identity]
    for _, group in frame.groupby(identity, sort=False, dropna=False):
        if len(group) < 2:
            continue
        rows = [(int(line), row, _content_words(str(row["finding"])), tuple(row[c] for c in detail))
                for line, row in zip(group.index, group.to_dict(orient="records"), strict=True)]
        for (line_a, a, words_a, details_a), (line_b, b, words_b, details_b) in combinations(rows, 2):
            same_details = details_a == details_b
            floor = REWORDED if same_details else NEAR_IDENTICAL
            # Jaccard is at most the ratio of the set sizes: most pairs of one paper are settled without comparing
            if min(len(words_a), len(words_b)) < floor * max(len(words_a), len(words_b)):
                continue
            likeness = _shared(words_a, words_b)
            if likeness < floor:
                continue
            if a["evidence_level"] != b["evidence_level"]:
                flags.append((line_b, "evidence_level",
                              f"{b['id']}: same paper and nearly the same finding as {a['id']} (line {line_a}) but "
                              f"graded {b['evidence_level']}, not {a['evidence_level']}"))
            else:
                flags.append((line_b, "finding",
                              f"{b['id']}: nearly the same finding as {a['id']} (line {line_a}) from the same paper "
                              f"({likeness:.0%} of their words shared); merge the rows (keep one, withdraw the other) "
                              "or say how they differ"))
    return flags


def review_problems(frames: dict[str, pd.DataFrame], tables: dict[str, Table], findings: tuple[str, ...],
                    wording: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> list[Problem]:
    """Warnings for every evidence row that looks mis-graded, mis-sourced or duplicated (frames by file line);
    ``wording`` adds the review's own words (``certainty.wording``) to the engine's."""
    problems = []
    TABLES = tables
    words = _patterns(wording)
    for name in findings:
        if "evidence_level" not in TABLES[name].column_names:
            continue  # the checks read a row as the evidence-level rule reads it
        frame = frames[name].fillna("")
        path = TABLES[name].path
        for line, row in zip(frame.index, frame.to_dict(orient="records"), strict=True):
            problems += [Problem(path, int(line), column, f"{row['id']}: {message}", Severity.WARNING)
                         for column, message in _row_flags(row, words)]
        problems += [Problem(path, int(line), column, message, Severity.WARNING)
                     for line, column, message in _pair_flags(frame, TABLES[name])]
    return sorted(problems, key=Problem.sort_key)
