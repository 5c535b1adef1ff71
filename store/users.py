"""Users and roles: accounts with Argon2 password hashes (pwdlib), hashed in a worker thread."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.schema import users

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MAX_PASSWORD = 1024  # Argon2 takes any length; a cap keeps a megabyte "password" from costing memory


class WallClock(Protocol):
    def time(self) -> float: ...


class Role(StrEnum):
    """Staff roles (T/ZAS 4012 6.2.2: roles per user type). Visitors are anonymous and have no account."""

    ADMIN = "admin"
    FACILITY = "facility"
    SECURITY = "security"
    MAINTENANCE = "maintenance"
    MANAGER = "manager"


class UserError(ValueError):
    """A user operation that cannot be done; the message names the user and why."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    disabled: bool
    created_at: float
    updated_at: float


def parse_role(raw: str) -> Role:
    try:
        return Role(raw.strip().lower())
    except ValueError:
        raise UserError(f"unknown role {raw!r}: use one of {', '.join(r.value for r in Role)}") from None


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise UserError(
            f"user name {name!r} is not allowed: 1-64 characters, letters, digits and . _ @ -, starting with a "
            "letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if not password:
        raise UserError("the password is empty")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password is longer than {MAX_PASSWORD} characters")
    return password


def _user(row: Any) -> User:
    return User(row.id, row.name, Role(row.role), bool(row.disabled), row.created_at, row.updated_at)


class UserRepository:
    """add, get, list, enable/disable, set and verify passwords. Hashing runs in a worker thread: Argon2 costs
    tens of milliseconds of CPU by design, which must never stall the event loop."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: WallClock,
        hasher: PasswordHash | None = None,
        on_account_change: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        # Told the name of every account whose role, password or enabled state changed (the session cache drops it).
        self._on_account_change = on_account_change
        self.hasher = hasher or PasswordHash((Argon2Hasher(),))
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, check_password(password))

    async def add(self, name: str, role: Role | str, password: str) -> User:
        role = role if isinstance(role, Role) else parse_role(role)
        check_name(name)
        password_hash = await self.hash(password)
        now = self._clock.time()
        values = {"name": name, "role": role.value, "password_hash": password_hash, "disabled": False}
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(users.insert().values(**values, created_at=now, updated_at=now))
                user_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        except IntegrityError:
            raise UserError(f"user {name!r} already exists") from None
        assert user_id is not None
        return User(int(user_id), name, role, False, now, now)

    async def get(self, name: str) -> User | None:
        if not NAME_PATTERN.fullmatch(name):
            return None  # no stored name looks like this (and PostgreSQL refuses NUL in a query)
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(users).where(users.c.name == name))).first()
        return _user(row) if row is not None else None

    async def list(self) -> list[User]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(users).order_by(users.c.name))).all()
        return [_user(row) for row in rows]

    async def _update(self, name: str, **values: Any) -> User:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                users.update().where(users.c.name == name).values(**values, updated_at=self._clock.time())
            )
            if result.rowcount == 0:
                raise UserError(f"no user {name!r}")
            row = (await conn.execute(sa.select(users).where(users.c.name == name))).one()
        if self._on_account_change is not None:
            self._on_account_change(name)
        return _user(row)

    async def set_disabled(self, name: str, disabled: bool) -> User:
        return await self._update(name, disabled=disabled)

    async def set_role(self, name: str, role: Role | str) -> User:
        role = role if isinstance(role, Role) else parse_role(role)
        return await self._update(name, role=role.value)

    async def set_password(self, name: str, password: str) -> None:
        await self._update(name, password_hash=await self.hash(password))

    async def reset(self, name: str, role: Role, password: str) -> User:
        """Create the user, or give an existing one this role and password and enable it (the demo accounts)."""
        if await self.get(name) is None:
            try:
                return await self.add(name, role, password)
            except UserError:
                pass  # created meanwhile by another process: update it below
        return await self._update(name, role=role.value, password_hash=await self.hash(password), disabled=False)

    async def verify_password(self, name: str, password: str) -> User | None:
        """The user when the password is right and the account enabled, else None. An unknown name costs the same
        hash as a known one, so response times do not tell which names exist."""
        row = None
        if NAME_PATTERN.fullmatch(name):  # other names exist nowhere (and PostgreSQL refuses NUL in a query)
            async with self._engine.connect() as conn:
                row = (await conn.execute(sa.select(users).where(users.c.name == name))).first()
        if row is None or not password or len(password) > MAX_PASSWORD:
            if self._dummy_hash is None:
                self._dummy_hash = await self.hash("not a password of anyone")
            await asyncio.to_thread(self.hasher.verify, password[:MAX_PASSWORD] or "-", self._dummy_hash)
            return None
        valid, updated = await asyncio.to_thread(self.hasher.verify_and_update, password, row.password_hash)
        if not valid:
            return None
        if updated is not None:  # hashed with older parameters: store the hash of today's parameters
            async with self._engine.begin() as conn:
                await conn.execute(users.update().where(users.c.id == row.id).values(password_hash=updated))
        user = _user(row)
        return None if user.disabled else user
