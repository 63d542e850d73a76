"""Removing residents' personal data once a cycle's retention period is over.

What goes: phone numbers (the encrypted ones, and the participant rows that tie ideas to them), the
recordings' audio, Twilio URLs and call SIDs, conversation state, webhooks' stored answers, rate-limit
counters. What stays: every idea with its text and transcripts (unlinked from any number), every
ballot, and so every count and result. Ballots never held a number (`store.identity.voter_key`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from store import NotFound
from store.models import (Ballot, Conversation, Cycle, Idea, Participant, ProcessedWebhook, RateCount, Recording,
                          Transcript)
from store.recordings import DOWNLOAD_FAILED, MOVING

PURGED = "audio removed after the retention period"


class TooSoon(Exception):
    """The cycle closed less than the retention period ago."""


@dataclass
class Purge:
    """What a purge removes (or, before `--yes`, would remove) and what it keeps."""

    cycle: str
    cutoff: datetime
    numbers_removed: int = 0           # participants deleted: their ideas no longer point to a number
    opted_out_kept: int = 0            # opted-out participants: number removed, keyed hash kept to honour STOP
    ideas_unlinked: int = 0
    recordings_scrubbed: int = 0       # Twilio URL and call SID removed
    audio_files: list[str] = field(default_factory=list)   # relative to RECORDINGS_DIR; deleted after commit
    conversations: int = 0
    stored_answers: int = 0
    rate_counts: int = 0
    kept_ideas: int = 0
    kept_transcripts: int = 0
    kept_ballots: int = 0


def cycle_end(cycle: Cycle) -> datetime:
    return max(cycle.ideas_close, cycle.voting_close)


def purge(s: Session, cycle_id: int, cutoff: datetime, now: datetime, apply: bool) -> Purge:
    """Remove (when `apply`) or count the personal data of cycle `cycle_id` older than `cutoff`.

    Recordings of the cycle's ideas, and recordings that carry no idea, made before `cutoff`; the
    numbers of everyone not heard from since `cutoff` (no conversation, no idea after it);
    conversations, stored answers and rate counters older than `cutoff`.

    :raises NotFound: no such cycle.
    :raises TooSoon: the cycle's last window closes after `cutoff`.
    """
    cycle = s.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(f"cycle {cycle_id}")
    if cycle_end(cycle) > cutoff:
        raise TooSoon(f"cycle {cycle.name!r} closes {cycle_end(cycle):%Y-%m-%d}, after the cutoff "
                      f"{cutoff:%Y-%m-%d}: its data is still within the retention period")
    out = Purge(cycle.name, cutoff)

    # Recordings: the cycle's ideas' and those that carry no idea at all.
    of_cycle = select(Idea.recording_id).where(Idea.cycle_id == cycle_id, Idea.recording_id.is_not(None))
    no_idea = ~exists().where(Idea.recording_id == Recording.id)
    recs = list(s.scalars(select(Recording).where(
        Recording.created_at < cutoff, or_(Recording.id.in_(of_cycle), no_idea),
        or_(Recording.url != "", Recording.call_sid != "", Recording.local_path.is_not(None)))))
    out.recordings_scrubbed = len(recs)
    out.audio_files = [r.local_path for r in recs if r.local_path]

    # Numbers: everyone not heard from since the cutoff.
    heard_since = or_(exists().where(Conversation.participant_id == Participant.id, Conversation.updated_at >= cutoff),
                      exists().where(Idea.participant_id == Participant.id, Idea.created_at >= cutoff))
    quiet = list(s.scalars(select(Participant).where(Participant.created_at < cutoff, ~heard_since,
                                                     or_(Participant.phone_encrypted != "",
                                                         Participant.opted_out.is_(False)))))
    out.opted_out_kept = sum(1 for p in quiet if p.opted_out)
    out.numbers_removed = len(quiet) - out.opted_out_kept
    quiet_ids = [p.id for p in quiet]
    unlink = or_(Idea.participant_id.in_(quiet_ids),
                 (Idea.cycle_id == cycle_id) & (Idea.created_at < cutoff) & Idea.participant_id.is_not(None))
    out.ideas_unlinked = s.scalar(select(func.count()).select_from(Idea).where(unlink)) or 0

    old_conversations = (Conversation.updated_at < cutoff) & (Conversation.expires_at < now)
    out.conversations = s.scalar(select(func.count()).select_from(Conversation).where(old_conversations)) or 0
    out.stored_answers = s.scalar(select(func.count()).select_from(ProcessedWebhook)
                                  .where(ProcessedWebhook.created_at < cutoff)) or 0
    out.rate_counts = s.scalar(select(func.count()).select_from(RateCount).where(RateCount.expires_at < now)) or 0

    if apply:
        for r in recs:
            if r.pipeline in MOVING:
                r.pipeline, r.last_error, r.claimed_by, r.claimed_at = DOWNLOAD_FAILED, PURGED, None, None
            r.url, r.call_sid, r.local_path, r.sha256 = "", "", None, None
        s.execute(update(Idea).where(unlink).values(participant_id=None))
        s.execute(update(Conversation).where(Conversation.participant_id.in_(quiet_ids)).values(participant_id=None))
        for p in quiet:
            if p.opted_out:
                p.phone_encrypted = ""      # the keyed hash alone still recognises a STOP
            else:
                s.delete(p)
        s.execute(delete(Conversation).where(old_conversations))
        s.execute(delete(ProcessedWebhook).where(ProcessedWebhook.created_at < cutoff))
        s.execute(delete(RateCount).where(RateCount.expires_at < now))
        s.flush()

    out.kept_ideas = s.scalar(select(func.count()).select_from(Idea).where(Idea.cycle_id == cycle_id)) or 0
    out.kept_transcripts = s.scalar(select(func.count()).select_from(Transcript)
                                    .join(Idea, Idea.id == Transcript.idea_id).where(Idea.cycle_id == cycle_id)) or 0
    out.kept_ballots = s.scalar(select(func.count()).select_from(Ballot).where(Ballot.cycle_id == cycle_id)) or 0
    return out


def delete_audio(root: Path, relative_paths: list[str]) -> tuple[int, list[str]]:
    """Delete the audio files (after the purge is committed); return how many went and which could not."""
    gone, failed = 0, []
    base = root.resolve()
    for rel in relative_paths:
        path = (root / rel).resolve()
        if base not in path.parents:          # a path that leads out of RECORDINGS_DIR is not ours
            failed.append(rel)
            continue
        try:
            path.unlink()
            gone += 1
        except FileNotFoundError:
            gone += 1
        except OSError:
            failed.append(rel)
    return gone, failed
