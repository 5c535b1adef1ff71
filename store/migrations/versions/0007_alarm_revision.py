"""alarms.revision: one more at every write of the row, so that pages keep the newest view of an alarm.

Revision ID: 0007_alarm_revision
Revises: 0006_workorder_pages
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_alarm_revision"
down_revision = "0006_workorder_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("revision")
