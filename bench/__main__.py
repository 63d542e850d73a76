"""Run the benchmark suite and write its figures into BENCHMARKS.md.

    .venv/bin/python -m bench              # everything but the soak, ~20 minutes; writes BENCHMARKS.md
    .venv/bin/python -m bench --quick      # a smoke run, ~3 minutes; prints, writes nothing
    .venv/bin/python -m bench --soak       # the 10-minute memory soak alone; writes its section
    .venv/bin/python -m bench --only floor,tally

Sections: floor (webhook cost against a bare route), profile (where a voting step's time goes), surge (residents voting, two web servers,
two RQ workers, exact tally), tally (1,000,000 ballots, against pabutools), pipeline (recordings
per minute). Figures are kept in bench/results.json; BENCHMARKS.md's generated part is rebuilt
from it, so a section not run this time keeps its last figures (each says when it was measured).
Needs PostgreSQL and Redis on 127.0.0.1 (as `make test` does), espeak-ng and sox for the pipeline.
Not run by CI: the figures depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from bench import report
from bench.common import ROOT, load_average, machine, wait_for_quiet

RESULTS = ROOT / "bench" / "results.json"
SECTIONS = ("floor", "profile", "surge", "tally", "pipeline")


def _stamp(section: dict, started: float, load_before) -> dict:
    section["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="minutes")
    section["took_s"] = round(time.perf_counter() - started, 1)
    section["load_before"] = [round(x, 2) for x in load_before]
    section["load_after"] = [round(x, 2) for x in load_average()]
    return section


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: short, one run each; writes nothing")
    parser.add_argument("--soak", action="store_true", help="only the 10-minute memory soak")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}")
    parser.add_argument("--runs", type=int, help="repetitions per measurement (default 3, quick 1)")
    parser.add_argument("--write", action="store_true", help="write BENCHMARKS.md even after --quick")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each section, wait up to this long for the machine to be idle "
                             "(other test runs disturb the figures); the report says what was found")
    args = parser.parse_args()
    quick = args.quick
    runs = args.runs or (1 if quick else 3)
    only = ["soak"] if args.soak else [s.strip() for s in args.only.split(",") if s.strip()]
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = machine()
    results["machine"]["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="minutes")
    results["machine"]["nice"] = os.nice(0)     # children (servers, workers, client) inherit it
    print(f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, load {results['machine']['load']}")
    suite_started = time.perf_counter()

    os.environ["BENCH_QUIET_WAIT"] = str(min(args.wait_quiet, 120.0))    # and before each run, a shorter wait
    for name in only:
        quiet = wait_for_quiet(args.wait_quiet) if args.wait_quiet else None
        if quiet:
            print(f"machine before {name}: {quiet}", flush=True)
        started, load_before = time.perf_counter(), load_average()
        print(f"\n== {name} ==", flush=True)
        if name == "floor":
            from bench import webhook_floor
            out = webhook_floor.run(SimpleNamespace(runs=runs, duration=5.0 if quick else 15.0, warmup=2.0,
                                                    connections=16, databases=["sqlite", "postgresql"]))
            print(webhook_floor.table(out))
        elif name == "profile":
            # Its own process: it builds the app here, with production settings in its environment.
            with tempfile.NamedTemporaryFile(suffix=".json") as f:
                subprocess.run([sys.executable, "-m", "bench.step_profile", "--votes", "60" if quick else "300",
                                "--databases", "postgresql", "--json", f.name], cwd=ROOT, check=True)
                out = json.loads(Path(f.name).read_text())
        elif name == "surge":
            from bench import surge
            out = surge.run(SimpleNamespace(runs=runs, residents=300 if quick else 1500,
                                            paced_seconds=20.0 if quick else 60.0, concurrency=100, think=1.0,
                                            soak=False, soak_minutes=0))
            print(surge.table(out))
            print(f"tally exact: {out['tally']['exact']} {out['tally']['problems']}")
        elif name == "soak":
            from bench import surge
            out = surge.run(SimpleNamespace(runs=1, residents=0, paced_seconds=0, concurrency=100, think=1.0,
                                            soak=True, soak_minutes=args.soak_minutes))
            out["memory_summary"] = surge.memory_summary(out["soak"]["memory"])
            print(json.dumps(out["memory_summary"], indent=1))
            print(f"tally exact: {out['tally']['exact']} {out['tally']['problems']}")
        elif name == "tally":
            sys.path.insert(0, str(ROOT / "bench"))
            import tally_bench
            out = tally_bench.measure(runs=3 if quick else 5, pabutools_budget_s=30.0 if quick else 120.0)
            print(json.dumps(out, indent=1))
        elif name == "pipeline":
            from bench import pipeline
            out = pipeline.run(SimpleNamespace(quick=quick, recordings=6 if quick else 24, workers=2))
            print(json.dumps(out["offline"], indent=1))
            print("\n".join(out["pipeline_bench"]))
        else:
            parser.error(f"unknown section {name!r}")
        out["quick"] = quick
        out["quiet_before"] = quiet
        results[name] = _stamp(out, started, load_before)
        if not quick or args.write:     # keep what is done if a later section fails
            RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")

    print(f"\nsuite took {time.perf_counter() - suite_started:.0f} s")
    if quick and not args.write:
        print("quick run: BENCHMARKS.md and bench/results.json left as they were (pass --write to record it)")
        return
    RESULTS.write_text(json.dumps(results, indent=1, default=str) + "\n")
    report.write(results, ROOT / "BENCHMARKS.md")
    print(f"wrote {RESULTS.relative_to(ROOT)} and BENCHMARKS.md")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
