"""Alarms (ISA-18.2 occurrences with their lifecycle flags) and every transition of each one.

Revision ID: 0003_alarms
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_alarms"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        # The rule instance that raised it (rule id | point or zone); open_key holds the same text while the alarm
        # is open (not yet back to normal, or shelved / out of service) and NULL after: the unique index makes a
        # second open alarm of one source impossible, whatever a crash interrupted.
        sa.Column("source_key", sa.String(255), nullable=False),
        sa.Column("open_key", sa.String(255), nullable=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("alarm_class", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("latched", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("shelved_until", sa.Float),
        sa.Column("shelved_by", sa.String(64)),
        sa.Column("shelve_reason", sa.Text),
        sa.Column("shelve_one_shot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("suppressed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("out_of_service", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("oos_reason", sa.Text),
        sa.Column("oos_by", sa.String(64)),
        sa.Column("chattering", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("drill", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("device", sa.String(96)),
        sa.Column("point", sa.String(96)),
        sa.Column("zone", sa.String(96)),
        sa.Column("ifc_guid", sa.String(22)),
        sa.Column("space_guids", sa.Text, nullable=False, server_default="[]"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("raised_at", sa.Float, nullable=False),
        sa.Column("acked_at", sa.Float),
        sa.Column("acked_by", sa.String(64)),
        sa.Column("cleared_at", sa.Float),
        sa.Column("reset_at", sa.Float),
        sa.Column("reset_by", sa.String(64)),
        sa.Column("closed_at", sa.Float),
        sa.Column("camera", sa.String(96)),
        sa.Column("plan", sa.String(96)),
        sa.Column("work_order", sa.Integer),
        sa.Column("comments", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ux_alarms_open_key", "alarms", ["open_key"], unique=True)
    op.create_index("ix_alarms_raised_at", "alarms", ["raised_at"])
    op.create_index("ix_alarms_source_key", "alarms", ["source_key"])
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alarm_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("by", sa.String(64)),
        sa.Column("role", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("value", sa.Text),
    )
    op.create_index("ix_alarm_events_alarm", "alarm_events", ["alarm_id", "id"])
    op.create_index("ix_alarm_events_kind_at", "alarm_events", ["kind", "at"])


def downgrade() -> None:
    op.drop_table("alarm_events")
    op.drop_table("alarms")
