"""/api/audit (admin): the audit log with filters and paging, and /api/audit/verify: is the hash chain intact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.routes_points import TIME_SCHEMA, parse_time
from store import AuditEntry, Store

router = APIRouter(prefix="/api/audit", tags=["audit"])

MAX_PAGE = 1000


class AuditRow(BaseModel):
    id: int
    ts: str = Field(description="ISO 8601 UTC, microseconds")
    actor: str | None
    role: str | None
    client: str | None = Field(description="the client's address (or 'cli' for the command line)")
    action: str
    target: str | None
    arguments: dict[str, Any] | None
    result: str = Field(description='"ok", "refused" or "failed"')
    detail: str | None
    idempotency_key: str | None
    hash: str


class AuditPage(BaseModel):
    total: int = Field(description="rows matching the filters")
    limit: int
    offset: int
    entries: list[AuditRow] = Field(description="newest first")


class BadFilter(BaseModel):
    detail: str | list[dict[str, Any]] = Field(description="which filter is wrong and why")


class AuditVerification(BaseModel):
    ok: bool
    checked: int
    first_bad_id: int | None
    problem: str | None


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(
        id=entry.id,
        ts=datetime.fromtimestamp(entry.ts, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        actor=entry.actor,
        role=entry.role,
        client=entry.client,
        action=entry.action,
        target=entry.target,
        arguments=entry.arguments,
        result=entry.result,
        detail=entry.detail,
        idempotency_key=entry.idempotency_key,
        hash=entry.hash,
    )


def _store(request: Request) -> Store:
    store: Store = request.app.state.runtime.store
    return store


@router.get("", responses={422: {"model": BadFilter, "description": "a filter cannot be read; the detail names it"}})
async def audit_log(
    request: Request,
    actor: str | None = Query(None, max_length=64, description="user name"),
    action: str | None = Query(None, max_length=64, description="e.g. auth.login, point.write"),
    target: str | None = Query(None, max_length=255, description="e.g. a point or door id"),
    since: str | None = Query(
        None, description="from this time on: epoch seconds or ISO 8601", json_schema_extra=TIME_SCHEMA
    ),
    until: str | None = Query(
        None, description="before this time: epoch seconds or ISO 8601", json_schema_extra=TIME_SCHEMA
    ),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=2**31),
) -> AuditPage:
    start = parse_time("since", since) if since is not None else None
    end = parse_time("until", until) if until is not None else None
    filters: dict[str, Any] = {"actor": actor, "action": action, "target": target, "since": start, "until": end}
    store = _store(request)
    total = await store.audit.count(**filters)
    entries = await store.audit.query(**filters, limit=limit, offset=offset)
    return AuditPage(total=total, limit=limit, offset=offset, entries=[_row(e) for e in entries])


@router.get("/verify")
async def audit_verify(request: Request) -> AuditVerification:
    report = await _store(request).audit.verify()
    return AuditVerification(
        ok=report.ok, checked=report.checked, first_bad_id=report.first_bad_id, problem=report.problem
    )
