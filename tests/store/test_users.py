"""Users: add, get, list, disable, passwords (Argon2, never stored in clear), bad names and roles."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from store import Role, Store, UserError
from store.users import parse_role


async def test_add_get_list(store: Store) -> None:
    added = await store.users.add("alice", Role.SECURITY, "pw-alice")
    await store.users.add("bob", "maintenance", "pw-bob")
    got = await store.users.get("alice")
    assert got == added and got.role is Role.SECURITY and not got.disabled
    assert [(u.name, u.role) for u in await store.users.list()] == [
        ("alice", Role.SECURITY),
        ("bob", Role.MAINTENANCE),
    ]
    assert await store.users.get("carol") is None


async def test_passwords_are_argon2_hashes_and_verify(store: Store) -> None:
    await store.users.add("alice", Role.ADMIN, "correct horse")
    async with store.engine.connect() as conn:
        stored = (await conn.execute(sa.text("SELECT password_hash FROM users WHERE name = 'alice'"))).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert (await store.users.verify_password("alice", "correct horse")) is not None
    assert await store.users.verify_password("alice", "Correct horse") is None
    assert await store.users.verify_password("nobody", "correct horse") is None
    assert await store.users.verify_password("alice", "") is None


async def test_set_password_and_disable(store: Store) -> None:
    await store.users.add("alice", Role.FACILITY, "old password")
    await store.users.set_password("alice", "new password")
    assert await store.users.verify_password("alice", "old password") is None
    assert await store.users.verify_password("alice", "new password") is not None
    disabled = await store.users.set_disabled("alice", True)
    assert disabled.disabled
    assert await store.users.verify_password("alice", "new password") is None
    assert not (await store.users.set_disabled("alice", False)).disabled
    assert await store.users.verify_password("alice", "new password") is not None


async def test_reset_creates_or_restores_an_account(store: Store) -> None:
    await store.users.add("facility", Role.MANAGER, "something else")
    await store.users.set_disabled("facility", True)
    user = await store.users.reset("facility", Role.FACILITY, "demo")
    assert user.role is Role.FACILITY and not user.disabled
    assert await store.users.verify_password("facility", "demo") is not None
    created = await store.users.reset("admin", Role.ADMIN, "demo")
    assert created.role is Role.ADMIN


async def test_bad_input_is_refused_with_the_reason(store: Store) -> None:
    await store.users.add("alice", Role.ADMIN, "pw")
    with pytest.raises(UserError, match="user 'alice' already exists"):
        await store.users.add("alice", Role.ADMIN, "pw")
    with pytest.raises(UserError, match="user name ' bad' is not allowed"):
        await store.users.add(" bad", Role.ADMIN, "pw")
    with pytest.raises(UserError, match="password is empty"):
        await store.users.add("carol", Role.ADMIN, "")
    with pytest.raises(UserError, match="unknown role 'visitor'"):
        await store.users.add("carol", "visitor", "pw")
    with pytest.raises(UserError, match="no user 'nobody'"):
        await store.users.set_disabled("nobody", True)
    assert parse_role(" Admin ") is Role.ADMIN
