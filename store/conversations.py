"""Conversation state (calls by CallSid, texts by number) and webhooks already answered."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, null, select
from sqlalchemy.orm import Session

from store import identity
from store.models import Conversation, Participant, ProcessedWebhook
from voice_flows.machine import State


_EXISTS = "conversations.exists"


@dataclass(frozen=True)
class Loaded:
    """Where a conversation stands, read in one round trip with what a webhook needs besides."""

    state: State | None              # None when absent, ended or expired
    seq: int                         # its step number
    participant: Participant | None  # whom it was last saved for (None before its first save)
    answer: str | None               # the answer already given to the webhook asked about, if any


def load(s: Session, key: str, now: datetime, hook: str | None = None, secret: str | None = None) -> Loaded:
    """Return the conversation under `key`, locked until the unit of work ends (two requests for
    one call or one number take turns), with its participant and the stored answer to `hook`.

    The answer is read as the database stood before the lock was granted: a twin request that
    held the lock meanwhile may have answered since. Its stored answer then makes this request's
    own `remember` fail on the unique key, the unit of work rolls back, and the webhook's retry
    finds the answer (hotline/webhooks.py `_retrying`).
    """
    answer = select(ProcessedWebhook.response).where(ProcessedWebhook.key == hook).scalar_subquery()
    found = s.execute(
        select(Conversation, Participant, answer if hook else null())
        .outerjoin(Participant, Participant.id == Conversation.participant_id)
        .where(Conversation.key == key).with_for_update(of=Conversation)).first()
    row, participant, stored = found if found else (None, None, None)
    if row is None and hook:
        stored = s.scalar(select(ProcessedWebhook.response).where(ProcessedWebhook.key == hook))
    # Whether the row exists, for `save` in the same unit of work (else it would ask again).
    s.info.setdefault(_EXISTS, {})[key] = row is not None
    answer_text = _unsealed(secret, stored)
    if row is None:
        return Loaded(None, 0, None, answer_text)
    # An ended conversation is over whatever the clock says: a twin request that started before
    # it ended (and waited for the lock) must not resume it.
    if not row.node or row.expires_at < now:
        return Loaded(None, row.seq, participant, answer_text)
    state = State(node=row.node, lang=row.lang, tries=row.tries, data=dict(row.data or {}))
    return Loaded(state, row.seq, participant, answer_text)


def save(s: Session, key: str, state: State | None, seq: int, now: datetime, ttl: timedelta,
         participant_id: int | None = None) -> None:
    """Keep `state` under `key` for `ttl`; None ends the conversation (its step number stays)."""
    exists = s.info.get(_EXISTS, {}).get(key)
    if exists is None:
        exists = s.get(Conversation, key) is not None
    values = {"seq": seq, "participant_id": participant_id, "updated_at": now}
    if state is None:
        values.update(node="", lang="en", tries=0, data={}, expires_at=now)
    else:
        values.update(node=state.node, lang=state.lang, tries=state.tries, data=state.data, expires_at=now + ttl)
    # One statement, outside the ORM's unit of work: written on every webhook (BENCHMARKS.md).
    table = Conversation.__table__
    s.execute(table.update().where(table.c.key == key).values(values) if exists
              else table.insert().values(key=key, **values))
    s.info.setdefault(_EXISTS, {})[key] = True


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
    return _unsealed(secret, s.scalar(select(ProcessedWebhook.response).where(ProcessedWebhook.key == key)))


def _unsealed(secret: str | None, response: str | None) -> str | None:
    if response is None:
        return None
    return identity.unseal(secret, response) if secret and identity.is_sealed(response) else response


def remember(s: Session, key: str, response: str, now: datetime, secret: str | None = None) -> None:
    """Keep the answer given to the webhook `key`, encrypted with `secret`: answers hold receipts
    and ballot choices, and their keys name the call, so in the clear a database dump would tie a
    ballot to a caller (tests/test_privacy.py).

    Written at once: a twin request that answered first makes this fail on the unique key, so the
    unit of work rolls back before it commits anything (see `load`).
    """
    s.execute(ProcessedWebhook.__table__.insert().values(
        key=key, response=identity.seal(secret, response) if secret else response, created_at=now))


def forget_before(s: Session, before: datetime) -> int:
    """Drop stored answers and ended conversations older than `before` (they hold receipts)."""
    n = s.execute(delete(ProcessedWebhook).where(ProcessedWebhook.created_at < before)).rowcount
    n += s.execute(delete(Conversation).where(Conversation.expires_at < before)).rowcount
    return n
