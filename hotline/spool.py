"""The local spool: what callers gave while the database was unreachable, kept on disk until it is back.

A webhook whose database cannot be reached or does not answer in time (`store.db.is_unavailable`)
comes here (`answer_while_down`): it keeps what the caller gave — a recording's sid and URL, a
text — as one entry, and answers 200 with a short apology and when to try again, in the caller's
language, so Twilio never plays its own "application error".

Entries
    One file per entry under ``SPOOL_DIR`` (default ``instance/spool``), named after its time, kind
    and Twilio SID. It is written to a temporary name, fsynced, then linked into place (a crash
    leaves the whole entry or none; a second delivery of the same SID keeps the first), and the
    directory is fsynced. Files are only ever added and, once replayed, removed. The content is
    encrypted with a key derived from SECRET_KEY: a number or an idea is never on disk in the clear.
    Each entry names the database it belongs to, so a spool is never replayed into another one.
Replay
    `replay` writes each entry into the database idempotently — a recording by its RecordingSid (and
    the callback's stored answer `rec:<sid>:<status>`), a text by its MessageSid (`sms:<sid>`, the
    webhook's own idempotency key) — commits, then removes the file; a replay that dies half-way is
    simply run again, and two processes replaying at once skip each other's files (flock). A text is
    run through the text flow as of when it was sent, and only what the flow would have *kept* is
    applied: an idea saved, an opt-out or opt-in. A vote is never cast from the spool (the resident
    was told to try again and has heard no receipt). Replay runs at app start, in the background of
    a web process once its database answers again, from `hotline spool replay`, from `hotline jobs
    sweep` and from the worker's maintenance.

Settings (environment or `Config.extra`): ``SPOOL_DIR``; ``RETRY_AFTER_MINUTES`` (what the apology
says, default 10).
"""
from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from hotline.config import Config
from store import Database

log = logging.getLogger(__name__)

SUFFIX = ".entry"
RECORDING, TEXT = "recording", "text"
DEFAULT_RETRY_MINUTES = 10
BACKGROUND_EVERY = 5.0       # s: a web process looks at its spool at most this often
_SAFE = re.compile(r"[^A-Za-z0-9]")
_PASSWORD = re.compile(r"(://[^:/@]*):[^@]*@")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _setting(config: Config, name: str) -> str | None:
    extra = config.extra or {}
    value = extra[name] if name in extra else os.environ.get(name)
    return str(value) if value not in (None, "") else None


def directory(config: Config) -> Path:
    value = _setting(config, "SPOOL_DIR")
    return Path(value) if value else config.instance_dir / "spool"


def retry_minutes(config: Config) -> int:
    return max(1, int(_setting(config, "RETRY_AFTER_MINUTES") or DEFAULT_RETRY_MINUTES))


def fingerprint(database_url: str) -> str:
    """Which database an entry belongs to (the URL without its password, hashed)."""
    return hashlib.sha256(_PASSWORD.sub(r"\1@", database_url).encode()).hexdigest()[:16]


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"spool:{secret}".encode()).digest()))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- writing ----

def write(config: Config, database_url: str, kind: str, key: str, data: dict[str, Any],
          received_at: datetime) -> Path | None:
    """Keep one entry; return its path, or None when an entry for the same `kind` and `key` is kept
    already (Twilio delivered the same request twice while the database was down).

    :raises OSError: the spool directory cannot be written (the caller then keeps nothing).
    """
    spool = directory(config)
    spool.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _SAFE.sub("", key)[:80] or uuid.uuid4().hex
    if any(spool.glob(f"*-{kind}-{key}{SUFFIX}")):
        return None
    target = spool / f"{received_at:%Y%m%dT%H%M%S%f}-{kind}-{key}{SUFFIX}"
    payload = json.dumps({"v": 1, "kind": kind, "db": fingerprint(database_url),
                          "received_at": received_at.isoformat(), "data": data}, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(dir=spool, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_fernet(config.secret_key).encrypt(payload.encode()))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, target)       # never replaces: the first delivery's entry stays
        except FileExistsError:
            return None
    finally:
        Path(tmp).unlink(missing_ok=True)
    _fsync_dir(spool)
    return target


@dataclass(frozen=True)
class Entry:
    path: Path
    kind: str
    database: str
    received_at: datetime
    data: dict[str, Any]


def read(config: Config, path: Path) -> Entry:
    """:raises ValueError: not an entry this SECRET_KEY wrote."""
    try:
        raw = json.loads(_fernet(config.secret_key).decrypt(path.read_bytes()))
        return Entry(path, raw["kind"], raw["db"], datetime.fromisoformat(raw["received_at"]), raw["data"])
    except (InvalidToken, KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path.name} cannot be read with this SECRET_KEY ({type(e).__name__})") from None


def pending(config: Config) -> list[Path]:
    """The entries waiting, oldest first."""
    spool = directory(config)
    try:
        return sorted(p for p in spool.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))
    except FileNotFoundError:
        return []


# ---- answering while the database is down ----

def guess_language(config: Config, languages: tuple[str, ...]) -> str:
    """The caller's language without asking the database: as far as the request went (g.lang), the
    language carried in a voice step's URL, the line's own language, or what the text is written in."""
    from flask import g, request

    from hotline import edge
    from sms import keywords, language

    for candidate in (getattr(g, "lang", None), request.args.get("l")):
        if candidate in languages:
            return candidate
    line = edge.caller_number(edge.to_number())
    if line and config.language_lines.get(line) in languages:
        return config.language_lines[line]
    if request.path.startswith("/sms"):
        text = edge.sms_inbound().text
        _, rest, langs = keywords.command(text)
        found = language.detect(rest or text, languages) or next((t for t in langs if t in languages), None)
        if found:
            return found
    return "en"


def answer_while_down(error: BaseException):
    """Keep what this webhook's caller gave and answer 200 with an apology (see the module docstring)."""
    from flask import current_app, g, request

    from hotline import edge
    from sms import keywords, parse
    from voice_flows.machine import Hangup, Say

    h = current_app.extensions["hotline"]
    config, db = h.config, h.db
    g.database_down = True
    sid = edge.call_sid() or edge.message_sid()
    log.error("database unavailable for %s (sid %s): %s: %s", request.path, sid, type(error).__name__,
              str(error).splitlines()[0][:200] if str(error) else "")
    lang = guess_language(config, h.languages)
    minutes = {"minutes": retry_minutes(config)}
    now = utcnow()

    if request.path.startswith("/sms"):
        sender = edge.from_number()
        text = edge.sms_inbound().text
        command, rest, _ = keywords.command(text)
        # Withheld senders and opt-outs are never texted; an explicit idea is told it is kept.
        silent = edge.caller_number(sender) is None or parse.is_opt_out(text)
        says = [] if silent else [Say("errors.try_later", minutes)]
        idea = [Say("errors.idea_kept")] if not silent and command == "idea" and rest else []
        answer = edge.render_sms(says + idea, lang)
        kept = _keep(config, db.url, TEXT, edge.message_sid(), now,
                     {"message_sid": edge.message_sid(), "sender": sender, "to": edge.to_number(), "body": text,
                      "lang": lang, "answer": answer})
        return edge.twiml(answer if kept or not idea else edge.render_sms(says, lang))

    rec = edge.recording_info()
    if request.path == "/voice/recording":
        if rec is not None:
            _keep(config, db.url, RECORDING, f"{rec.sid}-{edge.recording_status()}", now,
                  _recording(rec, edge.recording_status(), "callback", lang))
        return edge.twiml(edge.empty())
    if request.path == "/voice/status":
        return edge.twiml(edge.empty())      # the call's end changes nothing worth keeping
    kept = rec is not None and rec.duration > 0 and _keep(
        config, db.url, RECORDING, f"{rec.sid}-action", now, _recording(rec, "reported", "action", lang))
    says = [Say("errors.try_later", minutes)] + ([Say("errors.recording_kept")] if kept else [])
    return edge.twiml(edge.render_voice([*says, Hangup()], lang, action="", recording_callback=""))


def _recording(rec, status: str, via: str, lang: str) -> dict[str, Any]:
    from hotline import edge

    return {"recording_sid": rec.sid, "url": rec.url, "duration": rec.duration, "status": status,
            "call_sid": edge.call_sid(), "lang": lang, "via": via}


def _keep(config: Config, database_url: str, kind: str, key: str, now: datetime, data: dict[str, Any]) -> bool:
    from flask import current_app

    try:
        path = write(config, database_url, kind, key, data, now)
    except OSError:
        log.critical("could not keep a %s in the spool %s: it is lost", kind, directory(config), exc_info=True)
        return False
    state = current_app.extensions.get("hotline.spool.state")
    if state is not None:
        state["kept"] = True          # replay as soon as a webhook of this process reaches the database
    log.warning("kept a %s in the spool (%s) until the database is back", kind,
                path.name if path else "already kept")
    return True


# ---- replaying ----

@dataclass
class Report:
    """What a replay did, entry by entry (file names)."""

    replayed: list[str] = field(default_factory=list)        # written into the database now
    already: list[str] = field(default_factory=list)         # the database had it (a repeat, a second replay)
    nothing_kept: list[str] = field(default_factory=list)    # a text the flow would not have kept (a vote step)
    other_database: list[str] = field(default_factory=list)  # left alone: written for another DATABASE_URL
    unreadable: list[str] = field(default_factory=list)      # another SECRET_KEY, or damaged: moved aside
    failed: list[str] = field(default_factory=list)          # an error; left in place for the next replay
    recordings: list[str] = field(default_factory=list)      # RecordingSids whose download was queued
    waiting: bool = False                                    # the database is still unreachable

    @property
    def done(self) -> int:
        return len(self.replayed) + len(self.already) + len(self.nothing_kept)


@contextlib.contextmanager
def _held(path: Path) -> Iterator[bool]:
    try:
        f = path.open("rb")
    except FileNotFoundError:        # another process replayed it a moment ago
        yield False
        return
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield path.exists()


def replay(config: Config, db: Database, enqueue: Callable[[str], Any] | None = None) -> Report:
    """Write every waiting entry into `db` (see the module docstring); queue recordings' downloads.

    Never raises for a database that is still down: the report says `waiting` and the entries stay.
    """
    from store.db import is_unavailable

    report = Report()
    mine = fingerprint(db.url)
    for path in pending(config):
        with _held(path) as held:
            if not held:
                continue
            try:
                entry = read(config, path)
            except ValueError as e:
                log.error("spool: %s; moved to %s", e, directory(config) / "unreadable")
                (directory(config) / "unreadable").mkdir(exist_ok=True, mode=0o700)
                path.rename(directory(config) / "unreadable" / path.name)
                report.unreadable.append(path.name)
                continue
            if entry.database != mine:
                report.other_database.append(path.name)
                continue
            try:
                outcome, queue_sid = (_replay_recording if entry.kind == RECORDING else _replay_text)(config, db, entry)
            except Exception as e:  # noqa: BLE001 — one bad entry must not stop the others
                if is_unavailable(e):
                    report.waiting = True
                    break
                log.exception("spool: could not replay %s; it stays for the next replay", path.name)
                report.failed.append(path.name)
                continue
            getattr(report, outcome).append(path.name)
            if queue_sid:
                report.recordings.append(queue_sid)
            path.unlink()
    if report.done:
        _fsync_dir(directory(config))
        log.info("spool: replayed %d, already there %d, nothing to keep %d; %d waiting", len(report.replayed),
                 len(report.already), len(report.nothing_kept), len(pending(config)))
    for sid in report.recordings:
        if enqueue is not None:
            try:
                enqueue(sid)
            except Exception:  # noqa: BLE001 — the row is committed; the sweep queues it later
                log.exception("spool: could not queue recording %s; `hotline jobs sweep` will", sid)
    return report


def _replay_recording(config: Config, db: Database, entry: Entry) -> tuple[str, str | None]:
    from hotline import edge
    from store import conversations, cycles, ideas, recordings
    from voice_flows.machine import RecordingInfo

    d = entry.data
    sid, status, call_sid = d["recording_sid"], d["status"], d.get("call_sid") or ""
    rec = RecordingInfo(sid=sid, url=d["url"], duration=int(d.get("duration") or 0))
    hook = f"rec:{sid}:{status}" if d.get("via") == "callback" else None
    with db.unit_of_work() as s:
        if hook and conversations.answered(s, hook) is not None:
            return "already", None
        existed = recordings.get(s, sid) is not None
        participant_id, call_lang = conversations.participant_of(s, f"voice:{call_sid}")
        cycle = cycles.current(s)
        author = ideas.Author(cycle.id if cycle else None, participant_id, d.get("lang") or call_lang, call_sid)
        final = "empty" if status == "completed" and rec.duration <= 0 else status
        ideas.record(s, call_sid, rec, final, author, entry.received_at)
        if hook:
            conversations.remember(s, hook, edge.empty(), utcnow(), config.secret_key)
    audio = status in ("completed", "reported") and rec.duration > 0
    return ("already" if existed and not hook else "replayed"), (sid if audio else None)


def _replay_text(config: Config, db: Database, entry: Entry) -> tuple[str, None]:
    """Run the text through the flow as it stood when it was sent; apply only what it would keep."""
    import prompts
    import sms
    from hotline import edge
    from hotline.webhooks import TEXT_TTL
    from store import conversations, cycles, identity, participants
    from store.effects import Who, apply
    from voice_flows.machine import Ctx, Inbound, OptIn, OptOut, SaveTextIdea, State

    d = entry.data
    secret, now, sent = config.secret_key, utcnow(), entry.received_at
    hook = f"sms:{d['message_sid']}" if d.get("message_sid") else None
    e164 = edge.caller_number(d.get("sender") or "")
    with db.unit_of_work() as s:
        if hook and conversations.answered(s, hook, secret) is not None:
            return "already", None
        participant = participants.find_or_create(s, secret, e164) if e164 else None
        key = (f"sms:{participant.phone_hash}" if participant
               else "sms:unknown:" + identity.phone_hash(secret, d.get("sender") or ""))
        loaded = conversations.load(s, key, sent)          # where the conversation stood when it was sent
        state, seq = loaded.state, loaded.seq
        cycle_view = cycles.current_view(s)
        line = edge.caller_number(d.get("to") or "")
        ctx = Ctx(now=sent, cycle=cycle_view, can_vote=False, receipt=None,
                  idea_ref=state.data.get("idea_ref") if state else None, languages=tuple(prompts.languages()),
                  line_lang=config.language_lines.get(line or "") if line else None)
        known = (participant.language if participant else None) or ctx.line_lang
        outcome = "nothing_kept"
        if not (participant and participant.opted_out and not sms.parse.is_opt_in(d["body"])):
            reply = sms.handle(state, Inbound(channel="sms", text=d["body"]), ctx, known)
            kept = [e for e in reply.effects if isinstance(e, (SaveTextIdea, OptOut, OptIn))]
            if kept:
                who = Who("sms", e164, participant, cycle_view.id if cycle_view else None, secret)
                apply(s, kept, reply.state or State(node="", lang=reply.lang), who, sent)
                if participant and not participant.language:
                    participant.language = reply.lang
                if any(isinstance(e, SaveTextIdea) for e in kept):
                    # The resident was told the idea is kept, not asked for its ZIP: start afresh.
                    conversations.save(s, key, None, seq + 1, sent, TEXT_TTL, participant.id if participant else None)
                outcome = "replayed"
        if hook:
            conversations.remember(s, hook, d.get("answer") or edge.render_sms([], "en"), now, secret)
    return outcome, None


# ---- in the web process ----

def install(app) -> None:
    """Replay what is waiting when the app starts, and again in the background whenever a webhook
    of this process has just reached its database while entries wait (at most every few seconds)."""
    from flask import g, request

    h = app.extensions["hotline"]
    config, db = h.config, h.db
    lock = threading.Lock()
    # Process-local hints only (the entries themselves are on disk): when this process last looked,
    # and whether it kept something itself since its last replay (then it looks at once).
    state = app.extensions["hotline.spool.state"] = {"last": 0.0, "kept": False}

    def run() -> None:
        if not lock.acquire(blocking=False):
            return
        try:
            state["kept"] = False
            report = replay(config, db, enqueue=lambda sid: _enqueue(app, sid))
            if report.waiting:
                state["kept"] = True
        except Exception:  # noqa: BLE001 — a background replay must never take the process down
            log.exception("spool: background replay failed")
        finally:
            lock.release()

    if pending(config):
        run()

    @app.after_request
    def _replay_when_back(response):
        if request.blueprint == "twilio" and not g.get("database_down") and response.status_code == 200:
            now = time.monotonic()
            if state["kept"] or now - state["last"] >= BACKGROUND_EVERY:
                state["last"] = now
                if pending(config) and not lock.locked():
                    threading.Thread(target=run, name="hotline-spool-replay", daemon=True).start()
        return response

    app.extensions["hotline.spool"] = run       # tests and `serve` may run it at once


def _enqueue(app, recording_sid: str) -> None:
    from hotline import queue

    queue.enqueue_recording(app, recording_sid)
