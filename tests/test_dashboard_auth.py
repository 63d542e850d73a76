"""Staff accounts and sign-in: the CLI, passwords, lock-outs, sessions, CSRF, roles, the audit log.

Through Flask's test client, on SQLite and PostgreSQL (the `db` fixture).
"""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hotline import cli, create_app
from hotline.dashboard import auth, passwords
from store.models import AuditEvent, LoginAttempt, Staff
from tests.conftest import utcnow
from tests.staff_driver import PASSWORD, as_staff, make_staff, post, sign_in, text_idea

ADMIN_PAGES = ["/staff/team", "/staff/audit", "/staff/ballot", "/staff/ballot/cycles"]


def audit_actions(db) -> list[tuple[str, str, str | None]]:
    with db.unit_of_work() as s:
        return [(e.actor, e.action, e.target) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# ---- accounts ----

def test_staff_create_command_makes_an_account_that_signs_in(db, client, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path / "instance"))
    out = CliRunner().invoke(cli.main, ["staff", "create", "Ana@Boston.gov", "--role", "admin", "--password-stdin"],
                             input="correct horse battery staple\n")
    assert out.exit_code == 0, out.output
    with db.unit_of_work() as s:
        row = s.scalar(select(Staff))
        assert (row.email, row.role, row.active) == ("ana@boston.gov", "admin", True)
        assert row.password_hash.startswith("scrypt$") and "correct horse" not in row.password_hash
    assert sign_in(client, "ana@boston.gov", "correct horse battery staple").status_code == 302
    assert client.get("/staff/team").status_code == 200
    again = CliRunner().invoke(cli.main, ["staff", "create", "ana@boston.gov", "--role", "reviewer",
                                          "--password-stdin"], input="another long password\n")
    assert again.exit_code != 0 and "has an account already" in again.output


def test_staff_create_refuses_a_short_password(db, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path / "instance"))
    out = CliRunner().invoke(cli.main, ["staff", "create", "bo@boston.gov", "--role", "reviewer",
                                        "--password-stdin"], input="short\n")
    assert out.exit_code != 0 and "at least 8 characters" in out.output


def test_passwords_are_salted_scrypt_compared_in_constant_time():
    a, b = passwords.hash_password("same password"), passwords.hash_password("same password")
    assert a != b                                   # a salt per password
    assert passwords.verify("same password", a) and not passwords.verify("same passwore", a)
    assert not passwords.verify("anything", "md5$abc") and not passwords.needs_rehash(a)
    assert passwords.needs_rehash("scrypt$16384$8$1$c2FsdA$a2V5")


# ---- signing in ----

def test_wrong_password_is_refused_and_logged(db, client):
    make_staff(db, "ana@boston.gov", "admin")
    page = sign_in(client, "ana@boston.gov", "not the password")
    assert page.status_code == 401 and "do not match" in page.text
    assert client.get("/staff/ideas").status_code == 302
    assert ("ana@boston.gov", "signin.failed", "staff:ana@boston.gov") in audit_actions(db)


def test_account_locks_after_five_failures_even_for_the_right_password(db, client, monkeypatch):
    make_staff(db, "ana@boston.gov", "admin")
    for _ in range(auth.LOCK_PER_ACCOUNT):
        assert sign_in(client, "ana@boston.gov", "guess").status_code == 401
    locked = sign_in(client, "ana@boston.gov", PASSWORD)
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.text
    assert ("ana@boston.gov", "signin.locked", "staff:ana@boston.gov") in audit_actions(db)
    later = utcnow() + auth.LOCK_WINDOW + timedelta(seconds=5)     # the window passes
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    assert sign_in(client, "ana@boston.gov", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_locked_out(db, client, monkeypatch):
    monkeypatch.setattr(auth, "LOCK_PER_ADDRESS", 4)       # the rule, at a size a test can afford
    make_staff(db, "ana@boston.gov", "admin")
    for i in range(4):
        assert sign_in(client, f"guess{i}@boston.gov", "guess").status_code == 401
    assert sign_in(client, "ana@boston.gov", PASSWORD).status_code == 429


def test_lockouts_are_kept_in_the_database_not_in_one_process(db, config, client):
    """Several web processes serve the dashboard: a second app on the same database sees the lock."""
    make_staff(db, "ana@boston.gov", "admin")
    for _ in range(auth.LOCK_PER_ACCOUNT):
        sign_in(client, "ana@boston.gov", "guess")
    other = create_app(config, db)
    other.testing = True
    assert sign_in(other.test_client(), "ana@boston.gov", PASSWORD).status_code == 429
    with db.unit_of_work() as s:
        assert len(list(s.scalars(select(LoginAttempt)))) == auth.LOCK_PER_ACCOUNT


def test_disabled_account_cannot_sign_in(db, client):
    make_staff(db, "ana@boston.gov", "admin")
    as_staff(client, db, "admin", "boss@boston.gov")
    with db.unit_of_work() as s:
        ana = s.scalar(select(Staff).where(Staff.email == "ana@boston.gov")).id
    assert post(client, f"/staff/team/{ana}", {"action": "disable"}).status_code == 302
    other = client.application.test_client()
    assert sign_in(other, "ana@boston.gov").status_code == 401


def test_session_cookie_is_http_only_same_site_and_secure_behind_https(db, config):
    app = create_app(dataclasses.replace(config, public_base_url="https://pb.example.org"), db)
    make_staff(db, "ana@boston.gov", "admin")
    client = app.test_client()
    response = sign_in(client, "ana@boston.gov")
    cookie = response.headers["Set-Cookie"]
    assert "pb_staff=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Path=/staff" in cookie


def test_signing_in_starts_a_fresh_session(db, client):
    """No session fixation: the cookie before sign-in does not carry the account."""
    make_staff(db, "ana@boston.gov", "admin")
    client.get("/staff/login")
    with client.session_transaction("/staff/") as session:
        before = session["csrf"]
    sign_in(client, "ana@boston.gov")
    with client.session_transaction("/staff/") as session:
        assert session["csrf"] != before and session["staff"]


def test_sign_out_ends_the_session(db, client):
    make_staff(db, "ana@boston.gov", "admin")
    sign_in(client, "ana@boston.gov")
    assert client.get("/staff/ideas").status_code == 200
    assert post(client, "/staff/logout").status_code == 302
    assert client.get("/staff/ideas").status_code == 302
    assert ("ana@boston.gov", "signout", "staff:ana@boston.gov") in audit_actions(db)


def test_changing_the_password_signs_out_other_browsers(db, client):
    make_staff(db, "ana@boston.gov", "admin")
    other = client.application.test_client()
    sign_in(client, "ana@boston.gov")
    sign_in(other, "ana@boston.gov")
    changed = post(client, "/staff/account", {"current": PASSWORD, "new": "a brand new passphrase",
                                              "again": "a brand new passphrase"})
    assert changed.status_code == 200 and "Password changed" in changed.text
    assert client.get("/staff/ideas").status_code == 200
    assert other.get("/staff/ideas").status_code == 302


def test_sign_in_link_never_sends_staff_to_another_site(db, client):
    make_staff(db, "ana@boston.gov", "admin")
    response = post(client, "/staff/login", {"email": "ana@boston.gov", "password": PASSWORD,
                                             "next": "//evil.example.org/staff"})
    assert response.headers["Location"] == "/staff/"


def test_signed_out_visitor_is_sent_to_sign_in_and_back(db, client):
    make_staff(db, "ana@boston.gov", "admin")
    for url in ["/staff/ideas", "/staff/ideas/1234567", "/staff/ideas/1234567/audio", "/staff/ideas.csv",
                *ADMIN_PAGES]:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login"), url
    response = client.get("/staff/ideas?lang=es")
    assert response.headers["Location"] == "/staff/login?next=/staff/ideas?lang%3Des"
    signed = post(client, "/staff/login", {"email": "ana@boston.gov", "password": PASSWORD,
                                           "next": "/staff/ideas?lang=es"})
    assert signed.headers["Location"] == "/staff/ideas?lang=es"


# ---- CSRF ----

def test_a_form_sent_without_its_csrf_token_is_refused(db, client, make_phone, demo):
    ref = text_idea(make_phone, "more benches")
    as_staff(client, db, "reviewer")
    refused = client.post(f"/staff/ideas/{ref}", data={"summary_en": "More benches", "eligibility": "eligible"})
    assert refused.status_code == 400 and "expired" in refused.text
    forged = client.post(f"/staff/ideas/{ref}", data={"summary_en": "x", "csrf_token": "not-the-token"})
    assert forged.status_code == 400
    page = client.get(f"/staff/ideas/{ref}")
    assert "More benches" not in page.text and "Not reviewed yet" not in page.text.split("Eligibility")[0]
    assert post(client, f"/staff/ideas/{ref}", {"summary_en": "More benches", "eligibility": "eligible"}
                ).status_code == 302


def test_sign_in_without_a_csrf_token_is_refused(db, client):
    make_staff(db, "ana@boston.gov", "admin")
    assert client.post("/staff/login", data={"email": "ana@boston.gov", "password": PASSWORD}).status_code == 400


def test_csrf_token_in_a_header_is_accepted_for_scripts(db, client):
    as_staff(client, db, "admin")
    assert client.post("/staff/logout", headers={"X-CSRF-Token": "test-csrf-token"}).status_code == 302


# ---- roles ----

@pytest.mark.parametrize("url", ADMIN_PAGES + ["/staff/ballot/{cycle}", "/staff/ballot/{cycle}/results",
                                               "/staff/ballot/{cycle}/results.csv", "/staff/ballot/{cycle}/turnout"])
def test_reviewer_cannot_reach_admin_pages(db, client, demo, url):
    as_staff(client, db, "reviewer")
    response = client.get(url.format(cycle=demo))
    assert response.status_code == 403 and "for admins" in response.text


def test_reviewer_cannot_change_accounts_priorities_or_the_ballot(db, client, demo):
    as_staff(client, db, "reviewer")
    for url, data in [("/staff/team", {"email": "x@boston.gov", "role": "admin", "password": "long enough pw"}),
                      (f"/staff/priorities/{demo}", {"name": "Parks"}),
                      (f"/staff/ballot/{demo}/proposals/1", {"title_en": "Changed", "cost": "1"})]:
        assert post(client, url, data).status_code == 403, url
    with db.unit_of_work() as s:
        assert [r.email for r in s.scalars(select(Staff))] == ["reviewer@boston.gov"]


def test_admin_reaches_every_admin_page(db, client, demo):
    as_staff(client, db, "admin")
    for url in ADMIN_PAGES:
        assert client.get(url, follow_redirects=True).status_code == 200, url


def test_the_last_admin_cannot_be_demoted_or_disabled(db, client):
    as_staff(client, db, "admin", "boss@boston.gov")
    with db.unit_of_work() as s:
        boss = s.scalar(select(Staff)).id
    post(client, f"/staff/team/{boss}", {"action": "role", "role": "reviewer"})
    with db.unit_of_work() as s:
        assert s.get(Staff, boss).role == "admin"


def test_admin_adds_a_reviewer_who_can_then_sign_in(db, client):
    as_staff(client, db, "admin", "boss@boston.gov")
    made = post(client, "/staff/team", {"email": "New@Boston.gov", "role": "reviewer",
                                        "password": "their first passphrase"})
    assert made.status_code == 302
    other = client.application.test_client()
    assert sign_in(other, "new@boston.gov", "their first passphrase").status_code == 302
    assert other.get("/staff/team").status_code == 403
    assert ("boss@boston.gov", "staff.create", "staff:new@boston.gov") in audit_actions(db)


def test_security_headers_keep_pages_out_of_frames_and_caches(db, client):
    as_staff(client, db, "reviewer")
    page = client.get("/staff/ideas")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
