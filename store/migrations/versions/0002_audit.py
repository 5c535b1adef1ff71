"""Append-only audit log with a hash chain, and its head row.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS = "0" * 64  # the prev_hash of the first row


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("role", sa.String(32)),
        sa.Column("client", sa.String(255)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(255)),
        sa.Column("arguments", sa.Text),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("idempotency_key", sa.String(128)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_actor_ts", "audit_log", ["actor", "ts_us"])
    op.create_index("ix_audit_log_action_ts", "audit_log", ["action", "ts_us"])
    op.create_index("ix_audit_log_target", "audit_log", ["target"])
    op.create_index("ix_audit_log_idempotency", "audit_log", ["idempotency_key", "actor"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": GENESIS}])


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_log")
