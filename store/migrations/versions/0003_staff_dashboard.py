"""staff dashboard: staff accounts, sign-in attempts, audit log, priorities, idea reviews; inbox indexes

Revision ID: 0003
Revises: 0002

Hand-written. `batch_alter_table` lets SQLite take the same steps as PostgreSQL (only for indexes
here: see the note on `ideas` below). The indexes on `ideas` keep the inbox fast at 50,000 ideas
(bench/inbox_bench.py). On PostgreSQL the search
(`lower(column) LIKE '%words%'`) gets trigram indexes when the pg_trgm extension can be made
(it is a trusted extension from PostgreSQL 13: a database owner may create it); without it, and on
SQLite, the search scans, which the benchmark measures too.
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TRIGRAM_INDEXES = (("ix_ideas_text_trgm", "ideas", "text"),
                   ("ix_transcripts_text_trgm", "transcripts", "text"),
                   ("ix_idea_reviews_summary_trgm", "idea_reviews", "summary_en"),
                   ("ix_idea_reviews_notes_trgm", "idea_reviews", "notes"))


def _has_trigrams(bind) -> bool:
    """Make pg_trgm if this database allows it; a refusal leaves the search scanning, not broken."""
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first():
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        return True
    except sa.exc.DBAPIError as e:
        log.warning("pg_trgm could not be created (%s): the idea search will scan instead of using an index",
                    e.orig)
        return False


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_at", ["at"], unique=False)
        batch_op.create_index("ix_login_attempts_email_at", ["email", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_ip_at", ["ip", "at"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_events_staff_id", ["staff_id"], unique=False)
        batch_op.create_index("ix_audit_events_target", ["target"], unique=False)

    op.create_table(
        "priorities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("proposal_number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "name", name="one_priority_name_per_cycle"),
    )
    with op.batch_alter_table("priorities", schema=None) as batch_op:
        batch_op.create_index("ix_priorities_cycle_id", ["cycle_id"], unique=False)

    op.create_table(
        "idea_reviews",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("summary_en", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["idea_id"], ["ideas.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("idea_id"),
    )

    # The judgement goes on the idea itself, so the inbox counts by one index over one table. Plain
    # ADD COLUMN, in place on both databases: batch mode would copy `ideas` on SQLite, and dropping
    # the old copy fires its children's ON DELETE actions. For the same reason `priority_id` has no
    # foreign key (SQLite cannot drop a column that has one): store.review keeps it pointing at a
    # priority of the idea's cycle and clears it when the priority is removed.
    op.add_column("ideas", sa.Column("eligibility", sa.String(length=16), nullable=True))
    op.add_column("ideas", sa.Column("priority_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index("ix_ideas_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_ideas_facets", ["cycle_id", "status", "language", "channel", "eligibility",
                                                  "priority_id", "zip_code", "created_at"], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _has_trigrams(bind):
        for name, table, column in TRIGRAM_INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.drop_index("ix_ideas_facets")
        batch_op.drop_index("ix_ideas_created_at_id")
    for column in ("priority_id", "eligibility"):
        op.execute(f"ALTER TABLE ideas DROP COLUMN {column}")    # in place on both (SQLite 3.35+)
    op.drop_table("idea_reviews")
    with op.batch_alter_table("priorities", schema=None) as batch_op:
        batch_op.drop_index("ix_priorities_cycle_id")
    op.drop_table("priorities")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_target")
        batch_op.drop_index("ix_audit_events_staff_id")
        batch_op.drop_index("ix_audit_events_at")
    op.drop_table("audit_events")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_ip_at")
        batch_op.drop_index("ix_login_attempts_email_at")
        batch_op.drop_index("ix_login_attempts_at")
    op.drop_table("login_attempts")
    op.drop_table("staff")
