"""Rate-limit counters kept in the database (when there is no Redis): one atomic upsert per hit."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.models import RateCount


def hit(s: Session, key: str, expires_at: datetime) -> int:
    """Count one more request under `key` and return the count, this one included.

    One statement (insert, or add one to the row there), so concurrent requests from several
    processes never lose a count.
    """
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (insert(RateCount).values(key=key, count=1, expires_at=expires_at)
            .on_conflict_do_update(index_elements=[RateCount.key], set_={"count": RateCount.count + 1})
            .returning(RateCount.count))
    return int(s.execute(stmt).scalar_one())


def forget_expired(s: Session, now: datetime) -> int:
    """Drop counters of windows that are over; return how many."""
    return s.execute(delete(RateCount).where(RateCount.expires_at < now)).rowcount or 0
