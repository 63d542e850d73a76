"""Who is signed in: sign-in with lock-outs, sessions, roles, CSRF tokens, and the audit helper.

Sessions are Flask's signed cookie (HttpOnly, SameSite=Lax, Secure behind https), holding the
account id and its `session_epoch`; the account is read again on every request, so disabling it
or changing its password or role takes effect at once in every browser.
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, render_template, request, session, url_for

from hotline.dashboard import bp, passwords
from store import staff as accounts

IDLE = timedelta(hours=2)            # the cookie's signature expires this long after the last request
ABSOLUTE = timedelta(hours=12)       # sign in again after a working day, whatever the activity
LOCK_WINDOW = timedelta(minutes=15)
LOCK_PER_ACCOUNT = 5                 # failures within the window lock the account's sign-in…
LOCK_PER_ADDRESS = 20                # …and these lock the address (one address trying many emails)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class SignedIn:
    """The account behind this request (a copy: no database session outlives the request)."""

    id: int
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == accounts.ADMIN


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def hotline():
    return current_app.extensions["hotline"]


def db():
    return hotline().db


def client_ip() -> str:
    """The caller's address; behind a trusted proxy (TRUST_PROXY=1) the one it forwarded for."""
    if hotline().config.trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return (request.remote_addr or "unknown")[:64]


def current() -> SignedIn | None:
    return g.get("staff")


# ---- settings, headers ----

@bp.record_once
def _configure(state) -> None:
    app = state.app
    config = app.config["HOTLINE"]
    app.config.update(
        SESSION_COOKIE_NAME="pb_staff",
        SESSION_COOKIE_PATH="/staff",          # the webhooks never see it
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.production or (config.public_base_url or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=IDLE,
        SESSION_REFRESH_EACH_REQUEST=True,
    )


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


@bp.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "staff.static":
        # Pages hold residents' words and staff's judgements: never from a shared cache or history.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# ---- CSRF ----

def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "me": current()}


@bp.before_request
def _load_and_check() -> Any:
    """Refuse a state-changing request without this session's CSRF token, then load the account."""
    if request.endpoint == "staff.static":
        return None
    if request.method not in SAFE_METHODS:
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return render_template("staff/error.html", title="This form has expired",
                                   message="The page was open too long or came from elsewhere. "
                                           "Go back, reload the page and try again."), 400
    g.staff = _staff_of_session()
    return None


def _staff_of_session() -> SignedIn | None:
    staff_id, epoch, since = session.get("staff"), session.get("epoch"), session.get("since")
    if staff_id is None:
        return None
    if not isinstance(since, (int, float)) or utcnow().timestamp() - since > ABSOLUTE.total_seconds():
        session.clear()
        return None
    with db().unit_of_work() as s:
        row = accounts.get(s, staff_id)
        if row is None or not row.active or row.session_epoch != epoch:
            session.clear()
            return None
        return SignedIn(row.id, row.email, row.role)


def signed_in(view: Callable) -> Callable:
    """The view needs an account; without one, go and sign in and come back."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current() is None:
            return redirect(url_for("staff.login", next=request.full_path.rstrip("?") if request.method == "GET" else None))
        return view(*args, **kwargs)
    return wrapper


def admin_only(view: Callable) -> Callable:
    """The view is for admins; a reviewer is refused (403), someone signed out is sent to sign in."""
    @wraps(view)
    @signed_in
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current().is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def log_action(s: Any, action: str, target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Put the signed-in person's action in the audit log, in the same unit of work as the action."""
    me = current()
    actor = accounts.get(s, me.id) if me else None
    accounts.audit(s, actor, action, utcnow(), target, detail, client_ip())


# ---- signing in and out ----

def _safe_next(value: str | None) -> str:
    """Only a path inside the dashboard: a sign-in link must not send staff to another site."""
    if value and value.startswith("/staff") and not value.startswith("//") and not urlsplit(value).netloc:
        return value.rstrip("?")
    return url_for("staff.home")


@bp.get("/login")
def login() -> Any:
    if current() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("staff/login.html", next=request.args.get("next", ""), email="", error=None)


@bp.post("/login")
def login_post() -> Any:
    email = accounts.normal_email(request.form.get("email", ""))[:254]
    password = request.form.get("password", "")[:passwords.MAX_LENGTH]
    ip, now = client_ip(), utcnow()
    error, row_id, epoch = None, None, None
    with db().unit_of_work() as s:
        lock = accounts.lockout(s, email, ip, now, LOCK_WINDOW, LOCK_PER_ACCOUNT, LOCK_PER_ADDRESS)
        if lock is not None:
            accounts.audit(s, None, "signin.locked", now, f"staff:{email}", {"scope": lock.scope}, ip,
                           actor_name=email)
            minutes = max(1, int((lock.until - now).total_seconds() // 60) + 1)
            error = (f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}, "
                     "or ask an admin.")
        else:
            row = accounts.by_email(s, email)
            # A missing account still costs one scrypt, so the time taken does not say which emails exist.
            ok = passwords.verify(password, row.password_hash if row else passwords.DUMMY_HASH)
            ok = ok and row is not None and row.active
            accounts.record_attempt(s, email, ip, ok, now)
            accounts.forget_attempts(s, now - 4 * LOCK_WINDOW)
            if not ok:
                accounts.audit(s, None, "signin.failed", now, f"staff:{email}", {}, ip, actor_name=email or "?")
                error = "That email and password do not match an active account."
            else:
                if passwords.needs_rehash(row.password_hash):
                    row.password_hash = passwords.hash_password(password)
                accounts.signed_in(s, row, now)
                accounts.audit(s, row, "signin", now, f"staff:{row.email}", {}, ip)
                row_id, epoch = row.id, row.session_epoch
    if error:
        return render_template("staff/login.html", next=request.form.get("next", ""), email=email,
                               error=error), 401 if lock is None else 429
    session.clear()            # a fresh session (and CSRF token) at sign-in: no fixation
    session.permanent = True
    session.update(staff=row_id, epoch=epoch, since=now.timestamp(), csrf=secrets.token_urlsafe(32))
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
def logout() -> Any:
    if current() is not None:
        with db().unit_of_work() as s:
            log_action(s, "signout", f"staff:{current().email}")
    session.clear()
    return redirect(url_for("staff.login"))


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account() -> Any:
    """Change one's own password (the old one is asked again)."""
    error = done = None
    if request.method == "POST":
        old, new = request.form.get("current", ""), request.form.get("new", "")
        with db().unit_of_work() as s:
            row = accounts.get(s, current().id)
            try:
                if not passwords.verify(old, row.password_hash):
                    raise passwords.WeakPassword("The current password is not right.")
                if new != request.form.get("again", ""):
                    raise passwords.WeakPassword("The two new passwords differ.")
                passwords.check_strength(new, row.email)
            except passwords.WeakPassword as e:
                error = str(e)
            else:
                accounts.set_password(s, row, passwords.hash_password(new))
                log_action(s, "staff.password", f"staff:{row.email}", {"by": "self"})
                session["epoch"] = row.session_epoch     # this browser stays signed in; others are not
                done = "Password changed. Other browsers signed in as you have been signed out."
    return render_template("staff/account.html", error=error, done=done), 400 if error else 200
