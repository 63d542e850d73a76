"""Staff accounts, sign-in attempts (for lock-outs) and the audit log of staff actions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import AuditEvent, LoginAttempt, Staff

ADMIN, REVIEWER = "admin", "reviewer"
ROLES = (ADMIN, REVIEWER)


class StaffExists(Exception):
    """An account with this email already exists."""


class LastAdmin(Exception):
    """The change would leave no active admin, and so nobody able to manage accounts."""


def normal_email(email: str) -> str:
    return email.strip().lower()


def create(s: Session, email: str, role: str, password_hash: str, now: datetime) -> Staff:
    """Add an account.

    :raises ValueError: an unknown role or an email that is not one.
    :raises StaffExists: the email has an account already.
    """
    email = normal_email(email)
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ValueError(f"{email!r} is not an email address")
    row = Staff(email=email, role=role, password_hash=password_hash, active=True, session_epoch=0, created_at=now)
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError:
        raise StaffExists(email) from None
    return row


def get(s: Session, staff_id: int) -> Staff | None:
    return s.get(Staff, staff_id)


def by_email(s: Session, email: str) -> Staff | None:
    return s.scalar(select(Staff).where(Staff.email == normal_email(email)))


def everyone(s: Session) -> list[Staff]:
    return list(s.scalars(select(Staff).order_by(Staff.role, Staff.email)))


def count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Staff)) or 0


def _other_active_admins(s: Session, staff: Staff) -> int:
    return s.scalar(select(func.count()).select_from(Staff).where(
        Staff.role == ADMIN, Staff.active.is_(True), Staff.id != staff.id)) or 0


def set_password(s: Session, staff: Staff, password_hash: str) -> None:
    """Change the password and sign the account out of every other browser."""
    staff.password_hash = password_hash
    staff.session_epoch += 1


def set_role(s: Session, staff: Staff, role: str) -> None:
    """:raises LastAdmin: demoting the only active admin."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if staff.role == ADMIN and role != ADMIN and staff.active and not _other_active_admins(s, staff):
        raise LastAdmin(staff.email)
    if role != staff.role:
        staff.role = role
        staff.session_epoch += 1


def set_active(s: Session, staff: Staff, active: bool) -> None:
    """:raises LastAdmin: disabling the only active admin."""
    if not active and staff.role == ADMIN and staff.active and not _other_active_admins(s, staff):
        raise LastAdmin(staff.email)
    if active != staff.active:
        staff.active = active
        staff.session_epoch += 1


# ---- sign-in attempts ----

@dataclass(frozen=True)
class Lockout:
    """Why sign-in is refused for now, and until when."""

    scope: str          # account | address
    until: datetime


def record_attempt(s: Session, email: str, ip: str, ok: bool, now: datetime) -> None:
    s.add(LoginAttempt(email=normal_email(email)[:254], ip=ip[:64], ok=ok, at=now))


def lockout(s: Session, email: str, ip: str, now: datetime, window: timedelta, per_account: int,
            per_address: int) -> Lockout | None:
    """Whether sign-in for `email` from `ip` is locked: too many failures within `window`.

    An account counts its failures since its last successful sign-in; an address counts all of
    them (one address trying many accounts). Unknown emails count too, so that a lock-out does
    not tell an attacker which accounts exist.
    """
    email = normal_email(email)
    since = now - window
    last_ok = s.scalar(select(func.max(LoginAttempt.at)).where(LoginAttempt.email == email,
                                                               LoginAttempt.ok.is_(True)))
    account_since = max(since, last_ok) if last_ok else since
    for scope, column, value, limit, start in (("account", LoginAttempt.email, email, per_account, account_since),
                                               ("address", LoginAttempt.ip, ip, per_address, since)):
        times = list(s.scalars(select(LoginAttempt.at).where(column == value, LoginAttempt.ok.is_(False),
                                                             LoginAttempt.at > start)
                               .order_by(LoginAttempt.at.desc()).limit(limit)))
        if len(times) >= limit:
            return Lockout(scope, times[-1] + window)   # the oldest of the last `limit` failures ages out
    return None


def forget_attempts(s: Session, before: datetime) -> None:
    """Drop attempts too old to count for any lock-out."""
    s.execute(delete(LoginAttempt).where(LoginAttempt.at < before))


def signed_in(s: Session, staff: Staff, now: datetime) -> None:
    staff.last_login_at = now


# ---- audit log ----

def audit(s: Session, actor: Staff | None, action: str, now: datetime, target: str | None = None,
          detail: dict[str, Any] | None = None, ip: str | None = None, actor_name: str | None = None) -> AuditEvent:
    """Log a staff action in the same unit of work as the action itself: both are kept, or neither.

    :param actor_name: who acted when there is no account (a failed sign-in's email, ``cli``).
    """
    row = AuditEvent(at=now, staff_id=actor.id if actor else None,
                     actor=(actor.email if actor else actor_name or "unknown")[:254], action=action,
                     target=target[:120] if target else None, detail=detail or {}, ip=ip[:64] if ip else None)
    s.add(row)
    return row


def events(s: Session, limit: int = 100, before_id: int | None = None, target: str | None = None,
           action: str | None = None, actor: str | None = None) -> list[AuditEvent]:
    """The newest events first; `before_id` pages back."""
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    if target:
        q = q.where(AuditEvent.target == target)
    if action:
        q = q.where(AuditEvent.action == action)
    if actor:
        q = q.where(AuditEvent.actor == normal_email(actor))
    return list(s.scalars(q))
