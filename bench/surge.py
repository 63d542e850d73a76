"""The voting surge: many residents texting and calling at once, against the production set-up.

    .venv/bin/python -m bench.surge [--quick] [--runs 3] [--residents 1500] [--concurrency 100]
    .venv/bin/python -m bench.surge --soak [--soak-minutes 10]

Set-up, all on this machine and sharing one PostgreSQL and one Redis, as separate machines would:
two web servers (gunicorn, `hotline/gunicorn_conf.py`, one worker process each) on two ports, and
two RQ workers (`hotline worker`). The load generator (`bench/load.py`, its own process) plays
residents with `hotline.phone.Phone`: each texts or calls, passes the age and ZIP questions,
chooses 1–5 of the 15 proposals at random and casts the ballot, keeping the receipt; one in twenty
callers leaves a recorded idea instead (its recording is fetched from a local Twilio media stand-in
and transcribed by a local Google Speech stand-in, by the workers). Every request goes to the next
web server in turn, whatever conversation it belongs to (a load balancer without stickiness): a
conversation only works if no state is kept in a web process.

Two loads, each repeated and reported as medians:
* flat out: `--concurrency` conversations, no pause between steps (capacity: ballots/s);
* paced: the same number of conversations, each pausing ~`--think` s (uniform 0.5–1.5x) before
  every step — still far quicker than people, who listen to 5–15 s of prompt per step;
* human pace (one run): ~5 s before each step, about as quick as a caller who knows the menu.

Afterwards the tally is checked exactly: every voter got a receipt, receipts are distinct, the
database holds exactly those ballots, `hotline results` counts exactly the votes the residents
cast, and every recorded idea was downloaded and transcribed.

`--soak` runs the paced load for 10 minutes and samples each process's resident memory.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from bench.common import (AUTH_TOKEN, PUBLIC_BASE, REDIS_URL, ROOT, CpuMeter, app_env, before_run, children, database_name, median,
                          postgres_pids, prepare, rss_mib, run_load, scratch_postgres, start_gunicorn)

WEB_SERVERS, WEB_THREADS, RQ_WORKERS = 2, 2, 2
# A caller hears 5–15 s of prompt before each key press; a texter takes longer still.
HUMAN_THINK = 5.0


class Workers:
    """`hotline worker` processes (RQ), started and stopped by the benchmark."""

    def __init__(self, n: int, env: dict, log: Path) -> None:
        out = open(log, "ab")
        self.procs = [subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"], cwd=ROOT,
                                       env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                                       stdout=out, stderr=subprocess.STDOUT) for _ in range(n)]

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def all_pids(self) -> list[int]:
        return [pid for p in self.procs for pid in (p.pid, *children(p.pid))]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class MemorySampler(threading.Thread):
    """Resident memory of the web workers and RQ workers, every `every` seconds."""

    def __init__(self, servers, workers: Workers, every: float) -> None:
        super().__init__(daemon=True)
        self.servers, self.workers, self.every = servers, workers, every
        self.samples: list[dict] = []
        self._halt = threading.Event()
        self.t0 = time.monotonic()

    def run(self) -> None:
        while not self._halt.is_set():
            sample = {"t": round(time.monotonic() - self.t0, 1)}
            for k, server in enumerate(self.servers):
                for j, pid in enumerate(server.workers()):
                    sample[f"web{k + 1}.{j + 1}"] = round(rss_mib(pid), 1)
            for k, pid in enumerate(self.workers.pids()):
                sample[f"rq{k + 1}"] = round(rss_mib(pid), 1)
            self.samples.append(sample)
            self._halt.wait(self.every)

    def stop(self) -> list[dict]:
        self._halt.set()
        self.join()
        return self.samples


def _app_times(servers, marks: dict[int, int]) -> dict:
    """Time spent inside the app per request (the access log's `ms`) since `marks` (log offsets):
    against the client's figure it tells queueing and transport from the webhook's own work. Also
    when the slow ones happened: all in the same few seconds means a stall of the whole machine
    (a checkpoint, a collection), spread out means queueing."""
    import re

    ms: list[float] = []
    slow_seconds: Counter = Counter()
    pattern = re.compile(r'"time": "[^"]*T(\d\d:\d\d:\d\d)[^"]*".*?"logger": "hotline.access".*?"ms": ([\d.]+)')
    for k, server in enumerate(servers):
        with open(server.log, "rb") as f:
            f.seek(marks.get(k, 0))
            for line in f.read().decode(errors="replace").splitlines():
                m = pattern.search(line)
                if m:
                    ms.append(float(m.group(2)))
                    if float(m.group(2)) > 200:
                        slow_seconds[m.group(1)] += 1
    from bench.common import latency_summary
    return {**latency_summary(ms), "over_200ms": sum(slow_seconds.values()),
            "seconds_with_slow": len(slow_seconds), "worst_seconds": slow_seconds.most_common(3)}


def _marks(servers) -> dict[int, int]:
    return {k: s.log.stat().st_size for k, s in enumerate(servers)}


def _settle(url: str, timeout: float) -> dict:
    """Wait until every recording reached a final pipeline state; return the counts by state."""
    from sqlalchemy import func, select

    from store import Database, recordings
    from store.models import Recording

    db = Database(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with db.unit_of_work() as s:
                counts = dict(s.execute(select(Recording.pipeline, func.count()).group_by(Recording.pipeline)).all())
            if all(state in recordings.FINAL for state in counts) or time.monotonic() > deadline:
                return counts
            time.sleep(0.5)
    finally:
        db.dispose()


def verify(url: str, reports: list[dict]) -> dict:
    """Check the tally against what the residents did: exact or not, and why not."""
    from sqlalchemy import func, select

    from hotline import tally
    from hotline.cli import results_of
    from store import Database
    from store.models import Ballot, Idea

    residents = [r for report in reports for r in report["results"]]
    voters = [r for r in residents if r["kind"] in ("sms", "voice")]
    receipts = [r["receipt"] for r in voters]
    expected = Counter(n for r in voters for n in r["choices"])
    db = Database(url)
    try:
        results = results_of(db, None)
        with db.unit_of_work() as s:
            stored = set(s.scalars(select(Ballot.receipt)))
            ideas = s.scalar(select(func.count()).select_from(Idea).where(Idea.channel == "voice"))
    finally:
        db.dispose()
    counted = {row.number: row.votes for row in results.rows}
    problems = []
    if None in receipts:
        problems.append(f"{receipts.count(None)} voters got no receipt")
    if len(set(receipts)) != len(receipts):
        problems.append("a receipt was given twice")
    if stored != set(receipts):
        problems.append(f"database has {len(stored)} ballots, residents hold {len(set(receipts))} receipts")
    wrong = {n: (counted.get(n, 0), expected.get(n, 0)) for n in counted if counted.get(n, 0) != expected.get(n, 0)}
    if wrong:
        problems.append(f"votes differ (counted, cast): {wrong}")
    if results.ballots != len(voters):
        problems.append(f"tally counted {results.ballots} ballots for {len(voters)} voters")
    idea_callers = sum(r["kind"] == "idea" for r in residents)
    if ideas != idea_callers:
        problems.append(f"{ideas} recorded ideas kept for {idea_callers} callers who left one")
    errors = sum(report["error_count"] for report in reports)
    if errors:
        problems.append(f"{errors} conversations failed")
    return {"exact": not problems, "problems": problems, "voters": len(voters), "ballots": results.ballots,
            "ideas": ideas, "votes": {n: counted[n] for n in sorted(counted)},
            "funded": [row.number for row in results.rows if row.funded], "rule": tally.DEFAULT_RULE}


def _run_load(servers, args, *, think: float, offset: int, residents: int | None, duration: float | None,
              media_url: str, seed: int) -> dict:
    # A paced run spreads its conversations' starts over one conversation's length (~10 steps).
    ramp = 10 * think
    return run_load({"mode": "residents", "targets": [s.url for s in servers], "public_base": PUBLIC_BASE,
                     "token": AUTH_TOKEN, "concurrency": args.concurrency, "residents": residents,
                     "duration": duration and duration + ramp, "ramp": ramp, "think": think, "offset": offset,
                     "seed": seed,
                     "media_url": media_url, "sms": 0.5, "voice": 0.45, "idea": 0.05},
                    timeout=(duration or 600) * 3 + 600)


def _steps_p99(report: dict) -> dict[str, float]:
    return {k: v["p99"] for k, v in report["steps"].items()}


def _one_load(label: str, report: dict, meter: CpuMeter) -> dict:
    return {"label": label, "wall": report["wall"], "requests": report["requests"], "rps": report["rps"],
            "residents": report["residents"], "ballots_per_s": report["ballots_per_s"],
            "latency": report["latency"], "steps": {k: {"p50": v["p50"], "p99": v["p99"], "n": v["n"]}
                                                     for k, v in report["steps"].items()},
            "errors": report["error_count"], "error_samples": report["errors"][:3],
            "statuses": report["statuses"],
            "cpu_cores": {**(shares := meter.shares()), "client": report["client_cpu_cores"],
                          "others": max(0.0, shares["machine"] - sum(v for k, v in shares.items() if k != "machine")
                                        - report["client_cpu_cores"])},
            "client_us_per_request": report["client_cpu_us_per_request"]}


def _aggregate(loads: list[dict]) -> dict:
    steps = sorted({k for load in loads for k in load["steps"]})
    return {
        "runs": len(loads),
        "ballots_per_s": median([x["ballots_per_s"] for x in loads]),
        "ballots_per_s_runs": [round(x["ballots_per_s"], 1) for x in loads],
        "rps": median([x["rps"] for x in loads]),
        "p50": median([x["latency"]["p50"] for x in loads]),
        "p99": median([x["latency"]["p99"] for x in loads]),
        "max": max(x["latency"]["max"] for x in loads),
        "steps": {k: {"p50": median([x["steps"][k]["p50"] for x in loads if k in x["steps"]]),
                      "p99": median([x["steps"][k]["p99"] for x in loads if k in x["steps"]]),
                      "n": sum(x["steps"][k]["n"] for x in loads if k in x["steps"])} for k in steps},
        "errors": sum(x["errors"] for x in loads),
        "cpu_cores": {k: median([x["cpu_cores"].get(k, 0.0) for x in loads]) for k in loads[0]["cpu_cores"]},
        "client_us_per_request": median([x["client_us_per_request"] for x in loads]),
        "app": {"p50": median([x["app"]["p50"] for x in loads]), "p99": median([x["app"]["p99"] for x in loads]),
                "over_200ms": [x["app"]["over_200ms"] for x in loads],
                "seconds_with_slow": [x["app"]["seconds_with_slow"] for x in loads],
                "worst_seconds": [x["app"]["worst_seconds"] for x in loads]},
        "others_cores_runs": [round(x["cpu_cores"].get("others", 0.0), 2) for x in loads],
    }


def run(args) -> dict:
    from tests.speech_standin import MediaStandIn, SpeechStandIn, tone_wav

    out: dict = {"web_servers": WEB_SERVERS, "web_threads": WEB_THREADS, "rq_workers": RQ_WORKERS,
                 "concurrency": args.concurrency, "think": args.think, "residents": args.residents,
                 "paced_seconds": args.paced_seconds, "ramp": 10 * args.think}
    with tempfile.TemporaryDirectory() as tmp, scratch_postgres("hotline_surge") as url:
        scratch = Path(tmp)
        prepare(url)
        queue_name = f"bench-surge-{uuid.uuid4().hex[:8]}"
        with MediaStandIn("AC" + "5" * 32, tone_wav(12.0)) as media, SpeechStandIn() as speech:
            env = app_env(url, redis=REDIS_URL, extra={
                "HOTLINE_QUEUE": queue_name, "TRANSCRIBER": "google", "GOOGLE_SPEECH_ENDPOINT": speech.url,
                "TWILIO_MEDIA_HOSTS": "127.0.0.1", "TWILIO_ACCOUNT_SID": media.account_sid,
                "RECORDINGS_DIR": str(scratch / "recordings"), "HOTLINE_INSTANCE": str(scratch / "instance"),
                "DOWNLOAD_RETRY_INTERVALS": "1,2,5", "TRANSCRIBE_RETRY_INTERVALS": "1,2,5"})
            media_url = media.recording_url("X").rsplit("/", 1)[0]
            servers = [start_gunicorn("hotline:create_app()", env, scratch / f"web{k + 1}.log", workers=1,
                                      threads=WEB_THREADS) for k in range(WEB_SERVERS)]
            workers = Workers(RQ_WORKERS, env, scratch / "workers.log")
            web_pids = lambda: [pid for s in servers for pid in s.pids()]  # noqa: E731
            pg_pids = lambda: postgres_pids(database_name(url))  # noqa: E731
            reports: list[dict] = []
            offsets = iter(range(0, 8_000_000, 250_000))
            try:
                if args.soak:
                    sampler = MemorySampler(servers, workers, every=10.0)
                    sampler.start()
                    meter = CpuMeter({"web": web_pids, "workers": workers.pids, "postgresql": pg_pids},
                                     with_children=("workers",))
                    meter.start()
                    marks = _marks(servers)
                    report = _run_load(servers, args, think=args.think, offset=next(offsets), residents=None,
                                       duration=args.soak_minutes * 60, media_url=media_url, seed=99)
                    meter.stop()
                    out["soak"] = {**_one_load("soak", report, meter), "memory": sampler.stop(),
                                   "timeline": report["timeline"], "app": _app_times(servers, marks)}
                    reports.append(report)
                else:
                    for label, think, runs in (("flat out", 0.0, args.runs), ("paced", args.think, args.runs),
                                               ("human pace", HUMAN_THINK, 1)):
                        loads = []
                        for k in range(runs):
                            before_run()
                            meter = CpuMeter({"web": web_pids, "workers": workers.pids,
                                              "postgresql": pg_pids}, with_children=("workers",))
                            meter.start()
                            marks = _marks(servers)
                            report = _run_load(servers, args, think=think, offset=next(offsets),
                                               residents=args.residents if think == 0 else None,
                                               duration=None if think == 0 else args.paced_seconds,
                                               media_url=media_url, seed=k + 1)
                            meter.stop()
                            loads.append({**_one_load(label, report, meter), "app": _app_times(servers, marks)})
                            reports.append(report)
                        out[label] = _aggregate(loads)
                out["pipeline"] = _settle(url, timeout=180)
            finally:
                workers.stop()
                for s in servers:
                    s.stop()
            out["tally"] = verify(url, reports)
            from redis import Redis
            conn = Redis.from_url(REDIS_URL)
            for key in conn.scan_iter(match=f"*{queue_name}*", count=1000):
                conn.delete(key)
    return out


def memory_summary(samples: list[dict], skip_s: float = 60.0) -> dict:
    """Per process: RSS after warm-up, at the end, the largest, and the growth rate."""
    out = {}
    names = sorted({k for s in samples for k in s if k != "t"})
    for name in names:
        points = [(s["t"], s[name]) for s in samples if name in s and s[name] > 0]
        warm = [p for p in points if p[0] >= skip_s] or points
        if len(warm) < 2:
            continue
        (t0, first), (t1, last) = warm[0], warm[-1]
        out[name] = {"after_warmup": first, "end": last, "max": max(v for _, v in warm),
                     "growth_mib": round(last - first, 1),
                     "mib_per_min": round((last - first) / ((t1 - t0) / 60), 3) if t1 > t0 else 0.0}
    return out


def table(out: dict) -> str:
    lines = []
    for label in ("flat out", "paced", "human pace"):
        r = out.get(label)
        if not r:
            continue
        cpu = r["cpu_cores"]
        think = HUMAN_THINK if label == "human pace" else out["think"]
        pause = "" if label == "flat out" else f", ~{think} s before each step"
        lines.append(f"**{label}** ({out['concurrency']} conversations{pause}; median of "
                     f"{r['runs']} runs): **{r['ballots_per_s']:.1f} ballots/s** (runs: "
                     f"{', '.join(map(str, r['ballots_per_s_runs']))}), {r['rps']:.0f} requests/s, p50 "
                     f"{r['p50']:.1f} ms, p99 {r['p99']:.1f} ms (worst single request {r['max']:.0f} ms), "
                     f"{r['errors']} failed conversations. CPU (cores): web {cpu.get('web', 0):.2f}, "
                     f"PostgreSQL {cpu.get('postgresql', 0):.2f}, RQ workers {cpu.get('workers', 0):.2f}, "
                     f"load generator {cpu.get('client', 0):.2f} ({r['client_us_per_request']:.0f} µs/request), "
                     f"everything else on the machine {cpu.get('others', 0):.2f}.")
        app = r.get("app")
        if app:
            lines.append(f"Inside the app (the access log's time, without queueing and transport): p50 "
                         f"{app['p50']:.1f} ms, p99 {app['p99']:.1f} ms; requests over 200 ms inside the app per "
                         f"run: {app['over_200ms']}, falling in {app['seconds_with_slow']} distinct seconds. Other "
                         f"work on the machine per run (cores): {r.get('others_cores_runs')}.")
        lines.append("")
        lines.append("| step | p50 ms | p99 ms | requests |")
        lines.append("| --- | --- | --- | --- |")
        for step, v in r["steps"].items():
            lines.append(f"| {step} | {v['p50']:.1f} | {v['p99']:.1f} | {v['n']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int)
    parser.add_argument("--residents", type=int, help="residents per flat-out run")
    parser.add_argument("--paced-seconds", type=float)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--soak", action="store_true")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.runs = args.runs or (1 if args.quick else 3)
    args.residents = args.residents or (300 if args.quick else 1500)
    args.paced_seconds = args.paced_seconds or (20.0 if args.quick else 60.0)
    out = run(args)
    print(table(out))
    if "soak" in out:
        s = out["soak"]
        print(f"soak: {s['wall']:.0f} s, {s['residents']} residents, {s['ballots_per_s']:.1f} ballots/s, "
              f"p99 {s['latency']['p99']:.1f} ms")
        print(json.dumps(memory_summary(s["memory"]), indent=1))
    print(f"pipeline: {out['pipeline']}")
    print(f"tally: exact={out['tally']['exact']} {out['tally']['problems']} voters={out['tally']['voters']} "
          f"ideas={out['tally']['ideas']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
