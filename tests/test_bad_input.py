"""Bad input that is not forgery: withheld caller IDs, senders that are not phone numbers, bodies too
long or full of control and direction characters."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from sms import segments
from store.models import Ballot, Idea, Participant
from tests.driver import CallDriver
from tests.figures import record

WITHHELD = ["+266696687", "anonymous", "Restricted", "Unknown", ""]
NOT_PHONE_NUMBERS = ["12345", "+1617555", "+19999999999", "client:alice", "sip:alice@example.org", "+1 (617) 555"]


def _ideas(db) -> list[Idea]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(Idea)))


@pytest.mark.parametrize("caller", WITHHELD)
def test_a_withheld_caller_may_leave_an_idea_but_not_vote(make_phone, demo, db, caller):
    call = CallDriver(make_phone(caller).dial())
    call.press("1").press("2").record(duration=9).press("1").press("#")
    assert call.said("idea.thanks")
    call.press("3")                                              # the menu: vote
    assert call.said("vote.anonymous")
    (idea,) = _ideas(db)
    assert idea.channel == "voice" and idea.participant_id is None
    with db.unit_of_work() as s:
        assert s.scalar(select(Participant.id)) is None and s.scalar(select(Ballot.id)) is None


@pytest.mark.parametrize("sender", WITHHELD + NOT_PHONE_NUMBERS)
def test_a_sender_that_is_not_a_phone_number_leaves_ideas_but_is_never_texted_and_never_votes(make_phone, demo, db,
                                                                                             sender):
    phone = make_phone(sender)
    for body in ("IDEA a splash pad in Franklin Park", "VOTE", "34", "02118", "3 7", "YES", "HELP", "STOP", "START"):
        assert phone.text(body) == [], body                     # an empty <Response/>, never a <Message>
        assert phone.last_status == 200
    assert [i.text for i in _ideas(db)] == ["a splash pad in Franklin Park"]
    with db.unit_of_work() as s:
        assert s.scalar(select(Ballot.id)) is None and s.scalar(select(Participant.id)) is None
    record(f"never_texted_{sender or 'empty'}", texts=9, replies=0, ideas_kept=1, ballots=0)


@pytest.mark.parametrize("body, kept", [
    ("IDEA " + "more trees " * 400, ("more trees " * 400).strip()[:segments.MAX_BODY - 5].strip()),
    ("IDEA more\x00 trees\x07 on\u202e Centre\u2066 St\x1b", "more trees on Centre St"),
    ("IDEA \u202dbenches\u202c\u200f on\r\n\r\nBlue Hill\tAve", "benches\u200f on\nBlue Hill Ave"),
    ("IDEA \ud83c\udf33 trees \ufeff\ufffe", "🌳 trees \ufeff"),
], ids=["4400 chars", "control and bidi", "embeddings and line breaks", "surrogates and noncharacters"])
def test_a_texted_idea_is_capped_and_cleaned(phone, demo, db, body, kept):
    phone.text(body.encode("utf-16", "surrogatepass").decode("utf-16") if "\ud83c" in body else body)
    (idea,) = _ideas(db)
    assert len(idea.text) <= segments.MAX_BODY
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in idea.text)
    assert not any(c in idea.text for c in "\x00\x07\x1b\r\t\ufffe")
    assert idea.text == segments.clean(idea.text) == kept


def test_a_body_past_twilios_limit_is_cut_to_it(phone, demo, db):
    phone.text("IDEA " + "x" * 10_000)
    (idea,) = _ideas(db)
    assert len(idea.text) <= segments.MAX_BODY
    record("body_capped", sent_chars=10_005, kept_chars=len(idea.text), limit=segments.MAX_BODY)
