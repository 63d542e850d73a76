"""Recordings on their way from Twilio to a transcript: pipeline state, job claims, the audio files.

A job *claims* a recording before working on it (`claim`) and writes its outcome only while it
still holds the claim; a claim older than the lease belongs to a job that died, so another may
take it. Together with RQ's one-job-per-id this keeps two workers from doing the same work.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from store.models import Idea, Recording

PENDING, DOWNLOADING, DOWNLOADED, TRANSCRIBING = "pending", "downloading", "downloaded", "transcribing"
TRANSCRIBED, NEEDS_HUMAN = "transcribed", "needs_human"
DOWNLOAD_FAILED, TRANSCRIPTION_FAILED = "download_failed", "transcription_failed"
MOVING = (PENDING, DOWNLOADING, DOWNLOADED, TRANSCRIBING)
FAILED = (DOWNLOAD_FAILED, TRANSCRIPTION_FAILED)
FINAL = (TRANSCRIBED, NEEDS_HUMAN, *FAILED)
NO_AUDIO = "no_audio"      # not a state: Twilio made no recording (failed, absent, zero seconds)

DOWNLOAD, TRANSCRIBE = "download", "transcribe"
_WORKING = {DOWNLOAD: DOWNLOADING, TRANSCRIBE: TRANSCRIBING}
_WAITING = {DOWNLOAD: PENDING, TRANSCRIBE: DOWNLOADED}
_FAILED = {DOWNLOAD: DOWNLOAD_FAILED, TRANSCRIBE: TRANSCRIPTION_FAILED}
_LABELS = {PENDING: "waiting for download", DOWNLOADING: "downloading", DOWNLOADED: "waiting for transcription",
           TRANSCRIBING: "transcribing", TRANSCRIBED: "transcribed", NEEDS_HUMAN: "needs a human transcriber",
           DOWNLOAD_FAILED: "download failed", TRANSCRIPTION_FAILED: "transcription failed"}


class AudioMissing(Exception):
    """The kept audio file is gone or no longer matches its checksum."""


@dataclass(frozen=True)
class Claim:
    """What a job needs to know about the recording it holds."""

    recording_id: int
    recording_sid: str
    url: str
    duration: int
    local_path: str | None
    sha256: str | None
    idea_id: int | None
    language: str          # the idea's language tag ("en" when the recording carries no idea)
    token: str


@dataclass(frozen=True)
class StoredAudio:
    local_path: str        # relative to the recordings directory
    sha256: str
    bytes: int
    format: str
    sample_rate: int
    seconds: float


def describe(pipeline: str | None, last_error: str | None = None) -> str:
    """What staff read for a pipeline state: 'download failed', 'transcription failed: <reason>'…"""
    label = _LABELS.get(pipeline or "", pipeline or "")
    if pipeline == TRANSCRIPTION_FAILED and last_error:
        return f"{label}: {last_error}"
    return label


def has_audio() -> ColumnElement[bool]:
    """Recordings that hold speech: Twilio completed them (or announced them and went quiet)
    with more than zero seconds."""
    return and_(Recording.status.in_(("completed", "reported")), Recording.duration > 0)


def get(s: Session, recording_sid: str) -> Recording | None:
    return s.scalar(select(Recording).where(Recording.recording_sid == recording_sid))


def state_of(s: Session, recording_sid: str) -> str | None:
    """The recording's pipeline state (None: no such recording)."""
    rec = get(s, recording_sid)
    return rec.pipeline if rec else None


def find(s: Session, ref: str) -> Recording | None:
    """The recording named by a RecordingSid or by the reference code of its idea."""
    rec = get(s, ref)
    if rec is None:
        rec = s.scalar(select(Recording).join(Idea, Idea.recording_id == Recording.id).where(Idea.ref_code == ref))
    return rec


def claim(s: Session, recording_sid: str, stage: str, token: str, now: datetime, lease: timedelta) -> Claim | None:
    """Take the recording for `stage` (download | transcribe) on behalf of job `token`.

    Returns None when there is nothing for this stage to do (not found, not at this stage, or
    held by another live job). The same token may take it again: that is RQ re-running a job
    whose worker died.
    """
    rec = s.scalar(select(Recording).where(Recording.recording_sid == recording_sid).with_for_update())
    if rec is None:
        return None
    if rec.pipeline == _WORKING[stage]:
        held = rec.claimed_by not in (None, token) and rec.claimed_at is not None and rec.claimed_at > now - lease
        if held:
            return None
    elif rec.pipeline != _WAITING[stage]:
        return None
    rec.pipeline, rec.claimed_by, rec.claimed_at = _WORKING[stage], token, now
    if stage == DOWNLOAD:
        rec.download_attempts = (rec.download_attempts or 0) + 1
    else:
        rec.transcribe_attempts = (rec.transcribe_attempts or 0) + 1
    idea = s.scalar(select(Idea).where(Idea.recording_id == rec.id))
    return Claim(rec.id, rec.recording_sid, rec.url, rec.duration, rec.local_path, rec.sha256,
                 idea.id if idea else None, idea.language if idea else "en", token)


def _held(s: Session, recording_sid: str, token: str) -> Recording | None:
    """The recording if `token` still holds it (a job that lost its lease writes nothing)."""
    rec = s.scalar(select(Recording).where(Recording.recording_sid == recording_sid).with_for_update())
    return rec if rec is not None and rec.claimed_by == token else None


def _release(rec: Recording, pipeline: str, error: str | None) -> None:
    rec.pipeline, rec.last_error, rec.claimed_by, rec.claimed_at = pipeline, error, None, None


def downloaded(s: Session, recording_sid: str, token: str, stored: StoredAudio) -> bool:
    rec = _held(s, recording_sid, token)
    if rec is None:
        return False
    rec.local_path, rec.sha256, rec.bytes = stored.local_path, stored.sha256, stored.bytes
    rec.format, rec.sample_rate, rec.audio_seconds = stored.format, stored.sample_rate, stored.seconds
    _release(rec, DOWNLOADED, None)
    return True


def finish(s: Session, recording_sid: str, token: str, pipeline: str, reason: str | None = None) -> bool:
    """End the claim with a final state (transcribed, needs_human, or a failure with `reason`)."""
    rec = _held(s, recording_sid, token)
    if rec is None:
        return False
    _release(rec, pipeline, reason)
    return True


def fail(s: Session, recording_sid: str, token: str, stage: str, reason: str) -> bool:
    return finish(s, recording_sid, token, _FAILED[stage], reason)


def back_off(s: Session, recording_sid: str, token: str, stage: str, reason: str) -> bool:
    """Put the recording back to wait for this stage's next attempt, noting why this one failed."""
    rec = _held(s, recording_sid, token)
    if rec is None:
        return False
    _release(rec, _WAITING[stage], reason)
    return True


def redownload(s: Session, recording_sid: str, token: str, reason: str) -> bool:
    """The kept file is missing or damaged: start again from the download."""
    rec = _held(s, recording_sid, token)
    if rec is None:
        return False
    rec.local_path = rec.sha256 = None
    _release(rec, PENDING, reason)
    return True


def reset(s: Session, rec: Recording) -> str | None:
    """Make a failed (or human-bound) recording wait for its stage again; return that stage.

    A recording whose audio is kept goes back to transcription; otherwise to the download.
    Recordings on their way, or without audio, are left alone (None).
    """
    if rec.pipeline not in (*FAILED, NEEDS_HUMAN):
        return None
    stage = TRANSCRIBE if rec.pipeline != DOWNLOAD_FAILED and rec.local_path else DOWNLOAD
    rec.pipeline, rec.claimed_by, rec.claimed_at = _WAITING[stage], None, None
    return stage


def failed(s: Session) -> list[Recording]:
    return list(s.scalars(select(Recording).where(Recording.pipeline.in_(FAILED), has_audio())
                          .order_by(Recording.created_at, Recording.id)))


def stuck(s: Session, now: datetime, lease: timedelta, grace: timedelta) -> list[tuple[str, str, bool]]:
    """Recordings that should be moving but may have no job: `(sid, stage, dead)` for each.

    Waiting ones older than `grace` (an enqueue lost with Redis down, a callback that never
    came), and ones held past the lease (`dead`: their worker died mid-job).
    """
    waiting = and_(Recording.pipeline.in_((PENDING, DOWNLOADED)), Recording.created_at < now - grace)
    dead = and_(Recording.pipeline.in_((DOWNLOADING, TRANSCRIBING)),
                or_(Recording.claimed_at.is_(None), Recording.claimed_at < now - lease))
    rows = s.execute(select(Recording.recording_sid, Recording.pipeline)
                     .where(has_audio(), or_(waiting, dead)).order_by(Recording.created_at, Recording.id))
    return [(sid, DOWNLOAD if p in (PENDING, DOWNLOADING) else TRANSCRIBE, p in (DOWNLOADING, TRANSCRIBING))
            for sid, p in rows]


def counts(s: Session) -> dict[str, int]:
    """How many recordings are in each pipeline state; `no_audio` counts the ones Twilio made none of."""
    out = {state: 0 for state in (*MOVING, *FINAL)}
    for state, n in s.execute(select(Recording.pipeline, func.count()).where(has_audio())
                              .group_by(Recording.pipeline)):
        out[state] = n
    out[NO_AUDIO] = s.scalar(select(func.count()).select_from(Recording).where(~has_audio())) or 0
    return out


# ---- the audio files (under RECORDINGS_DIR) ----

def relative_path(recording_sid: str, extension: str = "wav") -> str:
    # Fanned out by two characters of the SID so no directory grows to a citywide call-in day.
    return f"{recording_sid[2:4].lower() or 'xx'}/{recording_sid}.{extension}"


def save_audio(root: Path, recording_sid: str, blob: bytes, fmt: str, sample_rate: int,
               seconds: float) -> StoredAudio:
    """Write the audio atomically (a crash leaves no half file under the final name)."""
    rel = relative_path(recording_sid)
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{recording_sid}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return StoredAudio(rel, hashlib.sha256(blob).hexdigest(), len(blob), fmt, sample_rate, round(seconds, 3))


def load_audio(root: Path, local_path: str | None, sha256: str | None) -> bytes:
    """The kept audio, checked against its checksum.

    :raises AudioMissing: no file, or its bytes changed since the download.
    """
    if not local_path or not sha256:
        raise AudioMissing("no audio kept yet")
    path = root / local_path
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise AudioMissing(f"{path} is missing") from None
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise AudioMissing(f"{path} does not match its checksum")
    return blob
