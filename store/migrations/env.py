"""Alembic environment: runs on the connection handed over by `Database.upgrade`."""
from alembic import context

from store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: take the URL from the environment
    from hotline.config import Config
    from store.db import make_engine

    connection = make_engine(Config.from_env().database_url).connect()

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
