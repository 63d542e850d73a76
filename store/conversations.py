"""Conversation state (calls by CallSid, texts by number) and webhooks already answered."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store import identity
from store.models import Conversation, ProcessedWebhook
from voice_flows.machine import State


_LOADED = "conversations.loaded"


def load(s: Session, key: str, now: datetime) -> tuple[State | None, int]:
    """Return the live state under `key` (None when absent or expired) and its step number.

    The row is locked until the unit of work ends, so two requests for one call or one
    number take turns.
    """
    row = s.scalar(select(Conversation).where(Conversation.key == key).with_for_update())
    # The session's identity map holds rows weakly: keep this one for `save` in the same unit of
    # work, which would otherwise read it again (one query per webhook; BENCHMARKS.md).
    s.info.setdefault(_LOADED, {})[key] = row
    if row is None:
        return None, 0
    # An ended conversation is over whatever the clock says: a twin request that started before
    # it ended (and waited for the lock) must not resume it.
    if not row.node or row.expires_at < now:
        return None, row.seq
    return State(node=row.node, lang=row.lang, tries=row.tries, data=dict(row.data or {})), row.seq


def save(s: Session, key: str, state: State | None, seq: int, now: datetime, ttl: timedelta,
         participant_id: int | None = None) -> None:
    """Keep `state` under `key` for `ttl`; None ends the conversation (its step number stays)."""
    row = s.info.get(_LOADED, {}).get(key) or s.get(Conversation, key)
    if row is None:
        row = Conversation(key=key, seq=seq)
        s.add(row)
    row.seq = seq
    row.participant_id = participant_id
    row.updated_at = now
    if state is None:
        row.node, row.lang, row.tries, row.data, row.expires_at = "", "en", 0, {}, now
        return
    row.node, row.lang, row.tries, row.data = state.node, state.lang, state.tries, state.data
    row.expires_at = now + ttl


def participant_of(s: Session, key: str) -> tuple[int | None, str]:
    """Who holds the conversation `key`, and in which language (for callbacks without a From)."""
    row = s.get(Conversation, key)
    return (row.participant_id, row.lang) if row else (None, "en")


def close(s: Session, key: str, now: datetime) -> None:
    """End the conversation now, keeping its step number so late repeats are still recognised.

    A conversation already over is left as it is: a repeated status callback changes nothing.
    """
    row = s.get(Conversation, key)
    if row is not None and row.expires_at > now:
        row.expires_at = now


def answered(s: Session, key: str, secret: str | None = None) -> str | None:
    """The answer already given to the webhook `key`, if it was processed (decrypted with `secret`)."""
    row = s.get(ProcessedWebhook, key)
    if row is None:
        return None
    return identity.unseal(secret, row.response) if secret and identity.is_sealed(row.response) else row.response


def remember(s: Session, key: str, response: str, now: datetime, secret: str | None = None) -> None:
    """Keep the answer given to the webhook `key`, encrypted with `secret`: answers hold receipts
    and ballot choices, and their keys name the call, so in the clear a database dump would tie a
    ballot to a caller (tests/test_privacy.py)."""
    s.add(ProcessedWebhook(key=key, response=identity.seal(secret, response) if secret else response,
                           created_at=now))


def forget_before(s: Session, before: datetime) -> int:
    """Drop stored answers and ended conversations older than `before` (they hold receipts)."""
    n = s.execute(delete(ProcessedWebhook).where(ProcessedWebhook.created_at < before)).rowcount
    n += s.execute(delete(Conversation).where(Conversation.expires_at < before)).rowcount
    return n
