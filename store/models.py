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
    # Staff's judgement (store/review.py), kept on the idea so that the inbox's filters and counts read
    # one table through one index; the prose (summary, notes, reasons) is in idea_reviews.
    eligibility: Mapped[str | None] = mapped_column(String(16))   # eligible | not_eligible | follow_up
    priority_id: Mapped[int | None] = mapped_column(Integer)      # priorities.id (no FK: see migration 0003)


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


class RateCount(Base):
    """Texts or calls counted for one rate limit in one time window (hotline/ratelimit.py), kept
    here when there is no Redis. `key` holds the limit, the window and a keyed hash of the sender,
    never a number; rows past `expires_at` are dropped."""

    __tablename__ = "rate_counts"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)


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


# ---- the staff dashboard (hotline/dashboard): accounts, sign-in attempts, audit log, review of ideas ----

class Staff(Base):
    """Someone from the PB office who signs in to the dashboard: an `admin` or a `reviewer`."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)     # kept lower-case
    password_hash: Mapped[str] = mapped_column(String(255))          # scrypt$N$r$p$salt$hash
    role: Mapped[str] = mapped_column(String(16))                    # admin | reviewer
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Kept in the signed session cookie and compared on every request: bumping it (new password,
    # account disabled, role changed) signs that person out of every browser at once.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    last_login_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One try at signing in. Lock-outs are counted from here, not from process memory, because
    several web processes serve the dashboard."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "at"),
                      Index("ix_login_attempts_ip_at", "ip", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(index=True)


class AuditEvent(Base):
    """Who did what, when: every staff action that changes something, reveals a number or exports."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(254))     # the email at the time (kept if the account goes)
    action: Mapped[str] = mapped_column(String(64))     # e.g. idea.review, phone.reveal, staff.create
    target: Mapped[str | None] = mapped_column(String(120), index=True)   # e.g. idea:4821-337
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class Priority(Base):
    """One of a cycle's community priorities (Boston picks 15), into which staff sort ideas."""

    __tablename__ = "priorities"
    __table_args__ = (UniqueConstraint("cycle_id", "name", name="one_priority_name_per_cycle"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    proposal_number: Mapped[int | None] = mapped_column(Integer)    # the ballot proposal it became


class IdeaReview(Base):
    """What staff wrote about one idea: its English summary, notes, and the rulebook's reasons when
    not eligible (the judgement itself is `Idea.eligibility` and `Idea.priority_id`). The caller's
    words stay where they are (ideas.text, transcripts)."""

    __tablename__ = "idea_reviews"
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)         # rulebook criteria not met
    summary_en: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)   # two reviewers saving at once: the second is told
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime | None]


# The inbox at 50,000 ideas (bench/inbox_bench.py): newest-first pages walk the first index. On
# PostgreSQL, trigram indexes let a search `lower(x) LIKE '%words%'` skip the scan.
Index("ix_ideas_created_at_id", Idea.created_at, Idea.id)
# Every column the inbox filters and counts by: its counts are one scan of this index, not of the table.
Index("ix_ideas_facets", Idea.cycle_id, Idea.status, Idea.language, Idea.channel, Idea.eligibility,
      Idea.priority_id, Idea.zip_code, Idea.created_at)
for _name, _column in (("ix_ideas_text_trgm", Idea.text), ("ix_transcripts_text_trgm", Transcript.text),
                       ("ix_idea_reviews_summary_trgm", IdeaReview.summary_en),
                       ("ix_idea_reviews_notes_trgm", IdeaReview.notes)):
    Index(_name, func.lower(_column).label("lowered"), postgresql_using="gin",
          postgresql_ops={"lowered": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
