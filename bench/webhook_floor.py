"""Webhook cost against the floor: the voting steps versus a bare Flask route, under the same gunicorn.

    .venv/bin/python -m bench.webhook_floor [--quick] [--runs 3] [--duration 15] [--connections 16]

The same gunicorn set-up as production (hotline/gunicorn_conf.py: 2 workers x 4 threads, gthread)
serves (a) `bench/floor_app.py`, one route answering a fixed TwiML document, and (b) the hotline
itself on SQLite and on PostgreSQL. The load generator (`bench/load.py`, replay mode, its own
process) keeps N keep-alive connections busy, closed loop: each connection walks whole voting
conversations, first message to receipt (texts: VOTE, age, ZIP, choices, YES; calls: every key
press of a vote and the status callback), every request signed as Twilio signs it. Reported:
requests/s, p50/p95/p99 latency as the client saw it, the ratio to the floor, and where the CPU
went (web processes, PostgreSQL, the client). Each database ends with exactly one ballot per
conversation, which is checked.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.common import (AUTH_TOKEN, PUBLIC_BASE, REDIS_URL, CpuMeter, app_env, before_run, database_name, median, postgres_pids,
                          prepare, run_load, scratch_database, start_gunicorn)

WORKERS, THREADS = 2, 2


def _measure(server, scripts: list[str], args, offset: int, database: str | None = None) -> tuple[dict, dict]:
    before_run()
    meter = CpuMeter({"web": server.pids, "postgresql": lambda: postgres_pids(database)})
    meter.start()
    report = run_load({"mode": "replay", "targets": [server.url], "public_base": PUBLIC_BASE, "token": AUTH_TOKEN,
                       "scripts": scripts, "connections": args.connections, "duration": args.duration,
                       "warmup": args.warmup, "offset": offset}, timeout=args.duration * 4 + 120)
    meter.stop()
    shares = meter.shares()
    others = shares["machine"] - sum(v for k, v in shares.items() if k != "machine") - report["client_cpu_cores"]
    return report, {**shares, "client": report["client_cpu_cores"], "others": max(0.0, others)}


def _ballots(url: str) -> int:
    from sqlalchemy import func, select

    from store import Database
    from store.models import Ballot

    db = Database(url)
    with db.unit_of_work() as s:
        n = s.scalar(select(func.count()).select_from(Ballot))
    db.dispose()
    return n


def _summarise(runs: list[tuple[dict, dict]]) -> dict:
    """Median figures over runs (each figure's own median), plus every run's throughput."""
    reports = [r for r, _ in runs]
    steps: dict[str, list[dict]] = {}
    for r in reports:
        for k, v in r["steps"].items():
            steps.setdefault(k, []).append(v)
    cpu = [c for _, c in runs]
    return {
        "rps": median([r["rps"] for r in reports]),
        "rps_runs": [round(r["rps"], 1) for r in reports],
        "conversations_per_s": median([r.get("conversations_per_s", 0) for r in reports]),
        "p50": median([r["latency"]["p50"] for r in reports]),
        "p95": median([r["latency"]["p95"] for r in reports]),
        "p99": median([r["latency"]["p99"] for r in reports]),
        "steps": {k: {"p50": median([x["p50"] for x in v]), "p99": median([x["p99"] for x in v])}
                  for k, v in steps.items()},
        "errors": sum(r["error_count"] for r in reports),
        "error_samples": [e for r in reports for e in r["errors"]][:5],
        "cpu_cores": {k: median([c.get(k, 0.0) for c in cpu]) for k in cpu[0]},
        "client_us_per_request": median([r["client_cpu_us_per_request"] for r in reports]),
        # CPU per request is steadier than requests/s on a shared machine: others' work takes cores.
        "web_cpu_ms_per_request": median([c.get("web", 0.0) / r["rps"] * 1000 for r, c in runs if r["rps"]]),
        "db_cpu_ms_per_request": median([c.get("postgresql", 0.0) / r["rps"] * 1000 for r, c in runs if r["rps"]]),
    }


def run(args) -> dict:
    out: dict = {"workers": WORKERS, "threads": THREADS, "connections": args.connections,
                 "duration": args.duration, "runs": args.runs, "results": {}}
    offsets = iter(range(0, 8_000_000, 200_000))
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        server = start_gunicorn("bench.floor_app:create_app()", {}, scratch / "floor.log", workers=WORKERS,
                                threads=THREADS)
        try:
            out["results"]["bare"] = _summarise([_measure(server, ["bare"], args, 0) for _ in range(args.runs)])
        finally:
            server.stop()
        for kind in args.databases:
            with scratch_database(kind, scratch) as url:
                prepare(url)
                # PostgreSQL in its production shape, with Redis (rate-limit counters live there);
                # SQLite as the single-machine default, without (counters in the database).
                redis = REDIS_URL if kind == "postgresql" else None
                server = start_gunicorn("hotline:create_app()", app_env(url, redis=redis), scratch / f"{kind}.log",
                                        workers=WORKERS, threads=THREADS)
                conversations = 0
                try:
                    for script in ("sms", "voice"):
                        runs = []
                        for _ in range(args.runs):
                            # Each run's residents get numbers of their own (bench/load.py number_of).
                            report, cpu = _measure(server, [script], args, offset=next(offsets),
                                                   database=database_name(url))
                            conversations += report["conversations_total"]
                            runs.append((report, cpu))
                        out["results"][f"{kind}:{script}"] = _summarise(runs)
                finally:
                    server.stop()
                ballots = _ballots(url)
                out["results"][f"{kind}:tally"] = {"conversations": conversations, "ballots": ballots,
                                                   "exact": ballots == conversations}
    floor = out["results"]["bare"]["rps"]
    for key, value in out["results"].items():
        if key != "bare" and "rps" in value:
            value["ratio_to_floor"] = value["rps"] / floor if floor else 0.0
    return out


def table(out: dict) -> str:
    rows = ["| route | requests/s (median) | runs | p50 ms | p95 ms | p99 ms | ratio to floor | CPU cores: web / PostgreSQL / client / others | web CPU ms/request |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    names = {"bare": "bare Flask route (floor)", "sqlite:sms": "texted vote, SQLite",
             "sqlite:voice": "called vote, SQLite", "postgresql:sms": "texted vote, PostgreSQL",
             "postgresql:voice": "called vote, PostgreSQL"}
    for key, label in names.items():
        r = out["results"].get(key)
        if not r:
            continue
        cpu = r["cpu_cores"]
        rows.append(f"| {label} | {r['rps']:.0f} | {', '.join(f'{x:.0f}' for x in r['rps_runs'])} | {r['p50']:.1f} | "
                    f"{r['p95']:.1f} | {r['p99']:.1f} | {r.get('ratio_to_floor', 1.0):.0%} | "
                    f"{cpu.get('web', 0):.2f} / {cpu.get('postgresql', 0):.2f} / {cpu.get('client', 0):.2f} / "
                    f"{cpu.get('others', 0):.2f} | "
                    f"{r['web_cpu_ms_per_request']:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.runs = args.runs or (1 if args.quick else 3)
    args.duration = args.duration or (5.0 if args.quick else 15.0)
    args.databases = args.databases.split(",")
    out = run(args)
    print(table(out))
    for key, value in out["results"].items():
        if key.endswith(":tally"):
            print(f"{key}: {value}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
