"""Cycles and their ballots: saving a cycle file's contents, and the view flows read."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, selectinload

from store.ballots import receipt_for
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


# The current cycle's row versions on PostgreSQL: the cycle row's xmin and each of its proposals'
# (id.xmin). Any write to the cycle or to its proposals (a reload, a staff edit, a proposal added
# or removed) gives a new fingerprint, so a view cached under the old one is never served again.
_FINGERPRINT_SQL = (
    "SELECT c.id, c.xmin::text, (SELECT string_agg(p.id::text || '.' || p.xmin::text, ',' ORDER BY p.id) "
    "FROM proposals p WHERE p.cycle_id = c.id){receipt} FROM cycles c ORDER BY c.loaded_at DESC, c.id DESC LIMIT 1")
_FINGERPRINT = text(_FINGERPRINT_SQL.format(receipt=""))
# The same, with the caller's receipt in the cycle the last request found current (almost always
# still the current one): the receipt costs no round trip of its own.
_FINGERPRINT_AND_RECEIPT = text(_FINGERPRINT_SQL.format(
    receipt=", (SELECT b.receipt FROM ballots b WHERE b.cycle_id = :cycle AND b.voter_key = :voter)"))
_views: dict[tuple, CycleView] = {}
_VIEWS_KEPT = 8
_last_current: dict[str, int] = {}     # database URL -> the current cycle's id when last seen (a hint)


def current_view(s: Session) -> CycleView | None:
    """`view(current(s))`, without reading the cycle and its 15 proposals on every webhook.

    On PostgreSQL one small query fingerprints the current cycle's rows and an unchanged cycle's
    view is reused (it was 2 queries and ~1 ms of ORM work per webhook; BENCHMARKS.md). The check
    runs on every call, so every process sees a change at once: nothing is trusted from memory.
    Elsewhere (SQLite) the cycle is read each time.
    """
    return current_view_and_receipt(s, None)[0]


def current_view_and_receipt(s: Session, voter_key: Callable[[int], str] | None
                             ) -> tuple[CycleView | None, str | None]:
    """The current cycle's view and, when `voter_key` (cycle id -> the caller's voter key) is
    given, the caller's receipt in it (None: not voted)."""
    bind = s.get_bind()
    if bind.dialect.name != "postgresql":
        found = view(current(s))
        return found, (receipt_for(s, found.id, voter_key(found.id)) if found and voter_key else None)
    url = str(bind.url)
    guess = _last_current.get(url) if voter_key else None
    if guess is None:
        row = s.execute(_FINGERPRINT).first()
    else:
        row = s.execute(_FINGERPRINT_AND_RECEIPT, {"cycle": guess, "voter": voter_key(guess)}).first()
    if row is None:
        return None, None
    cycle_id, fingerprint = row[0], tuple(row[:3])
    _last_current[url] = cycle_id
    found = _views.get((url, *fingerprint))
    if found is None:
        found = view(get(s, cycle_id))
        if len(_views) >= _VIEWS_KEPT:
            _views.clear()
        _views[(url, *fingerprint)] = found
    if not voter_key:
        return found, None
    return found, (row[3] if cycle_id == guess else receipt_for(s, cycle_id, voter_key(cycle_id)))


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
