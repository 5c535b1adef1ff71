"""Pages for overdue work orders: pages.work_order_id (one page per order and role), pages.alarm_id optional.

Revision ID: 0006_workorder_pages
Revises: 0005_broadcast
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_workorder_pages"
down_revision = "0005_broadcast"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite cannot drop NOT NULL in place; Alembic copies the table there (PostgreSQL alters it).
    with op.batch_alter_table("pages") as batch:
        batch.alter_column("alarm_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("work_order_id", sa.Integer))
        batch.create_unique_constraint("uq_pages_order_role", ["work_order_id", "role"])


def downgrade() -> None:
    op.execute("DELETE FROM pages WHERE alarm_id IS NULL")
    with op.batch_alter_table("pages") as batch:
        batch.drop_constraint("uq_pages_order_role", type_="unique")
        batch.drop_column("work_order_id")
        batch.alter_column("alarm_id", existing_type=sa.Integer, nullable=False)
