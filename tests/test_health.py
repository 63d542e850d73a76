"""The health check a load balancer polls: database and Redis reachability (both backends)."""
from __future__ import annotations

import dataclasses

from hotline import create_app
from store import Database

DEAD_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/hotline?connect_timeout=2"


def test_healthz_reports_the_database_ok_and_redis_not_configured(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["db"]["status"] == "ok"
    assert body["redis"] == {"status": "not configured"}
    assert r.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_when_the_database_is_down(config):
    dead = Database(DEAD_POSTGRES)
    app = create_app(dataclasses.replace(config, database_url=DEAD_POSTGRES), dead)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["status"] == "down" and r.get_json()["db"]["status"] == "error"
    dead.dispose()


def test_healthz_checks_redis_when_configured(config, db):
    app = create_app(dataclasses.replace(config, redis_url="redis://127.0.0.1:6379/0"), db)
    body = app.test_client().get("/healthz").get_json()
    assert body["redis"]["status"] in ("ok", "error")    # "error" only where no Redis runs


def test_redis_down_degrades_but_keeps_the_web_process_in_service(config, db):
    app = create_app(dataclasses.replace(config, redis_url="redis://127.0.0.1:1/0"), db)
    r = app.test_client().get("/healthz")
    assert r.status_code == 200
    assert r.get_json()["status"] == "degraded" and r.get_json()["redis"]["status"] == "error"
