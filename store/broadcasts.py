"""The broadcast log (one row per broadcast: what, when, who, zones, which speakers confirmed, page audio)."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.schema import metadata

broadcasts = sa.Table(
    "broadcasts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("zones", sa.Text, nullable=False),  # JSON list of PA zone ids
    sa.Column("source", sa.Text, nullable=False),  # JSON: {"message": id} | {"text": {zh, en}} | {"audio": true}
    sa.Column("title_zh", sa.String(200), nullable=False),
    sa.Column("title_en", sa.String(200), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("role", sa.String(32)),
    sa.Column("ended_at", sa.Float),
    sa.Column("ended_by", sa.String(64)),
    sa.Column("end_reason", sa.String(500)),
    sa.Column("confirmed", sa.Text, nullable=False),  # JSON {speaker id: epoch seconds of its first confirmation}
    sa.Column("audio_file", sa.String(255)),  # page audio, a file name in the recordings folder
    sa.Column("audio_seconds", sa.Float),
    sa.Column("audio_expires_at", sa.Float),
    sa.Column("supervision", sa.Text),  # JSON list of fire-linkage checks with their evidence
)


@dataclass(frozen=True)
class BroadcastRecord:
    id: int
    kind: str
    priority: int
    zones: list[str]
    source: dict[str, Any]
    title: dict[str, str]
    started_at: float
    started_by: str
    role: str | None
    ended_at: float | None
    ended_by: str | None
    end_reason: str | None
    confirmed: dict[str, float]
    audio_file: str | None
    audio_seconds: float | None
    audio_expires_at: float | None
    supervision: list[dict[str, Any]] | None


def _record(row: Any) -> BroadcastRecord:
    return BroadcastRecord(
        id=int(row.id), kind=row.kind, priority=int(row.priority), zones=json.loads(row.zones),
        source=json.loads(row.source), title={"zh": row.title_zh, "en": row.title_en},
        started_at=float(row.started_at), started_by=row.started_by, role=row.role, ended_at=row.ended_at,
        ended_by=row.ended_by, end_reason=row.end_reason, confirmed=json.loads(row.confirmed),
        audio_file=row.audio_file, audio_seconds=row.audio_seconds, audio_expires_at=row.audio_expires_at,
        supervision=json.loads(row.supervision) if row.supervision else None,
    )  # fmt: skip


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class BroadcastRepository:
    """create / finish / confirm / supervise / get / list, and the page audio that has run out of its keep time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, *, kind: str, priority: int, zones: list[str], source: dict[str, Any],
                     title: dict[str, str], started_at: float, started_by: str, role: str | None,
                     audio_file: str | None = None, audio_seconds: float | None = None,
                     audio_expires_at: float | None = None) -> int:  # fmt: skip
        values = {
            "kind": kind, "priority": priority, "zones": _dumps(zones), "source": _dumps(source),
            "title_zh": title["zh"][:200].replace("\x00", ""), "title_en": title["en"][:200].replace("\x00", ""),
            "started_at": started_at, "started_by": started_by[:64], "role": role, "confirmed": "{}",
            "audio_file": audio_file, "audio_seconds": audio_seconds, "audio_expires_at": audio_expires_at,
        }  # fmt: skip
        async with self._engine.begin() as conn:
            result = await conn.execute(broadcasts.insert().values(**values))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    async def finish(self, broadcast_id: int, *, ended_at: float, ended_by: str, reason: str,
                     confirmed: dict[str, float]) -> None:  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(
                broadcasts.update()
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.ended_at.is_(None))
                .values(
                    ended_at=ended_at,
                    ended_by=ended_by[:64],
                    end_reason=reason[:500].replace("\x00", ""),
                    confirmed=_dumps(confirmed),
                )  # fmt: skip
            )

    async def set_confirmed(self, broadcast_id: int, confirmed: dict[str, float]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                broadcasts.update().where(broadcasts.c.id == broadcast_id).values(confirmed=_dumps(confirmed))
            )

    async def set_supervision(self, broadcast_id: int, checks: list[dict[str, Any]]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                broadcasts.update().where(broadcasts.c.id == broadcast_id).values(supervision=_dumps(checks))
            )

    async def get(self, broadcast_id: int) -> BroadcastRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))).first()
        return _record(row) if row is not None else None

    async def list(self, *, limit: int = 100, kind: str | None = None, with_audio: bool = False,
                   before_id: int | None = None) -> list[BroadcastRecord]:  # fmt: skip
        query = sa.select(broadcasts).order_by(broadcasts.c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(broadcasts.c.kind == kind)
        if with_audio:
            query = query.where(broadcasts.c.audio_file.is_not(None))
        if before_id is not None:
            query = query.where(broadcasts.c.id < before_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row) for row in rows]

    async def unfinished(self) -> builtins.list[BroadcastRecord]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(broadcasts).where(broadcasts.c.ended_at.is_(None)))).all()
        return [_record(row) for row in rows]

    async def audio_expired(self, now: float) -> builtins.list[BroadcastRecord]:
        query = sa.select(broadcasts).where(broadcasts.c.audio_file.is_not(None), broadcasts.c.audio_expires_at <= now)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row) for row in rows]

    async def drop_audio(self, broadcast_id: int) -> None:
        """The page audio was deleted (its keep time ran out); the row itself is kept."""
        async with self._engine.begin() as conn:
            await conn.execute(broadcasts.update().where(broadcasts.c.id == broadcast_id).values(audio_file=None))
