"""Properties: any sequence of keys, speech, recordings and texts, from any sender, in any state of a
call or a conversation, gets 200 and well-formed TwiML — never a 5xx, never Twilio's application error.

Hypothesis draws the sequences; the database keeps what earlier examples left, so later examples
start from states earlier ones reached. Example counts are modest so the file runs in well under a
minute on both backends.
"""
from __future__ import annotations

import dataclasses
import os
import unicodedata
import uuid
from xml.etree import ElementTree as ET

import pytest

import prompts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hotline import create_app
from hotline.phone import Phone, flask_transport
from sms import segments
from store.models import Idea
from tests.conftest import AUTH_TOKEN
from tests.figures import record

# PROPERTY_EXAMPLES=2000 PROPERTY_RANDOM=1 searches much further (and differently each run).
SETTINGS = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", 60)), deadline=None,
                    derandomize=not os.environ.get("PROPERTY_RANDOM"),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
VOICE_VERBS = {"Say", "Play", "Pause", "Gather", "Record", "Redirect", "Hangup"}
SENDERS = ["+16175550901", "+16175550902", "anonymous", "", "Restricted", "Unknown", "+266696687", "client:alice",
           "+442071838750", "12345", "+1617555", "not a number"]
KEYWORDS = ["VOTE", "vote", "IDEA", "IDEA more trees on Centre St", "HELP", "STOP", "START", "LANGUAGE", "YES", "NO",
            "SÍ", "VOTAR", "意見", "2", "34", "02118", "02134", "3 7 12", "1 2 3 4 5 6", "16 20", "3, 3", "9",
            "x" * 1700, "\u202eIDEA\u202c", "IDEA \x00\x07\x1b", "🌳" * 400, ""]
counts = {"sms": 0, "voice": 0, "odd": 0}
# The blueprint's last resort: an exception was caught. No input may lead there.
SORRY = [prompts.render("errors.sorry", lang, channel) for lang in prompts.languages() for channel in ("sms", "voice")]


def no_exception(body: str) -> None:
    assert not any(text in body for text in SORRY), body


def checked(status: int, body: str) -> ET.Element:
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == "Response", body
    return root


def check_sms(status: int, body: str, sender_is_number: bool) -> None:
    root = checked(status, body)
    no_exception(body)
    messages = list(root)
    assert all(m.tag == "Message" for m in messages), body
    if not sender_is_number:
        assert messages == [], body                      # withheld or not a number: never texted
    for m in messages:
        text = "".join(m.itertext())
        assert text.strip() and len(text) <= segments.MAX_BODY
        assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n" for ch in text), repr(text)
        assert not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in text)


def check_voice(status: int, body: str) -> ET.Element:
    root = checked(status, body)
    no_exception(body)
    for verb in root:
        assert verb.tag in VOICE_VERBS, body
        if verb.tag == "Gather":
            assert {c.tag for c in verb} <= {"Say", "Play", "Pause"}, body
    return root


@pytest.fixture
def line(config, db, demo):
    """The app with rate limits off: the examples text and call far more often than a person would."""
    off = {name: "off" for name in ("RATE_SMS_PER_NUMBER", "RATE_SMS_LINE", "RATE_CALLS_PER_NUMBER", "RATE_CALLS_LINE")}
    # No recording download may start: the examples' recording URLs lead nowhere.
    cfg = dataclasses.replace(config, extra=off, redis_url="redis://127.0.0.1:1/0")
    return create_app(cfg, db).test_client()


def phone(client, number: str) -> Phone:
    return Phone("http://localhost", AUTH_TOKEN, flask_transport(client), number=number)


bodies = st.one_of(st.sampled_from(KEYWORDS), st.text(max_size=120),
                   st.lists(st.integers(-5, 40), max_size=7).map(lambda ns: " ".join(map(str, ns))))


@SETTINGS
@given(sender=st.sampled_from(SENDERS), texts=st.lists(bodies, min_size=1, max_size=8))
def test_any_texts_from_any_sender_get_valid_twiml(line, db, sender, texts):
    p = phone(line, sender)
    is_number = sender in ("+16175550901", "+16175550902", "+442071838750")
    for body in texts:
        p.text(body)
        check_sms(p.last_status, p.last_body, is_number)
        counts["sms"] += 1
    with db.unit_of_work() as s:
        for text in s.scalars(select(Idea.text).where(Idea.text.is_not(None))):
            assert len(text) <= segments.MAX_BODY and text == segments.clean(text)


keys = st.text(alphabet="0123456789*#", max_size=12)
events = st.one_of(
    st.tuples(st.just("keys"), keys),
    st.tuples(st.just("speech"), st.text(max_size=40)),
    st.tuples(st.just("silence"), st.just("")),
    st.tuples(st.just("hangup"), st.just("hangup")),
    st.tuples(st.just("record"), st.integers(-5, 4000), st.booleans()),
    st.tuples(st.just("step"), st.integers(-3, 60)),
    st.tuples(st.just("status"), st.sampled_from(["completed", "busy", "failed", "no-answer", "in-progress", "?"])),
)


@SETTINGS
@given(caller=st.sampled_from(SENDERS), script=st.lists(events, min_size=1, max_size=14))
def test_any_keys_speech_and_recordings_in_any_call_state_get_valid_twiml(line, caller, script):
    p = phone(line, caller)
    sid = "CA" + uuid.uuid4().hex
    base = [("AccountSid", p.account_sid), ("CallSid", sid), ("From", caller), ("To", p.line),
            ("Caller", caller), ("Called", p.line), ("CallStatus", "in-progress"), ("Direction", "inbound")]
    root = check_voice(*p.send(p.url("/voice/incoming"), base))
    for event in script:
        action = next((v.get("action") for v in root if v.tag in ("Gather", "Record") and v.get("action")), None)
        url = p.url(action or "/voice/step?n=1")
        kind = event[0]
        if kind == "keys":
            extra = [("Digits", event[1])]
        elif kind == "speech":
            extra = [("SpeechResult", event[1]), ("Confidence", "0.5")]
        elif kind in ("silence", "hangup"):
            extra = [("Digits", event[1])]
        elif kind == "record":
            rec = "RE" + uuid.uuid4().hex
            extra = [("RecordingUrl", f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{rec}"),
                     ("RecordingDuration", str(event[1])), ("Digits", "#")]
            extra += [("RecordingSid", rec)] if event[2] else []
            callback = [("AccountSid", p.account_sid), ("CallSid", sid), ("RecordingStatus", "completed"),
                        ("RecordingDuration", str(event[1])), extra[0]] + ([("RecordingSid", rec)] if event[2] else [])
            check_voice(*p.send(p.url("/voice/recording"), callback))
        elif kind == "step":
            url, extra = p.url(f"/voice/step?n={event[1]}"), [("Digits", "1")]
        else:
            check_voice(*p.send(p.url("/voice/status"), base[:6] + [("CallStatus", event[1])]))
            continue
        root = check_voice(*p.send(url, base + extra))
        counts["voice"] += 1


FIELDS = ["CallSid", "MessageSid", "SmsSid", "From", "To", "Body", "Digits", "SpeechResult", "RecordingUrl",
          "RecordingSid", "RecordingDuration", "RecordingStatus", "CallStatus", "NumMedia", "MediaUrl0", "Caller"]
odd_values = st.one_of(st.text(max_size=60), st.sampled_from(["", "hangup", "-1", "1e9", "NaN", "CA", "RE", "SM",
                                                               "https://api.twilio.com/Recordings/RE", "9" * 400]))


@SETTINGS
@given(path=st.sampled_from(["/voice/incoming", "/voice/step", "/voice/step?n=2", "/voice/step?n=x&l=zz",
                             "/voice/recording", "/voice/recording?l=es", "/voice/status", "/sms/incoming"]),
       form=st.lists(st.tuples(st.sampled_from(FIELDS) | st.text(min_size=1, max_size=12), odd_values),
                     max_size=10))
def test_any_signed_form_on_any_route_gets_valid_twiml(line, path, form):
    p = phone(line, "+16175550903")
    status, body = p.send(p.url(path), form)
    checked(status, body)
    no_exception(body)
    counts["odd"] += 1


def test_a_step_url_the_line_never_gave_does_not_block_the_real_step(line):
    """Found by the property above: a step URL ahead of the call (or with no number) took the key
    the real step needed, and the real step then failed on every try."""
    p = phone(line, "+16175550904")
    sid = "CA" + uuid.uuid4().hex
    form = [("CallSid", sid), ("From", p.number), ("To", p.line)]
    check_voice(*p.send(p.url("/voice/incoming"), form))
    for bogus in ("/voice/step?n=2", "/voice/step", "/voice/step"):
        check_voice(*p.send(p.url(bogus), form + [("Digits", "1")]))
    root = check_voice(*p.send(p.url("/voice/step?n=2"), form + [("Digits", "1")]))
    assert root.find("Gather") is not None


def test_zz_record_how_much_was_tried():
    record("properties", sms_requests=counts["sms"], voice_requests=counts["voice"], odd_forms=counts["odd"],
           examples_per_test=SETTINGS.max_examples, backends="sqlite and postgresql", failures=0)
