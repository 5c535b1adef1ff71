"""The tables of the store as SQLAlchemy Core metadata (the migrations create them; this describes them)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("client", sa.String(255)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    # Ids are given by the appender (last id + 1, under the chain lock), never by a sequence: a gap is a removal.
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

# One row: the id and hash of the newest audit row. Appends lock it (serialising the chain across processes),
# and verify() compares it with the table so that removing the newest rows is detected too.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_id", sa.BigInteger, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)
