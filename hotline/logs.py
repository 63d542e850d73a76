"""Structured logs: one JSON object per line, every line of a request carrying its request id.

The request id is the caller's ``X-Request-Id`` (a load balancer's), else Twilio's
``I-Twilio-Idempotency-Token`` (the same on Twilio's retries of one webhook, so a retry is easy to
follow), else a fresh one; it is echoed in the ``X-Request-Id`` response header. Phone numbers and
secrets never reach a log line: numbers are masked the way reviewers see them
(`store.identity.mask`), and the auth token and secret key are redacted wherever they appear.

``LOG_FORMAT`` is ``json`` (the default with ``HOTLINE_ENV=production``) or ``text``;
``LOG_LEVEL`` defaults to ``INFO``; ``ACCESS_LOG=0`` drops the one line per request.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Flask, g, has_request_context, request

from store.identity import mask

REQUEST_ID_HEADERS = ("X-Request-Id", "I-Twilio-Idempotency-Token")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._:\-]")
# E.164 and the bare digit runs a number can appear as (+16175550123, 16175550123, 6175550123).
_PHONE = re.compile(r"(?<![\w.])\+?\d{10,15}(?![\w.])")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_hotline_handler"
access = logging.getLogger("hotline.access")


def request_id() -> str | None:
    """The current request's id, or None outside a request."""
    return getattr(g, "request_id", None) if has_request_context() else None


def _incoming_id() -> str:
    for header in REQUEST_ID_HEADERS:
        value = request.headers.get(header, "")
        if value:
            return _SAFE_ID.sub("", value)[:100] or uuid.uuid4().hex
    return uuid.uuid4().hex


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask phone numbers and redact `secrets` in `text`."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "[redacted]")
    return _PHONE.sub(lambda m: mask(m.group(0)), text)


class Scrubber(logging.Filter):
    """Add the request id to every record, and scrub numbers and secrets from its message."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        message = record.getMessage()
        clean = scrub(message, self.secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info or record.exc_text:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(text, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            out["request_id"] = record.request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id" and not key.startswith("_"):
                out[key] = value
        if record.exc_info or record.exc_text:
            out["exception"] = record.exc_text or self.formatException(record.exc_info)
        out["pid"] = record.process
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")


class _Stderr(logging.StreamHandler):
    """Write to whatever `sys.stderr` is at the time (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def configure(secrets: tuple[str, ...] = (), fmt: str | None = None, level: str | None = None) -> None:
    """Send the process's logs to stderr in `fmt` ("json" or "text"); safe to call again."""
    fmt = fmt or os.environ.get("LOG_FORMAT") or (
        "json" if os.environ.get("HOTLINE_ENV") == "production" else "text")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = _Stderr()
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    # A filter on the handler sees records from every logger (a logger's own filter would not).
    for f in list(handler.filters):
        if isinstance(f, Scrubber):
            handler.removeFilter(f)
    handler.addFilter(Scrubber(secrets))
    root.setLevel((level or os.environ.get("LOG_LEVEL") or "INFO").upper())


def install(app: Flask, secrets: tuple[str, ...] = ()) -> None:
    """Give every request an id (echoed as X-Request-Id) and log one line per request."""
    configure(secrets)
    log_access = os.environ.get("ACCESS_LOG", "1") != "0"

    @app.before_request
    def _start() -> None:
        g.request_id = _incoming_id()
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        rid = getattr(g, "request_id", None)
        if rid:
            response.headers["X-Request-Id"] = rid
        if log_access and request.path != "/healthz":
            # SIDs identify a call or message to Twilio's console; the number never appears.
            form = request.form if request.mimetype == "application/x-www-form-urlencoded" else {}
            sid = form.get("CallSid") or form.get("MessageSid")
            access.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
                **({"sid": sid} if sid else {})})
        return response
