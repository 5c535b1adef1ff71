"""Login sessions: random tokens, stored only as their SHA-256, with an expiry; revoked at logout."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import weakref
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.schema import sessions, users
from store.users import Role, User, WallClock

TOKEN_BYTES = 32  # 256 bits of randomness: a token cannot be guessed, so a fast hash is enough to store it
# A live session found in the database is trusted this long without asking again: every request and WebSocket
# looks its session up, and 500 screens connecting at once exhausted the connection pool. A logout or an account
# change in this process takes effect at once (the entry is dropped); one made by another process (the `halltwin
# user` command, another node) within this many seconds.
SESSION_CACHE_S = 2.0


@dataclass(frozen=True)
class Session:
    id: int
    user: str
    role: Role
    client: str | None
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class SessionLookup:
    """A session, or why there is none: "unknown", "expired", "revoked" or "disabled" (the user's account)."""

    session: Session | None
    problem: str | None
    expired_at: float | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionRepository:
    def __init__(self, engine: AsyncEngine, clock: WallClock, cache_s: float = SESSION_CACHE_S) -> None:
        self._engine = engine
        self._clock = clock
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Session]] = {}  # token hash -> (when read, monotonic), live session
        # token hash or "user:NAME" -> the events of those watching it (open WebSockets; see watch)
        self._watchers: dict[str, weakref.WeakSet[asyncio.Event]] = {}
        self._prune_above = 1024

    def watch(self, token: str, user: str) -> asyncio.Event:
        """An event set when this process ends the session of ``token`` (logout, revocation) or changes the
        account of ``user``: an open WebSocket then looks its session up at once, not at its next periodic check.
        Take it before a lookup, so that no change falls between the two."""
        event = asyncio.Event()
        for key in (token_hash(token), f"user:{user}"):
            self._watchers.setdefault(key, weakref.WeakSet()).add(event)
        if len(self._watchers) > self._prune_above:  # keys of closed connections' sessions: drop the empty ones
            self._watchers = {key: events for key, events in self._watchers.items() if events}
            self._prune_above = max(1024, 2 * len(self._watchers))
        return event

    def _wake(self, key: str) -> None:
        for event in self._watchers.pop(key, ()):
            event.set()

    async def create(self, user: User, client: str | None, ttl_s: float) -> tuple[str, Session]:
        if ttl_s <= 0:
            raise ValueError(f"session lifetime must be positive, got {ttl_s} s")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock.time()
        values: dict[str, Any] = {
            "token_hash": token_hash(token),
            "user_id": user.id,
            "client": client[:255] if client else None,
            "created_at": now,
            "expires_at": now + ttl_s,
        }
        async with self._engine.begin() as conn:
            result = await conn.execute(sessions.insert().values(**values))
            session_id = int(result.inserted_primary_key[0]) if result.inserted_primary_key else 0
        return token, Session(session_id, user.name, user.role, values["client"], now, now + ttl_s)

    async def lookup(self, token: str) -> SessionLookup:
        digest = token_hash(token)
        cached = self._cache.get(digest)
        if cached is not None:
            read_at, session = cached
            if time.monotonic() - read_at < self._cache_s:
                if session.expires_at > self._clock.time():
                    return SessionLookup(session, None)
                return SessionLookup(None, "expired", session.expires_at)
            del self._cache[digest]
        found = await self._read(digest)
        if found.session is not None:
            if len(self._cache) >= 10_000:  # bounded: forget the oldest reads first
                self._cache.pop(next(iter(self._cache)))
            self._cache[digest] = (time.monotonic(), found.session)
        return found

    def forget_user(self, name: str) -> None:
        """Drop the cached sessions of ``name`` (its account changed): the next request reads the database."""
        for digest in [digest for digest, (_, session) in self._cache.items() if session.user == name]:
            del self._cache[digest]
        self._wake(f"user:{name}")

    async def _read(self, digest: str) -> SessionLookup:
        query = (
            sa.select(sessions, users.c.name, users.c.role, users.c.disabled)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash == digest)
        )
        async with self._engine.connect() as conn:
            row: Any = (await conn.execute(query)).first()
        if row is None:
            return SessionLookup(None, "unknown")
        if row.revoked_at is not None:
            return SessionLookup(None, "revoked")
        if row.disabled:
            return SessionLookup(None, "disabled")
        if row.expires_at <= self._clock.time():
            return SessionLookup(None, "expired", row.expires_at)
        session = Session(row.id, row.name, Role(row.role), row.client, row.created_at, row.expires_at)
        return SessionLookup(session, None)

    async def get(self, token: str) -> Session | None:
        """The live session of ``token``; None when unknown, expired, revoked or its user is disabled."""
        return (await self.lookup(token)).session

    async def revoke(self, token: str) -> bool:
        """End the session (logout); False when there was no live one."""
        digest = token_hash(token)
        self._cache.pop(digest, None)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sessions.update()
                .where(sessions.c.token_hash == digest, sessions.c.revoked_at.is_(None))
                .values(revoked_at=self._clock.time())
            )
        self._cache.pop(digest, None)  # a lookup made while the update ran may have cached the live session
        self._wake(digest)
        return bool(result.rowcount)

    async def revoke_user(self, name: str) -> int:
        """End every session of a user (disabled, or password changed); returns how many."""
        self.forget_user(name)
        user_ids = sa.select(users.c.id).where(users.c.name == name).scalar_subquery()
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sessions.update()
                .where(sessions.c.user_id == user_ids, sessions.c.revoked_at.is_(None))
                .values(revoked_at=self._clock.time())
            )
        self.forget_user(name)  # as in revoke: a lookup made meanwhile may have cached a live session
        return int(result.rowcount)

    async def purge(self, older_than_s: float = 7 * 86_400.0) -> int:
        """Delete sessions that expired or were revoked more than ``older_than_s`` ago."""
        cutoff = self._clock.time() - older_than_s
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sessions.delete().where(sa.or_(sessions.c.expires_at < cutoff, sessions.c.revoked_at < cutoff))
            )
        return int(result.rowcount)
