"""recording pipeline: where each recording's audio is kept, how far its jobs got, and transcripts

Revision ID: 0002
Revises: 0001

Hand-written. `batch_alter_table` lets SQLite (which cannot add some constraints in place) take
the same steps as PostgreSQL. Recordings already in the database start as `pending`, so the
first `hotline jobs sweep` picks up every idea recorded before the pipeline existed.
"""
from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MACHINE_ONLY = sa.text("kind = 'machine'")


def upgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pipeline", sa.String(length=32), server_default="pending", nullable=False))
        batch_op.add_column(sa.Column("local_path", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("bytes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("format", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("sample_rate", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("audio_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("download_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("transcribe_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_recordings_pipeline", ["pipeline"], unique=False)

    op.create_table(
        "transcripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["recording_id"], ["recordings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["idea_id"], ["ideas.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.create_index("ix_transcripts_recording_id", ["recording_id"], unique=False)
        batch_op.create_index("ix_transcripts_idea_id", ["idea_id"], unique=False)
        # At most one machine transcript per recording and engine: a job run twice adds nothing.
        batch_op.create_index("one_machine_transcript", ["recording_id", "engine"], unique=True,
                              sqlite_where=MACHINE_ONLY, postgresql_where=MACHINE_ONLY)


def downgrade() -> None:
    with op.batch_alter_table("transcripts", schema=None) as batch_op:
        batch_op.drop_index("one_machine_transcript")
        batch_op.drop_index("ix_transcripts_idea_id")
        batch_op.drop_index("ix_transcripts_recording_id")
    op.drop_table("transcripts")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_pipeline")
        for column in ("claimed_at", "claimed_by", "last_error", "transcribe_attempts", "download_attempts",
                       "audio_seconds", "sample_rate", "format", "bytes", "sha256", "local_path", "pipeline"):
            batch_op.drop_column(column)
