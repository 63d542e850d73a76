"""What every benchmark needs: the machine, scratch databases, gunicorn servers, and /proc readings.

Everything here talks to 127.0.0.1 only, and stops exactly the processes it started.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
SECRET_KEY = "bench-secret-key"
PUBLIC_BASE = "https://pb.example.org"     # what the simulated Twilio signs; the servers are told it
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---- the machine ----

def machine() -> dict:
    """CPU, memory, software versions and what else is running (the load average)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    versions = {"python": platform.python_version()}
    for module in ("flask", "gunicorn", "sqlalchemy", "psycopg", "rq", "redis", "pabutools"):
        try:
            from importlib.metadata import version
            versions[module] = version(module)
        except Exception:  # noqa: BLE001
            pass
    try:
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
                             capture_output=True, text=True, timeout=10)
        versions["postgresql"] = out.stdout.strip().split()[0] if out.returncode == 0 else "?"
    except (OSError, subprocess.TimeoutExpired, IndexError):
        versions["postgresql"] = "?"
    try:
        import redis
        versions["redis-server"] = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    except Exception:  # noqa: BLE001
        versions["redis-server"] = "?"
    return {"cpu": model or platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "memory_mib": mem, "kernel": platform.release(), "versions": versions,
            "load": os.getloadavg()}


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def before_run() -> dict | None:
    """Before each measured run: wait for an idle machine for up to BENCH_QUIET_WAIT seconds
    (set by `python -m bench --wait-quiet`; 0 = do not wait)."""
    max_wait = float(os.environ.get("BENCH_QUIET_WAIT", "0") or 0)
    return wait_for_quiet(max_wait, window=3.0) if max_wait > 0 else None


def wait_for_quiet(max_wait: float, busy_below: float = 0.25, window: float = 5.0) -> dict:
    """Wait (up to `max_wait` s) until the machine's cores are nearly idle over `window` s.

    Other people's test runs share this machine; figures taken while they run understate the
    line. Returns what was found, for the report.
    """
    started = time.monotonic()
    while True:
        before = machine_busy_seconds()
        time.sleep(window)
        busy = (machine_busy_seconds() - before) / window
        waited = time.monotonic() - started
        if busy < busy_below or waited >= max_wait:
            return {"busy_cores": round(busy, 2), "waited_s": round(waited), "quiet": busy < busy_below}


# ---- statistics ----

def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def latency_summary(ms: Sequence[float]) -> dict:
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
            "max": max(ms) if ms else 0.0}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


# ---- databases ----

@contextmanager
def scratch_postgres(prefix: str = "hotline_bench") -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_database(kind: str, scratch: Path) -> Iterator[str]:
    if kind == "postgresql":
        with scratch_postgres() as url:
            yield url
    else:
        path = scratch / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"


def prepare(url: str) -> int:
    """Migrate the database and load the demo cycle with ideas and voting open; return its id."""
    from datetime import datetime, timezone

    from hotline.cyclefile import DEMO, read
    from store import Database, cycles

    db = Database(url)
    db.upgrade()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    spec = read(DEMO, ("en", "es", "zh-Hant", "zh-Hans"), now=now)
    with db.unit_of_work() as s:
        cycle_id = cycles.save(s, spec, now).id
    db.dispose()
    return cycle_id


def demo_proposals() -> dict[int, int]:
    """Proposal number -> cost, as the demo cycle has them."""
    from hotline.cyclefile import DEMO, read

    return {p.number: p.cost for p in read(DEMO, ("en",)).proposals}


# ---- processes ----

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out += [int(x) for x in text]
    except OSError:
        pass
    return out


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a process (0 when it is gone); with `children`, also those of the
    children it has waited for (RQ's work horses, one per job)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used = int(fields[11]) + int(fields[12])
        if children:
            used += int(fields[13]) + int(fields[14])
        return used / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mib(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def postgres_pids(database: str | None = None) -> list[int]:
    """PostgreSQL server processes (to count the database's CPU): with `database`, the backends
    serving it plus the shared background processes (WAL writer, checkpointer…), so that other
    databases' work on the same server (someone's test run) is not counted as ours."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() not in ("postgres", "postmaster"):
                    continue
                if database:
                    cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    is_backend = "(" in cmd or "[local]" in cmd
                    if is_backend and f" {database} " not in cmd:
                        continue
                pids.append(int(d.name))
            except OSError:
                pass
    return pids


def database_name(url: str) -> str | None:
    return url.rsplit("/", 1)[-1].split("?")[0] if url.startswith("postgresql") else None


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (to tell our use from everyone else's)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


class CpuMeter:
    """CPU seconds used by groups of processes between `start()` and `stop()`.

    PostgreSQL backends come and go, so the database is read as "all postgres processes".
    """

    def __init__(self, groups: dict[str, callable], with_children: tuple[str, ...] = ()) -> None:
        self.groups = groups      # name -> () -> pids
        self.with_children = with_children
        self._start: dict[str, dict[int, float]] = {}
        self.used: dict[str, float] = {}
        self.wall = 0.0
        self._t = 0.0

    def _read(self) -> dict[str, dict[int, float]]:
        return {name: {pid: cpu_seconds(pid, name in self.with_children) for pid in pids()}
                for name, pids in self.groups.items()}

    def start(self) -> None:
        self._start = self._read()
        self._busy = machine_busy_seconds()
        self._t = time.perf_counter()

    def stop(self) -> dict[str, float]:
        end = self._read()
        self.wall = time.perf_counter() - self._t
        self.used = {name: sum(v - self._start[name].get(pid, 0.0) for pid, v in end[name].items())
                     for name in end}
        # Everything the machine did meanwhile: what is not ours (nor the client's, added by the
        # caller) was someone else's work sharing the cores.
        self.used["machine"] = machine_busy_seconds() - self._busy
        return self.used

    def shares(self) -> dict[str, float]:
        """CPU used per group, in cores (1.0 = one core busy the whole time)."""
        return {k: v / self.wall for k, v in self.used.items()} if self.wall else {}


@dataclass
class Server:
    """A gunicorn master started by a benchmark; `stop()` ends it (and so its workers)."""

    proc: subprocess.Popen
    port: int
    log: Path
    env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def pids(self) -> list[int]:
        return [self.proc.pid, *self.workers()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_gunicorn(app: str, env: dict, log: Path, *, workers: int = 2, threads: int = 4,
                   port: int | None = None, health: str | None = "/healthz") -> Server:
    """Start `gunicorn -c python:hotline.gunicorn_conf APP` as the Procfile does; wait until it answers."""
    port = port or free_port()
    env = {"HOTLINE_INSTANCE": str(log.parent / "instance"), **env}     # spool, dev secrets: not in the repo
    full = {**os.environ, **env, "PORT": str(port), "WEB_CONCURRENCY": str(workers), "WEB_THREADS": str(threads),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))}
    out = open(log, "ab")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:hotline.gunicorn_conf",
                             "--bind", f"127.0.0.1:{port}", app], cwd=ROOT, env=full,
                            stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, port, log, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(server.url + (health or "/"), timeout=2) as r:
                if r.status == 200 and len(server.workers()) >= workers:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"gunicorn did not come up on port {port}; see {log}")


def app_env(db_url: str, *, redis: str | None = None, extra: dict | None = None) -> dict:
    """The environment a production web process or worker gets (docs/deploy.md)."""
    env = {"DATABASE_URL": db_url, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": SECRET_KEY,
           "PUBLIC_BASE_URL": PUBLIC_BASE, "HOTLINE_ENV": "production", "LOG_FORMAT": "json",
           # The whole-line flood limits (hotline/ratelimit.py) would refuse a surge by design; each
           # resident's own limits stay on and are counted as in production.
           "RATE_SMS_LINE": "off", "RATE_CALLS_LINE": "off",
           # Counters of their own per scratch database: numbers are reused from run to run, and
           # an earlier run's counts (kept in Redis for up to a day) would refuse this run's texts.
           "RATE_PREFIX": "bench:rl:" + uuid.uuid5(uuid.NAMESPACE_URL, db_url).hex[:12]}
    if redis:
        env["REDIS_URL"] = redis
    env.update(extra or {})
    return env


def run_load(spec: dict, timeout: float) -> dict:
    """Run the load generator (`python -m bench.load`) in its own process; return its JSON report."""
    proc = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(spec), capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)
