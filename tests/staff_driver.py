"""Staff at the dashboard, for tests: accounts, signing in, forms with their CSRF token, and ideas,
recordings and ballots made the way the line makes them."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from functools import cache
from pathlib import Path

import prompts
from hotline.dashboard import passwords
from hotline.phone_cli import make_tone_wav
from store import ideas, recordings, staff, transcripts
from tests.conftest import utcnow
from tests.driver import TextDriver
from voice_flows.machine import RecordingInfo

PASSWORD = "a long staff passphrase"


@cache
def _hash() -> str:
    """One real scrypt hash for the whole run: accounts are made per test, hashing once is enough."""
    return passwords.hash_password(PASSWORD)


def make_staff(db, email: str = "reviewer@boston.gov", role: str = "reviewer") -> int:
    with db.unit_of_work() as s:
        return staff.create(s, email, role, _hash(), utcnow()).id


def as_staff(client, db, role: str = "reviewer", email: str | None = None) -> str:
    """Sign the test client in without the form (the form has its own tests); return the email."""
    email = email or f"{role}@boston.gov"
    staff_id = make_staff(db, email, role)
    with client.session_transaction("/staff/") as session:
        session.update(staff=staff_id, epoch=0, since=utcnow().timestamp(), csrf="test-csrf-token")
    return email


def csrf(client) -> str:
    """This session's CSRF token (made by fetching the sign-in page if the session has none)."""
    with client.session_transaction("/staff/") as session:
        token = session.get("csrf")
    if token:
        return token
    page = client.get("/staff/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def post(client, url: str, data: dict | None = None, **kwargs):
    """Submit a dashboard form as the browser would, token included."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf(client)}, **kwargs)


def sign_in(client, email: str, password: str = PASSWORD):
    return post(client, "/staff/login", {"email": email, "password": password})


def text_idea(make_phone, body: str, number: str = "+16175550123", zip_code: str | None = None) -> str:
    """A resident texts an idea (and maybe their ZIP); return its reference code."""
    texter = TextDriver(make_phone(number))
    texter.send(f"IDEA {body}")
    # The line answers in the language the idea is written in.
    m = next(filter(None, (texter.said("idea.saved", lang=lang) for lang in prompts.languages())), None)
    assert m, texter.replies
    if zip_code:
        texter.send(zip_code)
    return m.group("ref")


def recorded_idea(db, root: Path, *, seconds: float = 6.0, lang: str = "en", machine: str | None = None,
                  words: list[dict] | None = None, cycle_id: int | None = None, kept: bool = True) -> str:
    """A recorded idea as the pipeline leaves it: audio kept under RECORDINGS_DIR (if `kept`) and,
    given `machine`, the engine's transcript. Returns the idea's reference code."""
    sid = "RE" + uuid.uuid4().hex
    now = utcnow()
    with db.unit_of_work() as s:
        rec, idea = ideas.record(s, "CA" + uuid.uuid4().hex,
                                 RecordingInfo(sid, f"https://api.twilio.com/2010-04-01/Recordings/{sid}",
                                               round(seconds)),
                                 "completed", ideas.Author(cycle_id, None, lang), now)
        ref, recording_id, idea_id = idea.ref_code, rec.id, idea.id
    if kept:
        wav = root.parent / f"{sid}.src.wav"
        make_tone_wav(str(wav), seconds=seconds)
        stored = recordings.save_audio(root, sid, wav.read_bytes(), "wav/pcm16", 8000, seconds)
        with db.unit_of_work() as s:
            claim = recordings.claim(s, sid, recordings.DOWNLOAD, "test", now, timedelta(minutes=5))
            assert claim is not None
            recordings.downloaded(s, sid, "test", stored)
    if machine is not None:
        with db.unit_of_work() as s:
            transcripts.add_machine(s, recording_id, idea_id, "google", "en-US", machine, 0.8, words or [], [],
                                    0.5, now)
            rec = recordings.get(s, sid)
            rec.pipeline = recordings.TRANSCRIBED
    return ref


def vote_by_text(make_phone, number: str, choices: str = "3 7 12") -> str:
    """A resident votes by text; return the receipt."""
    t = TextDriver(make_phone(number))
    t.send("VOTE")
    t.send("34")
    t.send("02118")
    t.send(choices)
    t.send("YES")
    m = t.said("ballot.cast")
    assert m, t.replies
    return m.group("receipt")
