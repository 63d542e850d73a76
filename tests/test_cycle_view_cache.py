"""The current cycle's view, reused between webhooks on PostgreSQL, never outlives a change to it."""
from __future__ import annotations

from sqlalchemy import select

import dataclasses

from hotline.cyclefile import DEMO, read
from store import cycles
from store.models import Cycle, Proposal
from tests.conftest import load_cycle, utcnow


def test_the_view_is_the_cycle_as_stored(db, demo):
    with db.unit_of_work() as s:
        assert cycles.current_view(s) == cycles.view(cycles.current(s))


def test_a_staff_edit_to_a_proposal_is_seen_at_once(db, demo):
    with db.unit_of_work() as s:
        before = cycles.current_view(s)
    with db.unit_of_work() as s:     # as the dashboard edits a title: the cycle row is untouched
        row = s.scalar(select(Proposal).where(Proposal.cycle_id == demo, Proposal.number == 3))
        row.title = {**row.title, "en": "A new title"}
        row.cost = row.cost + 1
    with db.unit_of_work() as s:
        after = cycles.current_view(s)
    assert after.proposal(3).title["en"] == "A new title"
    assert after.proposal(3).cost == before.proposal(3).cost + 1


def test_a_change_to_the_cycle_row_or_a_new_cycle_is_seen_at_once(db, demo):
    with db.unit_of_work() as s:
        cycles.current_view(s)
        s.scalar(select(Cycle).where(Cycle.id == demo)).budget_cap = 123
    with db.unit_of_work() as s:
        assert cycles.current_view(s).budget_cap == 123
    spec = read(DEMO, ("en",), now=utcnow())
    other = load_cycle(db, now=utcnow(), name="Another cycle", proposals=spec.proposals[:3])
    with db.unit_of_work() as s:
        view = cycles.current_view(s)
        stored = cycles.view(cycles.get(s, other))
    assert view.id == other and len(view.proposals) == 3
    assert dataclasses.asdict(view) == dataclasses.asdict(stored)


def test_no_cycle_gives_none(db):
    with db.unit_of_work() as s:
        assert cycles.current_view(s) is None
