"""Fixtures: the real app on SQLite and on PostgreSQL, and phones that talk to it."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from hotline import create_app
from hotline.config import Config
from hotline.cyclefile import DEMO, read
from hotline.phone import Phone, flask_transport
from store import Database, cycles
from store.models import Base
from tests.driver import CallDriver, TextDriver

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _postgres_url() -> str:
    """A fresh PostgreSQL database for this test run (dropped at the end)."""
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001 — any failure means: no PostgreSQL here
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is required in CI and is not reachable at {PG_ADMIN}: {e}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN} ({e.__class__.__name__}); "
                    "start it or set TEST_POSTGRES_URL")
    finally:
        admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    """One migrated database per backend for the whole run; tables are emptied per test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hotline.db'}"
    else:
        url = _postgres_url()
    db = Database(url)
    db.upgrade()
    yield db
    db.dispose()
    if request.param == "postgresql":
        _drop_postgres(url)


@pytest.fixture
def db(database):
    yield database
    with database.unit_of_work() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(table.delete())


@pytest.fixture
def config(tmp_path) -> Config:
    env = {"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": "test-secret-key",
           "RECORDINGS_DIR": str(tmp_path / "recordings")}
    return Config.from_env(env)


def load_cycle(db: Database, path=DEMO, now: datetime | None = None, **overrides) -> int:
    """Load a cycle file (the demo by default, with both windows open)."""
    import dataclasses
    spec = read(path, ("en", "es", "zh-Hant", "zh-Hans"), now=now)
    if overrides:
        spec = dataclasses.replace(spec, **overrides)
    with db.unit_of_work() as s:
        return cycles.save(s, spec, utcnow()).id


@pytest.fixture
def demo(db) -> int:
    return load_cycle(db, now=utcnow())


@pytest.fixture
def app(config, db):
    app = create_app(config, db)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def phone(client):
    """A resident's phone with a Boston number; `phone.dial()` / `phone.text()`."""
    return Phone("http://localhost", AUTH_TOKEN, flask_transport(client), number="+16175550123")


@pytest.fixture
def make_phone(client):
    def make(number: str = "+16175550123") -> Phone:
        return Phone("http://localhost", AUTH_TOKEN, flask_transport(client), number=number)
    return make


@pytest.fixture
def caller(phone, demo):
    """Dial and return a driver at the language menu."""
    return lambda: CallDriver(phone.dial())


@pytest.fixture
def texter(phone, demo):
    return TextDriver(phone)
