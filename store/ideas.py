"""Ideas left by text or by phone, and the recordings behind them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from store.codes import IDEA_DIGITS, new_code
from store.models import Idea, Recording
from voice_flows.machine import RecordingInfo

RECEIVED, WITHDRAWN = "received", "withdrawn"
_SID_IN_URL = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})")


@dataclass(frozen=True)
class Author:
    cycle_id: int | None
    participant_id: int | None
    language: str
    call_sid: str | None = None


def _add_with_code(s: Session, idea: Idea) -> Idea:
    for _ in range(10):   # a clash of random codes is rare; try again with another
        idea.ref_code = new_code(IDEA_DIGITS)
        try:
            with s.begin_nested():
                s.add(idea)
            return idea
        except IntegrityError:
            s.expunge(idea) if idea in s else None
    raise RuntimeError("could not find a free reference code")


def add_text(s: Session, author: Author, text: str, now: datetime) -> Idea:
    return _add_with_code(s, Idea(cycle_id=author.cycle_id, participant_id=author.participant_id, channel="sms",
                                  language=author.language, text=text, status=RECEIVED, created_at=now))


def sid_from_url(url: str) -> str | None:
    m = _SID_IN_URL.search(url or "")
    return m.group(1) if m else None


def record(s: Session, call_sid: str, rec: RecordingInfo, status: str, author: Author | None,
           now: datetime) -> tuple[Recording, Idea | None]:
    """Keep a recording Twilio reported (by the Record action or the status callback, in either
    order) and the idea it carries; the same RecordingSid twice changes nothing more.

    A recording of zero seconds, or one Twilio could not make, is kept but is not an idea.
    """
    row = s.scalar(select(Recording).where(Recording.recording_sid == rec.sid).with_for_update())
    if row is None:
        row = Recording(recording_sid=rec.sid, call_sid=call_sid, url=rec.url, duration=rec.duration,
                        status=status, created_at=now)
        try:
            with s.begin_nested():
                s.add(row)
        except IntegrityError:
            row = s.scalar(select(Recording).where(Recording.recording_sid == rec.sid))
    elif status != "reported":   # the callback's word is final; the action's is provisional
        row.status, row.duration = status, rec.duration or row.duration
        row.url = rec.url or row.url
    idea = s.scalar(select(Idea).where(Idea.recording_id == row.id))
    if idea is None and author is not None and row.duration > 0 and row.status in ("reported", "completed"):
        idea = _add_with_code(s, Idea(cycle_id=author.cycle_id, participant_id=author.participant_id,
                                      channel="voice", language=author.language, status=RECEIVED,
                                      recording_id=row.id, created_at=now))
    return row, idea


def by_recording(s: Session, recording_sid: str) -> Idea | None:
    return s.scalar(select(Idea).join(Recording).where(Recording.recording_sid == recording_sid))


def by_ref(s: Session, ref_code: str) -> Idea | None:
    return s.scalar(select(Idea).where(Idea.ref_code == ref_code))


def withdraw(s: Session, recording_sid: str) -> None:
    idea = by_recording(s, recording_sid)
    if idea is not None:
        idea.status = WITHDRAWN


def all_for_export(s: Session, cycle_id: int | None) -> list[Idea]:
    q = select(Idea).options(selectinload(Idea.recording)).order_by(Idea.created_at, Idea.id)
    if cycle_id is not None:
        q = q.where(Idea.cycle_id == cycle_id)
    return list(s.scalars(q))


# ---- an idea's text, in one place ----

@dataclass(frozen=True)
class IdeaText:
    """An idea's current text and where it comes from.

    `source` is `reviewed` (a staff correction), `machine` (a transcriber), `sms` (as texted) or
    `none` (a recording nobody has transcribed yet).
    """

    text: str
    source: str
    engine: str | None = None
    confidence: float | None = None
    language: str | None = None
    machine_text: str | None = None     # kept beside a correction, never overwritten by it


def current_texts(s: Session, items: list[Idea]) -> dict[int, IdeaText]:
    """The current text of each idea (by id): reviewed transcript, else machine transcript, else
    the texted words. Exports and the dashboard read an idea's text from here and nowhere else."""
    from store import transcripts

    by_recording = transcripts.for_recordings(s, [i.recording_id for i in items if i.recording_id is not None])
    out: dict[int, IdeaText] = {}
    for idea in items:
        rows = by_recording.get(idea.recording_id, []) if idea.recording_id is not None else []
        machine, reviewed = transcripts.machine(rows), transcripts.reviewed(rows)
        machine_text = machine.text if machine else None
        if reviewed is not None:
            out[idea.id] = IdeaText(reviewed.text, "reviewed", reviewed.engine, None, reviewed.language, machine_text)
        elif machine is not None:
            out[idea.id] = IdeaText(machine.text, "machine", machine.engine, machine.confidence, machine.language,
                                    machine_text)
        elif idea.text:
            out[idea.id] = IdeaText(idea.text, "sms" if idea.channel == "sms" else "idea", language=idea.language)
        else:
            out[idea.id] = IdeaText("", "none", language=idea.language)
    return out


def current_text(s: Session, idea: Idea) -> IdeaText:
    """The current text of one idea (see `current_texts`)."""
    return current_texts(s, [idea])[idea.id]
