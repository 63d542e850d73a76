"""Where a voting step's time goes, inside one web process.

    .venv/bin/python -m bench.step_profile [--votes 300] [--databases postgresql,sqlite]

Texted votes (VOTE, age, ZIP, choices, YES; each from its own number, every request signed) are
sent through the real app, one at a time, with production settings (PostgreSQL and Redis as in
docs/deploy.md). Only the app's own work is measured: the profiler runs inside the WSGI call, not
in the test client that builds the requests. Printed: milliseconds per request, SQL statements per
request and the time inside the driver's execute, and the share of CPU time by library.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import AUTH_TOKEN, PUBLIC_BASE, REDIS_URL, app_env, prepare, scratch_database
from bench.load import LINE, TEXTED_VOTE, number_of

# Files grouped by who wrote them: the question is which layer a step's time is spent in.
GROUPS = (("sqlalchemy", "SQLAlchemy"), ("psycopg", "psycopg (driver)"), ("sqlite3", "sqlite3 (driver)"),
          ("werkzeug", "Flask and Werkzeug"), ("flask", "Flask and Werkzeug"), ("jinja2", "Flask and Werkzeug"),
          ("twilio", "twilio (TwiML, signature)"), ("cryptography", "cryptography (sealed answers)"),
          ("redis", "redis (rate limits)"), ("phonenumbers", "phonenumbers"), ("/logging/", "logging"),
          ("hotline/", "the line's own code"), ("store/", "the line's own code"), ("sms/", "the line's own code"),
          ("voice_flows/", "the line's own code"), ("prompts/", "the line's own code"))


def _group(filename: str) -> str:
    for needle, label in GROUPS:
        if needle in filename:
            return label
    return "built-ins and the standard library"


def measure(url: str, votes: int, redis: str | None) -> dict:
    os.environ.pop("REDIS_URL", None)
    os.environ.update(app_env(url, redis=redis))
    from sqlalchemy import event, func, select

    from store.models import Ballot

    from hotline import create_app
    from hotline.phone import Phone, flask_transport

    app = create_app()
    engine = app.extensions["hotline"].db.engine
    sql = {"statements": 0, "seconds": 0.0}

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        sql["statements"] += 1
        sql["seconds"] += time.perf_counter() - conn.info.pop("bench_t")

    # CPU time, not wall time: the waits for PostgreSQL and Redis are counted apart (sql_ms).
    profiler, inner = cProfile.Profile(time.process_time), app.wsgi_app
    mode = {"now": "off"}
    spent = {"wall": 0.0, "cpu": 0.0, "requests": 0}

    def measured(environ, start_response):
        if mode["now"] == "profile":
            profiler.enable()
            try:
                return [b"".join(inner(environ, start_response))]
            finally:
                profiler.disable()
        if mode["now"] == "off":
            return inner(environ, start_response)
        wall, cpu = time.perf_counter(), time.process_time()
        body = b"".join(inner(environ, start_response))
        spent["wall"] += time.perf_counter() - wall
        spent["cpu"] += time.process_time() - cpu
        spent["requests"] += 1
        return [body]

    app.wsgi_app = measured
    client = app.test_client()

    def vote(i: int) -> None:
        phone = Phone(PUBLIC_BASE, AUTH_TOKEN, flask_transport(client), number=number_of(i), line=LINE)
        for body in TEXTED_VOTE:
            phone.text(body)

    # The access log is written as in production, to a stream nobody reads.
    with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
        for i in range(20):                  # warm-up: imports, the cycle view, connection pool
            vote(i)
        sql.update(statements=0, seconds=0.0)
        mode["now"] = "time"
        for i in range(20, 20 + votes):
            vote(i)
        timed_sql = dict(sql)
        # A second pass under the profiler, for the shares only: the profiler slows Python code
        # more than C code, so its own totals are not the step's cost.
        mode["now"] = "profile"
        for i in range(20 + votes, 20 + 2 * votes):
            vote(i)
        mode["now"] = "off"
    db = app.extensions["hotline"].db
    with db.unit_of_work() as s:
        ballots = s.scalar(select(func.count()).select_from(Ballot))
    db.dispose()
    if ballots != 20 + 2 * votes:
        raise SystemExit(f"{ballots} ballots stored for {20 + 2 * votes} votes: a step failed")

    n = spent["requests"]
    by_group: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in pstats.Stats(profiler).stats.items():
        by_group[_group(filename)] += tottime
    total = sum(by_group.values()) or 1.0
    cpu_ms = 1000 * spent["cpu"] / n
    return {"requests": n, "ms_per_request": 1000 * spent["wall"] / n, "cpu_ms_per_request": cpu_ms,
            "statements_per_request": timed_sql["statements"] / n,
            "sql_ms_per_request": 1000 * timed_sql["seconds"] / n,
            "share_by_group": {k: v / total for k, v in sorted(by_group.items(), key=lambda kv: -kv[1])}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--votes", type=int, default=300)
    parser.add_argument("--databases", default="postgresql")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases.split(","):
            with scratch_database(kind, Path(tmp)) as url:
                prepare(url)
                out[kind] = measure(url, args.votes, REDIS_URL if kind == "postgresql" else None)
            r = out[kind]
            print(f"{kind}: {r['requests']} requests, each {r['ms_per_request']:.2f} ms inside the app "
                  f"({r['cpu_ms_per_request']:.2f} ms of it CPU); {r['statements_per_request']:.1f} SQL statements, "
                  f"{r['sql_ms_per_request']:.2f} ms in the driver's execute (database round trips included)")
            print("  where the web process's CPU time goes (profiled pass):")
            for group, share in r["share_by_group"].items():
                print(f"  {group:<40} {share:6.1%}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
