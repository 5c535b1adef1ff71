"""The append-only audit log: each row carries a SHA-256 over its content and the previous row's hash."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store.schema import audit_head, audit_log
from store.users import WallClock

GENESIS = "0" * 64  # the prev_hash of row 1
RESULTS = ("ok", "refused", "failed")
VERIFY_CHUNK = 2_000


class Actor(Protocol):
    """Who acts, as the audit log records it (api.auth.Principal and the system callers have these)."""

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> str | None: ...

    @property
    def client(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PlainActor:
    """An Actor given as plain values: the node itself (SYSTEM: no person, no role check) or another program."""

    name: str
    role: str | None = None
    client: str | None = None


SYSTEM = PlainActor("system")  # the node acting on its own: an unlock running out, fire linkage, background music


class AuditError(ValueError):
    """An audit entry that cannot be written; the message names the field."""


@dataclass(frozen=True)
class AuditEntry:
    id: int
    ts: float  # epoch seconds (stored as integer microseconds)
    actor: str | None
    role: str | None
    client: str | None
    action: str
    target: str | None
    arguments: dict[str, Any] | None
    result: str
    detail: str | None
    idempotency_key: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyReport:
    """ok, how many rows were checked, and the first row that was changed or removed (with what is wrong)."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def _canonical(arguments: dict[str, Any] | None) -> str | None:
    if arguments is None:
        return None
    try:
        return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise AuditError(f"audit arguments are not plain JSON: {exc}") from exc


def _microseconds(ts: float) -> int:
    """A filter time as stored, clamped to what a 64-bit column holds (a time beyond it matches as the end)."""
    if not math.isfinite(ts):
        return 2**62 if ts > 0 else -(2**62)
    return max(-(2**62), min(2**62, round(ts * 1e6)))


def row_hash(values: dict[str, Any]) -> str:
    """The hash of one row: its content fields in a fixed order, and the previous row's hash."""
    content = [
        values["id"],
        values["ts_us"],
        values["actor"],
        values["role"],
        values["client"],
        values["action"],
        values["target"],
        values["arguments"],
        values["result"],
        values["detail"],
        values["idempotency_key"],
        values["prev_hash"],
    ]
    encoded = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        ts=row.ts_us / 1e6,
        actor=row.actor,
        role=row.role,
        client=row.client,
        action=row.action,
        target=row.target,
        arguments=json.loads(row.arguments) if row.arguments is not None else None,
        result=row.result,
        detail=row.detail,
        idempotency_key=row.idempotency_key,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _limited(name: str, value: str | None, size: int | None = None) -> str | None:
    if value is None:
        return None
    if size is not None and len(value) > size:
        raise AuditError(f"audit {name} is longer than {size} characters: {value[:40]!r}...")
    # PostgreSQL text cannot hold NUL; a row is kept (with U+FFFD in its place) rather than lost.
    return value.replace("\x00", "\ufffd")


@dataclass(frozen=True)
class AuditRecord:
    """One entry to append: who did what to what, with which arguments, and how it ended."""

    action: str
    actor: str | None
    role: str | None
    client: str | None
    target: str | None = None
    arguments: dict[str, Any] | None = None
    result: str = "ok"
    detail: str | None = None
    idempotency_key: str | None = None


def _values(record: AuditRecord, ts_us: int) -> dict[str, Any]:
    """The row of ``record`` without its place in the chain (id and hashes); AuditError when it is not valid."""
    if not record.action:
        raise AuditError("audit action is empty")
    if record.result not in RESULTS:
        raise AuditError(f"audit result {record.result!r} is not one of {', '.join(RESULTS)}")
    role = record.role
    return {
        "ts_us": ts_us,
        "actor": _limited("actor", record.actor, 64),
        "role": _limited("role", str(role) if role is not None else None, 32),
        "client": _limited("client", record.client, 255),
        "action": _limited("action", record.action, 64),
        "target": _limited("target", record.target, 255),
        "arguments": _canonical(record.arguments),
        "result": record.result,
        "detail": _limited("detail", record.detail),
        "idempotency_key": _limited("idempotency key", record.idempotency_key, 128),
    }


class AuditLog:
    """append (serialised: one chain, never forked), query, count, find_by_idempotency_key and verify.

    Appends are serialised twice: an asyncio lock within this process (no busy waiting on SQLite), and a write
    lock on the one audit_head row, taken by the first statement of the transaction, which holds off appends of
    other processes (SQLite: the database write lock; PostgreSQL: the row lock) until this row is committed."""

    def __init__(self, engine: AsyncEngine, clock: WallClock) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = asyncio.Lock()

    async def append(
        self,
        *,
        action: str,
        actor: str | None,
        role: str | None,
        client: str | None,
        target: str | None = None,
        arguments: dict[str, Any] | None = None,
        result: str,
        detail: str | None = None,
        idempotency_key: str | None = None,
    ) -> AuditEntry:
        entry = AuditRecord(action, actor, role, client, target, arguments, result, detail, idempotency_key)
        return (await self.append_many([entry]))[0]

    async def append_many(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        """Append the records in order, in one transaction (an acknowledged flood of alarms: one commit, not one
        per alarm); all or none."""
        now_us = round(self._clock.time() * 1e6)
        rows = [_values(record, now_us) for record in records]
        if not rows:
            return []
        async with self._lock, self._engine.begin() as conn:
            # The write comes first so the lock is held before the head is read (see the class docstring).
            await conn.execute(audit_head.update().where(audit_head.c.id == 1).values(last_id=audit_head.c.last_id))
            head = (await conn.execute(sa.select(audit_head).where(audit_head.c.id == 1))).one()
            last_id, last_hash = int(head.last_id), head.last_hash
            for values in rows:
                last_id += 1
                values["id"] = last_id
                values["prev_hash"] = last_hash
                values["hash"] = last_hash = row_hash(values)
            await conn.execute(audit_log.insert(), rows)
            await conn.execute(
                audit_head.update().where(audit_head.c.id == 1).values(last_id=last_id, last_hash=last_hash)
            )
        return [_entry(_Row(values)) for values in rows]

    def _filters(
        self,
        actor: str | None,
        action: str | None,
        target: str | None,
        since: float | None,
        until: float | None,
    ) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if any("\x00" in text for text in (actor, action, target) if text is not None):
            return [sa.false()]  # no stored text holds NUL (see _limited); PostgreSQL would refuse the query
        if actor is not None:
            conditions.append(audit_log.c.actor == actor)
        if action is not None:
            conditions.append(audit_log.c.action == action)
        if target is not None:
            conditions.append(audit_log.c.target == target)
        if since is not None:
            conditions.append(audit_log.c.ts_us >= _microseconds(since))
        if until is not None:
            conditions.append(audit_log.c.ts_us < _microseconds(until))
        return conditions

    async def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[AuditEntry]:
        order = audit_log.c.id.desc() if newest_first else audit_log.c.id.asc()
        query = (
            sa.select(audit_log)
            .where(*self._filters(actor, action, target, since, until))
            .order_by(order)
            .limit(max(0, limit))
            .offset(max(0, offset))
        )
        async with self._engine.connect() as conn:
            return [_entry(row) for row in (await conn.execute(query)).all()]

    async def count(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        query = (
            sa.select(sa.func.count()).select_from(audit_log).where(*self._filters(actor, action, target, since, until))
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def find_by_idempotency_key(self, key: str, actor: str | None) -> AuditEntry | None:
        """The newest entry that ``actor`` wrote with this idempotency key (a retried command finds its first try)."""
        if "\x00" in key or (actor is not None and "\x00" in actor):
            return None  # stored keys never hold NUL (see _limited); PostgreSQL would refuse the query
        actor_match = audit_log.c.actor.is_(None) if actor is None else audit_log.c.actor == actor
        query = (
            sa.select(audit_log)
            .where(audit_log.c.idempotency_key == key, actor_match)
            .order_by(audit_log.c.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _entry(row) if row is not None else None

    async def verify(self) -> VerifyReport:
        """Walk the chain from row 1: the first row whose content no longer matches its hash (changed), whose link
        does not match the row before (that row changed or was replaced), or that is missing (removed)."""
        async with self._engine.connect() as conn:
            return await _verify(conn)


async def _verify(conn: AsyncConnection) -> VerifyReport:
    head = (await conn.execute(sa.select(audit_head).where(audit_head.c.id == 1))).one()
    expected_id, prev_hash, checked = 1, GENESIS, 0
    while True:
        rows = (
            await conn.execute(
                sa.select(audit_log).where(audit_log.c.id >= expected_id).order_by(audit_log.c.id).limit(VERIFY_CHUNK)
            )
        ).all()
        for row in rows:
            values = row._asdict()
            if row.id != expected_id:
                last = f"row {expected_id - 1}" if expected_id > 1 else "the start"
                problem = f"row {expected_id} was removed (the log goes from {last} to row {row.id})"
                return VerifyReport(False, checked, expected_id, problem)
            if row_hash(values) != row.hash:
                return VerifyReport(
                    False, checked, row.id, f"row {row.id} was changed: its content does not match its hash"
                )
            if row.prev_hash != prev_hash:
                problem = (
                    f"row {row.id} does not link to row {row.id - 1}: row {row.id - 1} was changed or replaced"
                    if row.id > 1
                    else "row 1 does not start the chain: it was changed or replaced"
                )
                return VerifyReport(False, checked, row.id - 1 if row.id > 1 else 1, problem)
            checked += 1
            prev_hash = row.hash
            expected_id += 1
        if len(rows) < VERIFY_CHUNK:
            break
    last_id = expected_id - 1
    if head.last_id > last_id:
        problem = f"row {last_id + 1} was removed: the log should end at row {head.last_id}, it ends at row {last_id}"
        return VerifyReport(False, checked, last_id + 1, problem)
    if head.last_id < last_id:
        problem = f"row {head.last_id + 1} was added outside the audit log (the head ends at row {head.last_id})"
        return VerifyReport(False, checked, head.last_id + 1, problem)
    if head.last_hash != prev_hash:
        return VerifyReport(
            False, checked, last_id, f"row {last_id} was changed or replaced (it differs from the head)"
        )
    return VerifyReport(True, checked)


class _Row:
    """Attribute access to a dict of column values (an appended row, before it is read back)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
