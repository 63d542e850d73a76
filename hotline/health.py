"""The health check a load balancer or platform polls: can this process reach its database and Redis?"""
from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, current_app, jsonify

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

REDIS_TIMEOUT = 1.0   # seconds: a health check must answer well inside the balancer's own timeout


def _check_database() -> tuple[bool, dict[str, Any]]:
    started = time.perf_counter()
    try:
        current_app.extensions["hotline"].db.ping()
    except Exception as e:  # noqa: BLE001 — any failure is "down"; the reason is logged, not shown
        log.warning("health: database unreachable: %s", type(e).__name__)
        return False, {"status": "error", "error": type(e).__name__}
    return True, {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


def _redis_client(url: str):
    """One client (and so one connection pool) per app, made on first use."""
    from redis import Redis

    ext = current_app.extensions
    client = ext.get("hotline.health.redis")
    if client is None:
        client = ext["hotline.health.redis"] = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
    return client


def _check_redis() -> dict[str, Any]:
    url = current_app.config["HOTLINE"].redis_url
    if not url:
        # The embedded default: jobs run in this process, so there is nothing to reach.
        return {"status": "not configured"}
    started = time.perf_counter()
    try:
        _redis_client(url).ping()
    except Exception as e:  # noqa: BLE001
        log.warning("health: Redis unreachable: %s", type(e).__name__)
        return {"status": "error", "error": type(e).__name__}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


@bp.get("/healthz")
def healthz():
    """200 while the database answers, 503 when it does not.

    Redis being down does not fail the check: webhooks still answer and keep every recording
    in the database (`hotline jobs sweep` queues it later), so taking web processes out of a
    load balancer for it would turn a slow pipeline into a dead line. It shows as "degraded".
    """
    db_ok, db = _check_database()
    redis = _check_redis()
    status = "ok" if db_ok and redis["status"] in ("ok", "not configured") else ("degraded" if db_ok else "down")
    response = jsonify({"status": status, "db": db, "redis": redis})
    response.status_code = 200 if db_ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
