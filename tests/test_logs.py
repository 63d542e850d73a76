"""Structured logs: a request id on every line of a request, and never a phone number or a secret."""
from __future__ import annotations

import json
import logging

from hotline import logs
from tests.conftest import AUTH_TOKEN

NUMBER = "+16175550123"


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]


def test_a_text_is_logged_with_twilios_idempotency_token_as_request_id(app, phone, demo, capsys):
    logs.configure(secrets=(AUTH_TOKEN,), fmt="json")
    capsys.readouterr()
    phone.text("VOTE")
    token = phone.last_headers["I-Twilio-Idempotency-Token"]
    out = lines(capsys)
    access = [r for r in out if r["logger"] == "hotline.access"]
    assert access and access[-1]["request_id"] == token
    assert access[-1]["path"] == "/sms/incoming" and access[-1]["status"] == 200
    assert access[-1]["sid"].startswith("SM")


def test_x_request_id_is_honoured_and_echoed(client, db):
    r = client.get("/healthz", headers={"X-Request-Id": "lb-1234"})
    assert r.headers["X-Request-Id"] == "lb-1234"


def test_a_request_without_an_id_gets_one(client, db):
    r = client.get("/healthz")
    assert len(r.headers["X-Request-Id"]) == 32


def test_no_phone_number_or_token_reaches_a_log_line(app, client, db, capsys):
    logs.configure(secrets=(AUTH_TOKEN, "test-secret-key"), fmt="json")
    capsys.readouterr()
    with app.test_request_context("/", headers={"X-Request-Id": "req-1"}):
        from flask import g
        g.request_id = "req-1"
        logging.getLogger("hotline.test").warning("caller %s, digits 16175550123, token %s", NUMBER, AUTH_TOKEN)
        try:
            raise ValueError(f"bad number {NUMBER}")
        except ValueError:
            logging.getLogger("hotline.test").exception("failed")
    # A bad signature is logged, and the form (with From) must not be.
    client.post("/sms/incoming", data={"From": NUMBER, "Body": "hi"})
    raw = json.dumps(lines(capsys), ensure_ascii=False)
    assert NUMBER not in raw and "16175550123" not in raw and AUTH_TOKEN not in raw
    assert "+1617•••••23" in raw and "req-1" in raw


def test_text_format_carries_the_request_id(client, db, capsys):
    logs.configure(fmt="text")
    capsys.readouterr()
    client.get("/sms/incoming")   # GET on a POST route: 405, still one access line
    client.post("/sms/incoming", headers={"X-Request-Id": "abc-1"})
    err = capsys.readouterr().err
    assert "[abc-1]" in err
