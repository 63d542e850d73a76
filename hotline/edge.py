"""Twilio at the edge: signature check, form -> `Inbound`, effects -> TwiML.

Twilio's field names (CallSid, Digits, …) appear here and nowhere else.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import phonenumbers
from flask import Response, current_app, request, url_for
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

import prompts
from hotline import voices
from sms import segments
from voice_flows.idea import MAX_SECONDS
from voice_flows.machine import Gather, Hangup, Inbound, Record, RecordingInfo, Ref, Say

log = logging.getLogger(__name__)
_PATH_SAFE = "/:@!$&'()*+,;=-._~"   # RFC 3986 pchar: kept as they are, everything else escaped
RECORDING_STATUSES = ("completed", "failed", "absent", "in-progress")
MAX_RECORDING_SECONDS = 4 * 3600   # Twilio's <Record> stops at 3600 s; more is not a real recording
GATHER_TIMEOUT = 6   # seconds of silence before a Gather gives up (Twilio's default is 5)


# ---- who is calling ----

def caller_number(value: str, region: str = "US") -> str | None:
    """The caller's number in E.164, or None when withheld or not a phone number.

    Withheld callers arrive as `anonymous`, `Restricted`, `Unknown`, `+266696687` or empty
    (twilio-protocol.md); none of them may vote or be texted.
    """
    value = (value or "").strip()
    if not value or value.startswith("client:") or value == "+266696687":
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# ---- signatures ----

def public_url() -> str:
    """The URL Twilio signed: the configured public base, or the request's own URL.

    Built from the raw query string and the path as sent, not from `request.url`, which decodes
    escapes (`%7E` becomes `~`, `%C3%A9` becomes `é`) and so would no longer be what was signed.
    """
    base = current_app.config["HOTLINE"].public_base_url or f"{request.scheme}://{request.host}{request.root_path}"
    query = request.query_string.decode("utf-8", "surrogateescape")
    return base + quote(request.path, safe=_PATH_SAFE) + (f"?{query}" if query else "")


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) a request whose X-Twilio-Signature does not match; nothing else is refused."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        validator = RequestValidator(current_app.config["HOTLINE"].auth_token)
        signature = request.headers.get("X-Twilio-Signature", "")
        # The whole multi-dict, not a dict: repeated keys are signed value by value.
        if not validator.validate(public_url(), request.form, signature):
            log.warning("refused a request with a bad signature to %s", request.path)
            return Response("Forbidden: bad X-Twilio-Signature\n", status=403, mimetype="text/plain")
        return view(*args, **kwargs)
    return checked


# ---- the form ----

def form(name: str) -> str:
    return request.form.get(name, "") or ""


def sid(value: str) -> str:
    """A Twilio SID as sent, or "" for anything that cannot be one (34 letters and digits, in
    practice): it becomes a key in the database, whose columns are sized for real SIDs."""
    return value if 0 < len(value) <= 64 and value.isascii() and value.isalnum() else ""


def call_sid() -> str:
    return sid(form("CallSid"))


def message_sid() -> str:
    return sid(form("MessageSid")) or sid(form("SmsSid"))


def from_number() -> str:
    return form("From")


def to_number() -> str:
    return form("To")


def recording_info() -> RecordingInfo | None:
    """The recording in a Record action or a recording status callback, if there is one."""
    from store.ideas import sid_from_url   # the SID is in the URL when Twilio leaves the field out

    url = form("RecordingUrl")
    recording_sid = sid(form("RecordingSid")) or sid_from_url(url)
    if not url or not recording_sid:
        return None
    try:
        duration = min(max(0, int(form("RecordingDuration") or 0)), MAX_RECORDING_SECONDS)
    except ValueError:
        duration = 0
    return RecordingInfo(sid=recording_sid, url=url, duration=duration, hung_up=form("Digits") == "hangup")


def recording_status() -> str:
    """Twilio's word for the recording; one it never sends counts as failed (no idea is made of it)."""
    status = form("RecordingStatus") or "completed"
    return status if status in RECORDING_STATUSES else "failed"


def call_status() -> str:
    return form("CallStatus")


def spoken_keys(speech: str) -> str:
    """What a caller said, as the keys they would have pressed: numbers as digits, yes as 1 and
    no as 2 (every yes/no question on the line is "1 for yes, 2 for no")."""
    from sms import parse

    outcome, numbers = parse.numbers(speech)
    if outcome == "ok":
        return "".join(str(n) for n in numbers)
    answer, _ = parse.yes_no(speech)
    return {"yes": "1", "no": "2"}.get(answer, "?")


def voice_inbound(start: bool = False) -> Inbound:
    digits = form("Digits")
    speech = form("SpeechResult")
    if not digits and speech:
        digits = spoken_keys(speech)
    return Inbound(channel="voice", text="" if digits == "hangup" else digits, start=start,
                   recording=recording_info())


def sms_inbound() -> Inbound:
    return Inbound(channel="sms", text=segments.clean(form("Body")))


# ---- TwiML out ----

def _text(say: Say, lang: str, channel: str, results: dict[str, Any]) -> str:
    values = {k: (prompts.Code(str(results.get(v.name, ""))) if isinstance(v, Ref) else v)
              for k, v in say.vars.items()}
    return prompts.render(say.key, say.lang or lang, channel, values)


def _speak(parent, say: Say, text: str, lang: str) -> None:
    """Say `text` with the language's voice, or play its recording (a stand-in until recorded)."""
    language = prompts.languages().get(lang)
    if voices.plan(lang) == "say":
        if language:
            parent.say(text, language=language.say_language, voice=language.voice)
        else:
            parent.say(text)
        return
    if not say.vars and prompts.recorded(lang, say.key):
        parent.play(url_for("twilio.recorded_audio", lang=lang, key=say.key))
        return
    tok = voices.token(current_app.config["HOTLINE"].secret_key, lang, text)
    parent.play(url_for("twilio.stand_in_audio", lang=lang, token=tok))


def _gather_speech(lang: str) -> dict[str, Any]:
    """Let callers say numbers and yes/no where Twilio recognises their language."""
    language = prompts.languages().get(lang)
    if not language or not language.speech:
        return {}
    return {"input": "dtmf speech", "language": language.speech, "speech_timeout": "auto"}


def render_voice(effects: list, lang: str, action: str, recording_callback: str,
                 results: dict[str, Any] | None = None) -> str:
    """TwiML for a voice step: what is said, then the Gather or Record the step waits on.

    Prompts go inside the Gather so a caller who knows the menu can press a key at once.
    """
    results = results or {}
    says = [(e, _text(e, lang, "voice", results), e.lang or lang) for e in effects if isinstance(e, Say)]
    response = VoiceResponse()
    wait = next((e for e in effects if isinstance(e, (Gather, Record, Hangup))), Hangup())
    if isinstance(wait, Gather):
        # actionOnEmptyResult: silence comes back to us as an empty answer, so the step can
        # re-prompt and count tries instead of Twilio hanging up.
        gather = response.gather(action=action, method="POST", timeout=GATHER_TIMEOUT, finish_on_key="#",
                                 action_on_empty_result=True, **_gather_speech(lang),
                                 **({"num_digits": wait.num_digits} if wait.num_digits else {}))
        for say, text, l in says:
            _speak(gather, say, text, l)
    else:
        for say, text, l in says:
            _speak(response, say, text, l)
        if isinstance(wait, Record):
            response.record(action=action, method="POST", max_length=min(wait.max_length, MAX_SECONDS),
                            finish_on_key="#", play_beep=True, trim="trim-silence", timeout=5,
                            recording_status_callback=recording_callback,
                            recording_status_callback_method="POST",
                            recording_status_callback_event="completed absent")
            # Twilio skips the action when nothing was recorded and runs the next verb instead:
            # come back to the same step, which hears "no recording" and asks again.
            response.redirect(action, method="POST")
        else:
            response.hangup()
    return str(response.to_xml())


def render_sms(effects: list, lang: str, results: dict[str, Any] | None = None) -> str:
    """TwiML for a text: the replies, packed so no message passes three segments."""
    texts = [_text(e, lang, "sms", results or {}) for e in effects if isinstance(e, Say)]
    response = MessagingResponse()
    for body in segments.pack([t for t in texts if t]):
        response.message(body)
    return str(response.to_xml())


def twiml(body: str) -> Response:
    return Response(body, status=200, mimetype="text/xml")


def empty() -> str:
    return str(VoiceResponse().to_xml())
