"""Run one measured step in a fresh process and print JSON: seconds and peak memory (MiB)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path


def _frictionless_each_table(package: Path) -> dict:
    """`frictionless validate TABLE --schema SCHEMA` once per table, one command after another."""
    descriptor = json.loads((package / "datapackage.json").read_text())
    exe = Path(sys.executable).with_name("frictionless")
    valid = True
    for resource_ in descriptor["resources"]:
        schema = package / f"{resource_['name']}.schema.json"
        schema.write_text(json.dumps(resource_["schema"]))
        # relative paths: frictionless refuses absolute ones as unsafe (and would report the table invalid)
        out = subprocess.run([str(exe), "validate", resource_["path"], "--schema", schema.name], cwd=package,
                             capture_output=True, text=True)
        valid = valid and out.returncode == 0 and "VALID" in out.stdout and "INVALID" not in out.stdout
    return {"valid": valid, "tables": len(descriptor["resources"])}


def main() -> None:
    step, root = sys.argv[1], Path(sys.argv[2])
    start = time.perf_counter()
    if step == "validate":
        from livingreview.commands.cli import main as cli

        # the command itself, in this process: `livingreview validate --quiet --root ROOT`
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
            cli(["validate", "--quiet", "--root", str(root)])
        verdict = out.getvalue().strip().splitlines()[-1]  # "valid: 6 tables, 185 rows, 141 references, ..."
        counts = dict((name, int(n)) for n, name in re.findall(r"(\d+) (error|row|reference)", verdict))
        extra = {"errors": counts.get("error", 0), "rows": counts["row"], "references": counts["reference"],
                 "verdict": verdict}
    elif step == "summaries":
        import livingreview as lr
        from livingreview.publishing.snapshot import snapshot

        snap = snapshot(lr.load(root))
        extra = {"tables": len(snap["tables"]), "charts": len(snap["charts"])}
    elif step == "frictionless":
        import frictionless

        report = frictionless.validate(str(root / "datapackage.json"))
        extra = {"valid": report.valid}
    elif step == "frictionless-parallel":
        import frictionless

        report = frictionless.validate(str(root / "datapackage.json"), parallel=True)
        extra = {"valid": report.valid}
    elif step == "frictionless-each-table":
        extra = _frictionless_each_table(root)
    else:
        raise SystemExit(f"unknown step {step}")
    seconds = time.perf_counter() - start
    # this process plus its largest child (validate checks large tables in two worker processes)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    # CPU seconds of this process and its children: on a machine shared with other work, wall time measures the
    # load as much as the step; CPU time measures the step's own work
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    print(json.dumps({"seconds": round(seconds, 3), "cpu": round(cpu, 3), "peak_mib": round(peak, 1), **extra}))


if __name__ == "__main__":
    main()
