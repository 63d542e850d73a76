"""The test phone against a tiny stand-in line (not the hotline app): signing, TwiML following."""

from __future__ import annotations

import os
import wave
from collections.abc import Callable

import pytest
import requests
from flask import Flask, Request, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from hotline.phone import Phone, PhoneError, flask_transport, sign
from hotline.phone_cli import RecordingServer, make_tone_wav, run_call, run_text

TOKEN = "test-auth-token"
BASE = "http://localhost"

Handler = Callable[[Request], str | tuple[str, int]]


class Line:
    """A stand-in line: checks signatures, logs requests and answers from a route table."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.log: list[dict] = []
        self.app = Flask(__name__)
        self.app.add_url_rule("/<path:path>", "any", self.handle, methods=["GET", "POST"])

    def handle(self, path: str):
        signature = request.headers.get("X-Twilio-Signature", "")
        params = request.form if request.method == "POST" else {}
        if not RequestValidator(TOKEN).validate(request.url, params, signature):
            return "bad signature", 403
        self.log.append({"path": "/" + path, "url": request.url, "method": request.method,
                         "form": MultiDict(request.form), "args": MultiDict(request.args),
                         "headers": dict(request.headers)})
        handler = self.routes.get("/" + path)
        if handler is None:
            if path in ("voice/status", "voice/recording-status"):
                return "", 204
            return "no such route", 404
        answer = handler(request)
        return (answer, 200, {"Content-Type": "text/xml"}) if isinstance(answer, str) else answer

    def paths(self) -> list[str]:
        return [e["path"] for e in self.log]

    def last(self, path: str) -> dict:
        return [e for e in self.log if e["path"] == path][-1]


@pytest.fixture
def line() -> Line:
    return Line()


@pytest.fixture
def phone(line: Line) -> Phone:
    return Phone(BASE, TOKEN, flask_transport(line.app.test_client()))


def twiml(build: Callable[[VoiceResponse], object]) -> Handler:
    def handler(_req: Request) -> str:
        r = VoiceResponse()
        build(r)
        return r.to_xml()
    return handler


def echo_digits(req: Request) -> str:
    r = VoiceResponse()
    r.say(f"You pressed {req.values.get('Digits', '(nothing)')}")
    r.hangup()
    return r.to_xml()


# -- signing -----------------------------------------------------------------------------------

def test_sign_matches_twilio_test_vector():
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
              ("From", "+14158675309"), ("To", "+18005551212")]
    assert sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == \
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_sign_with_repeated_keys_validates_as_a_multidict():
    pairs = [("MediaUrl", "b"), ("Body", "hi"), ("MediaUrl", "a"), ("MediaUrl", "a")]
    sig = sign(TOKEN, "https://x.example/sms?y=1", pairs)
    assert RequestValidator(TOKEN).validate("https://x.example/sms?y=1", MultiDict(pairs), sig)


# -- Gather ------------------------------------------------------------------------------------

def test_gather_with_num_digits_submits_as_soon_as_reached(line, phone):
    line.routes["/voice/incoming"] = twiml(
        lambda r: r.gather(num_digits=1, action="/voice/menu").say("Press 1 for ideas"))
    line.routes["/voice/menu"] = echo_digits
    call = phone.dial()
    assert call.waiting_for == "gather"
    assert call.gather["numDigits"] == 1 and call.gather["action"] == BASE + "/voice/menu"
    assert call.heard == ["Press 1 for ideas"]
    call.press("2")
    menu = line.last("/voice/menu")
    assert menu["form"]["Digits"] == "2" and "FinishedOnKey" not in menu["form"]
    assert menu["form"]["CallStatus"] == "in-progress"
    assert call.last_heard == ["You pressed 2"]
    assert call.ended and [e.kind for e in call.events][-1] == "hangup"


def test_gather_with_num_digits_refuses_keys_after_it_submitted(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.gather(num_digits=1))
    call = phone.dial()
    with pytest.raises(ValueError):
        call.press("12")
    assert line.paths() == ["/voice/incoming"]


def test_gather_finish_on_key_sends_digits_before_it(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.gather(action="zip", finish_on_key="#"))
    line.routes["/voice/zip"] = echo_digits
    call = phone.dial().press("02118#")
    form = line.last("/voice/zip")["form"]
    assert form["Digits"] == "02118" and form["FinishedOnKey"] == "#"
    assert call.said("You pressed 02118")


def test_gather_keys_then_pause_submits_what_was_typed(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.gather(action="zip"))
    line.routes["/voice/zip"] = echo_digits
    phone.dial().press("123")
    form = line.last("/voice/zip")["form"]
    assert form["Digits"] == "123" and "FinishedOnKey" not in form


def test_gather_without_finish_key_takes_hash_as_a_digit(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.gather(action="zip", finish_on_key=""))
    line.routes["/voice/zip"] = echo_digits
    phone.dial().press("12#")
    assert line.last("/voice/zip")["form"]["Digits"] == "12#"


def test_gather_default_action_is_the_current_url(line, phone):
    line.routes["/voice/incoming"] = lambda req: (
        echo_digits(req) if "Digits" in req.form else twiml(lambda r: r.gather())(req))
    call = phone.dial().press("7#")
    assert call.said("You pressed 7")
    assert line.paths()[:2] == ["/voice/incoming", "/voice/incoming"]


def test_silence_goes_on_after_the_gather_without_action(line, phone):
    def incoming(r):
        r.gather(action="/voice/menu", num_digits=1).say("Press a key")
        r.say("We did not hear you. Goodbye.")
    line.routes["/voice/incoming"] = twiml(incoming)
    call = phone.dial().silence()
    assert call.last_heard == ["We did not hear you. Goodbye."]
    assert call.ended
    assert "/voice/menu" not in line.paths()
    assert line.paths()[-1] == "/voice/status"


def test_silence_with_no_verb_after_the_gather_hangs_up(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.gather(num_digits=1))
    call = phone.dial().silence()
    assert call.ended and line.paths() == ["/voice/incoming", "/voice/status"]


def test_silence_with_action_on_empty_result_calls_the_action(line, phone):
    line.routes["/voice/incoming"] = twiml(
        lambda r: r.gather(action="/voice/menu", action_on_empty_result=True))
    line.routes["/voice/menu"] = echo_digits
    call = phone.dial().silence()
    assert line.last("/voice/menu")["form"]["Digits"] == ""
    assert call.last_heard == ["You pressed"]


# -- Record ------------------------------------------------------------------------------------

def record_line(line: Line, action_answer: Callable[[VoiceResponse], object] | None = None):
    def incoming(r):
        r.say("Tell us your idea after the beep.")
        r.record(action="/voice/idea/saved?lang=es", max_length=120,
                 recording_status_callback="/voice/recording-status")
    line.routes["/voice/incoming"] = twiml(incoming)
    line.routes["/voice/idea/saved"] = twiml(
        action_answer or (lambda r: (r.say("Thank you."), r.hangup())))


@pytest.mark.parametrize("callback_first", [False, True])
def test_record_posts_action_and_status_callback_in_either_order(line, phone, callback_first):
    record_line(line)
    call = phone.dial()
    assert call.waiting_for == "record"
    call.record(duration=7, callback_first=callback_first)
    order = ["/voice/recording-status", "/voice/idea/saved"]
    if not callback_first:
        order.reverse()
    assert line.paths() == ["/voice/incoming", *order, "/voice/status"]
    action, cb = line.last("/voice/idea/saved"), line.last("/voice/recording-status")
    assert action["args"]["lang"] == "es"
    sid = action["form"]["RecordingSid"]
    assert sid.startswith("RE") and len(sid) == 34
    assert action["form"]["RecordingUrl"] == (
        f"https://api.twilio.com/2010-04-01/Accounts/{phone.account_sid}/Recordings/{sid}")
    assert action["form"]["RecordingDuration"] == "7" and action["form"]["Digits"] == "#"
    assert cb["form"]["RecordingSid"] == sid and cb["form"]["CallSid"] == call.sid
    assert cb["form"]["RecordingStatus"] == "completed"
    assert cb["form"]["RecordingSource"] == "RecordVerb"
    assert cb["form"]["RecordingChannels"] == "1"
    assert cb["form"]["RecordingStartTime"].endswith("+0000")
    assert call.last_heard == ["Thank you."] and call.ended


def test_record_zero_length_and_custom_recording_url(line):
    phone = Phone(BASE, TOKEN, flask_transport(line.app.test_client()),
                  recording_url=lambda sid: f"http://media.local/Recordings/{sid}")
    record_line(line)
    phone.dial().record(duration=0)
    form = line.last("/voice/idea/saved")["form"]
    assert form["RecordingDuration"] == "0"
    assert form["RecordingUrl"] == f"http://media.local/Recordings/{form['RecordingSid']}"


def test_record_duration_is_the_wav_length(line, phone, tmp_path):
    wav = make_tone_wav(str(tmp_path / "idea.wav"), seconds=3.4)
    record_line(line)
    phone.dial().record(wav)
    assert line.last("/voice/idea/saved")["form"]["RecordingDuration"] == "3"


def test_hangup_during_record_still_posts_the_action_and_ignores_its_twiml(line, phone):
    record_line(line, lambda r: r.say("You should never hear this."))
    call = phone.dial().record(duration=5, hangup=True)
    assert line.paths() == ["/voice/incoming", "/voice/idea/saved",
                            "/voice/recording-status", "/voice/status"]
    assert line.last("/voice/idea/saved")["form"]["Digits"] == "hangup"
    assert "You should never hear this." not in call.heard
    assert call.ended and line.last("/voice/status")["form"]["CallStatus"] == "completed"


def test_record_refuses_a_key_outside_finish_on_key(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.record(finish_on_key="*"))
    with pytest.raises(ValueError):
        phone.dial().record(finish_key="#")


# -- Redirect, hang-up, status -----------------------------------------------------------------

def test_redirect_is_followed_with_its_method(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.redirect("next?step=2", method="GET"))
    line.routes["/voice/next"] = twiml(lambda r: r.redirect("/voice/last"))
    line.routes["/voice/last"] = twiml(lambda r: r.say("Arrived"))
    call = phone.dial()
    assert [(e["path"], e["method"]) for e in line.log[:3]] == [
        ("/voice/incoming", "POST"), ("/voice/next", "GET"), ("/voice/last", "POST")]
    get = line.last("/voice/next")
    assert get["args"]["step"] == "2" and get["args"]["CallSid"] == call.sid
    assert call.heard == ["Arrived"] and call.ended


def test_redirect_loop_raises(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.redirect("/voice/incoming"))
    with pytest.raises(PhoneError, match="redirects"):
        phone.dial()


def test_relative_action_with_query_string_is_signed_as_requested(line, phone):
    line.routes["/voice/ballot/pick"] = twiml(
        lambda r: r.gather(num_digits=1, action="confirm?choice=3&lang=zh-Hant"))
    line.routes["/voice/incoming"] = twiml(lambda r: r.redirect("ballot/pick?round=1"))
    line.routes["/voice/ballot/confirm"] = echo_digits
    phone.dial().press("1")
    confirm = line.last("/voice/ballot/confirm")
    assert confirm["url"] == BASE + "/voice/ballot/confirm?choice=3&lang=zh-Hant"
    assert confirm["form"]["Digits"] == "1"


def test_caller_hangs_up_at_a_gather(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.gather().say("Press a key"))
    call = phone.dial().hangup()
    assert call.ended and call.waiting_for is None
    status = line.last("/voice/status")["form"]
    assert status["CallStatus"] == "completed" and status["CallSid"] == call.sid
    assert status["CallbackSource"] == "call-progress-events" and status["SequenceNumber"] == "0"
    assert status["CallDuration"].isdigit() and status["Timestamp"]
    with pytest.raises(PhoneError):
        call.press("1")


def test_incoming_call_carries_twilio_fields(line, phone):
    line.routes["/voice/incoming"] = twiml(lambda r: r.hangup())
    call = phone.dial()
    form = line.log[0]["form"]
    assert form["CallSid"] == call.sid and len(call.sid) == 34
    assert form["AccountSid"].startswith("AC") and len(form["AccountSid"]) == 34
    assert (form["From"], form["To"]) == ("+16175550123", "+16175550100")
    assert (form["Caller"], form["Called"]) == (form["From"], form["To"])
    assert form["CallStatus"] == "ringing" and form["Direction"] == "inbound"
    assert form["ApiVersion"] == "2010-04-01" and form["FromCity"] == ""


def test_say_keeps_language_ssml_text_play_and_pause(line, phone):
    def incoming(r):
        r.say("Hola", language="es-US", voice="Polly.Lupe")
        s = r.say("Hello ")
        s.prosody("slow world", rate="slow")
        r.pause(length=2)
        r.play("/audio/ht/welcome.mp3")
    line.routes["/voice/incoming"] = twiml(incoming)
    call = phone.dial()
    kinds = [(e.kind, e.text) for e in call.events]
    assert kinds == [("say", "Hola"), ("say", "Hello slow world"), ("pause", ""),
                     ("play", "/audio/ht/welcome.mp3"), ("hangup", "end of document")]
    assert call.events[0].attrs == {"language": "es-US", "voice": "Polly.Lupe"}


# -- errors ------------------------------------------------------------------------------------

def test_bad_signature_raises_phone_error(line):
    phone = Phone(BASE, "wrong-token", flask_transport(line.app.test_client()))
    with pytest.raises(PhoneError) as e:
        phone.dial()
    assert e.value.status == 403


@pytest.mark.parametrize("answer", [("boom", 500), "not xml", "<Html/>"])
def test_server_error_or_non_twiml_raises(line, phone, answer):
    line.routes["/voice/incoming"] = lambda _req: answer
    with pytest.raises(PhoneError):
        phone.dial()


# -- texts -------------------------------------------------------------------------------------

def test_text_returns_each_message(line, phone):
    def sms(req):
        r = MessagingResponse()
        r.message(f"Got: {req.form['Body']}")
        r.message("Reply STOP to opt out.")
        return r.to_xml()
    line.routes["/sms/incoming"] = sms
    assert phone.text("Más árboles") == ["Got: Más árboles", "Reply STOP to opt out."]
    form = dict(phone.last_form)
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"]
    assert form["MessageSid"].startswith("SM") and form["NumMedia"] == "0"
    assert phone.last_status == 200 and "<Message>" in phone.last_body


def test_text_with_empty_response_returns_no_messages(line, phone):
    line.routes["/sms/incoming"] = lambda _req: MessagingResponse().to_xml()
    assert phone.text("STOP", OptOutType="STOP") == []
    assert line.last("/sms/incoming")["form"]["OptOutType"] == "STOP"


def test_resend_repeats_the_identical_request(line, phone):
    line.routes["/sms/incoming"] = lambda req: "<Response><Message>ok</Message></Response>"
    assert phone.text("an idea") == ["ok"]
    assert phone.resend() == ["ok"]
    first, second = line.log
    assert list(first["form"].items(multi=True)) == list(second["form"].items(multi=True))
    for h in ("X-Twilio-Signature", "I-Twilio-Idempotency-Token"):
        assert first["headers"][h] == second["headers"][h]


# -- terminal front end ------------------------------------------------------------------------

def test_run_call_prints_says_and_reads_keys_and_recordings(line, tmp_path):
    def incoming(r):
        r.gather(num_digits=1, action="/voice/menu").say("Press 1 to share an idea",
                                                       language="en-US")
    line.routes["/voice/incoming"] = twiml(incoming)
    line.routes["/voice/menu"] = twiml(lambda r: (r.play("/audio/beep.mp3"),
                                                  r.record(action="/voice/idea/saved")))
    line.routes["/voice/idea/saved"] = twiml(lambda r: (r.say("Gracias", language="es-US"),
                                                        r.hangup()))
    answers = iter(["x", "1", ""])
    out: list[str] = []
    run_call(BASE + "/voice/incoming", TOKEN, "+16175550999", read=lambda _p: next(answers),
             write=out.append, transport=flask_transport(line.app.test_client()),
             recording_url=lambda sid: f"http://media.local/{sid}")
    assert "  [voice en-US] Press 1 to share an idea" in out
    assert "  [audio] http://localhost/audio/beep.mp3" in out
    assert "  [voice es-US] Gracias" in out
    assert any(o.startswith("  ! ") for o in out)  # "x" is not a key
    assert line.last("/voice/idea/saved")["form"]["RecordingDuration"] == "10"
    assert line.log[0]["form"]["From"] == "+16175550999"


def test_run_text_prints_replies(line):
    line.routes["/sms/incoming"] = lambda req: "<Response><Message>one</Message>" \
        "<Message>two</Message></Response>"
    out: list[str] = []
    assert run_text(BASE, TOKEN, "+16175550999", "hi", write=out.append,
                    transport=flask_transport(line.app.test_client())) == ["one", "two"]
    assert out == ["  < one", "  < two"]


def test_recording_server_serves_wav_with_and_without_extension(tmp_path):
    wav = make_tone_wav(str(tmp_path / "a.wav"), seconds=0.5)
    server = RecordingServer()
    try:
        url = server.add("RE" + "0" * 32, wav)
        for u in (url, url + ".wav"):
            r = requests.get(u, timeout=5)
            assert r.status_code == 200 and r.content == open(wav, "rb").read()
        assert server.is_all_downloaded()
        assert requests.get(server.base_url + "/Recordings/REnope", timeout=5).status_code == 404
    finally:
        server.close()
    with wave.open(wav) as w:
        assert w.getframerate() == 8000 and w.getsampwidth() == 2 and w.getnchannels() == 1
    assert os.path.getsize(wav) > 0
