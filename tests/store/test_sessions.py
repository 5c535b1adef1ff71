"""Sessions: random tokens stored only as a hash, expiry on the injected clock, logout, disabled users."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from store import Role, Store
from twin.clock import ManualClock


async def test_create_get_expire(store: Store, clock: ManualClock) -> None:
    user = await store.users.add("alice", Role.SECURITY, "pw")
    token, session = await store.sessions.create(user, "127.0.0.1", ttl_s=600)
    assert len(token) >= 40
    assert session.expires_at == session.created_at + 600
    got = await store.sessions.get(token)
    assert got == session and got.user == "alice" and got.role is Role.SECURITY and got.client == "127.0.0.1"
    await clock.advance(599)
    assert await store.sessions.get(token) is not None
    await clock.advance(1)
    lookup = await store.sessions.lookup(token)
    assert lookup.session is None and lookup.problem == "expired" and lookup.expired_at == session.expires_at
    assert (await store.sessions.lookup("not-a-token")).problem == "unknown"


async def test_tokens_are_stored_only_as_hashes(store: Store) -> None:
    user = await store.users.add("alice", Role.ADMIN, "pw")
    token, _ = await store.sessions.create(user, None, ttl_s=60)
    other, _ = await store.sessions.create(user, None, ttl_s=60)
    assert token != other
    async with store.engine.connect() as conn:
        stored = [row[0] for row in await conn.execute(sa.text("SELECT token_hash FROM sessions"))]
    assert len(stored) == 2 and token not in stored and other not in stored


async def test_revoke_and_disabled_user(store: Store) -> None:
    user = await store.users.add("alice", Role.ADMIN, "pw")
    first, _ = await store.sessions.create(user, None, ttl_s=60)
    second, _ = await store.sessions.create(user, None, ttl_s=60)
    assert await store.sessions.revoke(first)
    assert not await store.sessions.revoke(first)
    assert (await store.sessions.lookup(first)).problem == "revoked"
    assert await store.sessions.get(second) is not None
    await store.users.set_disabled("alice", True)
    assert (await store.sessions.lookup(second)).problem == "disabled"
    await store.users.set_disabled("alice", False)
    assert await store.sessions.revoke_user("alice") == 1
    assert await store.sessions.get(second) is None


async def test_watchers_are_woken_by_their_own_session_or_account_only(store: Store) -> None:
    alice = await store.users.add("alice", Role.ADMIN, "pw")
    bob = await store.users.add("bob", Role.SECURITY, "pw")
    first, _ = await store.sessions.create(alice, None, ttl_s=60)
    second, _ = await store.sessions.create(alice, None, ttl_s=60)
    bobs, _ = await store.sessions.create(bob, None, ttl_s=60)
    watching = {token: store.sessions.watch(token, user) for token, user in ((first, "alice"), (second, "alice"),
                                                                           (bobs, "bob"))}  # fmt: skip
    await store.sessions.revoke(first)
    assert [token for token, event in watching.items() if event.is_set()] == [first]
    await store.users.set_disabled("alice", True)  # an account change wakes every session of that user
    assert [token for token, event in watching.items() if event.is_set()] == [first, second]
    assert not watching[bobs].is_set()


async def test_watchers_of_closed_connections_leave_nothing_behind(store: Store) -> None:
    user = await store.users.add("alice", Role.ADMIN, "pw")
    for _ in range(3000):  # connections that were opened and closed: nobody holds their events any more
        store.sessions.watch(f"token-{_}", "alice")
    assert len(store.sessions._watchers) <= 1024 + 2
    token, _ = await store.sessions.create(user, None, ttl_s=60)
    kept = store.sessions.watch(token, "alice")
    await store.sessions.revoke(token)
    assert kept.is_set()


async def test_role_changes_apply_to_open_sessions(store: Store) -> None:
    user = await store.users.add("alice", Role.ADMIN, "pw")
    token, _ = await store.sessions.create(user, None, ttl_s=60)
    await store.users.set_role("alice", Role.MANAGER)
    session = await store.sessions.get(token)
    assert session is not None and session.role is Role.MANAGER


async def test_live_sessions_are_cached_briefly_and_changes_elsewhere_arrive_within_the_cache_time(
    store: Store, db_url: str, clock: ManualClock
) -> None:
    cache_s = store.sessions._cache_s = 1.0  # noqa: SLF001 - shorter than the default, to keep the test quick
    user = await store.users.add("alice", Role.ADMIN, "pw")
    token, _ = await store.sessions.create(user, None, ttl_s=600)
    statements: list[str] = []
    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    started = time.monotonic()
    for _ in range(50):
        assert await store.sessions.get(token) is not None
    reads = len([s for s in statements if "FROM sessions" in s])
    assert reads <= 1 + (time.monotonic() - started) // cache_s  # 50 requests, one read per cache time at most
    # another process (the `halltwin user` command, another node) ends the session in the same database
    other = await Store.open(db_url, clock=clock)
    try:
        assert await other.sessions.revoke(token)
    finally:
        await other.close()
    await asyncio.sleep(cache_s + 0.05)
    assert (await store.sessions.lookup(token)).problem == "revoked"  # seen within the cache time
    second, _ = await store.sessions.create(user, None, ttl_s=60)
    assert await store.sessions.get(second) is not None
    await clock.advance(60)
    assert (await store.sessions.lookup(second)).problem == "expired"  # expiry: checked on every lookup, cached or not
