"""A resident's number and choices stay private: what a database dump holds, what staff see, what is
purged after the cycle, and what the logs print."""
from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from hotline import cli, logs
from hotline.phone import Phone
from store import identity, privacy
from store.models import (Ballot, BallotChoice, Base, Conversation, Cycle, Idea, Participant, ProcessedWebhook,
                          Recording, Transcript)
from tests.conftest import AUTH_TOKEN, utcnow
from tests.driver import CallDriver, TextDriver
from tests.figures import record
from tests.staff_driver import as_staff, recorded_idea, vote_by_text

VOTERS = ["+16175550611", "+16175550612", "+16175550613", "+16175550614"]
CALLERS = ["+16175550621", "+16175550622", "+16175550623", "+16175550624"]


def forms(e164: str) -> list[str]:
    """Every way a US number may be written: E.164, with the country code, national, and punctuated."""
    digits = e164[2:]
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [e164, e164[1:], digits, f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a} {b} {c}", f"{a}.{b}.{c}"]


def vote_by_call(phone: Phone, choices: tuple[str, ...] = ("3#", "7#")) -> str:
    call = CallDriver(phone.dial())
    call.press("1").press("3").press("34#").press("02118#").press("2")
    for c in choices:
        call.press(c)
    call.press("#").press("1")
    m = call.said("ballot.cast")
    assert m, call.spoken()
    return re.sub(r"\D", "", m.group("receipt"))


def dump(db) -> dict[str, list[dict[str, str]]]:
    """Every row of every table, each value as text: what a database dump gives away."""
    with db.unit_of_work() as s:
        return {t.name: [{k: "" if v is None else str(v) for k, v in row._mapping.items()}
                         for row in s.execute(t.select())]
                for t in Base.metadata.sorted_tables}


@pytest.fixture
def voted(make_phone, demo, db):
    """Four residents voted (two by phone, two by text), and others left ideas by phone."""
    receipts = {}
    for i, number in enumerate(VOTERS):
        receipts[number] = (vote_by_call(make_phone(number)) if i % 2 == 0
                            else vote_by_text(make_phone, number, "1 2 3"))
    for number in CALLERS:
        call = CallDriver(make_phone(number).dial())
        call.press("1").press("2").record(duration=7).press("1").press("02118#")
    return receipts


# ---- a database dump ----

def test_a_database_dump_cannot_tie_a_ballot_or_a_choice_to_a_number(voted, db, config):
    rows = dump(db)
    with db.unit_of_work() as s:
        ballots = list(s.scalars(select(Ballot)))
    assert len(ballots) == len(VOTERS)
    elsewhere = {name: table for name, table in rows.items() if name not in ("ballots", "ballot_choices")}
    everything_else = "\n".join(v for table in elsewhere.values() for row in table for v in row.values())
    everything = "\n".join(v for table in rows.values() for row in table for v in row.values())

    # No number is written anywhere in the clear, in any form.
    for number in VOTERS + CALLERS:
        for written in forms(number):
            assert written not in everything, f"{written} is in the dump"
    # What identifies a ballot appears nowhere else: not its receipt, its voter key or its id.
    for b in ballots:
        assert b.receipt not in everything_else and b.voter_key not in everything_else
        for i, number in enumerate(VOTERS):
            assert b.voter_key != identity.phone_hash(config.secret_key, number)
    # Only ballot_choices points at ballots, and ballots point only at their cycle.
    tables = Base.metadata.tables
    assert {fk.parent.table.name for t in tables.values() for fk in t.foreign_keys
            if fk.column.table.name == "ballots"} == {"ballot_choices"}
    assert {fk.column.table.name for fk in tables["ballots"].foreign_keys} == {"cycles"}
    # A ballot keeps the day only, and its id says nothing of the order ballots were cast in.
    assert {c.name: type(c.type).__name__ for c in tables["ballots"].columns}["cast_on"] == "Date"
    assert not any(type(c.type).__name__ == "DateTime" for c in tables["ballots"].columns)
    ids = [b.id for b in ballots]
    assert sorted(ids) != list(range(min(ids), min(ids) + len(ids)))
    # Stored answers hold receipts and choices, so they are sealed; conversations keep no choices.
    assert rows["processed_webhooks"] and all("<Response" not in r["response"] for r in rows["processed_webhooks"])
    with db.unit_of_work() as s:
        for convo in s.scalars(select(Conversation)):
            assert not convo.data.get("choices"), convo.data
    record(f"privacy_dump_{db.engine.dialect.name}", tables=len(rows),
           columns=sum(len(t.columns) for t in tables.values()), values_searched=sum(len(r) for t in rows.values() for r in t), numbers_in_clear=0,
           ballot_identifiers_outside_ballot_tables=0, stored_answers_sealed=len(rows["processed_webhooks"]))


def test_staff_pages_never_show_a_receipt_or_a_number_beside_a_ballot(voted, client, db, demo):
    as_staff(client, db, "admin", "admin@boston.gov")
    pages = ["/staff/", "/staff/ideas", "/staff/ideas.csv", "/staff/ballot", "/staff/ballot/cycles",
             f"/staff/ballot/{demo}", f"/staff/ballot/{demo}/turnout", f"/staff/ballot/{demo}/results",
             f"/staff/ballot/{demo}/results.csv", "/staff/audit"]
    with db.unit_of_work() as s:
        refs = [i.ref_code for i in s.scalars(select(Idea))]
        voter_keys = [b.voter_key for b in s.scalars(select(Ballot))]
    pages += [f"/staff/ideas/{ref}" for ref in refs]
    seen = 0
    for page in pages:
        resp = client.get(page, follow_redirects=True)
        assert resp.status_code == 200, page
        body = resp.get_data(as_text=True)
        seen += 1
        for receipt in voted.values():
            assert receipt not in body, f"receipt on {page}"
        for key in voter_keys:
            assert key not in body and key[:16] not in body, f"voter key on {page}"
        for number in VOTERS + CALLERS:
            assert number not in body and number[2:] not in body, f"number on {page}"
    record("privacy_staff_pages", pages_checked=seen, receipts_shown=0, voter_keys_shown=0, full_numbers_shown=0)


def test_recordings_are_served_only_to_signed_in_staff(app, db, demo, config):
    ref = recorded_idea(db, config.recordings_dir, cycle_id=demo)
    anonymous = app.test_client()
    resp = anonymous.get(f"/staff/ideas/{ref}/audio")
    assert resp.status_code in (302, 401, 403) and b"RIFF" not in resp.data
    for probe in (f"/audio/recorded/en/../../recordings/{ref}.wav", "/audio/recorded/en/%2e%2e%2fsecret.wav",
                  f"/audio/say/en/{ref}.wav"):
        assert anonymous.get(probe).status_code == 404, probe
    staff_client = app.test_client()
    as_staff(staff_client, db, "reviewer", "reviewer@boston.gov")
    resp = staff_client.get(f"/staff/ideas/{ref}/audio")
    assert resp.status_code == 200 and resp.data[:4] == b"RIFF"
    assert "no-store" in resp.headers["Cache-Control"]


# ---- the purge after the cycle ----

def _close_cycle(db, cycle_id: int, days_ago: int) -> None:
    """Move the cycle and everything said on the line `days_ago` days back, as if time had passed."""
    then = utcnow() - timedelta(days=days_ago)
    with db.unit_of_work() as s:
        s.execute(update(Cycle).where(Cycle.id == cycle_id).values(ideas_close=then, voting_close=then))
        for model, column in ((Participant, "created_at"), (Idea, "created_at"), (Recording, "created_at"),
                              (Conversation, "updated_at"), (ProcessedWebhook, "created_at")):
            s.execute(update(model).values({column: then - timedelta(days=1)}))
        s.execute(update(Conversation).values(expires_at=then - timedelta(days=1)))


def test_purge_removes_numbers_and_recordings_and_keeps_ideas_and_counts(voted, make_phone, db, demo, config,
                                                                         monkeypatch, tmp_path):
    recorded_idea(db, config.recordings_dir, cycle_id=demo, machine="more benches on blue hill avenue")
    with db.unit_of_work() as s:
        audio = config.recordings_dir / s.scalar(select(Recording.local_path).where(Recording.local_path.is_not(None)))
    texter = TextDriver(make_phone("+16175550631"))
    texter.send("IDEA a skate park in Hyde Park")
    TextDriver(make_phone("+16175550632")).send("STOP")          # opted out: must stay opted out
    for key, value in {"DATABASE_URL": db.url, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": config.secret_key,
                       "RECORDINGS_DIR": str(config.recordings_dir), "HOTLINE_INSTANCE": str(tmp_path / "i"),
                       "REDIS_URL": ""}.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    results_before = runner.invoke(cli.main, ["results", "--cycle", str(demo), "--format", "json"]).stdout

    refused = runner.invoke(cli.main, ["privacy", "purge", "--cycle", str(demo), "--yes"])
    assert refused.exit_code != 0 and "retention period" in refused.output      # the cycle is still open

    _close_cycle(db, demo, days_ago=100)
    with db.unit_of_work() as s:
        ideas_before = {i.ref_code: i.text for i in s.scalars(select(Idea))}
        transcripts_before = s.scalar(select(Transcript.text))
    before = dump(db)
    dry = runner.invoke(cli.main, ["privacy", "purge", "--cycle", str(demo), "--older-than", "90"])
    assert dry.exit_code == 0 and "Nothing was removed" in dry.output, dry.output
    assert dump(db) == before and audio.exists()

    done = runner.invoke(cli.main, ["privacy", "purge", "--cycle", str(demo), "--older-than", "90", "--yes"])
    assert done.exit_code == 0, done.output
    people = len(VOTERS) + len(CALLERS) + 1      # + the texter; the opted-out number is counted apart
    assert f"phone numbers: {people}  (and 1 opted-out" in done.output, done.output
    assert not audio.exists()
    with db.unit_of_work() as s:
        assert [(p.phone_encrypted, p.opted_out) for p in s.scalars(select(Participant))] == [("", True)]
        assert all(r.url == "" and r.call_sid == "" and r.local_path is None for r in s.scalars(select(Recording)))
        assert s.scalar(select(Conversation.key)) is None and s.scalar(select(ProcessedWebhook.key)) is None
        ideas_after = {i.ref_code: i.text for i in s.scalars(select(Idea))}
        assert all(i.participant_id is None for i in s.scalars(select(Idea)))
        assert s.scalar(select(Transcript.text)) == transcripts_before
        assert len(list(s.scalars(select(Ballot)))) == len(VOTERS)
        assert len(list(s.scalars(select(BallotChoice)))) == 2 + 3 + 2 + 3
    assert ideas_after == ideas_before                                  # every idea, every text kept
    results_after = runner.invoke(cli.main, ["results", "--cycle", str(demo), "--format", "json"]).stdout
    assert json.loads(results_after) == json.loads(results_before)      # and so every count

    # The opted-out number is still recognised: a text from it is still answered with silence.
    assert TextDriver(make_phone("+16175550632")).send("VOTE") == []
    again = runner.invoke(cli.main, ["privacy", "purge", "--cycle", str(demo), "--older-than", "90", "--yes"])
    assert again.exit_code == 0 and "phone numbers: 0" in again.output and "audio files deleted: 0" in again.output
    record(f"privacy_purge_{db.engine.dialect.name}", numbers_removed=people, opted_out_kept_as_hash=1,
           audio_files_deleted=1, ideas_kept=len(ideas_after), ballots_kept=len(VOTERS),
           results_unchanged=True, second_purge_removed=0)


def test_a_purged_idea_still_opens_for_staff(client, db, demo, config):
    ref = recorded_idea(db, config.recordings_dir, cycle_id=demo, machine="a mural on the library wall")
    _close_cycle(db, demo, days_ago=100)
    with db.unit_of_work() as s:
        privacy.purge(s, demo, utcnow() - timedelta(days=90), utcnow(), apply=True)
    as_staff(client, db, "admin", "admin@boston.gov")
    page = client.get(f"/staff/ideas/{ref}")
    assert page.status_code == 200 and "a mural on the library wall" in page.get_data(as_text=True)
    assert client.get(f"/staff/ideas/{ref}/audio").status_code == 404


# ---- logs ----

def test_logs_never_print_a_number_or_the_auth_token(app, db, demo, config, capsys, make_phone):
    logs.configure(secrets=(config.auth_token, config.secret_key), level="DEBUG")
    try:
        number = "+16175550641"
        vote_by_call(make_phone(number))
        call = CallDriver(make_phone(number).dial())
        call.press("1").press("2").record(duration=6).press("1").press("02118#")
        vote_by_text(make_phone, "+16175550642")
        TextDriver(make_phone("+16175550643")).send("IDEA call me back at 617-555-0643 about the park")
        TextDriver(make_phone("+16175550644")).send("STOP")
        forged = app.test_client().post("/sms/incoming", data={"From": number, "Body": "VOTE"},
                                        headers={"X-Twilio-Signature": "forged"})
        assert forged.status_code == 403
        logging.getLogger("hotline.test").warning("a number passed through: %s and %s", number, config.auth_token)
        with db.engine.connect() as c:      # a database error's text in the logs, too
            try:
                c.execute(text("SELECT no_such_column FROM participants"))
            except Exception as e:  # noqa: BLE001
                logging.getLogger("hotline.test").exception("query failed for %s: %s", number, e)
    finally:
        logs.configure(secrets=(config.auth_token, config.secret_key))
    err = capsys.readouterr().err
    assert "POST /voice/step" in err and "POST /sms/incoming" in err           # the logs were captured
    for n in (number, "+16175550642", "+16175550643", "+16175550644"):
        for written in forms(n):
            assert written not in err, f"{written} in the logs"
    assert config.auth_token not in err and config.secret_key not in err
    record("privacy_logs", log_lines=len(err.splitlines()), full_numbers=0, auth_tokens=0, secret_keys=0)
