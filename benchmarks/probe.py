"""Run one measured step in a fresh process and print JSON: seconds and peak memory (MiB)."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def main() -> None:
    step, root = sys.argv[1], Path(sys.argv[2])
    start = time.perf_counter()
    if step == "validate":
        from livingreview.validate import check

        checked = check(root, frames=False)  # what `livingreview validate` runs
        extra = {"errors": len(checked.errors), "rows": sum(checked.rows.values()),
                 "references": len(checked.library)}
    elif step == "summaries":
        import livingreview as lr
        from livingreview.snapshot import snapshot

        snap = snapshot(lr.load(root))
        extra = {"tables": len(snap["tables"]), "charts": len(snap["charts"])}
    elif step == "frictionless":
        import frictionless

        report = frictionless.validate(str(root / "datapackage.json"))
        extra = {"valid": report.valid}
    else:
        raise SystemExit(f"unknown step {step}")
    seconds = time.perf_counter() - start
    # this process plus its largest worker (validate checks large tables in two worker processes)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"seconds": round(seconds, 3), "peak_mib": round(peak, 1), **extra}))


if __name__ == "__main__":
    main()
