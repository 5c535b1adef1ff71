"""The broadcast log: every broadcast with what, when, who, zones, confirmed speakers, page audio, linkage checks.

Revision ID: 0005_broadcast
Revises: 0004_workorders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_broadcast"
down_revision = "0004_workorders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("zones", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32)),
        sa.Column("ended_at", sa.Float),
        sa.Column("ended_by", sa.String(64)),
        sa.Column("end_reason", sa.String(500)),
        sa.Column("confirmed", sa.Text, nullable=False),
        sa.Column("audio_file", sa.String(255)),
        sa.Column("audio_seconds", sa.Float),
        sa.Column("audio_expires_at", sa.Float),
        sa.Column("supervision", sa.Text),
    )
    op.create_index("ix_broadcasts_started_at", "broadcasts", ["started_at"])
    op.create_index("ix_broadcasts_audio_expires_at", "broadcasts", ["audio_expires_at"])


def downgrade() -> None:
    op.drop_table("broadcasts")
