"""Background jobs for recorded ideas: download the audio from Twilio, then transcribe it.

Jobs are plain functions taking a RecordingSid (Twilio's id: unique, and the same on every rerun),
run by RQ workers or by the in-process runner (`hotline.queue`). Each opens its own short units
of work — no transaction is held across the network — and tolerates reruns: it first *claims*
the recording for its stage (`store.recordings.claim`) and does nothing if the stage is done or
another live job holds it; the transcript table takes one machine transcript per recording and
engine. A transient failure is raised so the queue retries it; only the last attempt marks the
recording `download_failed` / `transcription_failed`, which staff retry with `hotline jobs retry`.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from hotline import media
from hotline.config import Config
from hotline.transcribe import (AudioError, NeedsHuman, Transcriber, TranscriptionError, UnknownTranscriber,
                                for_tag, make, read_wav)
from hotline.transcribe.languages import spoken_of
from store import Database, recordings, transcripts
from store.recordings import DOWNLOAD, DOWNLOADED, NEEDS_HUMAN, TRANSCRIBE, TRANSCRIBED

if TYPE_CHECKING:
    from hotline.queue import JobQueue, Settings

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """This attempt failed in a way that may pass (Twilio's 404, Google's 503): the queue retries."""


class GaveUp(Exception):
    """The last attempt failed too; the recording now shows the failure to staff."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---- what a job runs with ----

@dataclass
class Runtime:
    """The settings, database, queue (for the next stage) and transcriber jobs use in this process."""

    config: Config
    db: Database
    settings: "Settings"
    queue: "JobQueue"
    _transcriber: Transcriber | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> "Runtime":
        from hotline.queue import Settings, make as make_queue

        config = Config.from_env()
        settings = Settings.from_config(config)
        db = Database(config.database_url)
        return cls(config, db, settings, make_queue(config, db, settings))

    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = make(self.config.transcriber, google_endpoint=self.settings.google_endpoint,
                                     google_timeout=self.settings.google_timeout)
        return self._transcriber


@dataclass(frozen=True)
class Attempt:
    """Which run of a job this is: `token` names the job across its retries; `last` says no retry follows."""

    token: str
    number: int
    last: bool


_runtime: ContextVar[Runtime | None] = ContextVar("hotline_job_runtime", default=None)
_attempt: ContextVar[Attempt | None] = ContextVar("hotline_job_attempt", default=None)
_installed: Runtime | None = None


def install(rt: Runtime | None) -> Runtime | None:
    """Make `rt` what jobs in this process use (a worker, or a test driving an RQ worker); None undoes it."""
    global _installed
    _installed = rt
    return rt


@contextmanager
def bound(rt: Runtime, attempt: Attempt | None = None) -> Iterator[Runtime]:
    """Run jobs inside the block with `rt` (and as `attempt`): the in-process runner's way in."""
    r, a = _runtime.set(rt), _attempt.set(attempt)
    try:
        yield rt
    finally:
        _runtime.reset(r)
        _attempt.reset(a)


def runtime() -> Runtime:
    """The runtime for the job being run: bound, installed, or built from the environment once."""
    rt = _runtime.get() or _installed
    if rt is None:
        rt = install(Runtime.from_env())
    assert rt is not None
    return rt


def this_attempt() -> Attempt:
    """Which attempt is running: from the in-process runner, from RQ, or a direct call (one attempt)."""
    attempt = _attempt.get()
    if attempt is not None:
        return attempt
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        # RQ counts retries down as it schedules them: none left means this run is the last.
        return Attempt(job.id, 0, last=not job.retries_left)
    return Attempt(f"direct-{os.getpid()}-{uuid.uuid4().hex[:12]}", 1, last=True)


# ---- the jobs ----

def download_recording(recording_sid: str) -> str:
    """Fetch the recording's audio from Twilio, keep it with its checksum, then queue its transcription."""
    rt, attempt = runtime(), this_attempt()
    with rt.db.unit_of_work() as s:
        claim = recordings.claim(s, recording_sid, DOWNLOAD, attempt.token, utcnow(), rt.settings.lease)
        state = None if claim else recordings.state_of(s, recording_sid)
    if claim is None:
        if state == DOWNLOADED:      # a rerun after the download finished: make sure the next stage follows
            rt.queue.enqueue(TRANSCRIBE, recording_sid)
        return f"nothing to download ({state or 'no such recording'})"
    cfg = rt.config
    try:
        fetched = media.fetch(media.media_url(claim.url), cfg.account_sid, cfg.auth_token, cfg.media_hosts,
                              rt.settings.download_timeout)
        audio = read_wav(fetched.content)
        stored = recordings.save_audio(cfg.recordings_dir, recording_sid, fetched.content, audio.format,
                                       audio.sample_rate, audio.seconds)
    except media.FetchError as e:
        return _setback(rt, recording_sid, DOWNLOAD, attempt, e.reason, e.retryable)
    except AudioError as e:       # Twilio served something other than audio: it may serve it right next time
        return _setback(rt, recording_sid, DOWNLOAD, attempt, f"not audio: {e}", retryable=True)
    except OSError as e:          # the disk under RECORDINGS_DIR: full, or not writable
        return _setback(rt, recording_sid, DOWNLOAD, attempt, f"could not keep the file: {e}", retryable=True)
    with rt.db.unit_of_work() as s:
        kept = recordings.downloaded(s, recording_sid, attempt.token, stored)
    if not kept:
        return "another job took the recording over"
    log.info("recording %s kept (%s, %.1f s, sha256 %s…)", recording_sid, stored.format, stored.seconds,
             stored.sha256[:12])
    rt.queue.enqueue(TRANSCRIBE, recording_sid)
    return "downloaded"


def transcribe_recording(recording_sid: str) -> str:
    """Transcribe the kept audio in the caller's language and keep the machine transcript."""
    rt, attempt = runtime(), this_attempt()
    with rt.db.unit_of_work() as s:
        claim = recordings.claim(s, recording_sid, TRANSCRIBE, attempt.token, utcnow(), rt.settings.lease)
        state = None if claim else recordings.state_of(s, recording_sid)
    if claim is None:
        return f"nothing to transcribe ({state or 'no such recording'})"
    try:
        audio = read_wav(recordings.load_audio(rt.config.recordings_dir, claim.local_path, claim.sha256))
    except recordings.AudioMissing as e:
        with rt.db.unit_of_work() as s:
            recordings.redownload(s, recording_sid, attempt.token, str(e))
        rt.queue.enqueue(DOWNLOAD, recording_sid)
        return f"downloading again: {e}"
    except AudioError as e:
        return _setback(rt, recording_sid, TRANSCRIBE, attempt, f"unreadable audio: {e}", retryable=False)
    language = for_tag(claim.language, _spoken(claim.language))
    try:
        engine = rt.transcriber()
    except UnknownTranscriber as e:      # a setting to fix: staff retry once it is
        return _setback(rt, recording_sid, TRANSCRIBE, attempt, str(e), retryable=False)
    started = time.perf_counter()
    try:
        result = engine.transcribe(audio, language)
    except NeedsHuman as e:
        with rt.db.unit_of_work() as s:
            recordings.finish(s, recording_sid, attempt.token, NEEDS_HUMAN, str(e))
        return f"needs a human transcriber: {e}"
    except TranscriptionError as e:
        return _setback(rt, recording_sid, TRANSCRIBE, attempt, e.reason, e.retryable)
    except Exception as e:  # noqa: BLE001 — an engine's surprise is retried, then shown, never lost
        return _setback(rt, recording_sid, TRANSCRIBE, attempt, f"{engine.name}: {type(e).__name__}: {e}",
                        retryable=True)
    seconds = time.perf_counter() - started
    with rt.db.unit_of_work() as s:
        if not recordings.finish(s, recording_sid, attempt.token, TRANSCRIBED):
            return "another job took the recording over"
        transcripts.add_machine(s, claim.recording_id, claim.idea_id, engine.name, result.language, result.text,
                                result.confidence, [w.to_json() for w in result.words], list(result.alternatives),
                                round(seconds, 3), utcnow())
    log.info("recording %s transcribed by %s in %.2f s (%s, confidence %s)", recording_sid, engine.name, seconds,
             result.language, result.confidence)
    return "transcribed"


STAGES: dict[str, Callable[[str], str]] = {DOWNLOAD: download_recording, TRANSCRIBE: transcribe_recording}


def _setback(rt: Runtime, recording_sid: str, stage: str, attempt: Attempt, reason: str, retryable: bool) -> str:
    """Record a failed attempt. Retryable and not the last: wait for the retry (raise so the queue
    schedules it). Otherwise: show the failure to staff; the last of several attempts still raises,
    so RQ lists the job among its failed ones."""
    final = attempt.last or not retryable
    with rt.db.unit_of_work() as s:
        if final:
            recordings.fail(s, recording_sid, attempt.token, stage, reason)
        else:
            recordings.back_off(s, recording_sid, attempt.token, stage, reason)
    if not retryable:
        log.warning("%s %s failed and will not be retried: %s", stage, recording_sid, reason)
        return f"{stage} failed: {reason}"
    if final:
        raise GaveUp(f"{stage} {recording_sid}: {reason}")
    raise RetryLater(f"{stage} {recording_sid}: {reason}")


def _spoken(tag: str) -> str | None:
    """The spoken variant callers of `tag` chose: the line's voice for it (zh-Hant is offered as
    Cantonese in the voice menu, prompts/languages.yaml)."""
    try:
        import prompts
        lang = prompts.languages().get(tag)
    except Exception:  # noqa: BLE001 — without the catalog the tag alone decides
        return None
    return spoken_of(getattr(lang, "say_language", None))


# ---- staff and the sweep ----

def sweep(rt: Runtime | None = None) -> list[tuple[str, str]]:
    """Queue again every recording stuck before a final state; return `(sid, stage)` for each queued.

    Safe to run at any time and from any number of places: recordings whose job is queued or
    running are left to it.
    """
    rt = rt or runtime()
    with rt.db.unit_of_work() as s:
        rows = recordings.stuck(s, utcnow(), rt.settings.lease, timedelta(seconds=rt.settings.sweep_grace))
    return [(sid, stage) for sid, stage, dead in rows if rt.queue.enqueue(stage, sid, replace_dead=dead)]


def retry(rt: Runtime, refs: list[str] | None = None) -> tuple[list[tuple[str, str]], list[str]]:
    """Queue failed recordings again: those named in `refs` (RecordingSid or idea reference, and
    also ones marked for a human), or every failed one when `refs` is None.

    Returns `(sid, stage)` queued, and the refs that named nothing retryable.
    """
    queued, unknown = [], []
    with rt.db.unit_of_work() as s:
        if refs is None:
            targets = recordings.failed(s)
        else:
            targets = []
            for ref in refs:
                rec = recordings.find(s, ref)
                if rec is None:
                    unknown.append(ref)
                else:
                    targets.append(rec)
        for rec in targets:
            stage = recordings.reset(s, rec)
            if stage is None:
                unknown.append(rec.recording_sid)
            else:
                queued.append((rec.recording_sid, stage))
    for sid, stage in queued:
        rt.queue.enqueue(stage, sid, replace_dead=True)
    return queued, unknown
