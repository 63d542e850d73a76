"""Transcripts of recorded ideas: the engine's text and staff corrections, side by side."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import Idea, Transcript

MACHINE, REVIEWED = "machine", "reviewed"


def add_machine(s: Session, recording_id: int, idea_id: int | None, engine: str, language: str, text: str,
                confidence: float | None, words: list[dict[str, Any]], alternatives: list[dict[str, Any]],
                seconds: float, now: datetime) -> tuple[Transcript, bool]:
    """Keep what `engine` heard; return the row and whether it is new.

    A second machine transcript from the same engine (a job that ran twice) is not added: the
    first one is returned instead.
    """
    row = Transcript(recording_id=recording_id, idea_id=idea_id, kind=MACHINE, engine=engine, language=language,
                     text=text, confidence=confidence, words=words, alternatives=alternatives, seconds=seconds,
                     created_at=now)
    try:
        with s.begin_nested():
            s.add(row)
        return row, True
    except IntegrityError:
        existing = s.scalar(select(Transcript).where(Transcript.recording_id == recording_id,
                                                     Transcript.engine == engine, Transcript.kind == MACHINE))
        assert existing is not None, "the unique index said this transcript exists"
        return existing, False


def add_review(s: Session, idea: Idea, text: str, reviewer: str, now: datetime) -> Transcript:
    """Keep a staff correction of a recorded idea as a new row; the machine text stays as it was.

    :raises ValueError: the idea has no recording to correct (a texted idea is its own text).
    """
    if idea.recording_id is None:
        raise ValueError(f"idea {idea.ref_code} was texted, not recorded: there is no transcript to correct")
    language = idea.language
    row = Transcript(recording_id=idea.recording_id, idea_id=idea.id, kind=REVIEWED, engine="staff",
                     language=language, text=text.strip(), confidence=None, words=[], alternatives=[],
                     seconds=None, reviewer=reviewer, created_at=now)
    s.add(row)
    s.flush()
    return row


def for_recordings(s: Session, recording_ids: Iterable[int]) -> dict[int, list[Transcript]]:
    """Every transcript of each recording, oldest first."""
    ids = list(set(recording_ids))
    out: dict[int, list[Transcript]] = {i: [] for i in ids}
    if not ids:
        return out
    for row in s.scalars(select(Transcript).where(Transcript.recording_id.in_(ids))
                         .order_by(Transcript.created_at, Transcript.id)):
        out[row.recording_id].append(row)
    return out


def machine(rows: list[Transcript]) -> Transcript | None:
    """The machine transcript among `rows` (the newest, if engines were switched)."""
    return next((r for r in reversed(rows) if r.kind == MACHINE), None)


def reviewed(rows: list[Transcript]) -> Transcript | None:
    """The newest staff correction among `rows`."""
    return next((r for r in reversed(rows) if r.kind == REVIEWED), None)
