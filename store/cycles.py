"""Cycles and their ballots: saving a cycle file's contents, and the view flows read."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from store.models import Ballot, Cycle, Proposal
from voice_flows.machine import CycleView, ProposalView


class BallotInUse(Exception):
    """Ballots were cast on this cycle, and the file changes what they voted for."""


def save(s: Session, spec, now: datetime, force: bool = False) -> Cycle:
    """Create the cycle named in `spec`, or replace its settings and ballot; it becomes current.

    :raises BallotInUse: when ballots exist and a proposal's number, cost or English title
        would change under them (unless `force`): votes would count for something else.
    """
    cycle = s.scalar(select(Cycle).where(Cycle.name == spec.name).options(selectinload(Cycle.proposals)))
    if cycle is not None and not force:
        changed = _changed_under_votes(s, cycle, spec)
        if changed:
            raise BallotInUse("ballots were already cast on this cycle and these proposals would change "
                              f"under them: {', '.join(map(str, changed))}")
    if cycle is None:
        cycle = Cycle(name=spec.name)
        s.add(cycle)
    for attr in ("timezone", "ideas_open", "ideas_close", "voting_open", "voting_close", "budget_cap",
                 "max_choices", "min_age", "min_grade", "residency", "tie_rule"):
        setattr(cycle, attr, getattr(spec, attr))
    cycle.loaded_at = now
    existing = {p.number: p for p in cycle.proposals}
    wanted = {p.number for p in spec.proposals}
    for number, p in existing.items():
        if number not in wanted:
            cycle.proposals.remove(p)
    for p in spec.proposals:
        row = existing.get(p.number) or Proposal(number=p.number)
        row.cost, row.title, row.description = p.cost, p.title, p.description
        if p.number not in existing:
            cycle.proposals.append(row)
    s.flush()
    return cycle


def _changed_under_votes(s: Session, cycle: Cycle, spec) -> list[int]:
    if not s.scalar(select(func.count()).select_from(Ballot).where(Ballot.cycle_id == cycle.id)):
        return []
    before = {p.number: (p.cost, p.title.get("en")) for p in cycle.proposals}
    after = {p.number: (p.cost, p.title.get("en")) for p in spec.proposals}
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


def current(s: Session) -> Cycle | None:
    """The cycle the line serves: the one loaded last."""
    return s.scalar(select(Cycle).order_by(Cycle.loaded_at.desc(), Cycle.id.desc()).limit(1)
                    .options(selectinload(Cycle.proposals)))


def get(s: Session, cycle_id: int | None) -> Cycle | None:
    if cycle_id is None:
        return current(s)
    return s.scalar(select(Cycle).where(Cycle.id == cycle_id).options(selectinload(Cycle.proposals)))


def view(cycle: Cycle | None) -> CycleView | None:
    if cycle is None:
        return None
    return CycleView(
        id=cycle.id, name=cycle.name, timezone=cycle.timezone,
        ideas_open=cycle.ideas_open, ideas_close=cycle.ideas_close,
        voting_open=cycle.voting_open, voting_close=cycle.voting_close,
        budget_cap=cycle.budget_cap, max_choices=cycle.max_choices, min_age=cycle.min_age,
        min_grade=cycle.min_grade, residency=dict(cycle.residency),
        proposals=tuple(ProposalView(p.number, p.cost, dict(p.title), dict(p.description or {}))
                        for p in cycle.proposals))
