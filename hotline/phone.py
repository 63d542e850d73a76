"""A phone that behaves like Twilio towards our webhooks: signs requests and follows TwiML.

Used by the ``hotline call``/``hotline text`` commands (over HTTP) and by the test driver (over
Flask's test client). Twilio's behaviour modelled here is described in
``docs/twilio-protocol.md``.
"""

from __future__ import annotations

import re
import secrets
import wave
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from twilio.request_validator import RequestValidator

Transport = Callable[[str, list[tuple[str, str]], dict[str, str]], tuple[int, str]]
"""``(absolute url, form pairs, headers) -> (status, body)``.

The transports built here also take a keyword ``method="GET"`` for TwiML that asks for GET
(the pairs are then already in the URL's query string and the list is empty).
"""

API_VERSION = "2010-04-01"
DTMF_KEYS = "0123456789*#"
MAX_REDIRECTS = 50
# Twilio's <Record> default: any key ends the recording (docs/twilio-protocol.md).
RECORD_FINISH_KEYS = "1234567890*#"
LOCATION_FIELDS = ("City", "State", "Zip", "Country")


class PhoneError(Exception):
    """The line answered something Twilio would not accept (non-200, not TwiML), or the
    phone was asked to do something the call does not allow at this point."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None,
                 url: str | None = None) -> None:
        detail = message
        if url is not None:
            detail += f"\n  url: {url}"
        if status is not None:
            detail += f"\n  status: {status}"
        if body is not None:
            detail += f"\n  body: {body[:2000]}"
        super().__init__(detail)
        self.status = status
        self.body = body
        self.url = url


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class _Pairs:
    """A read-only multi-dict over form pairs, shaped the way ``RequestValidator`` reads one."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._pairs))

    def __len__(self) -> int:
        return len(self._pairs)

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self._pairs if k == name]


def sign(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Compute ``X-Twilio-Signature`` for a form POST to ``url``.

    Repeated names are passed as a multi-dict, so the result is what
    ``RequestValidator.validate(url, request.form, sig)`` accepts (the validator sorts the
    distinct values of each name; a plain ``dict`` would keep only one).
    """
    return RequestValidator(auth_token).compute_signature(url, _Pairs(list(params)))


def http_transport(timeout: float = 20) -> Transport:
    """Return a transport that POSTs (or GETs) over HTTP with ``requests``."""
    import requests

    def send(url: str, pairs: list[tuple[str, str]], headers: dict[str, str],
             method: str = "POST") -> tuple[int, str]:
        if method == "GET":
            r = requests.get(url, headers=headers, timeout=timeout, allow_redirects=False)
        else:
            r = requests.post(url, data=pairs, headers=headers, timeout=timeout,
                              allow_redirects=False)
        return r.status_code, r.text

    return send


def flask_transport(client: Any) -> Transport:
    """Return a transport over a Flask test client.

    The absolute URL's scheme and host become the client's ``base_url``, so the app sees
    ``request.url`` exactly as the phone signed it.
    """
    from werkzeug.datastructures import MultiDict

    def send(url: str, pairs: list[tuple[str, str]], headers: dict[str, str],
             method: str = "POST") -> tuple[int, str]:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        if method == "GET":
            resp = client.get(path, base_url=base, headers=headers)
        else:
            resp = client.post(path, base_url=base, data=MultiDict(pairs), headers=headers)
        return resp.status_code, resp.get_data(as_text=True)

    return send


@dataclass
class Event:
    """Something the caller experienced: ``kind`` is one of say, play, pause, hangup, record,
    gather, message, reject."""

    kind: str
    text: str = ""
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Sent:
    """One request the phone made."""

    method: str
    url: str
    form: list[tuple[str, str]]
    headers: dict[str, str]
    status: int
    body: str


def _parse_twiml(status: int, body: str, url: str) -> ET.Element:
    if status != 200:
        raise PhoneError("the line did not answer 200", status=status, body=body, url=url)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise PhoneError(f"the answer is not XML ({e})", status=status, body=body,
                         url=url) from None
    if root.tag != "Response":
        raise PhoneError(f"the answer's root is <{root.tag}>, not <Response>", status=status,
                         body=body, url=url)
    return root


def _text(el: ET.Element) -> str:
    # <Say> may hold SSML children (<prosody>, <break/>…): the caller hears all their text.
    # Only ASCII white space is folded: a no-break space (Russian and French thousands) is text.
    return " ".join(re.split(r"[ \t\r\n]+", "".join(el.itertext()))).strip()


def _message_body(el: ET.Element) -> str:
    body = el.find("Body")
    return _text(body) if body is not None else _text(el)


class Phone:
    """A caller's handset: dials the line and sends texts, as Twilio would deliver them.

    :param base_url: the line's public base URL, e.g. ``http://localhost``.
    :param recording_url: turns a RecordingSid into the RecordingUrl announced to the line;
        default is Twilio's own API URL.
    :param status_path: where the call status callback goes (``None`` sends none).
    """

    def __init__(self, base_url: str, auth_token: str, transport: Transport, *,
                 number: str = "+16175550123", line: str = "+16175550100",
                 account_sid: str | None = None,
                 recording_url: Callable[[str], str] | None = None,
                 status_path: str | None = "/voice/status",
                 messaging_service_sid: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.transport = transport
        self.number = number
        self.line = line
        self.account_sid = account_sid or _sid("AC")
        self.messaging_service_sid = messaging_service_sid or _sid("MG")
        self.recording_url = recording_url
        self.status_path = status_path
        self.sent: list[Sent] = []
        self.last_url: str | None = None
        self.last_method: str = "POST"
        self.last_form: list[tuple[str, str]] = []
        self.last_headers: dict[str, str] = {}
        self.last_status: int | None = None
        self.last_body: str | None = None

    # -- transport ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on the line."""
        return urljoin(self.base_url + "/", path)

    def send(self, url: str, form: list[tuple[str, str]], *, method: str = "POST",
             headers: dict[str, str] | None = None) -> tuple[int, str]:
        """Sign and send one request as Twilio would; return ``(status, body)``."""
        form = [(str(k), str(v)) for k, v in form]
        method = method.upper()
        if method == "GET":
            # Twilio puts GET parameters in the query string and signs the URL alone.
            parts = urlsplit(url)
            query = "&".join(q for q in (parts.query, urlencode(form)) if q)
            url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
            form = []
        elif method != "POST":
            raise PhoneError(f"Twilio only uses GET or POST, not {method!r}", url=url)
        hdrs = headers if headers is not None else {
            "X-Twilio-Signature": sign(self.auth_token, url, form),
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "User-Agent": "TwilioProxy/1.1",
        }
        if method == "GET":
            status, body = self.transport(url, [], hdrs, method="GET")  # type: ignore[call-arg]
        else:
            status, body = self.transport(url, form, hdrs)
        self.last_url, self.last_method, self.last_form = url, method, form
        self.last_headers, self.last_status, self.last_body = hdrs, status, body
        self.sent.append(Sent(method, url, form, hdrs, status, body))
        return status, body

    def resend(self) -> list[str]:
        """Repeat the last request exactly (same form, signature and idempotency token), as
        Twilio does on a retry; return the ``<Message>`` bodies of the answer.

        :raises PhoneError: on a non-2xx answer.
        """
        if self.last_url is None:
            raise PhoneError("nothing to resend: the phone has not sent anything yet")
        status, body = self.send(self.last_url, self.last_form, method=self.last_method,
                                 headers=dict(self.last_headers))
        if not 200 <= status < 300:
            raise PhoneError("the line did not accept the resent request", status=status,
                             body=body, url=self.last_url)
        if status != 200 or not body.strip():
            return []
        root = _parse_twiml(status, body, self.last_url)
        return [_message_body(m) for m in root.iter("Message")]

    # -- voice -------------------------------------------------------------------------------

    def dial(self) -> Call:
        """Call the line (``POST /voice/incoming``) and follow its TwiML until it waits for
        the caller or the call ends."""
        call = Call(self)
        call._start()
        return call

    # -- messaging ---------------------------------------------------------------------------

    def text(self, body: str, **extra_fields: str) -> list[str]:
        """Text the line (``POST /sms/incoming``); return the reply's ``<Message>`` bodies.

        :param extra_fields: added to (or replacing) Twilio's fields, e.g. ``OptOutType="STOP"``
            or ``From="anonymous"``.
        :raises PhoneError: on a non-200 answer or one that is not a TwiML ``<Response>``.
        """
        sid = _sid("SM")
        fields: dict[str, str] = {
            "ToCountry": "US", "ToState": "MA", "ToCity": "", "ToZip": "",
            "SmsMessageSid": sid, "NumMedia": "0", "SmsSid": sid, "SmsStatus": "received",
            "Body": body, "To": self.line, "MessagingServiceSid": self.messaging_service_sid,
            "NumSegments": "1", "MessageSid": sid, "AccountSid": self.account_sid,
            "From": self.number, "ApiVersion": API_VERSION,
            "FromCountry": "US", "FromState": "MA", "FromCity": "", "FromZip": "",
        }
        fields.update({k: str(v) for k, v in extra_fields.items()})
        url = self.url("/sms/incoming")
        messages: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            status, answer = self.send(url, list(fields.items()))
            root = _parse_twiml(status, answer, url)
            messages += [_message_body(m) for m in root if m.tag == "Message"]
            redirect = root.find("Redirect")
            if redirect is None:
                return messages
            url = urljoin(url, _text(redirect))
        raise PhoneError(f"more than {MAX_REDIRECTS} redirects in a row", url=url)


class Call:
    """A call in progress: follows TwiML as Twilio would and waits where the caller acts."""

    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        self.sid = _sid("CA")
        self.events: list[Event] = []
        self.heard: list[str] = []
        self.last_heard: list[str] = []
        self.ended = False
        self.waiting_for: str | None = None
        self.gather: dict[str, Any] | None = None
        self.record_attrs: dict[str, Any] | None = None
        self.seconds = 0
        self.recordings: list[dict[str, str]] = []
        self._started = datetime.now(timezone.utc)
        self._url = phone.url("/voice/incoming")
        self._verbs: list[ET.Element] = []
        self._status = "ringing"
        self._status_sent = False

    # -- what the caller hears ---------------------------------------------------------------

    def __repr__(self) -> str:
        state = "ended" if self.ended else f"waiting for {self.waiting_for}"
        return f"<Call {self.sid} {state}; last heard {self.last_heard!r}>"

    def said(self, text: str) -> bool:
        """Tell whether some Say since the last input contains ``text``."""
        return any(text in t for t in self.last_heard)

    # -- requests ----------------------------------------------------------------------------

    def fields(self) -> list[tuple[str, str]]:
        """Return the parameters Twilio sends with every request about this call."""
        p = self.phone
        pairs = [("AccountSid", p.account_sid), ("ApiVersion", API_VERSION),
                 ("CallSid", self.sid), ("CallStatus", self._status),
                 ("Called", p.line), ("Caller", p.number), ("Direction", "inbound"),
                 ("From", p.number), ("To", p.line)]
        for who, number in (("Called", p.line), ("Caller", p.number),
                            ("From", p.number), ("To", p.line)):
            for part in LOCATION_FIELDS:
                pairs.append((who + part, "US" if part == "Country" else ""))
        return pairs

    def _fetch(self, url: str, extra: list[tuple[str, str]], method: str = "POST") -> None:
        """Request TwiML and make it the document being followed."""
        status, body = self.phone.send(url, self.fields() + extra, method=method)
        root = _parse_twiml(status, body, url)
        self._url = self.phone.last_url or url
        self._verbs = list(root)

    def _callback(self, url: str, form: list[tuple[str, str]], method: str = "POST") -> None:
        status, body = self.phone.send(url, form, method=method)
        if not 200 <= status < 300:
            raise PhoneError("the line refused a callback", status=status, body=body, url=url)

    def _start(self) -> None:
        self._fetch(self._url, [])
        self._status = "in-progress"
        self._run()

    # -- following TwiML ---------------------------------------------------------------------

    def _hear(self, el: ET.Element) -> None:
        if el.tag == "Say":
            text = _text(el)
            loops = max(1, int(el.get("loop", "1") or 1))
            for _ in range(loops):
                self.events.append(Event("say", text, dict(el.attrib)))
                self.heard.append(text)
                self.last_heard.append(text)
            self.seconds += loops * max(1, round(len(text.split()) / 2.5))
        elif el.tag == "Play":
            self.events.append(Event("play", _text(el), dict(el.attrib)))
            self.seconds += 3
        elif el.tag == "Pause":
            self.events.append(Event("pause", "", dict(el.attrib)))
            self.seconds += int(el.get("length", "1") or 1)
        else:
            raise PhoneError(f"<{el.tag}> is not allowed here", url=self._url)

    def _run(self) -> None:
        """Execute verbs until the call waits for the caller or ends."""
        redirects = 0
        self.waiting_for = None
        self.gather = self.record_attrs = None
        while not self.ended:
            if not self._verbs:
                self._end("hangup", "end of document")
                return
            el = self._verbs.pop(0)
            tag = el.tag
            if tag in ("Say", "Play", "Pause"):
                self._hear(el)
            elif tag == "Gather":
                for child in el:
                    self._hear(child)
                self.gather = self._gather_attrs(el)
                self.waiting_for = "gather"
                self.events.append(Event("gather", "", dict(el.attrib)))
                return
            elif tag == "Record":
                self.record_attrs = self._record_attrs(el)
                self.waiting_for = "record"
                self.events.append(Event("record", "", dict(el.attrib)))
                return
            elif tag == "Redirect":
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise PhoneError(f"more than {MAX_REDIRECTS} redirects in a row",
                                     url=self._url)
                target = urljoin(self._url, _text(el))
                self._fetch(target, [], el.get("method", "POST"))
            elif tag == "Hangup":
                self._end("hangup", "")
            elif tag == "Reject":
                self._end("reject", el.get("reason", "rejected"))
            elif tag in ("Sms", "Message"):
                self.events.append(Event("message", _text(el), dict(el.attrib)))
            else:
                raise PhoneError(f"the phone does not know the verb <{tag}>", url=self._url)

    def _gather_attrs(self, el: ET.Element) -> dict[str, Any]:
        num = el.get("numDigits")
        return {
            "numDigits": int(num) if num else None,
            "finishOnKey": el.get("finishOnKey", "#"),
            "timeout": int(el.get("timeout", "5") or 5),
            "input": el.get("input", "dtmf"),
            "action": urljoin(self._url, el.get("action", "")) if el.get("action") else self._url,
            "method": el.get("method", "POST").upper(),
            "actionOnEmptyResult": el.get("actionOnEmptyResult", "false").lower() == "true",
            "language": el.get("language", "en-US"),
        }

    def _record_attrs(self, el: ET.Element) -> dict[str, Any]:
        callback = el.get("recordingStatusCallback")
        return {
            "action": urljoin(self._url, el.get("action", "")) if el.get("action") else self._url,
            "method": el.get("method", "POST").upper(),
            "timeout": int(el.get("timeout", "5") or 5),
            "finishOnKey": el.get("finishOnKey", RECORD_FINISH_KEYS),
            "maxLength": int(el.get("maxLength", "3600") or 3600),
            "playBeep": el.get("playBeep", "true"),
            "recordingStatusCallback": urljoin(self._url, callback) if callback else None,
            "recordingStatusCallbackMethod":
                el.get("recordingStatusCallbackMethod", "POST").upper(),
        }

    def _end(self, kind: str, text: str) -> None:
        self.events.append(Event(kind, text, {}))
        self.ended = True
        self.waiting_for = None
        self.gather = self.record_attrs = None
        self._verbs = []
        self._send_status()

    def _send_status(self) -> None:
        if self._status_sent or self.phone.status_path is None:
            return
        self._status_sent = True
        self._status = "completed"
        form = self.fields() + [
            ("CallDuration", str(self.seconds)),
            ("Timestamp", format_datetime(datetime.now(timezone.utc))),
            ("CallbackSource", "call-progress-events"),
            ("SequenceNumber", "0"),
        ]
        self._callback(self.phone.url(self.phone.status_path), form)

    def _expect(self, what: str) -> None:
        if self.ended:
            raise PhoneError("the call has ended")
        if self.waiting_for != what:
            raise PhoneError(f"the call is waiting for {self.waiting_for}, not {what}; "
                             f"last heard: {self.last_heard!r}")

    def _input(self) -> None:
        self.last_heard = []
        self.seconds += 1

    # -- what the caller does ----------------------------------------------------------------

    def press(self, digits: str) -> Call:
        """Press keys at a ``<Gather>``.

        Keys stop at ``finishOnKey`` (sent as ``FinishedOnKey``, not in ``Digits``) or when
        ``numDigits`` is reached; keys that end without either model a pause after typing,
        which submits what was typed. Pressing only the finish key sends ``Digits`` equal
        to that key, as Twilio does.

        :raises ValueError: for a key that is not on a keypad, or keys left over after the
            gather submitted.
        """
        self._expect("gather")
        g = self.gather
        assert g is not None
        if not digits:
            raise ValueError("press at least one key; use silence() for no input")
        if bad := [k for k in digits if k not in DTMF_KEYS]:
            raise ValueError(f"not keypad keys: {''.join(bad)!r}")
        if "dtmf" not in g["input"]:
            raise PhoneError(f"this Gather takes input={g['input']!r}, not keys")
        collected, finished_on = "", None
        for i, key in enumerate(digits):
            if g["finishOnKey"] and key == g["finishOnKey"]:
                finished_on = key
            else:
                collected += key
            if finished_on or (g["numDigits"] and len(collected) >= g["numDigits"]):
                if digits[i + 1:]:
                    raise ValueError(f"the gather submitted before {digits[i + 1:]!r} "
                                     f"(numDigits={g['numDigits']}, "
                                     f"finishOnKey={g['finishOnKey']!r})")
                break
        extra = [("Digits", collected or (finished_on or ""))]
        if finished_on:
            extra.append(("FinishedOnKey", finished_on))
        self._input()
        self._fetch(g["action"], extra, g["method"])
        self._run()
        return self

    def speak(self, text: str, confidence: float = 0.9) -> Call:
        """Answer a ``<Gather input="speech">`` with recognised speech."""
        self._expect("gather")
        g = self.gather
        assert g is not None
        if "speech" not in g["input"]:
            raise PhoneError(f"this Gather takes input={g['input']!r}, not speech")
        self._input()
        self._fetch(g["action"], [("SpeechResult", text), ("Confidence", f"{confidence:.8f}"),
                                  ("Language", g["language"])], g["method"])
        self._run()
        return self

    def silence(self) -> Call:
        """Let a ``<Gather>`` time out with no key pressed.

        With ``actionOnEmptyResult="true"`` the action is called with empty ``Digits``;
        otherwise the call goes on with the verb after the ``<Gather>`` (hanging up if none).
        """
        self._expect("gather")
        g = self.gather
        assert g is not None
        self.last_heard = []
        self.seconds += g["timeout"]
        if g["actionOnEmptyResult"]:
            self._fetch(g["action"], [("Digits", "")], g["method"])
        self._run()
        return self

    def record(self, wav_path: str | None = None, *, duration: int = 12,
               finish_key: str = "#", hangup: bool = False,
               callback_first: bool = False) -> Call:
        """Speak at a ``<Record>``, then end it with ``finish_key`` (or by hanging up).

        Posts the Record ``action`` and, if the Record asks for it, the
        ``recordingStatusCallback`` (after the action unless ``callback_first``: Twilio does
        not promise an order). After a hang-up the action's TwiML is ignored and the call
        status callback follows.

        :param wav_path: the recording; its real length becomes ``RecordingDuration``.
        :param duration: seconds of recording when no WAV is given (0 is allowed).
        :param finish_key: the key that ended it; ``""`` models the silence timeout.
        """
        self._expect("record")
        r = self.record_attrs
        assert r is not None
        if not hangup and finish_key and finish_key not in r["finishOnKey"]:
            raise ValueError(f"{finish_key!r} does not end this Record "
                             f"(finishOnKey={r['finishOnKey']!r})")
        if wav_path is not None:
            with wave.open(wav_path, "rb") as w:
                duration = round(w.getnframes() / w.getframerate())
        duration = max(0, min(int(duration), r["maxLength"]))
        p = self.phone
        rec_sid = _sid("RE")
        rec_url = (p.recording_url(rec_sid) if p.recording_url else
                   f"https://api.twilio.com/{API_VERSION}/Accounts/{p.account_sid}"
                   f"/Recordings/{rec_sid}")
        started = datetime.now(timezone.utc)
        self.recordings.append({"sid": rec_sid, "url": rec_url, "duration": str(duration),
                                "path": wav_path or ""})
        self.seconds += duration
        self._input()
        if hangup:
            self._status = "completed"
        action_extra = [("RecordingUrl", rec_url), ("RecordingDuration", str(duration)),
                        ("RecordingSid", rec_sid),
                        ("Digits", "hangup" if hangup else finish_key)]
        callback = r["recordingStatusCallback"]
        callback_form = [
            ("AccountSid", p.account_sid), ("CallSid", self.sid), ("RecordingSid", rec_sid),
            ("RecordingUrl", rec_url), ("RecordingStatus", "completed"),
            ("RecordingDuration", str(duration)), ("RecordingChannels", "1"),
            ("RecordingSource", "RecordVerb"), ("RecordingStartTime", format_datetime(started)),
            ("ErrorCode", "0"),
        ]
        if callback and callback_first:
            self._callback(callback, callback_form, r["recordingStatusCallbackMethod"])
        if hangup:
            # Twilio still calls the action after a hang-up but ignores its TwiML.
            self.waiting_for = None
            status, body = p.send(r["action"], self.fields() + action_extra, method=r["method"])
            if status != 200:
                raise PhoneError("the line did not answer 200", status=status, body=body,
                                 url=r["action"])
        else:
            self._fetch(r["action"], action_extra, r["method"])
        if callback and not callback_first:
            self._callback(callback, callback_form, r["recordingStatusCallbackMethod"])
        if hangup:
            self._end("hangup", "caller hung up")
        else:
            self._run()
        return self

    def hangup(self) -> Call:
        """Hang up while the line waits for the caller.

        During a ``<Record>`` this is ``record(duration=0, hangup=True)``: Twilio still
        posts the Record action (and recording callback) when the caller hangs up.
        """
        if self.ended:
            raise PhoneError("the call has already ended")
        if self.waiting_for == "record":
            return self.record(duration=0, hangup=True)
        self.last_heard = []
        self._end("hangup", "caller hung up")
        return self
