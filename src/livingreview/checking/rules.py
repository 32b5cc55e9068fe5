"""Cell rules for every column, declared from the schema and run by pandera.

Each rule is a vectorised predicate plus a message that says what was found and what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from livingreview.checking.csvfile import RawTable
from livingreview.model.errors import Problem, quote
from livingreview.model.schema import (
    FORMULA_PREFIXES,
    INT64_MAX,
    KEY_PATTERN,
    MULTI_SEPARATOR,
    SELECTOR_MAX_CHARS,
    SELECTOR_MAX_TERMS,
    Column,
    Kind,
    Table,
)

if TYPE_CHECKING:
    import pandera.pandas as pa

KEY_RE = KEY_PATTERN
ROW_ID_RE = re.compile(r"^[A-Z]+-[0-9]{4,}$")
KEY_FULL_RE = re.compile(KEY_PATTERN)  # compiled once: the citekey rule runs on every distinct cell
# the value is taken greedily and stripped in Python: a lazy value before '\s*$' backtracked quadratically
CONDITION_RE = re.compile(r"\s*([a-z_]+)\s*(!=|!~|>=|<=|=|~|>|<)(.*)", re.DOTALL)
#: operators that compare a number or date cell with one value
COMPARISONS = (">=", "<=", ">", "<")
# a value that starts with an operator character is a mistyped operator ('==', '=~', '~='), not a term
OPERATOR_START = ("=", "~", "!", ">", "<")
WRONG_SEPARATORS = (",", "|")
# whole cells that stand for a value not yet written (refused: a finding is a sentence from a record)
PLACEHOLDER = re.compile(r"(?i)\s*(?:\.{2,}|…|\?+|-{2,}|todo|tbd|tba|fixme|xxx+|placeholder|lorem ipsum.*|"
                         r"to be (?:added|filled|written|confirmed))\s*\.?\s*")
#: how curators talk about their sources; a reader should never meet these in a published cell
CURATION = re.compile(r"(?i)\b(?:abstracts?|not retrieved|retrieved (?:page|record|text)s?|verified_refs|"
                      r"per the tsv|needs? (?:confirmation|checking|verification)|to be checked|in this task|"
                      r"own text|not (?:specified|stated|described|given) in|secondary \(review|todo|fixme)\b")
# numbers as the loader (pandas) reads them, in ASCII digits only: no '+', '_', other scripts' digits, 'inf' or 'nan'
INTEGER_RE = re.compile(r"-?[0-9]+")
NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# controls, zero-width and bidi characters; tab and line breaks are whitespace a cell may hold (a bare CR is
# refused for the whole file)
# (and what XML 1.0 forbids: lone surrogates, U+FFFE, U+FFFF)
INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064"
                       r"\u2066-\u2069\ufeff\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Breach:
    """Patterns whose absence from many values, joined and framed by NUL, proves that every value passes.

    Each search pattern starts with a literal character, which lets ``re`` skip through the text in C; a pattern
    in ``backward`` is searched in the reversed text (a value's end is found from its NUL). No cell holds
    NUL; if one did, it could only add a match, never hide a failure.
    """

    forward: tuple[re.Pattern[str], ...] = ()
    backward: tuple[re.Pattern[str], ...] = ()
    #: or the opposite: a pattern that the whole framed text matches only if every value passes
    proof: re.Pattern[str] | None = None

    def possible(self, framed: str) -> bool:
        """Whether some value in ``framed`` (NUL + values joined by NUL + NUL) might fail."""
        if self.proof is not None:
            return self.proof.fullmatch(framed) is None
        if any(p.search(framed) for p in self.forward):
            return True
        return bool(self.backward) and any(p.search(framed[::-1]) for p in self.backward)


@dataclass(frozen=True)
class Rule:
    """A named check of one column: ``ok`` marks valid cells, ``explain`` describes an invalid one.

    ``breach``, if given, finds in one search whether any of many values might fail; only then are the
    values tested one by one.
    """

    name: str
    ok: Callable[[pd.Series], pd.Series]
    explain: Callable[[str], str]
    breach: Breach | None = None


JOIN = "\x00"
_SEP = re.escape(MULTI_SEPARATOR)
# \s is exactly str.isspace, which strip() uses
EDGE_SPACE = Breach(forward=(re.compile(r"\x00\s"),), backward=(re.compile(r"\x00\s"),))
# the same, less NUL (which frames joined values and never reaches a cell: the reader refuses such files)
INVISIBLE_BUT_NUL = Breach(forward=(re.compile(INVISIBLE.pattern.replace(r"\x00-", r"\x01-", 1)),))
FORMULA_START = Breach(forward=(re.compile(r"\x00(?:" + "|".join(map(re.escape, FORMULA_PREFIXES)) + ")"),))
EMPTY_ITEM = Breach(forward=(re.compile(rf"{_SEP}\s*(?:{_SEP}|\x00)"), re.compile(rf"\x00\s*(?:{_SEP}|\x00)")))
# every value a ';'-separated list of keys or empty items (empty items are the empty_item rule's business)
# (spaces, then optionally a key and spaces: one way only to match, so a failing search cannot backtrack long)
_ITEM = rf"[^\S\x00]*(?:{KEY_RE}[^\S\x00]*)?"
KEY_LISTS = Breach(proof=re.compile(rf"(?:\x00{_ITEM}(?:{_SEP}{_ITEM})*)*\x00"))
BREACH_WORTHWHILE = 2  # distinct values; one search of the joined values costs less than one pandas call on them


def _clip(cell: str, limit: int = 80) -> str:
    """``cell`` as quoted in a message: at most ``limit`` characters, so that a pasted paragraph stays one line."""
    return cell if len(cell) <= limit else cell[:limit - 3] + "..."


def _invisible_message(cell: str) -> str:
    found = INVISIBLE.search(cell)
    code = f"U+{ord(found.group()):04X}" if found else "?"
    return f"invisible or control character {code} in {quote(cell)}; expected visible text"


def _curation_words(cell: str) -> str:
    found = CURATION.search(cell)
    if found is None:
        return cell[:40]
    start = max(0, found.start() - 20)
    return ("..." if start else "") + cell[start:found.end() + 20]


def split_multi(value: str) -> list[str]:
    """Split a multi-valued cell on ';' and strip each item."""
    return [item.strip() for item in value.split(MULTI_SEPARATOR)]


def _items_ok(series: pd.Series, item_ok: Callable[[str], bool]) -> pd.Series:
    return series.map(lambda cell: all(item_ok(i) for i in split_multi(cell)))


def _separator_rule(col: Column) -> Rule:
    def bad_separator(cell: str) -> bool:
        return any(sep in cell for sep in WRONG_SEPARATORS)

    def explain(cell: str) -> str:
        found = next(sep for sep in WRONG_SEPARATORS if sep in cell)
        return f"{quote(found)} in {quote(cell)}; expected items of {col.name} separated by ';'"

    return Rule("separator", lambda s: ~s.map(bad_separator), explain)


def _repeated(cell: str) -> str | None:
    """The first term listed twice in a multi-valued cell, or None."""
    seen: set[str] = set()
    for item in split_multi(cell):
        if item and item in seen:
            return item
        seen.add(item)
    return None


def _repeated_rule(col: Column) -> Rule:
    # a cell without a separator holds one term, which cannot repeat
    return Rule("repeated", lambda s: s.map(lambda cell: MULTI_SEPARATOR not in cell or _repeated(cell) is None),
                lambda cell: f"{quote(_repeated(cell))} is listed more than once in {col.name}; expected each "
                             "term once (a row counts once per term)")


def _empty_item_rule(col: Column) -> Rule:
    return Rule(
        "empty_item",
        lambda s: _items_ok(s, bool),
        lambda cell: f"empty item in {quote(cell)}; expected {col.expected}",
        EMPTY_ITEM,
    )


def _is_number(text: str) -> bool:
    return NUMBER_RE.fullmatch(text) is not None and abs(float(text)) < float("inf")


def _is_date(text: str) -> bool:
    if not DATE_RE.fullmatch(text):
        return False
    try:
        return dt.date.fromisoformat(text) <= dt.date.today()
    except ValueError:
        return False


def _date_message(col: Column, cell: str) -> str:
    if DATE_RE.fullmatch(cell):
        try:
            dt.date.fromisoformat(cell)
        except ValueError:
            return f"{quote(cell)} is not a calendar date; expected {col.expected}"
        return f"date {quote(cell)} is in the future; expected the date the row was added"
    return f"{quote(cell)} is not a date; expected {col.expected}"


def _number_message(col: Column, cell: str, whole: bool) -> str:
    if not _is_number(cell):
        return f"{quote(cell)} is not a number; expected {col.expected}"
    if whole and not INTEGER_RE.fullmatch(cell):
        return f"{quote(cell)} is not a whole number; expected {col.expected}"
    return f"{col.name} {cell if len(cell) <= 80 else quote(cell)} is out of range; expected {col.expected}"


def _in_range(col: Column, text: str, whole: bool) -> bool:
    if whole:
        # the loader keeps integers as int64 (19 digits at most); int() of thousands of digits raises ValueError
        if not INTEGER_RE.fullmatch(text) or len(text.lstrip("-")) > 19 or abs(int(text)) > INT64_MAX:
            return False
        x: float = int(text)
    elif _is_number(text) and len(text) <= 400:  # no real measurement needs more digits
        x = float(text)
    else:
        return False
    return (col.minimum is None or x >= col.minimum) and (col.maximum is None or x <= col.maximum)


def parse_condition(text: str) -> tuple[str, str, list[str]] | None:
    """Parse one selector condition ``column=term|term`` into (column, operator, values), or None if malformed.

    Operators: ``=`` (is one of), ``!=`` (is none of), ``~`` (contains any of), ``!~`` (contains none of), with
    alternatives separated by ``|``; and ``>``, ``>=``, ``<``, ``<=``, which compare a number or date with one value.
    """
    m = CONDITION_RE.fullmatch(text)
    if not m:
        return None
    values = [x.strip() for x in m.group(3).split("|")]
    if not all(values) or any(v.startswith(OPERATOR_START) for v in values):
        return None
    if m.group(2) in COMPARISONS and len(values) != 1:
        return None
    return m.group(1), m.group(2), values


def _selector_message(cell: str, expected: str) -> str:
    """Name the condition of ``cell`` that cannot be parsed (the whole cell when it has only one)."""
    bad = next((i for i in split_multi(cell) if i and parse_condition(i) is None), cell)
    where = quote(bad) if bad == cell.strip() else f"condition {quote(bad)} in {quote(cell)}"
    return f"malformed selector {where}; expected {expected}"


def _selector_size(cell: str) -> str | None:
    """What makes a selector too large to match against every row quickly ("1,200 characters"), or None."""
    if len(cell) > SELECTOR_MAX_CHARS:
        return f"{len(cell):,} characters"
    terms = sum(len(item.split("|")) for item in split_multi(cell) if item)
    return f"{terms:,} terms" if terms > SELECTOR_MAX_TERMS else None


def rules_for(col: Column, table: Table) -> list[Rule]:
    """The rules that every non-empty cell of ``col`` must pass."""
    rules = [Rule("whitespace", lambda s: s.str.strip() == s,
                  lambda cell: f"stray whitespace around {quote(cell.strip())}; expected no leading or trailing spaces",
                  EDGE_SPACE),
             Rule("characters", lambda s: ~s.str.contains(INVISIBLE), _invisible_message, INVISIBLE_BUT_NUL)]
    if col.kind is Kind.TEXT:
        rules.append(Rule("placeholder", lambda s: ~s.str.fullmatch(PLACEHOLDER),
                          lambda cell: f"{quote(cell)} is a placeholder, not a value; expected "
                                       f"{col.description[0].lower()}"
                                       f"{col.description[1:].rstrip('.')}, or an empty cell where it is optional"))
    if col.kind is Kind.TEXT and not col.verbatim:
        # a query says '[Title/Abstract]' and a title may start with '-' or '=': quoted text is escaped or
        # formula-neutralised where it is published, not refused
        rules.append(Rule("curation", lambda s: ~s.str.contains(CURATION),
                          lambda cell: f"{quote(_curation_words(cell))} is a curator's note about sources, not "
                                       "content; expected only what the study reports (put notes in the commit message "
                                       "or references.md)"))
        rules.append(Rule("formula", lambda s: ~s.str.startswith(FORMULA_PREFIXES),
                          lambda cell: f"{quote(cell)} starts with {quote(cell[0])}, which spreadsheets run as a "
                                       "formula; expected text that starts with a letter, digit or bracket",
                          FORMULA_START))
    if col.multi and col.kind in (Kind.VOCAB, Kind.CITEKEYS, Kind.IDREFS, Kind.IDENTIFIER):
        rules.append(_separator_rule(col))
    if col.multi:
        rules.append(_empty_item_rule(col))
        rules.append(_repeated_rule(col))
    if col.kind is Kind.VOCAB and col.vocab is not None:
        terms = set(col.vocab.values)
        if col.multi:
            def explain_multi(cell: str, terms: set[str] = terms) -> str:
                bad = [i for i in split_multi(cell) if i and i not in terms]
                shown = bad[0] if bad else cell
                return f"unknown value {quote(shown)} for {col.name}; expected {col.expected}"
            rules.append(Rule("vocab", lambda s, t=terms: _items_ok(s, lambda i: not i or i in t), explain_multi))
        else:
            rules.append(Rule("vocab", lambda s, t=terms: s.isin(t),
                              lambda cell: f"unknown value {quote(cell)} for {col.name}; expected {col.expected}"))
    elif col.kind is Kind.ID:
        pattern = rf"^{table.id_prefix}-[0-9]{{4,9}}$"
        every = Breach(proof=re.compile(rf"(?:\x00{re.escape(table.id_prefix)}-[0-9]{{4,9}})*\x00"))
        rules.append(Rule("id_format", lambda s: s.str.match(pattern),
                          lambda cell: f"malformed id {quote(cell)}; expected '{table.id_prefix}-' and four to nine "
                                       f"digits, e.g. {table.id_prefix}-0001", every))
    elif col.kind is Kind.INTEGER:
        rules.append(Rule("integer", lambda s: s.map(lambda x: _in_range(col, x, True)),
                          lambda cell: _number_message(col, cell, True)))
    elif col.kind is Kind.NUMBER:
        rules.append(Rule("number", lambda s: s.map(lambda x: _in_range(col, x, False)),
                          lambda cell: _number_message(col, cell, False)))
    elif col.kind is Kind.DATE:
        rules.append(Rule("date", lambda s: s.map(_is_date), lambda cell: _date_message(col, cell)))
    elif col.kind is Kind.CITEKEYS:
        rules.append(Rule("citekey", lambda s: _items_ok(s, lambda i: not i or KEY_FULL_RE.fullmatch(i) is not None),
                          lambda cell: f"malformed citation key in {quote(cell)}; expected {col.expected}", KEY_LISTS))
    elif col.kind is Kind.IDREFS:
        rules.append(Rule("idref", lambda s: _items_ok(s, lambda i: not i or ROW_ID_RE.match(i) is not None),
                          lambda cell: f"malformed row id in {quote(cell)}; expected {col.expected}"))
    elif col.kind is Kind.IDENTIFIER and col.pattern is not None:
        shape = re.compile(col.pattern)
        rules.append(Rule("identifier", lambda s, p=shape: _items_ok(s, lambda i: not i or p.fullmatch(i) is not None),
                          lambda cell: f"malformed {col.name} {quote(cell)}; expected {col.expected}"))
    elif col.kind is Kind.SELECTOR:
        rules.append(Rule("selector_size", lambda s: s.map(lambda cell: _selector_size(cell) is None),
                          lambda cell: f"selector {quote(cell)} has {_selector_size(cell)}; expected {col.expected}"))
        rules.append(Rule("selector", lambda s: _items_ok(s, lambda i: not i or parse_condition(i) is not None),
                          lambda cell: _selector_message(cell, col.expected)))
    return rules


def verdicts(series: pd.Series, rules: list[Rule]) -> dict[str, np.ndarray]:
    """Each rule's verdict for every cell of ``series`` (a boolean array in its order), computed once per distinct
    value (values repeat)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=object)
    present = codes >= 0
    framed = (JOIN + JOIN.join(distinct) + JOIN) if len(distinct) >= BREACH_WORTHWHILE and any(
        r.breach for r in rules) else None
    out = {}
    for rule in rules:
        if not len(distinct) or (framed is not None and rule.breach and not rule.breach.possible(framed)):
            good = np.ones(len(distinct), dtype=bool)
        else:
            good = rule.ok(distinct).to_numpy(dtype=bool)
        cell = np.ones(len(series), dtype=bool)
        cell[present] = good[codes[present]]
        out[rule.name] = cell  # an array: a Series per rule and column costs a small table most of its check
    return out


Verdicts = dict[str, tuple[list[Rule], dict[str, np.ndarray]]]


def _verdicts(table: Table, df: pd.DataFrame) -> Verdicts:
    """For each column present: its rules and each rule's verdict on every cell."""
    return {col.name: (rules, verdicts(df[col.name], rules))
            for col in table.columns if col.name in df.columns
            for rules in [rules_for(col, table)]}


def _all_pass(table: Table, df: pd.DataFrame, computed: Verdicts) -> bool:
    """Whether the schema below would accept ``df``: every verdict true, no missing required cell, no duplicate id."""
    for name, (_, by_rule) in computed.items():
        col = table.column(name)
        if not all(bool(v.all()) for v in by_rule.values()):
            return False
        if col.always_required and bool(df[name].isna().any()):
            return False
        if col.kind is Kind.ID and bool(df[name].dropna().duplicated().any()):
            return False
    return True


def _pandera_schema(computed: Verdicts, table: Table,
                    index: pd.Index) -> tuple[pa.DataFrameSchema, dict[tuple[str, str], Rule]]:
    import pandera.pandas as pa  # only a table with a problem needs pandera's failure report

    columns: dict[str, pa.Column] = {}
    by_name: dict[tuple[str, str], Rule] = {}
    for name, (rules, by_rule) in computed.items():
        col = table.column(name)
        checks = []
        for rule in rules:
            by_name[(name, rule.name)] = rule
            # empty cells already count as passing in the verdicts; pandera need not look for them again
            verdict = pd.Series(by_rule[rule.name], index=index)
            checks.append(pa.Check(lambda s, v=verdict: v.reindex(s.index), name=rule.name, ignore_na=False))
        columns[name] = pa.Column(
            None,
            nullable=not col.always_required,
            unique=col.kind is Kind.ID,
            report_duplicates="exclude_first",
            checks=checks,
        )
    return pa.DataFrameSchema(columns, strict=False), by_name


def frame(raw: RawTable) -> pd.DataFrame:
    """The raw cells as a string DataFrame indexed by file line, empty cells as NA."""
    if raw.data is not None:
        return raw.data
    df = pd.DataFrame(raw.rows, columns=raw.header, index=pd.Index(raw.lines, name="line"), dtype=object)
    df = df.loc[:, ~df.columns.duplicated()]
    return df.where(df != "", None)


def _row_problems(table: Table, df: pd.DataFrame, path: str) -> list[Problem]:
    problems: list[Problem] = []
    for col in table.columns:
        if col.only_when is None or col.name not in df.columns or col.only_when[0] not in df.columns:
            continue
        other, term = col.only_when
        applies = (df[other] == term).fillna(False).astype(bool)
        filled = df[col.name].notna()
        for line in df.index[filled & ~applies]:
            problems.append(Problem(path, int(line), col.name, f"{col.name} '{df.at[line, col.name]}' given for a row "
                                                               f"whose {other} is not {term}; expected an empty cell "
                                                               f"({col.name} is recorded only for {term} rows)"))
        if col.required:
            for line in df.index[~filled & applies]:
                problems.append(Problem(path, int(line), col.name, f"missing {col.name} for a {term} row; expected "
                                                                   f"{col.expected}"))
    if "size_order" in table.row_checks and {"size_nm_min", "size_nm_max"} <= set(df.columns):
        lo = pd.to_numeric(df["size_nm_min"], errors="coerce")
        hi = pd.to_numeric(df["size_nm_max"], errors="coerce")
        for line in df.index[(lo > hi).fillna(False)]:
            problems.append(Problem(path, int(line), "size_nm_min",
                                    f"size_nm_min {df.at[line, 'size_nm_min']} is larger than size_nm_max "
                                    f"{df.at[line, 'size_nm_max']}; expected min <= max"))
    if "decision_reason" in table.row_checks and {"decision", "reason"} <= set(df.columns):
        # plain column lists, not iterrows (which builds a Series per row: seconds for a large ledger)
        column = {c: (df[c].tolist() if c in df.columns else [None] * len(df))
                  for c in ("decision", "reason", "duplicate_of", "screener", "citekey")}
        for line, *values in zip(df.index, *column.values(), strict=True):
            row = dict(zip(column, values, strict=True))
            decision, reason = row["decision"], row["reason"]
            if decision == "exclude" and not isinstance(reason, str):
                reasons = table.column("reason").vocab if "reason" in table.column_names else None
                problems.append(Problem(path, int(line), "reason", "an exclusion needs its reason; expected one of: "
                                        + (reasons.listing() if reasons is not None else "a reason")))
            elif decision in ("include", "pending") and isinstance(reason, str):
                problems.append(Problem(path, int(line), "reason", f"reason {quote(reason)} given for decision "
                                                                   f"{quote(decision)}; expected an empty cell (only "
                                                                   "an exclusion has a reason)"))
            if reason == "duplicate" and not isinstance(row.get("duplicate_of"), str):
                problems.append(Problem(path, int(line), "duplicate_of", "a duplicate needs the id of the record "
                                                                         "it repeats; expected SCR-... here"))
            if decision in ("include", "exclude") and not isinstance(row.get("screener"), str):
                problems.append(Problem(path, int(line), "screener", f"decision {quote(decision)} with no screener; "
                                                                     "expected who made it"))
            if isinstance(row.get("citekey"), str) and decision != "include":
                problems.append(Problem(path, int(line), "citekey", f"a citekey on a record with decision "
                                                                    f"{quote(decision)}; expected it only on an "
                                                                    "inclusion"))
    return problems


def check_cells(table: Table, raw: RawTable) -> tuple[pd.DataFrame, list[Problem]]:
    """Run every cell rule of ``table`` on ``raw``; return the string frame and the located problems.

    A record with no value at all (a spreadsheet's trailing empty row) is one message and is left out.
    """
    df = frame(raw)
    empty = df.isna().all(axis=1)
    problems = [Problem(raw.path, int(line), "-", f"empty row {int(line)}; expected a row of values "
                                                  "(livingreview tidy removes empty rows)")
                for line in df.index[empty]]
    if empty.any():
        df = df[~empty]
    problems += _row_problems(table, df, raw.path)
    computed = _verdicts(table, df)
    if _all_pass(table, df, computed):
        return df, problems
    import pandera.pandas as pa

    schema, by_name = _pandera_schema(computed, table, df.index)
    order = {key: i for i, key in enumerate(by_name)}
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = sorted(exc.failure_cases.itertuples(index=False),
                       key=lambda c: order.get((c.column, str(c.check)), -1))
        seen: set[tuple[int, str]] = set()
        for case in cases:
            problem = _explain(table, df, raw.path, case, by_name)
            # one message per cell: the first rule it breaks says the most
            if (problem.line, problem.column) not in seen:
                seen.add((problem.line, problem.column))
                problems.append(problem)
    return df, problems


def _explain(table: Table, df: pd.DataFrame, path: str, case, by_name: dict[tuple[str, str], Rule]) -> Problem:
    column, check, value, line = case.column, str(case.check), case.failure_case, case.index
    line = int(line) if line is not None and not pd.isna(line) else 1
    col = table.column(column)
    if check == "not_nullable":
        # a row id's example is the table's own prefix
        expected = (f"a row id: '{table.id_prefix}-' and four to nine digits, e.g. {table.id_prefix}-0001"
                    if col.kind is Kind.ID else col.expected)
        return Problem(path, line, column, f"missing value for required column {column}; expected {expected}")
    if check == "field_uniqueness":
        first = int(df.index[df[column] == value][0])
        return Problem(path, line, column, f"duplicate id {quote(value)} (first used on line {first}); "
                                           "expected each id once")
    rule = by_name.get((column, check))
    message = rule.explain(str(value)) if rule else f"invalid value {quote(value)} ({check})"
    return Problem(path, line, column, message)
