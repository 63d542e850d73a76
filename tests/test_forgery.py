"""Forgery, beyond tests/test_webhook_security.py: ports in URLs, a TLS proxy in front, query strings
and escapes in action URLs, repeated form keys, and a production start without an auth token.

Each case that must pass is paired with the near miss that must be refused (403, nothing changed).
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline import cli, create_app
from hotline.config import Config, ConfigError
from hotline.phone import Phone, flask_transport, sign
from tests.conftest import AUTH_TOKEN
from tests.driver import CallDriver, TextDriver
from tests.figures import record
from tests.test_webhook_security import TWILIO_ROUTES, app_with, assert_twiml, post, snapshot

ROOT = Path(__file__).resolve().parents[1]
SMS = TWILIO_ROUTES["/sms/incoming"]
STEP = TWILIO_ROUTES["/voice/step?n=1"]
OUTCOMES: list[tuple[str, str]] = []


def accepted(resp) -> None:
    assert_twiml(resp.status_code, resp.get_data(as_text=True))


def refused(resp) -> None:
    assert resp.status_code == 403, resp.get_data(as_text=True)
    assert b"<Message>" not in resp.data and b"<Say" not in resp.data


def check(label: str, resp, ok: bool) -> None:
    (accepted if ok else refused)(resp)
    OUTCOMES.append((label, "accepted" if ok else "refused (403)"))


@pytest.fixture(scope="module", autouse=True)
def _figures():
    yield
    record("forgery_cases", **{label: outcome for label, outcome in OUTCOMES})


# ---- ports ----

@pytest.mark.parametrize("base, signed, ok", [
    ("https://pb.example.org:8443", "https://pb.example.org:8443/sms/incoming", True),
    # Twilio's validator also takes the URL with its port left out (twilio-protocol.md): the HMAC
    # still needs the auth token, so this lets no one in who could not sign anyway.
    ("https://pb.example.org:8443", "https://pb.example.org/sms/incoming", True),
    ("https://pb.example.org:8443", "https://pb.example.org:443/sms/incoming", False),
    ("https://pb.example.org:8443", "https://pb.example.org:8444/sms/incoming", False),
    ("https://pb.example.org", "https://pb.example.org:443/sms/incoming", True),     # Twilio may name the port
    ("https://pb.example.org:443", "https://pb.example.org/sms/incoming", True),
    ("https://pb.example.org", "https://pb.example.org:8443/sms/incoming", False),
    ("https://pb.example.org", "http://pb.example.org/sms/incoming", False),          # another scheme
], ids=lambda v: str(v))
def test_ports_in_the_public_url(db, demo, tmp_path, base, signed, ok):
    client = app_with(db, tmp_path, PUBLIC_BASE_URL=base)
    before = snapshot(db)
    check(f"PUBLIC_BASE_URL {base}, signed {signed}", post(client, "/sms/incoming", SMS, sign(AUTH_TOKEN, signed, SMS)),
          ok)
    if not ok:
        assert snapshot(db) == before


@pytest.mark.parametrize("signed, ok", [
    ("http://localhost:5000/sms/incoming", True),
    ("http://localhost/sms/incoming", True),           # the port left out: see above
    ("http://localhost:80/sms/incoming", False),
    ("http://localhost:5001/sms/incoming", False),
])
def test_a_port_in_the_request_url_itself(client, db, demo, signed, ok):
    before = snapshot(db)
    resp = post(client, "/sms/incoming", SMS, sign(AUTH_TOKEN, signed, SMS), base="http://localhost:5000")
    check(f"no base URL, request on :5000, signed {signed}", resp, ok)
    if not ok:
        assert snapshot(db) == before


# ---- behind a TLS proxy ----

@pytest.mark.parametrize("headers, signed, ok", [
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pb.example.org", "X-Forwarded-Port": "443"},
     "https://pb.example.org/sms/incoming", True),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pb.example.org", "X-Forwarded-Port": "8443"},
     "https://pb.example.org:8443/sms/incoming", True),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pb.example.org", "X-Forwarded-Port": "8443"},
     "https://pb.example.org:443/sms/incoming", False),
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pb.example.org"},
     "http://pb.example.org/sms/incoming", False),                                 # TLS ended at the proxy
    # A client's own X-Forwarded-* come first; the proxy appends the real ones, and only the last counts.
    ({"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "evil.example, pb.example.org"},
     "https://pb.example.org/sms/incoming", True),
    ({"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "evil.example, pb.example.org"},
     "https://evil.example/sms/incoming", False),
], ids=lambda v: str(v)[:60])
def test_behind_a_tls_proxy(db, demo, tmp_path, headers, signed, ok):
    client = app_with(db, tmp_path, TRUST_PROXY="1")
    before = snapshot(db)
    check(f"TRUST_PROXY=1, {headers}, signed {signed}",
          post(client, "/sms/incoming", SMS, sign(AUTH_TOKEN, signed, SMS), base="http://10.0.0.5:8000", **headers),
          ok)
    if not ok:
        assert snapshot(db) == before


def test_a_whole_call_and_text_through_a_tls_proxy_with_a_port(db, demo, tmp_path):
    """Twilio follows every action URL the line gives (with its ?n= and &l=), signing each as it sees it."""
    client = app_with(db, tmp_path, TRUST_PROXY="1")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "pb.example.org", "X-Forwarded-Port": "8443"}
    inner = flask_transport(client)

    def via_proxy(url, pairs, headers, method="POST"):
        assert url.startswith("https://pb.example.org:8443/")
        path = url[len("https://pb.example.org:8443"):]
        return inner("http://10.0.0.5:8000" + path, pairs, {**headers, **forwarded}, method=method)

    phone = Phone("https://pb.example.org:8443", AUTH_TOKEN, via_proxy, number="+16175550801")
    call = CallDriver(phone.dial())
    call.press("2")                       # Spanish: the action URLs now carry l=es
    assert "l=es" in call.gather["action"] and "n=" in call.gather["action"]
    call.press("3").press("34#")
    assert TextDriver(phone).send("VOTE")
    assert all(sent.status == 200 for sent in phone.sent)
    OUTCOMES.append(("a whole call and text via a TLS proxy on :8443", f"{len(phone.sent)} requests accepted"))


# ---- query strings and escapes ----

@pytest.mark.parametrize("base", [None, "https://pb.example.org"])
@pytest.mark.parametrize("query, signed_query, ok", [
    ("n=1&l=es", "n=1&l=es", True),
    ("n=1&l=es", "l=es&n=1", False),                   # the same parameters in another order: another URL
    ("n=1&l=es", "n=1", False),                        # a parameter added after signing
    ("n=1&note=%7Ea%C3%A9%20b", "n=1&note=%7Ea%C3%A9%20b", True),   # escapes checked as sent, not decoded
    ("n=1&note=%7Ea%C3%A9%20b", "n=1&note=~aé b", False),
    ("n=1&l=zh-Hant", "n=1&l=zh-Hant", True),
], ids=lambda v: str(v))
def test_query_strings_in_action_urls(db, demo, tmp_path, base, query, signed_query, ok):
    client = app_with(db, tmp_path, **({"PUBLIC_BASE_URL": base} if base else {}))
    origin = base or "http://localhost"
    before = snapshot(db)
    resp = post(client, f"/voice/step?{query}", STEP, sign(AUTH_TOKEN, f"{origin}/voice/step?{signed_query}", STEP))
    check(f"{'PUBLIC_BASE_URL' if base else 'request URL'}: requested ?{query}, signed ?{signed_query}", resp, ok)
    if not ok:
        assert snapshot(db) == before


# ---- repeated form keys ----

def test_repeated_keys_signed_in_any_order_are_one_request(client, demo):
    base = [(k, v) for k, v in SMS if k != "MessageSid"]
    first = base + [("MessageSid", "SM" + "a" * 32), ("Tag", "b"), ("Tag", "a")]
    resp = post(client, "/sms/incoming", first, sign(AUTH_TOKEN, "http://localhost/sms/incoming",
                                                     base + [("MessageSid", "SM" + "a" * 32), ("Tag", "a"),
                                                             ("Tag", "b")]))
    check("repeated key, values signed in another order", resp, True)   # Twilio sorts values before signing


@pytest.mark.parametrize("how", ["one value signed, two sent", "two signed, one sent", "dict-style signature"])
def test_repeated_keys_that_do_not_match_the_signature_are_refused(client, db, demo, how):
    two = SMS + [("Body", "IDEA forged")]
    signed, sent = {
        "one value signed, two sent": (SMS, two),
        "two signed, one sent": (two, SMS),
        "dict-style signature": ([(k, v) for k, v in dict(two).items()], two),
    }[how]
    before = snapshot(db)
    check(f"repeated Body: {how}", post(client, "/sms/incoming", sent, sign(AUTH_TOKEN, "http://localhost/sms/incoming",
                                                                           signed)), False)
    assert snapshot(db) == before


# ---- no auth token ----

def test_production_without_an_auth_token_refuses_to_start(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if k not in ("TWILIO_AUTH_TOKEN", "SECRET_KEY")},
           "HOTLINE_ENV": "production", "SECRET_KEY": "s" * 32, "HOTLINE_INSTANCE": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        Config.from_env({k: v for k, v in env.items() if k in ("HOTLINE_ENV", "SECRET_KEY")})
    # As gunicorn would load it (Procfile: hotline:create_app()): the worker does not boot.
    booted = subprocess.run([sys.executable, "-c", "from hotline import create_app; create_app()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert booted.returncode != 0 and "TWILIO_AUTH_TOKEN is required" in booted.stderr
    served = CliRunner().invoke(cli.main, ["serve", "--port", "1"], env=env)
    assert served.exit_code != 0 and "TWILIO_AUTH_TOKEN is required" in served.output
    assert not (tmp_path / "dev_twilio_token").exists()        # no generated token stands in for it
    OUTCOMES.append(("HOTLINE_ENV=production without TWILIO_AUTH_TOKEN", "refuses to start (gunicorn, serve)"))


def test_an_empty_auth_token_never_checks_signatures(config, db):
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        create_app(dataclasses.replace(config, auth_token=""), db)
    OUTCOMES.append(("an app built with an empty token", "refuses to start"))


def test_webhooks_take_only_posts(client, demo):
    for path in ("/sms/incoming", "/voice/incoming", "/voice/step", "/voice/recording", "/voice/status"):
        assert client.get(path).status_code == 405
