"""The terminal phone behind ``hotline call`` and ``hotline text``."""

from __future__ import annotations

import math
import os
import shutil
import struct
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin, urlsplit

from hotline.phone import Call, Phone, PhoneError, Transport, http_transport

RECORD_HINT = "record> path to a WAV file, or Enter for 10 s of speech, or h to hang up"
LINGER_SECONDS = 60.0


def _base(url: str, webhook: str) -> str:
    """Accept either the line's base URL or the full webhook URL."""
    url = url.rstrip("/")
    return url[: -len(webhook)] if url.endswith(webhook) else url


def make_tone_wav(path: str, seconds: float = 10.0, rate: int = 8000,
                  freq: float = 220.0) -> str:
    """Write a quiet low tone as 16-bit mono PCM WAV (stands in for 10 s of speech)."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        frames += struct.pack("<h", int(3000 * math.sin(2 * math.pi * freq * i / rate)))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


class RecordingServer:
    """Serve recorded WAV files the way Twilio's media URLs do, from a daemon thread.

    ``/Recordings/<RecordingSid>`` and ``/Recordings/<RecordingSid>.wav`` both return the file.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.files: dict[str, str] = {}
        self.downloaded: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = urlsplit(self.path).path
                name = path.rsplit("/", 1)[-1]
                sid = name[:-4] if name.endswith(".wav") else name
                file = server.files.get(sid) if path.startswith("/Recordings/") else None
                if file is None or not os.path.exists(file):
                    self.send_error(404)
                    return
                size = os.path.getsize(file)
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                with open(file, "rb") as f:
                    shutil.copyfileobj(f, self.wfile)
                server.downloaded.add(sid)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, sid: str, path: str) -> str:
        """Serve ``path`` as recording ``sid``; return its RecordingUrl."""
        self.files[sid] = path
        return f"{self.base_url}/Recordings/{sid}"

    def is_all_downloaded(self) -> bool:
        return set(self.files) <= self.downloaded

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _show(events: list, write: Callable[[str], None], base: str) -> None:
    for e in events:
        if e.kind == "say":
            write(f"  [voice {e.attrs.get('language', 'en-US')}] {e.text}")
        elif e.kind == "play":
            write(f"  [audio] {urljoin(base, e.text)}")
        elif e.kind == "message":
            write(f"  [text message] {e.text}")
        elif e.kind in ("hangup", "reject"):
            write(f"  [{'call ended' if e.kind == 'hangup' else 'call rejected'}]")


def run_call(url: str, auth_token: str, number: str, *,
             read: Callable[[str], str] = input, write: Callable[[str], None] = print,
             recording_url: Callable[[str], str] | None = None,
             transport: Transport | None = None, linger: float = LINGER_SECONDS) -> None:
    """Call the line from the terminal: print what it says, read keys and recordings.

    At a Gather: keys, Enter for silence, ``h`` to hang up, ``q`` to quit without another
    request. At a Record: a WAV path, Enter for a generated 10 s tone, ``h`` to hang up.

    :param recording_url: where recordings are announced; by default a local server on
        127.0.0.1 serves them, started at the first recording and kept up to ``linger``
        seconds after the call (or until every recording was downloaded, or Ctrl-C).
    """
    base = _base(url, "/voice/incoming")
    server: RecordingServer | None = None
    pending: dict[str, str] = {}
    temp_files: list[str] = []

    def local_url(sid: str) -> str:
        nonlocal server
        if "path" not in pending:   # hung up before recording anything: an empty recording
            return f"http://127.0.0.1/Recordings/{sid}"
        if server is None:
            server = RecordingServer()
        return server.add(sid, pending.pop("path"))

    phone = Phone(base, auth_token, transport or http_transport(), number=number,
                  recording_url=recording_url or local_url)
    try:
        call = phone.dial()
        _loop(call, read, write, base, pending, temp_files)
    finally:
        if server is not None:
            _linger(server, linger, write)
            server.close()
        for f in temp_files:
            os.unlink(f)


def _loop(call: Call, read: Callable[[str], str], write: Callable[[str], None], base: str,
          pending: dict[str, str], temp_files: list[str]) -> None:
    shown = 0

    def ask(prompt: str) -> str:
        try:
            return read(prompt).strip()
        except EOFError:
            return "q"

    while True:
        _show(call.events[shown:], write, base)
        shown = len(call.events)
        if call.ended:
            return
        try:
            if call.waiting_for == "gather":
                line = ask("keys> ")
                if line == "q":
                    write("  [quit: the line was not told]")
                    return
                if line == "h":
                    call.hangup()
                elif line == "":
                    call.silence()
                else:
                    call.press(line.replace(" ", ""))
            elif call.waiting_for == "record":
                write(RECORD_HINT)
                line = ask("record> ")
                if line == "h":
                    call.hangup()
                    continue
                if line == "q":
                    write("  [quit: the line was not told]")
                    return
                if line:
                    path = os.path.expanduser(line)
                    wave.open(path, "rb").close()  # a clear error before anything is sent
                else:
                    fd, path = tempfile.mkstemp(suffix=".wav", prefix="hotline-speech-")
                    os.close(fd)
                    temp_files.append(path)
                    make_tone_wav(path)
                pending["path"] = path
                call.record(path)
            else:
                raise PhoneError(f"the call is neither ended nor waiting ({call!r})")
        except (ValueError, OSError, wave.Error) as e:
            write(f"  ! {e}")


def _linger(server: RecordingServer, linger: float, write: Callable[[str], None]) -> None:
    write(f"  Serving recordings at {server.base_url} for up to {linger:.0f} s after hang-up "
          "so the line can download them (Ctrl-C to stop).")
    deadline = time.monotonic() + linger
    try:
        while time.monotonic() < deadline and not server.is_all_downloaded():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    else:
        if server.is_all_downloaded():
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            write("  All recordings were downloaded.")


def run_text(url: str, auth_token: str, number: str, body: str, *,
             write: Callable[[str], None] = print,
             transport: Transport | None = None) -> list[str]:
    """Send one text as Twilio would; print and return the replies."""
    phone = Phone(_base(url, "/sms/incoming"), auth_token, transport or http_transport(),
                  number=number)
    replies = phone.text(body)
    if not replies:
        write("  (no reply)")
    for r in replies:
        write(f"  < {r}")
    return replies
