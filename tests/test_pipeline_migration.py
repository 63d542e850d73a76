"""The hand-written migration 0002 on SQLite and PostgreSQL: an existing line upgrades in place."""
from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from store import Database
from store.db import MIGRATIONS
from store.models import Base
from tests.conftest import _drop_postgres, _postgres_url

# Expression indexes (PostgreSQL trigram search) cannot be reflected on SQLite; alembic says so.
pytestmark = pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}" if request.param == "sqlite" else _postgres_url()
    db = Database(url)
    yield db
    db.dispose()
    if request.param == "postgresql":
        _drop_postgres(url)


def _pipeline_tables(obj, name, type_, reflected, compare_to) -> bool:
    # Only what 0002 made: later migrations answer for their own tables.
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is not None and table.name in ("recordings", "transcripts")


def migrate(db: Database, verb: str, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, verb)(cfg, revision)


def test_recordings_from_before_the_pipeline_wait_for_it_after_the_upgrade(fresh):
    migrate(fresh, "upgrade", "0001")
    with fresh.engine.begin() as c:
        c.execute(text("INSERT INTO recordings (recording_sid, call_sid, url, duration, status, created_at, "
                       "updated_at) VALUES ('RE1', 'CA1', 'https://api.twilio.com/x', 12, 'completed', "
                       "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    migrate(fresh, "upgrade", "head")
    with fresh.engine.connect() as c:
        row = c.execute(text("SELECT pipeline, download_attempts, transcribe_attempts, local_path "
                             "FROM recordings")).one()
        assert tuple(row) == ("pending", 0, 0, None)
        context = MigrationContext.configure(c, opts={"include_object": _pipeline_tables})
        assert compare_metadata(context, Base.metadata) == []       # the models and migration 0002 agree


def test_migration_goes_down_and_up_again(fresh):
    migrate(fresh, "upgrade", "head")
    migrate(fresh, "downgrade", "0001")
    names = inspect(fresh.engine)
    assert "transcripts" not in names.get_table_names()
    assert "pipeline" not in {c["name"] for c in names.get_columns("recordings")}
    migrate(fresh, "upgrade", "head")
    assert "transcripts" in inspect(fresh.engine).get_table_names()
