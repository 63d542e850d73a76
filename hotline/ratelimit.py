"""Rate limits on texts and calls: per sender and for the whole line, counted in Redis or the database.

A flood from one number must not slow the line for anyone else. So the sender's own limit is
checked first, and only requests within it count toward the line's limit: a flood spends none of
the line's budget. A refused request costs one counter hit and reads nothing else — no conversation,
no cycle. A limited texter gets one polite reply, then silence until the window ends (every reply
is a message the city pays for, and may be what the flood wants); a limited caller hears a short
apology and the call ends.

Counters are fixed windows shared by every process, never process memory: in Redis when
REDIS_URL is set (INCR and EXPIRE in one MULTI), otherwise one upsert in the database
(`store.limits`). Keys hold a keyed hash of the sender, never the number. If the counter store
cannot be reached the request goes through — the line staying up matters more than the limit —
and Redis is not asked again for a few seconds.

Settings (environment or `Config.extra`), each ``COUNT/SECONDS``, or ``off``:
``RATE_SMS_PER_NUMBER`` (default 30/600: a whole vote by text is 5 or 6 texts), ``RATE_SMS_LINE``
(3000/60), ``RATE_CALLS_PER_NUMBER`` (10/600, new calls only, not key presses), ``RATE_CALLS_LINE``
(1200/60); ``RATE_PREFIX`` names the Redis keys (default ``hotline:rl``). A load test sets the line's
limits ``off``.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from hotline.config import Config
from store import Database

log = logging.getLogger(__name__)

SMS, CALL = "sms", "call"
NUMBER, LINE = "number", "line"
DEFAULTS = {"RATE_SMS_PER_NUMBER": "30/600", "RATE_SMS_LINE": "3000/60",
            "RATE_CALLS_PER_NUMBER": "10/600", "RATE_CALLS_LINE": "1200/60"}
REDIS_PAUSE = 5.0           # s without asking Redis after it failed
REDIS_TIMEOUT = 0.5         # s: a limit check must not eat into Twilio's 15 s

clock = time.time           # tests move time on


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    scope: str | None = None        # NUMBER or LINE when refused
    first: bool = False             # the first refusal of this sender in this window
    retry_after: int = 0            # s until the window that refused ends

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


ALLOWED = Verdict(True)


def parse_limit(value: str) -> Limit | None:
    """``"30/600"`` → 30 per 600 s; ``off`` or a zero → no limit.

    :raises ValueError: neither.
    """
    value = value.strip().lower()
    if value in ("off", "none", "0", ""):
        return None
    count, sep, seconds = value.partition("/")
    if not sep or int(count) < 0 or int(seconds) <= 0:
        raise ValueError(f"a rate limit is COUNT/SECONDS, like 30/600, or off: not {value!r}")
    return Limit(int(count), int(seconds)) if int(count) else None


@dataclass(frozen=True)
class Settings:
    sms_number: Limit | None
    sms_line: Limit | None
    call_number: Limit | None
    call_line: Limit | None
    prefix: str = "hotline:rl"

    @classmethod
    def from_config(cls, config: Config) -> "Settings":
        extra = config.extra or {}

        def get(name: str) -> Limit | None:
            value = extra[name] if name in extra else os.environ.get(name)
            return parse_limit(DEFAULTS[name] if value is None else str(value))

        prefix = extra.get("RATE_PREFIX") or os.environ.get("RATE_PREFIX") or "hotline:rl"
        return cls(get("RATE_SMS_PER_NUMBER"), get("RATE_SMS_LINE"), get("RATE_CALLS_PER_NUMBER"),
                   get("RATE_CALLS_LINE"), prefix)

    def limits(self, channel: str) -> tuple[Limit | None, Limit | None]:
        return (self.sms_number, self.sms_line) if channel == SMS else (self.call_number, self.call_line)


Hit = Callable[[str, int], int]     # count one request under a key that lives N s; the count so far


class Counter(Protocol):
    def batch(self) -> AbstractContextManager[Hit]:
        """The counting function for one request's hits (one transaction for the database)."""
        ...


class RedisCounter:
    def __init__(self, url: str) -> None:
        from redis import Redis

        self.redis = Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
        self._paused_until = 0.0

    def hit(self, key: str, seconds: int) -> int:
        if time.monotonic() < self._paused_until:
            raise ConnectionError("Redis failed a moment ago")
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, seconds, nx=True)
            count, _ = pipe.execute()
        except Exception:
            self._paused_until = time.monotonic() + REDIS_PAUSE
            raise
        return int(count)

    @contextmanager
    def batch(self) -> Iterator[Hit]:
        yield self.hit


class DatabaseCounter:
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def batch(self) -> Iterator[Hit]:
        from store import limits

        now = datetime.now(timezone.utc).replace(tzinfo=None)
        with self.db.unit_of_work() as s:
            def hit(key: str, seconds: int) -> int:
                count = limits.hit(s, key, now + timedelta(seconds=seconds))
                if count == 1 and key.endswith(":line"):
                    limits.forget_expired(s, now)     # once per window of the line's limit: old rows go
                return count
            yield hit


class Limiter:
    """The limits of one app, with the counter they are kept in."""

    def __init__(self, settings: Settings, counter: Counter, secret: str) -> None:
        self.settings = settings
        self.counter = counter
        self.secret = secret

    def _who(self, sender: str) -> str:
        return hmac.new(self.secret.encode(), f"ratelimit:{sender}".encode(), hashlib.sha256).hexdigest()[:24]

    def _hit(self, hit: Hit, channel: str, limit: Limit, who: str) -> tuple[int, int]:
        now = clock()
        window = int(now // limit.seconds)
        key = f"{self.settings.prefix}:{channel}:{window}:{who}"
        ends = (window + 1) * limit.seconds - now
        return hit(key, limit.seconds + 1), max(1, math.ceil(ends))

    def check(self, channel: str, sender: str) -> Verdict:
        """Count this text or call from `sender` (Twilio's From, whatever it holds) and judge it."""
        per_number, line = self.settings.limits(channel)
        mine = 1
        if not per_number and not line:
            return ALLOWED
        try:
            with self.counter.batch() as hit:
                if per_number:
                    mine, ends = self._hit(hit, channel, per_number, self._who(sender))
                    if mine > per_number.count:
                        return Verdict(False, NUMBER, first=mine == per_number.count + 1, retry_after=ends)
                if line:
                    n, ends = self._hit(hit, channel, line, "line")
                    if n > line.count:
                        # Told once per sender's window: the sender's own count says if this is their first.
                        return Verdict(False, LINE, first=mine == 1, retry_after=ends)
        except Exception as e:  # noqa: BLE001 — the counter store is down: let the request through
            from store.db import is_unavailable

            if isinstance(self.counter, DatabaseCounter) and is_unavailable(e):
                raise       # the request needs that database too: answer at once (hotline/spool.py)
            log.warning("rate limit not checked (%s: %s); letting the %s through", type(e).__name__, e, channel)
        return ALLOWED


_lock = threading.Lock()


def for_app(app: Any) -> Limiter:
    """The app's limiter, made on first use (Redis when REDIS_URL is set, else the database)."""
    with _lock:
        limiter = app.extensions.get("hotline.ratelimit")
        if limiter is None:
            h = app.extensions["hotline"]
            counter: Counter = RedisCounter(h.config.redis_url) if h.config.redis_url else DatabaseCounter(h.db)
            limiter = app.extensions["hotline.ratelimit"] = Limiter(Settings.from_config(h.config), counter,
                                                                    h.config.secret_key)
        return limiter


def refusal(channel: str):
    """The answer to this webhook if it is over a limit (TwiML, 200), or None to go on.

    Texts: the first refusal in a window gets one reply (only to a real number: withheld senders
    are never texted), later ones an empty answer. Calls: a short apology, then the line hangs up.
    """
    from flask import current_app

    from hotline import edge, spool
    from voice_flows.machine import Hangup, Say

    verdict = for_app(current_app).check(channel, edge.from_number())
    if verdict.allowed:
        return None
    h = current_app.extensions["hotline"]
    log.warning("%s refused by the %s rate limit (sid %s)", channel, verdict.scope,
                edge.call_sid() or edge.message_sid())
    lang = spool.guess_language(h.config, h.languages)
    key = "errors.too_many" if verdict.scope == NUMBER else "errors.busy"
    say = Say(key, {"minutes": verdict.minutes})
    if channel == SMS:
        tell = verdict.first and edge.caller_number(edge.from_number()) is not None
        return edge.twiml(edge.render_sms([say] if tell else [], lang))
    return edge.twiml(edge.render_voice([say, Hangup()], lang, action="", recording_callback=""))
