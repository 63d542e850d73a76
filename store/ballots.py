"""Ballots: cast once per voter per cycle (a database constraint, not a check-then-write)."""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import AlreadyVoted
from store.codes import RECEIPT_DIGITS, new_code
from store.models import Ballot, BallotChoice, Proposal


def unordered_id() -> int:
    """A ballot id drawn at random: ids counted up would keep the casting order, and beside the
    times other tables keep of calls and texts that order points to who cast which ballot."""
    return secrets.randbelow(2**31 - 2) + 1


def receipt_for(s: Session, cycle_id: int, voter_key: str) -> str | None:
    return s.scalar(select(Ballot.receipt).where(Ballot.cycle_id == cycle_id, Ballot.voter_key == voter_key))


def cast(s: Session, cycle_id: int, voter_key: str, numbers: Sequence[int], channel: str,
         now: datetime) -> str:
    """Write the ballot and its choices atomically and return its receipt.

    :raises AlreadyVoted: when this voter already has a ballot in the cycle (also when another
        request won the race a moment ago: the unique constraint decides, under any load).
    """
    proposals = dict(s.execute(select(Proposal.number, Proposal.id).where(
        Proposal.cycle_id == cycle_id, Proposal.number.in_(list(numbers)))).all())
    if len(proposals) != len(set(numbers)):
        raise ValueError(f"not on this cycle's ballot: {sorted(set(numbers) - set(proposals))}")
    for _ in range(10):
        ballot = Ballot(id=unordered_id(), cycle_id=cycle_id, voter_key=voter_key,
                        receipt=new_code(RECEIPT_DIGITS), channel=channel, cast_on=now.date(),
                        choices=[BallotChoice(proposal_id=proposals[n]) for n in dict.fromkeys(numbers)])
        try:
            with s.begin_nested():
                s.add(ballot)
            return ballot.receipt
        except IntegrityError:
            existing = receipt_for(s, cycle_id, voter_key)
            if existing:
                raise AlreadyVoted(existing)
            # otherwise the random receipt or id clashed with another ballot's: draw again
    raise RuntimeError("could not find a free receipt code")


def choice_lists(s: Session, cycle_id: int) -> list[list[int]]:
    """Every ballot of the cycle as its list of proposal numbers (for the tally)."""
    rows = s.execute(select(BallotChoice.ballot_id, Proposal.number)
                     .join(Proposal, Proposal.id == BallotChoice.proposal_id)
                     .join(Ballot, Ballot.id == BallotChoice.ballot_id)
                     .where(Ballot.cycle_id == cycle_id)).all()
    ballots: dict[int, list[int]] = {}
    for ballot_id, number in rows:
        ballots.setdefault(ballot_id, []).append(number)
    return list(ballots.values())


def turnout(s: Session, cycle_id: int) -> dict[tuple[str, str], int]:
    """Ballots per (day, channel)."""
    rows = s.execute(select(Ballot.cast_on, Ballot.channel, func.count()).where(Ballot.cycle_id == cycle_id)
                     .group_by(Ballot.cast_on, Ballot.channel)).all()
    return {(str(day), channel): n for day, channel, n in rows}
