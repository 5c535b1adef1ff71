"""The tables of the alarm follow-up (work orders, plan steps, drills, linkage actions, pages, inspection rounds)."""

from __future__ import annotations

import sqlalchemy as sa

from store.schema import metadata

work_orders = sa.Table(
    "work_orders",
    metadata,
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
    sa.Column("escalated", sa.Boolean, nullable=False, default=False),
    sa.Column("assignee", sa.String(64)),
    sa.Column("device", sa.String(96)),
    sa.Column("ifc_guid", sa.String(22)),
    sa.Column("space_guid", sa.String(22)),
    sa.Column("zone", sa.String(96)),
    # One work order per alarm at most: the unique index makes an alarm event handled twice (a restart) harmless.
    sa.Column("alarm_id", sa.Integer, unique=True),
    sa.Column("round_run_id", sa.Integer),
    sa.Column("drill", sa.Boolean, nullable=False, default=False),
    sa.Column("note", sa.Text),
)

work_order_events = sa.Table(
    "work_order_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("role", sa.String(32)),
    sa.Column("note", sa.Text),
)

work_order_photos = sa.Table(
    "work_order_photos",
    metadata,
    sa.Column("work_order_id", sa.Integer, sa.ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("content_type", sa.String(32), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("uploaded_at", sa.Float, nullable=False),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
)

plan_steps = sa.Table(
    "plan_steps",
    metadata,
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

drills = sa.Table(
    "drills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scenario", sa.String(64)),
    sa.Column("target", sa.String(96)),
    sa.Column("note", sa.Text),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("ended_at", sa.Float),
    sa.Column("ended_by", sa.String(64)),
)

linkage_actions = sa.Table(
    "linkage_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alarm_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("target", sa.String(255)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("drill", sa.Boolean, nullable=False, default=False),
    sa.Column("audit_id", sa.BigInteger),
)

pages = sa.Table(
    "pages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # A page is about an alarm or, since 0006, an overdue work order (exactly one of the two).
    sa.Column("alarm_id", sa.Integer),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("title_zh", sa.String(300), nullable=False),
    sa.Column("title_en", sa.String(300), nullable=False),
    sa.Column("zone", sa.String(96)),
    sa.Column("camera", sa.String(96)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("acked_at", sa.Float),
    sa.Column("acked_by", sa.String(64)),
    sa.Column("drill", sa.Boolean, nullable=False, default=False),
    sa.Column("work_order_id", sa.Integer),
    sa.UniqueConstraint("alarm_id", "role", name="uq_pages_alarm_role"),
    sa.UniqueConstraint("work_order_id", "role", name="uq_pages_order_role"),
)

round_runs = sa.Table(
    "round_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("round_id", sa.String(96), nullable=False),
    sa.Column("due_at", sa.Float, nullable=False),
    sa.Column("window_end", sa.Float, nullable=False),
    sa.Column("direction", sa.String(8), nullable=False),
    sa.Column("items", sa.Text, nullable=False),  # JSON: the checklist as it was when the run was scheduled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("work_order_id", sa.Integer),
    sa.Column("finished_at", sa.Float),
    sa.UniqueConstraint("round_id", "due_at", name="uq_round_runs_round_due"),
)

round_results = sa.Table(
    "round_results",
    metadata,
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
