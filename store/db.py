"""Engines, sessions and the unit of work; the only place a connection is opened."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
CONNECT_TIMEOUT = 3          # s to open a PostgreSQL connection
POOL_TIMEOUT = 5             # s to wait for a pooled connection to come free
LOCK_TIMEOUT_MS = 5000       # a row or table lock held longer than this fails the statement
TCP_USER_TIMEOUT_MS = 5000   # unacknowledged data for this long: the server is gone


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the dashboard read while a webhook writes; busy_timeout makes concurrent
    # writers wait instead of failing with "database is locked".
    dbapi_connection.isolation_level = None   # transactions are begun below, not by the driver
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Every unit of work reads, then writes: taking the write lock at BEGIN keeps two
        # requests for the same call from both reading and then one failing to upgrade.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    # Twilio waits 15 s in all for an answer (docs/twilio-protocol.md): a database that does not
    # answer must fail fast enough for the webhook to apologise and keep what the caller gave
    # (hotline/spool.py) instead of leaving Twilio to play its "application error".
    limits = {"connect_timeout": CONNECT_TIMEOUT, "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
              "options": f"-c lock_timeout={LOCK_TIMEOUT_MS}"} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_timeout=POOL_TIMEOUT,
                         connect_args=limits)


class Database:
    """An engine and its session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Yield a session whose work is committed at the end of the block, or rolled back."""
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Run a trivial query; raise whatever the driver raises when the database is unreachable.

        A raw pooled connection, outside any transaction: on SQLite a unit of work would take the
        write lock (BEGIN IMMEDIATE) just to say "alive".
        """
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
            cur.close()
        finally:
            conn.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def is_unavailable(error: BaseException) -> bool:
    """Tell whether `error` means the database cannot be reached or did not answer in time.

    Such an error is not worth retrying inside a webhook (each try would wait as long again);
    a conflict between two requests (a deadlock, a serialization failure: SQLSTATE 40xxx) or a
    unique key race is, and is not "unavailable".
    """
    from sqlalchemy import exc

    if isinstance(error, exc.TimeoutError):           # no pooled connection came free in time
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        sqlstate = getattr(error.orig, "sqlstate", None) or ""
        return not sqlstate.startswith("40")
    return False
