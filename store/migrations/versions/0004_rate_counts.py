"""rate limits without Redis: one counter per limit, sender and time window

Revision ID: 0004
Revises: 0003

Hand-written. Only used when REDIS_URL is unset (hotline/ratelimit.py); keys hold keyed hashes
of senders, never numbers, and rows past `expires_at` are dropped as new windows open.
"""
from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counts",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("rate_counts", schema=None) as batch_op:
        batch_op.create_index("ix_rate_counts_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_counts_expires_at")
    op.drop_table("rate_counts")
