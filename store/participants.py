"""Participants: found by the keyed hash of their number; language and opt-out kept."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import identity
from store.models import Participant


def find(s: Session, secret: str, e164: str) -> Participant | None:
    return s.scalar(select(Participant).where(Participant.phone_hash == identity.phone_hash(secret, e164)))


def find_or_create(s: Session, secret: str, e164: str) -> Participant:
    found = find(s, secret, e164)
    if found:
        return found
    p = Participant(phone_hash=identity.phone_hash(secret, e164),
                    phone_encrypted=identity.encrypt_phone(secret, e164), opted_out=False)
    try:
        with s.begin_nested():   # another request from the same number may create it first
            s.add(p)
    except IntegrityError:
        return find(s, secret, e164)
    return p


def set_language(s: Session, p: Participant, lang: str) -> None:
    p.language = lang


def opt_out(s: Session, p: Participant, now: datetime) -> None:
    p.opted_out, p.opted_out_at = True, now


def opt_in(s: Session, p: Participant) -> None:
    p.opted_out, p.opted_out_at = False, None
