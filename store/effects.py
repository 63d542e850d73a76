"""Carry out what a flow step decided: the only place flow effects touch the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from store import ballots, ideas, identity, participants
from store.models import Participant
from voice_flows.machine import (CastBallot, OptIn, OptOut, SaveRecordedIdea, SaveTextIdea, SetIdeaZip,
                                 SetLanguage, State, WithdrawIdea)


@dataclass(frozen=True)
class Who:
    """The caller as the store needs them for one request."""

    channel: str
    e164: str | None                  # None: withheld or not a phone number
    participant: Participant | None
    cycle_id: int | None
    secret: str
    call_sid: str | None = None


def author(who: Who, lang: str) -> ideas.Author:
    return ideas.Author(who.cycle_id, who.participant.id if who.participant else None, lang, who.call_sid)


def apply(s: Session, effects: list, state: State | None, who: Who, now: datetime) -> dict[str, Any]:
    """Apply the store effects among `effects`; return the values they produced (receipt, reference).

    :raises store.AlreadyVoted: from `CastBallot`, when another request cast this voter's ballot.
    """
    results: dict[str, Any] = {}
    lang = state.lang if state else "en"
    data = state.data if state else {}
    for e in effects:
        if isinstance(e, SetLanguage) and who.participant:
            participants.set_language(s, who.participant, e.lang)
        elif isinstance(e, SaveRecordedIdea):
            _, idea = ideas.record(s, who.call_sid or "", e.recording, "reported", author(who, lang), now)
            if idea:
                results["ref_code"] = data["idea_ref"] = idea.ref_code
        elif isinstance(e, WithdrawIdea):
            ideas.withdraw(s, e.recording_sid)
        elif isinstance(e, SetIdeaZip) and data.get("idea_ref"):
            idea = ideas.by_ref(s, data["idea_ref"])
            if idea:
                idea.zip_code = e.zip_code
        elif isinstance(e, SaveTextIdea):
            idea = ideas.add_text(s, author(who, lang), e.text, now)
            results["ref_code"] = data["idea_ref"] = idea.ref_code
        elif isinstance(e, CastBallot):
            assert who.e164 and who.cycle_id, "the flows let only identified callers vote"
            key = identity.voter_key(who.secret, who.cycle_id, who.e164)
            results["receipt"] = ballots.cast(s, who.cycle_id, key, e.numbers, who.channel, now)
        elif isinstance(e, OptOut) and who.participant:
            participants.opt_out(s, who.participant, now)
        elif isinstance(e, OptIn) and who.participant:
            participants.opt_in(s, who.participant)
    return results
