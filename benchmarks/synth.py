"""Synthetic reviews for benchmarks: the real rows repeated with new ids, and a synthetic library.

Rows keep every real value (so vocabularies, numbers and text lengths are realistic). The first copy keeps the
real ids; every other copy gets new ones and cites either its real reference or one of the synthetic clones, so
citation resolution is exercised at scale.
The synthetic entries are clones of real entries with new keys and DOIs under the 10.5555 test prefix.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

from livingreview.checking.bib import parse_library
from livingreview.model.declarations import load as load_declarations

# the review's own lists (claims, the withdrawal log) do not grow with the data; nor does the intake ledger, which
# gains one inclusion per synthetic entry instead (a copied record would be a duplicate)
SHAPE = {"claims": 1, "withdrawn": 1, "searches": 1, "screening": 1}


def _clone_entries(text: str, total: int) -> tuple[str, list[str], dict[str, str]]:
    lib, _ = parse_library(text)
    keys = list(lib.references)
    blocks = re.split(r"\n(?=@)", text.strip())
    # retracted entries are never cited as support, so they are not cloned into citable synthetic ones
    entries = [b for b in blocks if b.startswith("@") and "retracted" not in b.lower()]
    extra = []
    sources: dict[str, str] = {}
    for i in range(max(0, total - len(entries))):
        src = entries[i % len(entries)]
        key = f"synthetic{i:05d}"
        block = re.sub(r"^@(\w+)\{[^,]+,", lambda m, k=key: f"@{m.group(1)}{{{k},", src, count=1)
        block = re.sub(r"(doi\s*=\s*\{)[^}]*(\})", rf"\g<1>10.5555/synthetic.{i}\g<2>", block)
        block = re.sub(r"(pmid\s*=\s*\{)[^}]*(\})", rf"\g<1>{900000000 + i}\g<2>", block)
        block = re.sub(r"(pmcid\s*=\s*\{)[^}]*(\})", rf"\g<1>PMC{900000000 + i}\g<2>", block)
        # a row citing the clone names one of its ids as its source, as validation requires
        sources[key] = f"doi:10.5555/synthetic.{i}" if re.search(r"\bdoi\s*=", block) else f"PMID:{900000000 + i}"
        extra.append(block)
    keys += [f"synthetic{i:05d}" for i in range(len(extra))]
    return text.rstrip("\n") + "\n\n" + "\n\n".join(extra) + "\n", keys, sources


def make_review(source: Path, out: Path, scale: int, library_size: int | None = None) -> Path:
    """Write a review ``scale`` times the size of ``source`` into ``out``; return ``out``."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "data").mkdir(parents=True)
    for name in ("chapters", "_static"):
        if (source / name).is_dir():
            shutil.copytree(source / name, out / name, ignore=shutil.ignore_patterns("vendor", "figures"))
    for name in ("_config.yml", "_toc.yml", "review.yml"):
        if (source / name).exists():
            shutil.copy(source / name, out / name)
    bib = (source / "references.bib").read_text(encoding="utf-8")
    if library_size:
        bib, keys, sources = _clone_entries(bib, library_size)
    else:
        keys, sources = [], {}
    synthetic = [k for k in keys if k.startswith("synthetic")]
    (out / "references.bib").write_text(bib, encoding="utf-8")
    for table in load_declarations(Path(__file__).resolve().parents[1]).tables.values():
        rows = list(csv.reader(io.StringIO((source / table.path).read_text(encoding="utf-8"), newline="")))
        header, body = rows[0], rows[1:]
        copies = SHAPE.get(table.name, scale)
        cite = header.index("citekeys") if "citekeys" in header else None
        source_col = header.index("source") if "source" in header and table.name != "searches" else None
        out_rows = [header]
        # the first copy keeps the real ids (claims name some of them); copies number on from the largest
        last = max((int(row[0].rsplit("-", 1)[1]) for row in body if table.name != "claims"), default=0)
        n = 0
        for c in range(copies):
            for row in body:
                n += 1
                new = list(row)
                if table.name != "claims" and c > 0:
                    last += 1
                    new[0] = f"{table.id_prefix}-{last:04d}"
                if cite is not None and c > 0 and synthetic:
                    new[cite] = synthetic[(n * 7) % len(synthetic)]
                    if source_col is not None:
                        new[source_col] = sources[new[cite]]
                out_rows.append(new)
        if table.name == "screening" and len(body):
            search = body[0][header.index("search")]
            for i, key in enumerate(synthetic):
                last += 1
                cells = {"id": f"{table.id_prefix}-{last:04d}", "doi": f"10.5555/synthetic.{i}",
                         "pmid": str(900000000 + i), "title": f"Synthetic benchmark record {i}", "search": search,
                         "stage": "title_abstract", "decision": "include", "citekey": key, "screened": "2026-11-27",
                         "screener": "benchmark"}
                out_rows.append([cells.get(c, "") for c in header])
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(out_rows)
        (out / table.path).write_text(buf.getvalue(), encoding="utf-8")
    return out
