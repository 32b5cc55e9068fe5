"""Pure functions from the evidence object to summary tables (DataFrames) for the book's chapters.

Vocabulary terms are replaced by their human labels here, so that tables, chart axes and legends
all speak the vocabulary's language; category order follows the vocabulary declaration.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from livingreview.analysis import pooled as pooled_claims
from livingreview.analysis.certainty import LEVELS, STREAM, STREAMS, Basis, explain, fragility, rate
from livingreview.checking.bib import Reference
from livingreview.checking.claims import matches, parse_selector
from livingreview.checking.evidence import Evidence, per_evidence
from livingreview.model.errors import Problem
from livingreview.model.schema import Kind
from livingreview.model.text import cite_anchor, plural
from livingreview.model.vocab import CERTAINTY, Vocabulary


def _vocab(ev: Evidence, table: str, column: str | Vocabulary) -> Vocabulary:
    """A column's vocabulary, by the column's name (or the vocabulary itself)."""
    return column if isinstance(column, Vocabulary) else ev.column_vocab(table, column)


def level_vocab(ev: Evidence) -> Vocabulary | None:
    """The vocabulary of the review's evidence level (None if its findings record none)."""
    level, tables = ev.roles.evidence_level, ev.finding_tables
    return ev.column_vocab(tables[0], level) if level and tables else None


def scope_facet(ev: Evidence) -> tuple[str, str] | None:
    """The first facet the certainty rule judges directness by, with its words (e.g. population, 'population')."""
    directness = ev.declarations.certainty.directness if ev.declarations is not None else ()
    return directness[0] if directness else None


def ungraded_titles(ev: Evidence) -> tuple[str, ...]:
    """The titles of the tables a claim may select that record no evidence level."""
    return tuple(ev.table_title(t) for t in ev.roles.reference_tables)


def _design(ev: Evidence) -> dict[str, str]:
    """Evidence-level term -> the study design the certainty rule rates it as."""
    return dict(ev.declarations.certainty.streams) if ev.declarations is not None else {}


def ref_label(ref: Reference) -> str:
    """'Surname Year' for a reference."""
    return f"{ref.first_author or ref.key} {ref.year or ''}".strip()


def studies(ev: Evidence, keys) -> str:
    """'Surname Year; Surname Year' for a collection of citekeys (sorted, distinct)."""
    labels = sorted({ref_label(ev.library[k]) for k in keys if k in ev.library})
    return "; ".join(labels)


def label(series: pd.Series, vocab: Vocabulary) -> pd.Series:
    """Replace terms by labels, keeping the vocabulary's order as an ordered categorical."""
    labels = [vocab.label(t) for t in vocab.values]
    return pd.Series(pd.Categorical(series.astype(object).map(vocab.label), categories=labels, ordered=True),
                     index=series.index)


def cited_keys(ev: Evidence) -> set[str]:
    """Every BibTeX key cited by at least one row of any table."""
    keys: set[str] = set()
    for df in ev.tables.values():
        if "citekeys" in df.columns:
            for cell in df["citekeys"]:
                keys.update(cell)
    return keys


def table_counts(ev: Evidence) -> pd.DataFrame:
    """Rows, distinct references and last-added date per table."""
    records = []
    for name, table in ev.declared.items():
        df = ev.tables[name]
        refs = {k for cell in df["citekeys"] for k in cell} if "citekeys" in df.columns else set()
        last = df[table.date_column].max() if len(df) else pd.NaT
        records.append({
            "table": name,
            "title": table.title,
            "rows": len(df),
            "references": len(refs),
            "last_added": None if pd.isna(last) else last.date().isoformat(),
        })
    return pd.DataFrame.from_records(records)


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def findings_rows_label(ev: Evidence) -> str:
    """What ``status()["findings_rows"]`` counts, in the words every page and the CHANGELOG use for it (rows of
    reference tables, claims and withdrawn rows are counted apart, never in it)."""
    n = len(ev.finding_tables)
    if n == 1:
        return "findings rows in the evidence table"
    return f"findings rows in the {_NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else n} evidence tables"


def findings_rows(ev: Evidence) -> int:
    """How many findings rows the findings tables hold (the number every page calls ``findings_rows_label``)."""
    return int(sum(len(ev[t]) for t in ev.finding_tables))




def status(ev: Evidence) -> dict[str, object]:
    """Headline numbers of the review: findings rows, reference-table rows, references, coverage, and the values of
    its first directness facet."""
    cited = cited_keys(ev)
    refs = ev.library.references
    findings = ev.findings()
    lasts = [ev.tables[t]["added"].max() for t in ev.declared if len(ev.tables[t]) and "added" in ev.tables[t]]
    facet = scope_facet(ev)
    values = findings[facet[0]].astype(object) if facet and facet[0] in findings.columns else pd.Series(dtype=object)
    pooled = set(ev.findings_vocab(facet[0]).uncounted) if facet and facet[0] in findings.columns else set()
    return {
        "findings_rows": findings_rows(ev),
        "reference_rows": {ev.table_title(t): len(ev.tables[t]) for t in ev.roles.reference_tables},
        "withdrawn_rows": len(ev.tables["withdrawn"]) if "withdrawn" in ev.tables else 0,
        "claims": len(ev.claims),
        "references": len(refs),
        "cited_references": len(cited & set(refs)),
        "citation_coverage": round(len(cited & set(refs)) / len(refs), 3) if refs else 0.0,
        "retracted": sorted(k for k, r in refs.items() if r.retracted),
        # distinct values of the first directness facet, leaving out terms that stand for several or none
        "facet_values": (facet[1], int(values[~values.isin(pooled)].nunique())) if facet else None,
        "last_added": max(lasts).date().isoformat() if lasts else None,
        "fingerprint": ev.fingerprint[:12],
    }


# --- ranges: a low and a high number of one row ----------------------------------------------------

def range_text(low: object, high: object, unit: str = "") -> str:
    """'60\u2013120' for a range, '35' for a single value, 'from 60' or 'up to 120' for one end, as whole numbers
    where they are whole, followed by ``unit`` if given."""
    from livingreview.model.text import plain_number

    lo, hi = (None if pd.isna(v) else str(plain_number(float(v))) for v in (low, high))
    if lo and hi:
        text = lo if lo == hi else f"{lo}\u2013{hi}"
    else:
        text = f"from {lo}" if lo else f"up to {hi}" if hi else ""
    return f"{text} {unit}" if text and unit else text


def ranges(ev: Evidence, table: str, low: str, high: str, by: str) -> pd.DataFrame:
    """The rows of ``table`` with both ``low`` and ``high``, for ``figures.range_chart``: one per distinct range
    and citation, labelled by the vocabulary column ``by`` and its studies (``row``)."""
    df = ev[table]
    out = pd.DataFrame({by: label(df[by], ev.column_vocab(table, by)), low: df[low], high: df[high],
                        "studies": df["citekeys"].map(lambda keys: studies(ev, keys))})
    out = out.sort_values([by, low], kind="stable").dropna(subset=[low, high])
    out = out.astype({low: float, high: float})
    out["row"] = out[by].astype(str) + " (" + out["studies"] + ")"
    # identical ranges from the same studies are one bar, however often they were entered
    return out[["row", by, low, high, "studies"]].drop_duplicates().reset_index(drop=True)


# --- counts over two vocabularies ------------------------------------------------------------------

def _explode(df: pd.DataFrame, column: str) -> pd.DataFrame:
    out = df.copy()
    if len(out) and isinstance(out[column].iloc[0], tuple):
        # a term repeated in one cell is still one row (validation refuses repeats; counts never depend on it)
        out[column] = out[column].map(lambda cell: tuple(dict.fromkeys(cell)) if isinstance(cell, tuple) else cell)
        out = out.explode(column)
    return out


def crosstab(ev: Evidence, table: str, rows: str | Vocabulary, cols: str | Vocabulary, row_col: str | None = None,
             col_col: str | None = None, include_empty: bool = False) -> pd.DataFrame:
    """Long table of (row label, column label, rows, studies, study list) for two vocabulary columns of ``table``,
    named (``crosstab(ev, "trials", "alloc", "era")``) or given with their vocabularies.

    With ``include_empty`` every combination of terms is present (zero where no row), for gap maps.
    """
    if isinstance(rows, str):
        row_col, rows = row_col or rows, _vocab(ev, table, rows)
    if isinstance(cols, str):
        col_col, cols = col_col or cols, _vocab(ev, table, cols)
    row_col, col_col = row_col or rows.name, col_col or cols.name
    df = _explode(_explode(ev[table], row_col), col_col)
    groups = []
    for (r, c), part in df.groupby([df[row_col].astype(object), df[col_col].astype(object)], sort=False):
        keys = {k for cell in part["citekeys"] for k in cell}
        groups.append({row_col: r, col_col: c, "rows": len(part), "studies": len(keys),
                       "study_list": studies(ev, keys)})
    out = pd.DataFrame(groups, columns=[row_col, col_col, "rows", "studies", "study_list"])
    if include_empty:
        full = pd.MultiIndex.from_product([rows.values, cols.values], names=[row_col, col_col]).to_frame(index=False)
        out = full.merge(out, how="left", on=[row_col, col_col])
        out[["rows", "studies"]] = out[["rows", "studies"]].fillna(0).astype(int)
        out["study_list"] = out["study_list"].fillna("")
    out[row_col] = label(out[row_col], rows)
    out[col_col] = label(out[col_col], cols)
    return out.sort_values([row_col, col_col]).reset_index(drop=True)


def level_by(ev: Evidence, table: str, column: str) -> pd.DataFrame:
    """Rows per term of ``column`` and evidence level."""
    return crosstab(ev, table, column, ev.roles.evidence_level)


# --- per-table summary tables ----------------------------------------------------------------------

def summary(ev: Evidence, table: str, columns: list[str], sort: list[str] | None = None,
            descending: tuple[str, ...] = (), ranges: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """The rows of ``table`` with ``columns`` (vocabulary terms as labels, in their order), their citations and
    record, sorted by ``sort`` (the columns in ``descending`` last term first, e.g. the furthest stage) and id;
    grouped by a chapter with ``grouped_table``. ``ranges`` adds text columns, each from a (low, high) pair of
    number columns ('30\u2013150 nm', with the low column's unit)."""
    df = ev[table]
    out = pd.DataFrame(index=df.index)
    declared = ev.declared[table]
    for col in columns:
        vocab = declared.column(col).vocab
        if vocab is not None and not isinstance(df[col].iloc[0] if len(df) else None, tuple):
            out[col] = label(df[col], vocab)
        elif vocab is not None:
            out[col] = df[col].map(lambda items, v=vocab: tuple(v.label(i) for i in items))
        else:
            out[col] = df[col]
    for name, (low, high) in (ranges or {}).items():
        unit = declared.column(low).unit
        out[name] = [range_text(lo, hi, unit) for lo, hi in zip(df[low], df[high], strict=True)]
    out["citekeys"] = df["citekeys"]
    if "source" in df.columns:
        out["source"] = df["source"]
    order = [*(sort or []), "id"]
    out = out.sort_values(order, ascending=[c not in descending for c in order], kind="stable").reset_index(drop=True)
    out.attrs["table"] = table  # so that a grouped table can link each group to its rows in the appendix
    return out


def design_rows(ev: Evidence, table: str, columns: list[str]) -> pd.DataFrame:
    """The rows of ``table`` that record the columns kept for one evidence level only (a trial's design), with
    those columns; a number the record does not state reads as the vocabulary's 'not stated' label."""
    declared = ev.declared[table]
    only = [c for c in declared.columns if c.only_when is not None]
    df = ev[table]
    if only:
        column, term = only[0].only_when
        df = df[df[column].astype(object) == term]
    stated = next((c.vocab for c in only if c.vocab is not None and "not_stated" in c.vocab), None)
    out = pd.DataFrame({"id": df["id"]})
    for name in columns:
        col = declared.column(name)
        if col.vocab is not None:
            out[name] = label(df[name], col.vocab)
        elif col.kind in (Kind.INTEGER, Kind.NUMBER):
            out[name] = [str(int(n)) if not pd.isna(n) and float(n).is_integer() else "" if pd.isna(n) else str(n)
                         for n in df[name]]
            if stated is not None:
                out[name] = out[name].replace("", stated.label("not_stated"))
        else:
            out[name] = df[name]
    out["citekeys"] = df["citekeys"]
    return out.sort_values("id", kind="stable").reset_index(drop=True)


CHART_POINTS = 80  # a dot plot of more markers cannot be read (and altair refuses over 5,000 rows)


def _largest(out: pd.DataFrame, size: str | None, limit: int) -> pd.DataFrame:
    """At most ``limit`` points, the largest ``size`` first; ``points_total`` says how many there were."""
    total = len(out)
    if total > limit:
        if size is not None:
            out = out.assign(_n=out[size].astype("Float64").fillna(-1)).sort_values("_n", ascending=False,
                                                                                    kind="stable")
        out = out.head(limit).drop(columns=["_n"], errors="ignore")
    return out.assign(points_total=total)


def means(ev: Evidence, table: str, values: list[str], by: list[str], size: str | None = None,
          first: str | None = None, sort: list[str] | None = None, descending: tuple[str, ...] = (),
          limit: int = CHART_POINTS) -> pd.DataFrame:
    """The mean of the number columns ``values`` per group of ``by`` (rows that report every value), for a dot plot
    or a scatter plot: with ``size`` summed, the first term of the vocabulary column ``first``, the group's rows,
    studies (``study``) and a ``label`` joining the ``by`` values.

    At most ``limit`` groups (the largest ``size`` first), so that a chart stays readable and within altair's
    5,000-row limit however many rows the table has; ``points_total`` counts them all. Vocabulary columns come as
    their labels; sorted by ``sort`` (``descending`` ones largest first).
    """
    declared = ev.declared[table]
    df = ev[table]
    df = df[df[values].notna().all(axis=1)]
    rows = pd.DataFrame({"id": df["id"].astype(str)})
    for col in by:
        vocab = declared.column(col).vocab
        rows[col] = label(df[col], vocab) if vocab is not None else df[col].astype(str)
    if first is not None:
        vocab = declared.column(first).vocab
        rows[first] = df[first].map(lambda items: (vocab.label(items[0]) if vocab else str(items[0])) if items else "")
    for col in values:
        rows[col] = df[col].astype(float)
    if size is not None:
        rows[size] = df[size].astype("Float64")
    rows["keys"] = df["citekeys"]
    keys = [*by, *([first] if first else [])]
    aggregate = {"id": ("id", "first"), **{col: (col, "mean") for col in values},
                 **({size: (size, lambda x: x.sum(min_count=1))} if size else {}), "rows": ("id", "size"),
                 "keys": ("keys", lambda k: {key for keys in k for key in keys})}
    out = rows.groupby(keys, observed=True, sort=False).agg(**aggregate).reset_index()
    out["study"] = out["keys"].map(lambda keys: studies(ev, keys))
    out["label"] = out[by].astype(str).agg(" \u2014 ".join, axis=1) if len(out) else pd.Series(dtype=str)
    out = _largest(out.drop(columns=["keys"]), size, limit)
    if sort:
        out = out.sort_values(sort, ascending=[c not in descending for c in sort])
    out = out.reset_index(drop=True)
    out.attrs["titles"] = {c: declared.column(c).heading for c in (*keys, *values, *([size] if size else []))}
    out.attrs["by"], out.attrs["size"] = list(by), size
    return out


# --- claims ----------------------------------------------------------------------------------------

def claim_rows(ev: Evidence, claim: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(supporting rows, contradicting rows) of one claim: selector matches minus marked contradictions."""
    if pooled_claims.synthesis_of(claim) is not None:
        return pooled_claims.claim_rows(ev, claim)
    rows = ev[claim["table"]]
    selected = rows[matches(rows, parse_selector(claim["where"]))]
    against = set(claim["contradicted_by"])
    return selected[~selected["id"].isin(against)], rows[rows["id"].isin(against)]


@per_evidence
def _claim_selections(ev: Evidence) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``claim_rows`` of every claim, by claim id (several summaries ask for them)."""
    return {claim["id"]: claim_rows(ev, claim) for _, claim in ev.claims.iterrows()}


def claim_basis(ev: Evidence, claim: pd.Series,
                rows: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> Basis:
    """What one claim's certainty is computed from: its studies by level and design, their directness facets,
    the contradicting studies' designs, and the scope the claim's selector declares.

    ``rows`` are the claim's ``claim_rows``, when the caller has them already.
    """
    support, against = rows if rows is not None else claim_rows(ev, claim)
    valid = lambda keys: frozenset(k for k in keys if k in ev.library and not ev.library[k].retracted)  # noqa: E731
    study = ev.roles.study

    def of_row(row: dict) -> frozenset[str]:
        """The independent studies a row is evidence from: its valid citations, or (a declared study column) the
        one study it reports, if it cites a valid paper (13 trials reported by one meta-analysis are 13 studies)."""
        keys = valid(row["citekeys"])
        if study is None or study not in row or row[study] is None or pd.isna(row[study]):
            return keys
        return frozenset({f"{study} {row[study]}"}) if keys else frozenset()

    def ok(rows: pd.DataFrame) -> frozenset[str]:
        return frozenset().union(*(of_row(r) for r in rows.to_dict(orient="records")))

    contradicting = ok(against)
    inputs = ev.declarations.certainty
    level_col, design = ev.roles.evidence_level, dict(inputs.streams)
    if level_col is None or level_col not in support.columns or not design:
        return Basis({"": ok(support)}, contradicting, graded=False)
    directness = tuple(f for f, _ in inputs.directness)
    by_level: dict[str, set[str]] = {lvl: set() for lvl in LEVELS}
    facets: dict[str, dict[str, set[str]]] = {f: {} for f in directness if f in support.columns}
    rct: set[str] = set()
    patients: dict[str, int] = {}
    for row in support.to_dict(orient="records"):
        level = design[str(row[level_col])]
        for key in of_row(row):
            by_level[level].add(key)
            for facet, by_study in facets.items():
                by_study.setdefault(key, set()).add(str(row[facet]))
            if level == "clinical_trial":
                if _randomised_controlled(row, inputs):
                    rct.add(key)
                if inputs.patients and isinstance(row.get(inputs.patients), int | np.integer):
                    # one trial reported in several rows is counted once
                    patients[key] = max(patients.get(key, 0), int(row[inputs.patients]))
    weight = {s.name: s.weight for s in STREAMS}
    streams: dict[str, str] = {}
    for row in against.to_dict(orient="records"):
        level = design.get(str(row.get(level_col, "")), "")
        stream = ("rct" if _randomised_controlled(row, inputs) else "trial") if level == "clinical_trial" else level
        for key in of_row(row):
            # a study contradicting at several levels weighs as its row closest to patients
            if stream in weight and (key not in streams or weight[stream] > weight[streams[key]]):
                streams[key] = stream
    scope: dict[str, frozenset[str]] = {}
    for cond in parse_selector(claim["where"]):
        if cond.column in directness and cond.op == "=":
            scope[cond.column] = scope.get(cond.column, frozenset(cond.values)) & frozenset(cond.values)
    return Basis({lvl: frozenset(ks) for lvl, ks in by_level.items()}, contradicting,
                 {f: {k: frozenset(v) for k, v in by.items()} for f, by in facets.items()}, rct=frozenset(rct),
                 patients=patients, against=streams, scope=scope, directness=directness,
                 min_studies=inputs.min_studies, min_patients=inputs.min_patients)


def _cited(ev: Evidence, rows: pd.DataFrame) -> tuple[str, ...]:
    """The valid library keys ``rows`` cite, sorted."""
    return tuple(sorted({k for cell in rows["citekeys"] for k in cell
                         if k in ev.library and not ev.library[k].retracted}))


def _randomised_controlled(row: dict, inputs) -> bool:
    """Whether a trial row's record states that the trial was randomised and controlled."""
    return bool(inputs.randomised and inputs.controlled) and str(row.get(inputs.randomised)) == "yes" and str(
        row.get(inputs.controlled)) == "yes"


@per_evidence
def claim_status(ev: Evidence) -> pd.DataFrame:
    """One row per claim: certainty by the declared rule, studies by level, contradicting studies, fragility.

    Counts are of independent studies (distinct references), not rows; ``supporting_rows`` and
    ``contradicting_rows`` list the row ids behind them, and ``below_expected`` marks a claim whose certainty
    fell below the one its ``expected`` column asserts.
    """
    records = []
    selections = _claim_selections(ev)
    inputs = ev.declarations.certainty
    facet = scope_facet(ev)
    for _, claim in ev.claims.iterrows():
        support, against = selections[claim["id"]]
        basis = claim_basis(ev, claim, (support, against))
        if pooled_claims.synthesis_of(claim) is not None:
            rating, fragile, result = pooled_claims.rate_claim(ev, claim, basis)
        else:
            rating, fragile, result = rate(basis), fragility(basis), None
        expected = claim["expected"] if isinstance(claim["expected"], str) else None
        rec = {"id": claim["id"], "claim": claim["claim"], "table": claim["table"], "graded": basis.graded,
               "certainty": rating.certainty, "certainty_label": rating.label,
               "explanation": explain(rating, inputs),
               "fragility": fragile, "studies": len(basis.studies),
               "contradicting_studies": len(basis.contradicting),
               "scope_count": len(basis.values_of(facet[0])) if basis.graded and facet else None,
               "scope_counts": {f"{facet[1]}s": len(basis.values_of(facet[0]))} if basis.graded and facet else None,
               "expected": expected, "below_expected": bool(expected and rating.below(expected)),
               "supporting_rows": tuple(support["id"].astype(str)),
               "contradicting_rows": tuple(against["id"].astype(str)),
               # the papers behind the studies, for citations (a study column names studies, not papers)
               "citekeys": _cited(ev, support) if ev.roles.study else tuple(sorted(basis.studies)),
               "contradicting_citekeys": _cited(ev, against) if ev.roles.study else tuple(sorted(basis.contradicting)),
               # the pooled result a claim resting on a synthesis read (None for a claim that selects rows)
               "pooled": result}
        for level in LEVELS:
            rec[level] = len(basis.supporting.get(level, ())) if basis.graded else None
        rec["streams"] = ({name: len(keys) for name, keys in basis.streams().items() if keys} if basis.graded
                          else None)
        records.append(rec)
    columns = ["id", "claim", "table", "graded", "certainty", "certainty_label", "explanation", "fragility", "studies",
               *LEVELS, "streams", "contradicting_studies", "scope_count", "scope_counts", "expected", "below_expected",
               "supporting_rows", "contradicting_rows", "citekeys", "contradicting_citekeys", "pooled"]
    out = pd.DataFrame.from_records(records, columns=columns)
    # missing ratings stay None (not NaN): they mean 'not graded' and 'no expectation'
    for name in ("certainty", "expected", "scope_counts", "pooled"):
        out[name] = pd.Series([r[name] for r in records], index=out.index, dtype=object)
    return out


def expectation_problems(root, checked) -> list[Problem]:
    """A located error for every claim whose computed certainty is below the ``expected`` it declares."""
    from livingreview.checking.evidence import from_checked

    if "claims" not in checked.frames:  # a review may state no claims at all
        return []
    ev = from_checked(root, checked)
    lines = checked.frames["claims"].index  # file lines, in the order of the typed table's rows
    status = claim_status(ev)
    path = "data/claims.csv"
    return [Problem(path, int(line), "expected",
                    f"claim {row.id} is asserted as {CERTAINTY.label(row.expected).lower()} but the evidence gives "
                    f"{row.explanation[0].lower() + row.explanation[1:]}; expected a certainty of at least "
                    f"{CERTAINTY.label(row.expected).lower()} (add evidence, or lower 'expected' with a reason)")
            for line, row in zip(lines, status.itertuples(index=False), strict=True) if row.below_expected]


def summary_of_findings(ev: Evidence) -> pd.DataFrame:
    """The summary-of-findings table: claim, certainty, studies by stream, contradicting studies, fragility."""
    s = claim_status(ev)

    def by_level(r: dict) -> str:
        if not r["graded"]:
            return f"{r['studies']} (no evidence level)"
        # by evidence stream, as the rating reads them: each study once
        return "; ".join(f"{STREAM[name].label} {n}" for name, n in r["streams"].items())

    records = s.to_dict(orient="records")
    return pd.DataFrame({
        "id": s["id"], "claim": s["claim"], "certainty": s["explanation"],
        "studies": pd.Series([by_level(r) for r in records], index=s.index, dtype=object),
        "against": s["contradicting_studies"], "fragility": s["fragility"],
        "rows": pd.Series([len(r["supporting_rows"]) for r in records], index=s.index, dtype=int),
    })


@per_evidence
def claim_support(ev: Evidence) -> pd.DataFrame:
    """One row per claim: supporting rows by evidence level, contradicting rows, and a flag."""
    records = []
    selections = _claim_selections(ev)
    LEVEL = level_vocab(ev) or Vocabulary("evidence_level", "", {})
    level_col, design = ev.roles.evidence_level, _design(ev)
    for _, claim in ev.claims.iterrows():
        support, against = selections[claim["id"]]
        graded = level_col is not None and level_col in support
        levels = support[level_col].value_counts() if graded else pd.Series(dtype=int)
        rec = {"id": claim["id"], "section": claim["section"], "claim": claim["claim"],
               "table": ev.table_title(claim["table"]), "supporting": len(support), "contradicting": len(against)}
        for term in LEVEL.values:
            rec[LEVEL.label(term)] = int(levels.get(term, 0))
        human = sum(int(levels.get(t, 0)) for t in LEVEL.values
                    if design.get(t) in ("human_observational", "clinical_trial"))
        in_vitro = sum(int(levels.get(t, 0)) for t in LEVEL.values if design.get(t) == "in_vitro")
        if len(support) == 0:
            flag = "no supporting evidence"
        elif graded and design and in_vitro == len(support):
            flag = "in vitro only"
        elif len(against):
            flag = "contested"
        elif graded and design and human == 0:
            flag = "no human data"
        else:
            flag = ""
        rec["flag"] = flag
        rec["citekeys"] = tuple(sorted({k for cell in support["citekeys"] for k in cell}))
        rec["contradicting_citekeys"] = tuple(sorted({k for cell in against["citekeys"] for k in cell}))
        records.append(rec)
    columns = ["id", "section", "claim", "table", "supporting", "contradicting",
               *(LEVEL.label(t) for t in LEVEL.values), "flag", "citekeys", "contradicting_citekeys"]
    return pd.DataFrame.from_records(records, columns=columns)  # the columns stand even with no claim


def claim_levels(ev: Evidence) -> pd.DataFrame:
    """Long table of claim x evidence level (and 'Contradicting') counts, for the stacked chart."""
    wide = claim_support(ev)
    vocab = level_vocab(ev)
    cols = [vocab.label(t) for t in vocab.values] if vocab is not None else []
    # rows of a table without evidence levels (a reference table) still count, as their own category
    graded = wide[cols].sum(axis=1) if len(wide) else pd.Series(dtype=int)
    wide = wide.assign(**{NO_LEVEL: (wide["supporting"] - graded).clip(lower=0)})
    long = wide.melt(id_vars=["id", "claim"], value_vars=[*cols, NO_LEVEL], var_name="evidence", value_name="rows")
    contra = wide[["id", "claim"]].assign(evidence="Contradicting", rows=-wide["contradicting"])
    out = pd.concat([long, contra], ignore_index=True)
    out["claim_label"] = out["id"] + ": " + out["claim"]
    # as short as the trajectory chart's labels: the axis shows them whole, cut at a word, at a phone's width
    out["short"] = out["id"].str.removeprefix("CLAIM-") + " " + out["claim"].map(lambda c: short_text(c, 26))
    out = out[out["rows"] != 0].reset_index(drop=True)
    out.attrs["levels"] = cols  # the chart's legend order, weakest first
    return out


NO_LEVEL = "No evidence level"


def short_text(text: str, width: int = 34) -> str:
    """``text`` cut at a word boundary to about ``width`` characters, with an ellipsis when cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


# --- evidence map and growth -----------------------------------------------------------------------

SEVERAL_TABLES = "Several tables"


def studies_per_year(ev: Evidence) -> pd.DataFrame:
    """Distinct studies per publication year, each counted once: by the one table citing it, or 'Several tables'."""
    tables_of: dict[str, set[str]] = {}
    for name in ev.declarations.cited_tables:
        for cell in ev[name]["citekeys"]:
            for key in cell:
                tables_of.setdefault(key, set()).add(ev.table_title(name))
    records = [{"table": next(iter(t)) if len(t) == 1 else SEVERAL_TABLES, "year": ev.library[key].year, "key": key}
               for key, t in tables_of.items() if key in ev.library and ev.library[key].year]
    df = pd.DataFrame.from_records(records, columns=["table", "year", "key"])
    return (df.groupby(["table", "year"]).size().rename("studies").reset_index()
            .sort_values(["year", "table"]).reset_index(drop=True))


def explorer_labels(ev: Evidence) -> dict[str, str]:
    """The explorer's column headers: row, table, the review's facets, level, shown columns, finding, studies,
    links."""
    facets = {f: _facet_label(ev, f) for f in ev.roles.facets}
    return {"id": "Row", "table": "Table", **facets,
            **({"level": "Evidence level"} if ev.roles.evidence_level else {}),
            **{c: _facet_label(ev, c) for c in ev.roles.shown}, "finding": "Finding", "studies": "Studies",
            "links": "Links", "claims": "Supports claims"}


def _facet_label(ev: Evidence, column: str) -> str:
    """A facet's header: the column's declared title, else its name in words."""
    return ev.declared[ev.finding_tables[0]].column(column).heading


def explorer_filters(ev: Evidence) -> list[tuple[str, str]]:
    """The explorer's filters: table, evidence level, each facet and claim, with what their values are called."""
    return [("table", "tables"), *([("level", "evidence levels")] if ev.roles.evidence_level else []),
            *((f, plural(_facet_label(ev, f))) for f in ev.roles.facets), ("claims", "claims")]


def explorer_orders(ev: Evidence) -> dict[str, list[str]]:
    """Columns whose values sort in a declared order (evidence levels, lowest first; tables as the book has them)."""
    vocab = level_vocab(ev)
    return {**({"level": [vocab.label(t) for t in vocab.values]} if vocab is not None else {}),
            "table": [ev.table_title(t) for t in ev.finding_tables]}


def _per_cell(cells: pd.Series, func: Callable[[tuple], str]) -> pd.Series:
    """``cells.map(func)``, calling ``func`` once per distinct cell (many rows cite the same studies)."""
    done: dict[tuple, str] = {}
    return pd.Series([done[c] if c in done else done.setdefault(c, func(c)) for c in cells], index=cells.index,
                     dtype=object)


def explorer(ev: Evidence) -> pd.DataFrame:
    """Every finding of every table in one flat table for the searchable explorer."""
    f = ev.findings()
    cited = f["citekeys"]
    supports: dict[str, list[str]] = {}
    if "claims" in ev.tables:
        for cid, (support, _) in _claim_selections(ev).items():
            for row_id in support["id"].astype(str):
                supports.setdefault(row_id, []).append(cid)
    level = ev.roles.evidence_level
    out = pd.DataFrame({
        "id": f["id"].astype(str),
        "table": f["table"].map(ev.table_title),
        **{c: f[c].astype(object).map(ev.findings_vocab(c).label) for c in ev.roles.facets},
        **({"level": f[level].astype(object).map(level_vocab(ev).label)} if level else {}),
        **{c: f[c].map(lambda v: "; ".join(map(str, v)) if isinstance(v, tuple) else "" if pd.isna(v) else str(v))
           for c in ev.roles.shown},
        "finding": f[ev.roles.finding or "finding"].astype(str),
        "studies": _per_cell(cited, lambda keys: studies(ev, keys)),
        "links": _per_cell(cited, lambda keys: "; ".join(ev.library[k].url for k in keys if k in ev.library)),
        "claims": f["id"].astype(str).map(lambda i: "; ".join(supports.get(i, ()))),
        # not shown: each study's label and the id of its bibliography entry, so the studies cell can link there
        "_study_links": _per_cell(cited, lambda keys: "; ".join(
            f"{ref_label(ev.library[k])}\t{cite_anchor(k)}"
            for k in sorted((k for k in keys if k in ev.library), key=lambda k: (ref_label(ev.library[k]), k)))),
    })
    out = out.sort_values("id").reset_index(drop=True)
    out.attrs["labels"], out.attrs["orders"] = explorer_labels(ev), explorer_orders(ev)
    out.attrs["filters"] = explorer_filters(ev)
    return out


def whats_new(ev: Evidence) -> pd.DataFrame:
    """Rows added per month and table."""
    f = ev.findings()
    f = f.assign(month=f["added"].dt.strftime("%Y-%m"), table=f["table"].map(ev.table_title))
    return f.groupby(["month", "table"]).size().rename("rows").reset_index().sort_values(
        ["month", "table"], ascending=[False, True]).reset_index(drop=True)


def recent_rows(ev: Evidence) -> pd.DataFrame:
    """Every finding with the month it was added, newest first, for the What's new page."""
    f = ev.findings()
    out = pd.DataFrame({
        "month": f["added"].dt.strftime("%Y-%m"),
        "added": f["added"].dt.strftime("%Y-%m-%d"),
        "id": f["id"].astype(str),
        "table": f["table"].map(ev.table_title),
        "finding": f[ev.roles.finding or "finding"].astype(str),
        "citekeys": f["citekeys"],
    })
    return out.sort_values(["added", "id"], ascending=[False, True]).reset_index(drop=True)


def cap_citations(df: pd.DataFrame, column: str = "citekeys", limit: int = 12) -> pd.DataFrame:
    """Keep at most ``limit`` citations per row (the page stays readable) and count the rest in 'more studies'."""
    out = df.copy()
    out["more studies"] = out[column].map(lambda keys: max(0, len(keys) - limit))
    out[column] = out[column].map(lambda keys: tuple(keys[:limit]))
    return out


# --- intake: the search log, the screening ledger and the PRISMA 2020 flow -----------------------------------------

def search_log(ev: Evidence) -> pd.DataFrame:
    """The search strategy table: every search run, its source, exact query, date and records returned."""
    df = ev["searches"]
    return pd.DataFrame({"id": df["id"], "date": df["date"].dt.date.astype(str), "source": label(df["source"],
                         ev.column_vocab("searches", "source")), "query": df["query"], "records": df["records"],
                         "notes": df["notes"]})


def prisma_counts(ev: Evidence, since: dt.date | None = None) -> dict[str, object]:
    """The PRISMA 2020 flow of the screening ledger (records dated after ``since`` only, if given).

    Screening reads each record's title, abstract and published record (PubMed, PMC or the publisher's page) and
    may decide inclusion there; only records recorded at the ``full_text`` stage were sought and assessed in full
    text. Records awaiting screening are counted apart, never as screened. ``prisma_problems`` checks the sums.
    """
    EXCLUSION_REASON = ev.column_vocab("screening", "reason")
    SEARCH_SOURCE = ev.column_vocab("searches", "source")
    ledger = ev["screening"]
    if since is not None and len(ledger):
        ledger = ledger[ledger["screened"].dt.date > since]
    sources = dict(zip(ev["searches"]["id"], ev["searches"]["source"].astype(str), strict=True))
    source_of = ledger["search"].map(lambda ref: sources.get(str(ref), ""))
    decision, reason = ledger["decision"].astype(str), ledger["reason"].astype(str)
    stage = ledger["stage"].astype(str)
    duplicate = reason == "duplicate"
    pending = (decision == "pending") & ~duplicate
    screened = ~duplicate & ~pending
    at_screening, full_text = screened & (stage != "full_text"), screened & (stage == "full_text")
    not_retrieved = full_text & (decision == "exclude") & (reason == "not_retrievable")

    def per_reason(mask: pd.Series) -> dict[str, int]:
        counts = reason[mask].value_counts()
        return {EXCLUSION_REASON.label(r): int(counts[r]) for r in EXCLUSION_REASON.values if r in counts}

    included = ledger[screened & (decision == "include")]
    keys = {str(k) for k in included["citekey"].dropna()}
    cited: dict[str, int] = {}
    for table in ev.declarations.cited_tables:
        for cell in ev[table]["citekeys"]:
            for key in cell:
                cited[key] = cited.get(key, 0) + 1

    def citing(tables: tuple[str, ...]) -> int:
        return sum(1 for t in tables for cell in ev[t]["citekeys"] if any(k in keys for k in cell))

    identified = source_of.value_counts()
    return {
        "identified": {SEARCH_SOURCE.label(s): int(identified[s]) for s in SEARCH_SOURCE.values if s in identified},
        "identified_total": len(ledger),
        "duplicates": int(duplicate.sum()),
        "pending": int(pending.sum()),
        "screened": int(screened.sum()),
        "excluded_screening": per_reason(at_screening & (decision == "exclude")),
        "included_at_screening": int((at_screening & (decision == "include")).sum()),
        "sought": int(full_text.sum()),
        "not_retrieved": int(not_retrieved.sum()),
        "assessed": int((full_text & ~not_retrieved).sum()),
        "excluded_full_text": per_reason(full_text & (decision == "exclude") & ~not_retrieved),
        "included_after_full_text": int((full_text & (decision == "include")).sum()),
        "included": len(included),
        "awaiting_extraction": sum(1 for k in keys if cited.get(k, 0) == 0) + int(included["citekey"].isna().sum()),
        # a flow of the records since a date counts the rows citing its studies, not all the review's rows
        "window": since is not None,
        "findings_rows": citing(ev.finding_tables),
        "findings_label": findings_rows_label(ev),
        "reference_rows": {ev.table_title(t): citing((t,)) for t in ev.roles.reference_tables},
    }


# --- the appendix: every row of every table, where every row link of the book lands -------------------------------

def appendix_tables(ev: Evidence) -> tuple[str, ...]:
    """The tables the appendix lists, in its order (claims have their own anchors on the Claims page)."""
    return tuple(t for t in (*ev.roles.reference_tables, *ev.finding_tables, "withdrawn", "searches", "screening")
                 if t in ev.tables)
_OTHERS_RE = re.compile(r"\band\s+others\s*$", re.IGNORECASE)


def citation_label(ref: Reference) -> str:
    """'Surname, Year', 'Surname and Surname, Year' or 'Surname et al., Year', as the book's citations read."""
    names = [last for last, _ in ref.authors] or [ref.key]
    if len(names) > 2 or _OTHERS_RE.search(ref.author_raw or ""):
        who = f"{names[0]} et al."
    else:
        who = " and ".join(names)
    return f"{who}, {ref.year}" if ref.year else who


def every_cited_key(ev: Evidence) -> list[str]:
    """Every library key cited by a row of any table (findings, reference tables, ledger, withdrawn rows), sorted."""
    keys: set[str] = set()
    for name, df in ev.tables.items():
        table = ev.declared.get(name)
        columns = [c.name for c in table.columns if c.kind is Kind.CITEKEYS] if table else []
        if name == "withdrawn":
            columns.append("studies")  # the keys a withdrawn row cited, kept as text
        for col in columns:
            if col in df.columns:
                for cell in df[col]:
                    keys.update(_keys(cell))
    return sorted(k for k in keys if k in ev.library)


def _keys(cell: object) -> tuple[str, ...]:
    """The keys of a citation cell, whether a list column (a tuple) or a single key (a string)."""
    if isinstance(cell, tuple):
        return cell
    return (cell,) if isinstance(cell, str) and cell else ()


def _date(series: pd.Series) -> pd.Series:
    return series.map(lambda d: d.strftime("%Y-%m-%d") if not pd.isna(d) else "")


def appendix_rows(ev: Evidence, table: str) -> pd.DataFrame:
    """Every row of ``table`` for the appendix: group, id, text, citekeys, source, facts and extra anchors.

    Findings are grouped as on their chapter page (``roles.groups``), the ledger by decision; ``anchors`` holds
    ids a link may use besides the row's own (a withdrawn row keeps the id it had in its table).
    """
    df = ev.tables[table]
    n = len(df)
    blank = pd.Series([""] * n, index=df.index, dtype=object)
    none = pd.Series([()] * n, index=df.index, dtype=object)
    out = pd.DataFrame({"group": blank, "id": df["id"].astype(str), "text": blank, "citekeys": none,
                        "source": none, "facts": blank, "anchors": none})
    if df.empty:
        return out
    if table in ev.finding_tables:
        declared = ev.declared[table]
        out["text"] = df[ev.roles.finding or "finding"].astype(str)
        out["citekeys"] = df["citekeys"]
        if "source" in df.columns:
            out["source"] = df["source"]
        facts = [c for c in (ev.roles.evidence_level, *ev.roles.facets) if c and c in df.columns]
        if facts:
            out["facts"] = pd.Series([" · ".join(v) for v in zip(
                *(df[c].astype(object).map(declared.column(c).vocab.label) for c in facts), strict=True)],
                index=df.index, dtype=object)
        name = ev.roles.group(table)
        if name is None:
            return out
        group = declared.column(name)
        out["group"] = df[group.name].astype(object).map(group.vocab.label)
        order = [group.vocab.label(t) for t in group.vocab.values]
        out["_rank"] = out["group"].map({g: i for i, g in enumerate(order)})
        return out.sort_values(["_rank", "id"], kind="stable").drop(columns="_rank").reset_index(drop=True)
    if table in ev.roles.reference_tables:
        out["text"] = [_entry_text(ev.declared[table], r) for r in df.to_dict(orient="records")]
        out["citekeys"] = df["citekeys"]
    elif table == "withdrawn":
        out["text"] = ("Was " + df["row_id"].map(lambda v: "; ".join(v) if isinstance(v, tuple) else str(v)) + " ("
                       + df["table"].astype(object).map(lambda t: ev.table_title(t) if ev.has(t) else t) + "): "
                       + df["finding"].astype(str))
        out["facts"] = "Withdrawn " + _date(df["withdrawn"]) + ": " + df["reason"].astype(str)
        out["citekeys"] = df["studies"].map(lambda cell: tuple(k for k in _keys(cell) if k in ev.library))
        out["anchors"] = df["row_id"].map(lambda v: v if isinstance(v, tuple) else (str(v),))
    elif table == "searches":
        source = ev.column_vocab("searches", "source")
        out["text"] = (_date(df["date"]) + " · " + df["source"].astype(object).map(source.label) + ": "
                       + df["query"].astype(str))
        out["facts"] = df["records"].map(lambda n: f"{n} records" if not pd.isna(n) else "")
    elif table == "screening":
        decision = ev.column_vocab("screening", "decision")
        reason = ev.column_vocab("screening", "reason")
        out["group"] = df["decision"].astype(object).map(decision.label)
        out["text"] = df["title"].astype(str) + df["year"].map(lambda y: f" ({y:g})" if not pd.isna(y) else "")
        out["facts"] = (df["stage"].astype(object).map(ev.column_vocab("screening", "stage").label)
                        + df["reason"].map(lambda r: f" · {reason.label(r)}" if isinstance(r, str) and r else "")
                        + " · " + df["search"].map(lambda v: "; ".join(v) if isinstance(v, tuple) else str(v)))
        out["citekeys"] = df["citekey"].map(lambda cell: tuple(k for k in _keys(cell) if k in ev.library))
        ids = [("PMID:" + p) if isinstance(p, str) and p else "" for p in df["pmid"]]
        out["source"] = [(i,) if i else () for i in ids]
    return out


#: columns every row has that an entry's text leaves to the appendix's own fields
_ENTRY_FIELDS = ("id", "citekeys", "source", "added")


def _entry_text(table, row: dict) -> str:
    """A reference-table row in words: its first vocabulary column's label with the row's range ('Gravel
    (2\u201364 mm).'), then each other column as 'Heading: value.' (a ``_min``/``_max`` pair of number columns is a
    range)."""
    columns = [c for c in table.columns if c.name not in _ENTRY_FIELDS]
    head = next((c for c in columns if c.vocab is not None and not c.multi), None)
    pairs = {c.name[:-4]: (c, table.column(c.name[:-4] + "_max")) for c in columns
             if c.name.endswith("_min") and c.name[:-4] + "_max" in table.column_names}
    paired = {c.name for pair in pairs.values() for c in pair}
    size = " ".join(range_text(row[low.name], row[high.name], low.unit) for low, high in pairs.values())
    parts = []
    if head is not None:
        name = head.vocab.label(row[head.name]) if isinstance(row[head.name], str) else ""
        parts.append(name + (f" ({size})" if size else "") + ".")
    for col in columns:
        value = row[col.name]
        if col is head or col.name in paired or value is None or value == () or (
                not isinstance(value, tuple) and pd.isna(value)):
            continue
        if isinstance(value, tuple):
            value = "; ".join(col.vocab.label(v) if col.vocab else str(v) for v in value)
        elif col.vocab is not None:
            value = col.vocab.label(value)
        value = str(value)
        parts.append(f"{col.heading}: {value}" + ("" if value.endswith(".") else "."))
    return " ".join(parts)


def linkable_rows(ev: Evidence) -> set[str]:
    """Every row id that has an anchor in the book: each row of the appendix's tables, each withdrawn row's old id,
    and each claim (on the Claims page)."""
    ids: set[str] = set()
    for name in (*appendix_tables(ev), "claims"):
        if name in ev.tables:
            ids.update(ev.tables[name]["id"].astype(str))
    if "withdrawn" in ev.tables:
        for cell in ev.tables["withdrawn"]["row_id"]:
            ids.update(_keys(cell))
    return ids


def prisma_problems(counts: dict) -> list[str]:
    """Every PRISMA 2020 identity that ``counts`` (from ``prisma_counts``) breaks; empty when each box adds up."""
    c = counts
    excluded, late = sum(c["excluded_screening"].values()), sum(c["excluded_full_text"].values())
    identities = [
        ("records identified = the sum over sources", c["identified_total"], sum(c["identified"].values())),
        ("records identified - duplicates - awaiting screening = records screened",
         c["identified_total"] - c["duplicates"] - c["pending"], c["screened"]),
        ("records screened - records excluded = included at screening + reports sought",
         c["screened"] - excluded, c["included_at_screening"] + c["sought"]),
        ("reports sought - reports not retrieved = reports assessed", c["sought"] - c["not_retrieved"],
         c["assessed"]),
        ("reports assessed - reports excluded = included after full-text assessment", c["assessed"] - late,
         c["included_after_full_text"]),
        ("included at screening + included after full-text assessment = studies included",
         c["included_at_screening"] + c["included_after_full_text"], c["included"]),
    ]
    out = [f"{rule}: {left} != {right}" for rule, left, right in identities if left != right]
    out += [f"{name} is negative ({c[name]})" for name in ("duplicates", "pending", "screened", "sought",
                                                           "not_retrieved", "assessed", "included") if c[name] < 0]
    return out
