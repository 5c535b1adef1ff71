"""Alarm follow-up: work orders (events, photos), plan step records, drills, linkage actions, pages, inspection rounds.

Revision ID: 0004_workorders
Revises: 0003_alarms
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_workorders"
down_revision = "0003_alarms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("escalated", sa.Boolean, nullable=False),
        sa.Column("assignee", sa.String(64)),
        sa.Column("device", sa.String(96)),
        sa.Column("ifc_guid", sa.String(22)),
        sa.Column("space_guid", sa.String(22)),
        sa.Column("zone", sa.String(96)),
        sa.Column("alarm_id", sa.Integer, unique=True),
        sa.Column("round_run_id", sa.Integer),
        sa.Column("drill", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_work_orders_status_due", "work_orders", ["status", "due_at"])
    op.create_index("ix_work_orders_assignee", "work_orders", ["assignee"])
    op.create_index("ix_work_orders_device", "work_orders", ["device"])
    op.create_table(
        "work_order_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_work_order_events_order", "work_order_events", ["work_order_id", "id"])
    op.create_table(
        "work_order_photos",
        sa.Column(
            "work_order_id", sa.Integer, sa.ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("uploaded_at", sa.Float, nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "plan_steps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alarm_id", sa.Integer, nullable=False),
        sa.Column("plan_id", sa.String(96), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("done_at", sa.Float, nullable=False),
        sa.Column("done_by", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32)),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("alarm_id", "step", name="uq_plan_steps_alarm_step"),
    )
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scenario", sa.String(64)),
        sa.Column("target", sa.String(96)),
        sa.Column("note", sa.Text),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("ended_by", sa.String(64)),
    )
    op.create_table(
        "linkage_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alarm_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("target", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("drill", sa.Boolean, nullable=False),
        sa.Column("audit_id", sa.BigInteger),
    )
    op.create_index("ix_linkage_actions_alarm", "linkage_actions", ["alarm_id", "id"])
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alarm_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=False),
        sa.Column("title_en", sa.String(300), nullable=False),
        sa.Column("zone", sa.String(96)),
        sa.Column("camera", sa.String(96)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("acked_at", sa.Float),
        sa.Column("acked_by", sa.String(64)),
        sa.Column("drill", sa.Boolean, nullable=False),
        sa.UniqueConstraint("alarm_id", "role", name="uq_pages_alarm_role"),
    )
    op.create_table(
        "round_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.String(96), nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("window_end", sa.Float, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("work_order_id", sa.Integer),
        sa.Column("finished_at", sa.Float),
        sa.UniqueConstraint("round_id", "due_at", name="uq_round_runs_round_due"),
    )
    op.create_table(
        "round_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("round_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item", sa.Integer, nullable=False),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("work_order_id", sa.Integer),
        sa.UniqueConstraint("run_id", "item", name="uq_round_results_run_item"),
    )


def downgrade() -> None:
    for table in ("round_results", "round_runs", "pages", "linkage_actions", "drills", "plan_steps",
                  "work_order_photos", "work_order_events", "work_orders"):  # fmt: skip
        op.drop_table(table)
