"""Only Twilio may drive the line: signatures, the public URL, odd but signed input, and repeats.

A refused request is 403 and changes nothing; any signed request gets 200 and valid TwiML; a
webhook Twilio delivers twice is acted on once (docs/twilio-protocol.md, docs/interface.md).
"""
from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from hotline import create_app
from hotline.config import Config
from hotline.phone import Phone, flask_transport, sign
from store.models import Ballot, Base, Conversation, Idea, Recording
from tests.conftest import AUTH_TOKEN
from tests.driver import CallDriver, TextDriver, rendered

CALL_SID = "CA" + "1" * 32
MESSAGE_SID = "SM" + "2" * 32
RECORDING_SID = "RE" + "3" * 32
ACCOUNT_SID = "AC" + "4" * 32
RECORDING_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}"

CALL = [("AccountSid", ACCOUNT_SID), ("CallSid", CALL_SID), ("From", "+16175550123"), ("To", "+16175550100"),
        ("Caller", "+16175550123"), ("Called", "+16175550100"), ("CallStatus", "in-progress"),
        ("Direction", "inbound"), ("ApiVersion", "2010-04-01")]
TWILIO_ROUTES = {
    "/voice/incoming": CALL,
    "/voice/step?n=1": CALL + [("Digits", "1")],
    "/voice/recording": [("AccountSid", ACCOUNT_SID), ("CallSid", CALL_SID), ("RecordingSid", RECORDING_SID),
                         ("RecordingUrl", RECORDING_URL), ("RecordingStatus", "completed"),
                         ("RecordingDuration", "12"), ("RecordingChannels", "1"),
                         ("RecordingSource", "RecordVerb")],
    "/voice/status": CALL[:-3] + [("CallStatus", "completed"), ("CallDuration", "30")],
    "/sms/incoming": [("AccountSid", ACCOUNT_SID), ("MessageSid", MESSAGE_SID), ("SmsSid", MESSAGE_SID),
                      ("From", "+16175550123"), ("To", "+16175550100"), ("Body", "34"), ("NumMedia", "0")],
}


# ---- helpers ----

def snapshot(db) -> dict[str, list[str]]:
    """Every row of every table, as sorted text: equal snapshots mean nothing changed."""
    with db.unit_of_work() as s:
        return {t.name: sorted(repr(tuple(r)) for r in s.execute(t.select()).all())
                for t in Base.metadata.sorted_tables}


def count(db, model) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model))


def assert_twiml(status: int, body: str) -> ET.Element:
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == "Response", body
    return root


def post(client, path: str, pairs, signature: str | None, base: str = "http://localhost", **headers):
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(path, base_url=base, data=MultiDict(pairs), headers=headers)


def app_with(db, tmp_path, **env):
    """The app as an operator would start it with these extra environment variables."""
    config = Config.from_env({"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": "test-secret-key",
                              "RECORDINGS_DIR": str(tmp_path / "recordings"), **env})
    app = create_app(config, db)
    app.testing = True
    return app.test_client()


@pytest.fixture
def busy(phone, demo, db):
    """A line with a cycle, a text conversation half-way through voting and a call at the menu."""
    t = TextDriver(phone)
    t.send("VOTE")
    call = CallDriver(phone.dial())
    call.press("1")
    return t, call


# ---- refused ----

@pytest.mark.parametrize("path", list(TWILIO_ROUTES))
@pytest.mark.parametrize("how", ["unsigned", "wrong token", "other url", "garbage"])
def test_unsigned_or_wrongly_signed_requests_are_refused_and_change_nothing(client, db, busy, path, how):
    _, call = busy
    pairs = TWILIO_ROUTES[path]
    if path != "/voice/incoming":   # about the call in progress, so that acting on it would show
        pairs = [(k, call.sid if v == CALL_SID else v) for k, v in pairs]
    url = "http://localhost" + path
    signature = {"unsigned": None,
                 "wrong token": sign("not-the-auth-token", url, pairs),
                 "other url": sign(AUTH_TOKEN, "http://localhost/elsewhere", pairs),
                 "garbage": "not a signature at all"}[how]
    before = snapshot(db)
    resp = post(client, path, pairs, signature)
    assert resp.status_code == 403
    assert b"<Message>" not in resp.data and b"<Say" not in resp.data
    assert snapshot(db) == before


def test_correctly_signed_request_to_each_route_is_answered(client, demo, db):
    for path, pairs in TWILIO_ROUTES.items():
        resp = post(client, path, pairs, sign(AUTH_TOKEN, "http://localhost" + path, pairs))
        assert_twiml(resp.status_code, resp.get_data(as_text=True))


def test_the_documented_signature_vector():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
              ("From", "+14158675309"), ("To", "+18005551212")]
    assert sign("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert sign("12345", url.replace(".com/", ".com:443/"), params) == "kvajT1Ptam85bY51eRf/AJRuM3w="
    # The validator takes the URL with or without the default port.
    validator = RequestValidator("12345")
    assert validator.validate(url, dict(params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not validator.validate(url, dict(params, Digits="1235"), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


# ---- the public URL ----

def test_public_base_url_is_what_is_signed(db, demo, tmp_path):
    client = app_with(db, tmp_path, PUBLIC_BASE_URL="https://pb.example.org")
    pairs = TWILIO_ROUTES["/sms/incoming"]
    accepted = post(client, "/sms/incoming", pairs, sign(AUTH_TOKEN, "https://pb.example.org/sms/incoming", pairs))
    assert_twiml(accepted.status_code, accepted.get_data(as_text=True))
    other = [(k, v.replace(MESSAGE_SID, "SM" + "5" * 32)) for k, v in pairs]
    before = snapshot(db)
    refused = post(client, "/sms/incoming", other, sign(AUTH_TOKEN, "http://localhost/sms/incoming", other))
    assert refused.status_code == 403
    assert snapshot(db) == before


def test_public_base_url_keeps_the_query_string(db, demo, tmp_path):
    client = app_with(db, tmp_path, PUBLIC_BASE_URL="https://pb.example.org/")
    pairs = TWILIO_ROUTES["/voice/step?n=1"]
    ok = post(client, "/voice/step?n=1", pairs, sign(AUTH_TOKEN, "https://pb.example.org/voice/step?n=1", pairs))
    assert_twiml(ok.status_code, ok.get_data(as_text=True))
    no_query = post(client, "/voice/step?n=1", pairs, sign(AUTH_TOKEN, "https://pb.example.org/voice/step", pairs))
    assert no_query.status_code == 403


PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pb.example.org"}


def test_behind_a_trusted_proxy_the_forwarded_url_is_what_is_signed(db, demo, tmp_path):
    client = app_with(db, tmp_path, TRUST_PROXY="1")
    pairs = TWILIO_ROUTES["/sms/incoming"]
    resp = post(client, "/sms/incoming", pairs, sign(AUTH_TOKEN, "https://pb.example.org/sms/incoming", pairs),
                **PROXIED)
    assert_twiml(resp.status_code, resp.get_data(as_text=True))


def test_forwarded_headers_are_ignored_without_trust_proxy(db, demo, tmp_path):
    client = app_with(db, tmp_path)
    pairs = TWILIO_ROUTES["/sms/incoming"]
    before = snapshot(db)
    resp = post(client, "/sms/incoming", pairs, sign(AUTH_TOKEN, "https://pb.example.org/sms/incoming", pairs),
                **PROXIED)
    assert resp.status_code == 403
    assert snapshot(db) == before


# ---- what the signature covers ----

def test_repeated_form_keys_signed_value_by_value_are_accepted(client, demo):
    pairs = TWILIO_ROUTES["/sms/incoming"] + [("Tag", "b"), ("Tag", "a"), ("Tag", "c")]
    resp = post(client, "/sms/incoming", pairs, sign(AUTH_TOKEN, "http://localhost/sms/incoming", pairs))
    assert_twiml(resp.status_code, resp.get_data(as_text=True))


def test_a_tampered_body_with_the_old_signature_is_refused(client, db, busy):
    pairs = TWILIO_ROUTES["/sms/incoming"]
    signature = sign(AUTH_TOKEN, "http://localhost/sms/incoming", pairs)
    tampered = [(k, "99" if k == "Body" else v) for k, v in pairs]
    before = snapshot(db)
    assert post(client, "/sms/incoming", tampered, signature).status_code == 403
    added = pairs + [("Body", "IDEA forged")]
    assert post(client, "/sms/incoming", added, signature).status_code == 403
    assert snapshot(db) == before


# ---- odd but signed input: 200 and valid TwiML ----

@pytest.mark.parametrize("sender", ["", "anonymous", "client:alice", "Restricted", "Unknown", "+266696687",
                                    "not a number"])
def test_any_sender_gets_valid_twiml_and_withheld_ones_are_never_texted(phone, demo, db, sender):
    for body in ("VOTE", "IDEA a bench on Tremont St", "hello", "STOP"):
        assert phone.text(body, From=sender) == []
        assert_twiml(phone.last_status, phone.last_body)
    assert count(db, Ballot) == 0


@pytest.mark.parametrize("sender", ["", "anonymous", "client:alice", "Restricted", "+266696687"])
def test_any_caller_id_gets_valid_twiml(phone, demo, sender):
    status, body = phone.send(phone.url("/voice/incoming"), CALL[:2] + [("From", sender), ("Caller", sender)]
                              + CALL[4:])
    root = assert_twiml(status, body)
    assert root.find("Gather") is not None


@pytest.mark.parametrize("body", [
    "x" * 1600,
    "IDEA " + "more trees " * 145,
    "more\x00 trees\x07 on \x1bCentre St\u202e",
    "\u202eIDEA reversed\u202c",
    "🌳🌳🌳",
    "👍🏽",
    "",
    "   ",
    "\ufeff",
    "a\ufffeb",
], ids=["1600 chars", "long idea", "control chars", "bidi override", "emoji", "emoji+modifier", "empty",
        "spaces", "bom", "noncharacter"])
def test_odd_text_bodies_get_valid_twiml(phone, demo, db, body):
    replies = phone.text(body)
    assert_twiml(phone.last_status, phone.last_body)
    for reply in replies:
        assert "\u202e" not in reply and "\x00" not in reply and "\x07" not in reply


def test_control_characters_never_reach_a_saved_idea(phone, demo, db):
    phone.text("IDEA more\x00 trees\x07 on\u202e Centre St")
    [idea] = [i.text for i in _ideas(db)]
    assert idea == "more trees on Centre St"


def _ideas(db) -> list[Idea]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(Idea)))


def _step(phone, call, extra, path: str | None = None) -> tuple[int, str]:
    url = path and phone.url(path) or call.gather["action"]
    return phone.send(url, call.fields() + extra)


def test_a_gather_step_without_digits_reprompts(phone, demo):
    call = phone.dial()
    root = assert_twiml(*_step(phone, call, []))
    assert root.find("Gather") is not None


def test_a_gather_step_with_digits_hangup_gets_valid_twiml(phone, demo):
    call = phone.dial()
    assert_twiml(*_step(phone, call, [("Digits", "hangup")]))


@pytest.mark.parametrize("n", ["999", "abc", "", "-1", "1e9"])
def test_a_step_url_with_an_odd_number_gets_valid_twiml(phone, demo, n):
    call = phone.dial()
    assert_twiml(*_step(phone, call, [("Digits", "1")], f"/voice/step?n={n}"))


def test_a_step_for_an_unknown_call_gets_valid_twiml(phone, demo):
    status, body = phone.send(phone.url("/voice/step?n=3"), CALL + [("Digits", "2")])
    assert_twiml(status, body)


def test_a_step_with_no_call_sid_gets_valid_twiml(phone, demo):
    status, body = phone.send(phone.url("/voice/step?n=1"), [("Digits", "1")])
    assert_twiml(status, body)


def test_a_recording_callback_without_a_recording_gets_valid_twiml(phone, demo, db):
    status, body = phone.send(phone.url("/voice/recording"), [("CallSid", CALL_SID), ("RecordingStatus", "absent")])
    assert_twiml(status, body)
    assert count(db, Recording) == 0


def test_a_signed_request_without_a_cycle_gets_valid_twiml(phone, db):
    assert_twiml(*phone.send(phone.url("/voice/incoming"), CALL))
    phone.text("VOTE")
    assert_twiml(phone.last_status, phone.last_body)


# ---- delivered twice ----

def test_a_text_delivered_twice_gets_the_same_answer_and_one_idea(phone, demo, db):
    first = phone.text("IDEA more benches on Blue Hill Ave")
    body = phone.last_body
    assert phone.resend() == first
    assert phone.last_body == body
    assert count(db, Idea) == 1


def test_a_repeated_answer_does_not_advance_the_conversation(phone, demo, db):
    t = TextDriver(phone)
    t.send("VOTE")
    t.send("34")
    assert t.said("vote.ask_zip")
    with db.unit_of_work() as s:
        before = s.execute(select(Conversation.node, Conversation.seq, Conversation.data)).all()
    assert phone.resend() == t.replies
    with db.unit_of_work() as s:
        assert s.execute(select(Conversation.node, Conversation.seq, Conversation.data)).all() == before
    t.send("02118")
    assert any(rendered("ballot.ask_choices", "en", "sms", max=5) in r for r in t.replies)


def test_a_confirmation_delivered_twice_casts_one_ballot_with_one_receipt(phone, demo, db):
    for body in ("VOTE", "34", "02118", "3 7 12"):
        phone.text(body)
    first = phone.text("YES")
    assert phone.resend() == first
    assert count(db, Ballot) == 1
    with db.unit_of_work() as s:
        receipt = s.scalar(select(Ballot.receipt))
    assert any(receipt in r for r in first)


def test_a_call_step_delivered_twice_changes_nothing_the_second_time(phone, demo, db):
    call = CallDriver(phone.dial())
    call.press("1")
    with db.unit_of_work() as s:
        before = s.execute(select(Conversation.node, Conversation.seq)).all()
    body = phone.last_body
    status, again = phone.send(phone.last_url, phone.last_form, headers=dict(phone.last_headers))
    assert status == 200 and again == body
    with db.unit_of_work() as s:
        assert s.execute(select(Conversation.node, Conversation.seq)).all() == before
    call.press("3")
    assert rendered("vote.ask_age", "en", "voice", min_age=11, min_grade=6) in call.last_heard


def test_a_recording_callback_delivered_twice_keeps_one_recording_and_one_idea(phone, demo, db):
    call = phone.dial()
    call.press("1")
    call.press("2")
    call.record(duration=12)
    [callback] = [r for r in phone.sent if "/voice/recording" in r.url]
    status, body = phone.send(callback.url, callback.form, headers=dict(callback.headers))
    assert_twiml(status, body)
    assert count(db, Recording) == 1
    assert count(db, Idea) == 1


def test_a_recording_callback_before_the_action_and_twice_keeps_one_idea(phone, demo, db):
    call = phone.dial()
    call.press("1")
    call.press("2")
    call.record(duration=12, callback_first=True)
    [callback] = [r for r in phone.sent if "/voice/recording" in r.url]
    phone.send(callback.url, callback.form, headers=dict(callback.headers))
    assert count(db, Recording) == 1
    assert count(db, Idea) == 1


def test_the_same_text_from_two_numbers_is_two_messages(make_phone, demo, db):
    # Twilio's MessageSid is unique per message: only a repeat of the same SID is a repeat.
    a, b = make_phone("+16175550111"), make_phone("+16175550122")
    a.text("IDEA more trees")
    b.text("IDEA more trees")
    assert count(db, Idea) == 2


def test_phone_base_urls_are_signed_as_seen(client, demo):
    # The test phone signs the URL the app sees: a https base works end to end too.
    p = Phone("https://localhost", AUTH_TOKEN, flask_transport(client), number="+16175550177")
    assert p.text("VOTE")
