"""A local stand-in for Google Speech-to-Text v1's REST API, for the real client to talk to.

It answers what ``google-cloud-speech`` sends over ``transport="rest"`` (docs/speech-and-jobs.md):
``POST /v1/speech:recognize``, ``POST /v1/speech:longrunningrecognize`` and
``GET /v1/operations/<name>``, with camelCase JSON and integer enums. Like the real service it
refuses synchronous audio over a minute and language codes it does not know, and it words its
errors as ``{"error": {"code", "message", "status"}}``.

Knobs (set them between requests): ``fail`` (HTTP statuses for the next requests, in order),
``always_fail``, ``delay`` (seconds before each answer), ``empty`` (no results), ``transcripts``
(what is "heard" per language code) and ``polls_before_done`` (operation polls that answer
"not done yet").
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

SYNC_LIMIT_SECONDS = 60
# Codes the stand-in "supports", as the telephone models do (docs/speech-and-jobs.md).
KNOWN_CODES = {"en-US", "es-US", "fr-FR", "pt-BR", "ru-RU", "vi-VN", "cmn-Hans-CN", "cmn-Hant-TW",
               "yue-Hant-HK", "ar-EG", "ar-SA", "ar-LB", "ar-MA", "es-MX", "en-GB"}
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
BYTES_PER_SAMPLE = {1: 2, 3: 1}       # LINEAR16, MULAW


@dataclass
class Seen:
    """One request the stand-in received."""

    method: str
    path: str
    query: str
    body: dict[str, Any]
    headers: dict[str, str]
    audio_seconds: float = 0.0


@dataclass
class _Operation:
    response: dict[str, Any]
    polls: int = 0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout under test) closes the socket: not worth a traceback.
        pass


def _duration(d: float) -> str:
    return f"{d:.3f}s"


class SpeechStandIn:
    """A threaded HTTP server playing Google Speech v1; use as a context manager."""

    def __init__(self, transcripts: dict[str, str] | None = None, default: str = "we need a new library") -> None:
        self.transcripts = dict(transcripts or {})
        self.default = default
        self.confidence = 0.91
        self.fail: list[int] = []
        self.always_fail: int | None = None
        self.delay = 0.0
        self.empty = False
        self.polls_before_done = 1
        self.requests: list[Seen] = []
        self._operations: dict[str, _Operation] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- life cycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SpeechStandIn":
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:   # keep test output quiet
                pass

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_GET(self) -> None:
                standin._handle(self, "GET")

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "SpeechStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what was asked --------------------------------------------------------------------

    def recognitions(self) -> list[Seen]:
        """The recognize / longrunningrecognize requests, oldest first."""
        return [r for r in self.requests if r.method == "POST"]

    # -- answering -------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self._error(h, 400, "Invalid JSON payload received.")
        seen = Seen(method, path, unquote(parts.query), body, {k.lower(): v for k, v in h.headers.items()})
        with self._lock:
            self.requests.append(seen)
            status = self.fail.pop(0) if self.fail else self.always_fail
        if self.delay:
            time.sleep(self.delay)
        if status:
            return self._error(h, status, f"stand-in told to answer {status}")
        if method == "POST" and path == "/v1/speech:recognize":
            return self._recognize(h, seen, long_running=False)
        if method == "POST" and path == "/v1/speech:longrunningrecognize":
            return self._recognize(h, seen, long_running=True)
        if method == "GET" and path.startswith("/v1/operations/"):
            return self._poll(h, path.rsplit("/", 1)[1])
        return self._error(h, 404, f"no such method {method} {path}")

    def _recognize(self, h: BaseHTTPRequestHandler, seen: Seen, long_running: bool) -> None:
        config, audio = seen.body.get("config") or {}, seen.body.get("audio") or {}
        encoding = config.get("encoding")
        rate = config.get("sampleRateHertz")
        code = config.get("languageCode")
        if not code:
            return self._error(h, 400, "Invalid recognition 'config': language_code is required.")
        if code not in KNOWN_CODES:
            return self._error(h, 400, f"Invalid recognition 'config': bad language code {code!r}.")
        if encoding not in BYTES_PER_SAMPLE or not rate:
            return self._error(h, 400, "Invalid recognition 'config': encoding and sample rate are required.")
        try:
            content = base64.b64decode(audio.get("content") or "", validate=True)
        except ValueError:
            return self._error(h, 400, "Invalid audio content: not base64.")
        if not content:
            return self._error(h, 400, "RecognitionAudio not set.")
        seconds = len(content) / (rate * BYTES_PER_SAMPLE[encoding])
        seen.audio_seconds = seconds
        if not long_running and seconds > SYNC_LIMIT_SECONDS:
            # The real service's words for audio past the synchronous limit.
            return self._error(h, 400, "Sync input too long. For audio longer than 1 min use "
                                       "LongRunningRecognize with a 'uri' parameter.")
        response = self._results(config, seconds)
        if not long_running:
            return self._json(h, 200, response)
        name = str(uuid.uuid4().int)[:19]
        with self._lock:
            self._operations[name] = _Operation(response)
        return self._json(h, 200, {"name": name, "metadata": {
            "@type": "type.googleapis.com/google.cloud.speech.v1.LongRunningRecognizeMetadata",
            "progressPercent": 0}})

    def _poll(self, h: BaseHTTPRequestHandler, name: str) -> None:
        with self._lock:
            op = self._operations.get(name)
            if op is not None:
                op.polls += 1
        if op is None:
            return self._error(h, 404, f"Operation {name} not found.")
        if op.polls <= self.polls_before_done:
            return self._json(h, 200, {"name": name, "done": False})
        response = {"@type": "type.googleapis.com/google.cloud.speech.v1.LongRunningRecognizeResponse",
                    **op.response}
        return self._json(h, 200, {"name": name, "done": True, "response": response})

    def _results(self, config: dict[str, Any], seconds: float) -> dict[str, Any]:
        """Spread the scripted words over the audio, one result per ~30 s as Google splits them."""
        code = config["languageCode"]
        billed = f"{max(1, round(seconds))}s"
        text = self.transcripts.get(code, self.default)
        if self.empty or not text:
            return {"totalBilledTime": billed}
        words = text.split()
        pieces = max(1, min(len(words), int(seconds // 30) + 1))
        per = -(-len(words) // pieces)
        chunks = [words[i:i + per] for i in range(0, len(words), per)]
        step = seconds / max(1, len(words))
        results, t = [], 0.0
        for chunk in chunks:
            shown = " ".join(chunk)
            if config.get("enableAutomaticPunctuation"):
                shown = shown[:1].upper() + shown[1:] + "."
            top: dict[str, Any] = {"transcript": shown, "confidence": self.confidence}
            if config.get("enableWordConfidence") or config.get("enableWordTimeOffsets"):
                top["words"] = []
                for w in chunk:
                    entry: dict[str, Any] = {"word": w}
                    if config.get("enableWordTimeOffsets"):
                        entry.update(startTime=_duration(t), endTime=_duration(t + step))
                    if config.get("enableWordConfidence"):
                        entry["confidence"] = round(self.confidence - 0.05 * (len(w) % 3), 3)
                    top["words"].append(entry)
                    t += step
            else:
                t += step * len(chunk)
            alternatives = [top]
            for k in range(1, min(int(config.get("maxAlternatives") or 1), 3)):
                alternatives.append({"transcript": shown.replace(chunk[-1], chunk[-1] + "s" * k),
                                     "confidence": round(self.confidence - 0.2 * k, 3)})
            results.append({"alternatives": alternatives, "resultEndTime": _duration(t),
                            "languageCode": code.lower()})
        return {"results": results, "totalBilledTime": billed}

    # -- wire ------------------------------------------------------------------------------

    def _json(self, h: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _error(self, h: BaseHTTPRequestHandler, status: int, message: str) -> None:
        self._json(h, status, {"error": {"code": status, "message": message,
                                         "status": STATUS_NAMES.get(status, "UNKNOWN")}})



# ---- Twilio's media host, and audio to serve ----

class MediaStandIn:
    """Twilio's recordings API as far as a download goes: ``GET /2010-04-01/Accounts/<AC>/Recordings/<RE>.wav``.

    Every recording is served `wav` (or `files[sid]`). Knobs: ``not_found_first`` (404s each
    recording gets before it is "stored", as Twilio does just after its callback),
    ``always`` (a status to answer every time), ``require_auth`` (401 without it), ``redirect_to``
    (a base URL to send 302s to, as Twilio does towards its media storage). ``seen`` lists ``(host, path, Authorization)``.
    """

    def __init__(self, account_sid: str, wav: bytes) -> None:
        self.account_sid = account_sid
        self.wav = wav
        self.files: dict[str, bytes] = {}
        self.not_found_first = 0
        self.always: int | None = None
        self.redirect_to: str | None = None
        self.require_auth: str | None = None      # the Authorization a request must carry, else 401
        self.seen: list[tuple[str, str, str | None]] = []
        self._asked: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def recording_url(self, sid: str, host: str = "127.0.0.1") -> str:
        """The RecordingUrl Twilio would announce (no extension)."""
        return f"http://{host}:{self.port}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

    def downloads(self, sid: str) -> list[tuple[str, str, str | None]]:
        return [s for s in self.seen if sid in s[1]]

    def start(self) -> "MediaStandIn":
        media = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                media._get(self)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "MediaStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        host = (h.headers.get("Host") or "").split(":")[0]
        with self._lock:
            self.seen.append((host, path, h.headers.get("Authorization")))
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/Recordings/"
        if path.startswith("/storage/"):
            return self._send(h, 200, self.wav, "audio/x-wav")
        if not path.startswith(prefix) or not path.endswith(".wav"):
            return self._send(h, 404, b'{"code": 20404, "message": "not found"}', "application/json")
        sid = path[len(prefix):-len(".wav")]
        with self._lock:
            n = self._asked[sid] = self._asked.get(sid, 0) + 1
        if self.require_auth and h.headers.get("Authorization") != self.require_auth:
            return self._send(h, 401, b'{"code": 20003, "message": "Authenticate"}', "application/json")
        if self.always:
            return self._send(h, self.always, b'{"message": "told to fail"}', "application/json")
        if n <= self.not_found_first:
            return self._send(h, 404, b'{"code": 20404, "message": "The requested resource was not found"}',
                              "application/json")
        if self.redirect_to:
            h.send_response(302)
            h.send_header("Location", f"{self.redirect_to}/storage/{sid}.wav")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        return self._send(h, 200, self.files.get(sid, self.wav), "audio/x-wav")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def tone_wav(seconds: float, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a quiet warble: audio of a given length, for engines that are stand-ins."""
    import numpy as np

    from hotline.transcribe.audio import write_wav

    t = np.arange(int(seconds * rate)) / rate
    x = 3000 * np.sin(2 * np.pi * (300 + 80 * np.sin(2 * np.pi * 2 * t)) * t)
    return write_wav(np.round(x).astype("<i2").tobytes(), rate)


def spoken_wav(text: str, path: str, rate: int = 8000, *, speed: int = 160, pad: float = 0.0) -> str:
    """Say `text` with espeak-ng and resample it with sox to `rate` Hz mono 16-bit, as a phone line would.

    :raises FileNotFoundError: espeak-ng or sox is not installed (`.ci/run` installs both).
    """
    import shutil
    import subprocess

    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} is not installed (apt-get install espeak-ng sox)")
    raw = path + ".espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(speed), "-w", raw, text], check=True)
    effects = ["pad", "0", str(pad)] if pad else []
    subprocess.run(["sox", raw, "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", path, *effects],
                   check=True)
    return path
