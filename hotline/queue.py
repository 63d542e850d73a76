"""Putting a recording's work on a queue: RQ on Redis when REDIS_URL is set, threads in this process otherwise.

Both run the same job functions (`hotline.jobs`) with the same retry schedule.

RQ
    Each stage of a recording is one job with a fixed id, ``<queue>-<stage>-<RecordingSid>``,
    enqueued with ``Retry(max, interval)`` and a timeout. Enqueuing a stage whose job is still
    queued, scheduled or running does nothing, so a callback repeated by Twilio or a sweep never
    doubles the work. Retries with an interval wait in RQ's scheduled registry, which only a
    worker running the scheduler moves on: ``hotline worker`` runs it, and its maintenance (at
    start, then every 10 minutes) sweeps for recordings left stuck.
In-process (no REDIS_URL: development, a single small deployment)
    A few daemon threads run the jobs so that the webhook answers at once; a failed attempt is
    tried again after the same intervals (kept on a timer heap, no thread sleeps through them).
    There is no hard job timeout (a thread cannot be killed): the download and Speech timeouts
    bound each attempt. Work in flight is lost if the process stops — the recording row is not,
    and ``hotline jobs sweep`` queues it again.

Settings come from the environment (or `Config.extra`, which tests use), all optional:
``HOTLINE_QUEUE`` (queue name), ``JOB_TIMEOUT`` (s), ``DOWNLOAD_RETRY_INTERVALS`` and
``TRANSCRIBE_RETRY_INTERVALS`` (comma-separated seconds; their count is the number of retries, empty for none),
``DOWNLOAD_TIMEOUT`` (s), ``SWEEP_GRACE`` (s a recording may wait before a sweep re-queues it),
``JOB_THREADS`` (in-process threads), ``GOOGLE_SPEECH_ENDPOINT`` and ``GOOGLE_SPEECH_TIMEOUT``.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from hotline.config import Config
from store import Database
from store.recordings import DOWNLOAD, TRANSCRIBE

log = logging.getLogger(__name__)

FUNCTIONS = {DOWNLOAD: "hotline.jobs.download_recording", TRANSCRIBE: "hotline.jobs.transcribe_recording"}


def _intervals(value: Any) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    return tuple(int(v) for v in str(value).replace(" ", "").split(",") if v)


@dataclass(frozen=True)
class Settings:
    """How the pipeline's jobs run (see the module docstring for the variables)."""

    queue_name: str = "hotline"
    job_timeout: int = 600
    # Twilio may answer 404 for a short while after the callback: a few quick tries, then slower.
    download_retry: tuple[int, ...] = (5, 15, 30, 60, 120)
    transcribe_retry: tuple[int, ...] = (10, 30, 90, 300)
    download_timeout: float = 30.0
    sweep_grace: int = 600
    threads: int = 2
    google_endpoint: str | None = None
    google_timeout: float = 120.0
    result_ttl: int = 3600

    @property
    def lease(self) -> timedelta:
        """How long a job's claim on a recording lasts: past the job timeout RQ has killed it."""
        return timedelta(seconds=self.job_timeout + 60)

    def retry_for(self, stage: str) -> tuple[int, ...]:
        return self.download_retry if stage == DOWNLOAD else self.transcribe_retry

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str] | None = None) -> "Settings":
        """Read the settings from `config.extra`, then `env` (default: the process environment)."""
        env = os.environ if env is None else env
        extra = config.extra or {}
        d = cls()

        def get(name: str, default: Any, cast: Callable[[Any], Any]) -> Any:
            value = extra[name] if name in extra else env.get(name)
            return default if value is None or (value == "" and cast is not _intervals) else cast(value)

        return cls(
            queue_name=get("HOTLINE_QUEUE", d.queue_name, str),
            job_timeout=get("JOB_TIMEOUT", d.job_timeout, int),
            download_retry=get("DOWNLOAD_RETRY_INTERVALS", d.download_retry, _intervals),
            transcribe_retry=get("TRANSCRIBE_RETRY_INTERVALS", d.transcribe_retry, _intervals),
            download_timeout=get("DOWNLOAD_TIMEOUT", d.download_timeout, float),
            sweep_grace=get("SWEEP_GRACE", d.sweep_grace, int),
            threads=max(1, get("JOB_THREADS", d.threads, int)),
            google_endpoint=get("GOOGLE_SPEECH_ENDPOINT", None, str),
            google_timeout=get("GOOGLE_SPEECH_TIMEOUT", d.google_timeout, float),
        )


class JobQueue(Protocol):
    kind: str
    settings: Settings

    def enqueue(self, stage: str, recording_sid: str, *, replace_dead: bool = False) -> bool:
        """Queue `stage` for the recording unless it is already queued or running; True if queued now.

        :param replace_dead: the sweep found the recording held past its lease: a job RQ still
            shows as started belongs to a dead worker and is replaced.
        """
        ...

    def stats(self) -> dict[str, int]:
        ...


class RQQueue:
    """Jobs on an RQ queue in Redis."""

    kind = "rq"

    def __init__(self, redis_url: str, settings: Settings, connection: Any = None) -> None:
        from redis import Redis
        from rq import Queue

        self.settings = settings
        # Short timeouts: enqueuing happens inside a webhook, which Twilio gives 15 s in all;
        # if Redis is unreachable the row is safe and the sweep queues it later.
        self.connection = connection or Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.rq = Queue(settings.queue_name, connection=self.connection, default_timeout=settings.job_timeout)

    def job_id(self, stage: str, recording_sid: str) -> str:
        return f"{self.settings.queue_name}-{stage}-{recording_sid}"

    def enqueue(self, stage: str, recording_sid: str, *, replace_dead: bool = False) -> bool:
        from rq import Retry
        from rq.exceptions import DuplicateJobError, NoSuchJobError
        from rq.job import Job, JobStatus

        intervals = self.settings.retry_for(stage)
        retry = Retry(max=len(intervals), interval=list(intervals)) if intervals else None
        job_id = self.job_id(stage, recording_sid)
        live = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
        if not replace_dead:
            live.add(JobStatus.STARTED)
        for _ in range(3):
            try:
                self.rq.enqueue(FUNCTIONS[stage], recording_sid, job_id=job_id, retry=retry, unique=True,
                                job_timeout=self.settings.job_timeout, result_ttl=self.settings.result_ttl,
                                description=f"{stage} {recording_sid}")
                return True
            except DuplicateJobError:
                try:
                    job = Job.fetch(job_id, connection=self.connection)
                except NoSuchJobError:
                    continue     # it expired between the two calls: enqueue again
                if job.get_status(refresh=True) in live:
                    return False
                job.delete()     # finished, failed or abandoned: its id is free for a new run
        return False     # three races lost in a row: others are queuing it

    def stats(self) -> dict[str, int]:
        return {"queued": self.rq.count, "scheduled": self.rq.scheduled_job_registry.count,
                "running": self.rq.started_job_registry.count, "failed": self.rq.failed_job_registry.count}


@dataclass(order=True)
class _Task:
    due: float
    seq: int
    stage: str = field(compare=False)
    recording_sid: str = field(compare=False)
    attempt: int = field(compare=False, default=0)


class ThreadQueue:
    """Jobs on daemon threads of this process, retried on the same schedule as with RQ."""

    kind = "in-process"

    def __init__(self, config: Config, db: Database, settings: Settings) -> None:
        from hotline.jobs import Runtime

        self.settings = settings
        self.runtime = Runtime(config, db, settings, self)
        self._cv = threading.Condition()
        self._heap: list[_Task] = []
        self._keys: set[tuple[str, str]] = set()
        self._running = 0
        self._threads: list[threading.Thread] = []
        self._seq = itertools.count()

    def enqueue(self, stage: str, recording_sid: str, *, replace_dead: bool = False) -> bool:
        key = (stage, recording_sid)
        with self._cv:
            if key in self._keys:          # already waiting or running here: once is enough
                return False
            self._keys.add(key)
            heapq.heappush(self._heap, _Task(time.monotonic(), next(self._seq), stage, recording_sid))
            while len(self._threads) < self.settings.threads:
                t = threading.Thread(target=self._loop, name=f"hotline-job-{len(self._threads)}", daemon=True)
                t.start()
                self._threads.append(t)
            self._cv.notify()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued, waiting for a retry, or running; False on timeout."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._heap and self._running == 0, timeout)

    def stats(self) -> dict[str, int]:
        with self._cv:
            now = time.monotonic()
            return {"queued": sum(t.due <= now for t in self._heap), "scheduled": sum(t.due > now for t in self._heap),
                    "running": self._running, "failed": 0}

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not (self._heap and self._heap[0].due <= time.monotonic()):
                    self._cv.wait(timeout=max(0.0, self._heap[0].due - time.monotonic()) if self._heap else None)
                task = heapq.heappop(self._heap)
                self._running += 1
            retry_at = self._run(task)
            with self._cv:
                self._running -= 1
                if retry_at is None:
                    self._keys.discard((task.stage, task.recording_sid))
                else:
                    heapq.heappush(self._heap, _Task(retry_at, next(self._seq), task.stage, task.recording_sid,
                                                     task.attempt + 1))
                self._cv.notify_all()

    def _run(self, task: _Task) -> float | None:
        """Run one attempt; return when to try again, or None when done (or out of retries)."""
        from hotline import jobs

        intervals = self.settings.retry_for(task.stage)
        attempt = jobs.Attempt(token=f"thread-{os.getpid()}-{task.stage}-{task.recording_sid}",
                               number=task.attempt + 1, last=task.attempt >= len(intervals))
        try:
            with jobs.bound(self.runtime, attempt):
                jobs.STAGES[task.stage](task.recording_sid)
        except Exception as e:  # noqa: BLE001 — a job's failure must not end the thread
            if attempt.last:
                log.error("%s %s failed for good after %d attempts: %s", task.stage, task.recording_sid,
                          attempt.number, e)
                return None
            log.info("%s %s: attempt %d failed (%s); trying again in %ss", task.stage, task.recording_sid,
                     attempt.number, e, intervals[task.attempt])
            return time.monotonic() + intervals[task.attempt]
        return None


def make(config: Config, db: Database, settings: Settings | None = None) -> JobQueue:
    """The queue for these settings: RQ when REDIS_URL is set, else threads of this process."""
    settings = settings or Settings.from_config(config)
    if config.redis_url:
        return RQQueue(config.redis_url, settings)
    return ThreadQueue(config, db, settings)


_app_lock = threading.Lock()


def for_app(app: Any) -> JobQueue:
    """The queue of a Flask app (one per app, made on first use)."""
    with _app_lock:
        q = app.extensions.get("hotline.queue")
        if q is None:
            h = app.extensions["hotline"]
            q = app.extensions["hotline.queue"] = make(h.config, h.db)
        return q


def enqueue_recording(app: Any, recording_sid: str) -> None:
    """Queue the download (and then transcription) of a recording already committed.

    Never raises: the row is safe in the database whatever happens here, and if Redis is down
    the sweep (`hotline jobs sweep`) queues it later.
    """
    try:
        for_app(app).enqueue(DOWNLOAD, recording_sid)
    except Exception:  # noqa: BLE001
        log.exception("could not queue recording %s; `hotline jobs sweep` will pick it up", recording_sid)
