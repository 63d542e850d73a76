"""The database tables, as typed SQLAlchemy 2.0 models."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: DateTime(timezone=False)}


class Cycle(Base):
    """One yearly PB cycle: its windows (UTC), budget cap and voting rules."""

    __tablename__ = "cycles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    ideas_open: Mapped[datetime]
    ideas_close: Mapped[datetime]
    voting_open: Mapped[datetime]
    voting_close: Mapped[datetime]
    budget_cap: Mapped[int] = mapped_column(BigInteger)
    max_choices: Mapped[int] = mapped_column(Integer, default=5)
    min_age: Mapped[int] = mapped_column(Integer, default=11)
    min_grade: Mapped[int | None] = mapped_column(Integer)
    residency: Mapped[dict[str, Any]]       # ZIP -> residential | shared | po-box
    tie_rule: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    proposals: Mapped[list["Proposal"]] = relationship(back_populates="cycle", cascade="all, delete-orphan",
                                                       order_by="Proposal.number")


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("cycle_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    cost: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[dict[str, Any]]          # language tag -> text
    description: Mapped[dict[str, Any]]
    cycle: Mapped[Cycle] = relationship(back_populates="proposals")


class Participant(Base):
    """A resident who has called or texted from a real phone number.

    The number is kept only encrypted (staff may need to call back about an idea) and as a
    keyed hash (to find the row again); neither is used by ballots.
    """

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_encrypted: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class Recording(Base):
    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    duration: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32))    # reported | completed | failed | absent | empty
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp(),
                                                 onupdate=func.current_timestamp())
    # The recording pipeline (hotline/jobs.py): where the audio is kept and how far it got.
    # pending | downloading | downloaded | transcribing (moving) — transcribed | needs_human |
    # download_failed | transcription_failed (final; the failures can be retried by staff).
    pipeline: Mapped[str] = mapped_column(String(32), default="pending", server_default="pending", index=True)
    local_path: Mapped[str | None] = mapped_column(Text)       # relative to RECORDINGS_DIR
    sha256: Mapped[str | None] = mapped_column(String(64))
    bytes: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(32))     # e.g. wav/pcm16, wav/mulaw
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    audio_seconds: Mapped[float | None] = mapped_column(Float)  # measured from the file, not Twilio's figure
    download_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    transcribe_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Which job holds the recording and since when: a second job keeps off until the lease runs out.
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None]


class Idea(Base):
    __tablename__ = "ideas"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref_code: Mapped[str] = mapped_column(String(16), unique=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id", ondelete="SET NULL"), index=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(8))          # voice | sms
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    zip_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(32), index=True)   # received | withdrawn
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    recording: Mapped[Recording | None] = relationship()


class Ballot(Base):
    """A cast ballot.

    `voter_key` is a keyed hash of cycle and phone number made with its own derivation, so it
    joins to nothing else in the database; only the day is kept, not the time, so that call
    logs cannot be matched to a ballot either.
    """

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("cycle_id", "voter_key", name="one_ballot_per_voter"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"), index=True)
    voter_key: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    cast_on: Mapped[date] = mapped_column(Date)
    choices: Mapped[list["BallotChoice"]] = relationship(cascade="all, delete-orphan")


class BallotChoice(Base):
    __tablename__ = "ballot_choices"
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)


class Conversation(Base):
    """Where a call (by CallSid) or a text conversation (by number hash) stands.

    All of it lives here so that any web process can take the next request.
    """

    __tablename__ = "conversations"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    node: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class ProcessedWebhook(Base):
    """A webhook already acted on, with the answer given, so a repeat gets the same answer."""

    __tablename__ = "processed_webhooks"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp(), index=True)


class Transcript(Base):
    """What was said in a recording: the engine's text (`machine`) or a staff correction (`reviewed`).

    A correction is a new row, so the machine text is never lost; the newest reviewed row wins
    (`store.ideas.current_text`). One machine transcript per recording and engine, so a job that
    runs twice cannot leave two.
    """

    __tablename__ = "transcripts"
    __table_args__ = (
        Index("one_machine_transcript", "recording_id", "engine", unique=True,
              sqlite_where=text("kind = 'machine'"), postgresql_where=text("kind = 'machine'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))             # machine | reviewed
    engine: Mapped[str] = mapped_column(String(32))           # google | pocketsphinx | staff
    language: Mapped[str] = mapped_column(String(32))         # the speech code heard (en-US, yue-Hant-HK…)
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)         # word, start, end, confidence
    alternatives: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # text, confidence
    seconds: Mapped[float | None] = mapped_column(Float)      # how long the engine took
    reviewer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
