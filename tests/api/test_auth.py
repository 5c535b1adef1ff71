"""Login, wrong password, expiry, logout, rate limit and lockout, cookie flags, bearer tokens, /ws and /api/audit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.auth import AuthSettings
from api.runtime import HallRuntime
from store import Role, Store
from store.sessions import SESSION_CACHE_S
from tests.api.auth_helpers import TEST_PASSWORD, create_user, login, login_headers
from tests.api.server import running_app
from tests.iot_gateway.test_gateway_faults import make_site, modbus_device
from tests.peers import free_port
from twin.clock import ManualClock

LIMITS = AuthSettings(session_ttl_s=3600.0, max_failures_per_user=3, max_failures_per_client=5, failure_window_s=600)


@dataclass
class Served:
    url: str
    runtime: HallRuntime
    client: httpx.AsyncClient
    clock: ManualClock
    db_path: Path


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    clock = ManualClock()
    site = make_site(modbus_device("ac-1", free_port()))
    runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data", clock=clock, poll_devices=False, auth=LIMITS)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        await create_user(runtime.store, "ops", Role.FACILITY)
        await create_user(runtime.store, "boss", Role.ADMIN)
        yield Served(url, runtime, client, clock, tmp_path / "data" / "halltwin.sqlite")


async def audit_rows(served: Served, action: str) -> list[tuple[str | None, str, str | None, str | None]]:
    entries = await served.runtime.store.audit.query(action=action, newest_first=False)
    return [(e.actor, e.result, e.client, e.detail) for e in entries]


async def test_login_gives_a_bearer_token_and_a_strict_httponly_cookie(served: Served) -> None:
    response = await served.client.post("/api/auth/login", json={"username": "ops", "password": TEST_PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["user"] == {"name": "ops", "role": "facility"}
    assert body["expires_at"].endswith("Z")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"halltwin_session={body['token']};")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/" in lowered
    assert "secure" not in lowered  # plain http: a Secure cookie would never be sent back
    assert "max-age=3600" in lowered

    bearer = {"Authorization": f"Bearer {body['token']}"}
    me = (await served.client.get("/api/auth/me", headers=bearer)).json()
    assert me["name"] == "ops" and me["role"] == "facility" and me["expires_at"] == body["expires_at"]
    assert [p["id"] for p in me["pages"]] == ["twin", "maintenance", "visitor"]
    assert me["pages"][0]["title"] == {"zh": "数字孪生", "en": "Digital twin"}
    assert (await served.client.get("/api/points", headers=bearer)).status_code == 200
    # The cookie alone works too (what the pages send).
    async with httpx.AsyncClient(base_url=served.url, cookies={"halltwin_session": body["token"]}) as browser:
        assert (await browser.get("/api/points")).status_code == 200
    assert await audit_rows(served, "auth.login") == [("ops", "ok", "127.0.0.1", None)]


async def test_cookie_is_secure_behind_https(served: Served) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (a TLS-terminating proxy on the same host).
    response = await served.client.post(
        "/api/auth/login",
        json={"username": "ops", "password": TEST_PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert response.status_code == 200
    assert "secure" in response.headers["set-cookie"].lower()


async def test_without_a_session_protected_routes_answer_401_with_the_reason(served: Served) -> None:
    response = await served.client.get("/api/points")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "not_authenticated"
    assert "POST /api/auth/login" in response.json()["detail"]
    bad = await served.client.get("/api/points", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401 and bad.json()["error"] == "session_unknown"
    assert (await served.client.get("/api/health")).status_code == 200  # public


async def test_wrong_password_and_unknown_user_answer_the_same(served: Served) -> None:
    wrong = await served.client.post("/api/auth/login", json={"username": "ops", "password": "nope"})
    unknown = await served.client.post("/api/auth/login", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong user name or password", "error": "login_failed"}
    assert "set-cookie" not in wrong.headers
    rows = await audit_rows(served, "auth.login")
    assert rows == [
        ("ops", "failed", "127.0.0.1", "wrong user name or password"),
        ("ghost", "failed", "127.0.0.1", "wrong user name or password"),
    ]


async def test_session_expires_on_the_clock(served: Served) -> None:
    headers = await login_headers(served.client, "ops")
    await served.clock.advance(3599)
    assert (await served.client.get("/api/points", headers=headers)).status_code == 200
    await served.clock.advance(1)
    response = await served.client.get("/api/points", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired" and "session expired at" in response.json()["detail"]


async def test_logout_ends_the_session_and_clears_the_cookie(served: Served) -> None:
    headers = await login_headers(served.client, "ops")
    response = await served.client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 204
    assert (
        'halltwin_session=""' in response.headers["set-cookie"] or "max-age=0" in response.headers["set-cookie"].lower()
    )
    after = await served.client.get("/api/auth/me", headers=headers)
    assert after.status_code == 401 and after.json()["error"] == "session_ended"
    assert await audit_rows(served, "auth.logout") == [("ops", "ok", "127.0.0.1", None)]


async def test_failed_logins_lock_the_user_out_and_are_audited(served: Served) -> None:
    for _ in range(LIMITS.max_failures_per_user):
        response = await served.client.post("/api/auth/login", json={"username": "ops", "password": "guess"})
        assert response.status_code == 401
    locked = await served.client.post("/api/auth/login", json={"username": "ops", "password": TEST_PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["error"] == "locked_out" and "user 'ops'" in locked.json()["detail"]
    assert 1 <= int(locked.headers["retry-after"]) <= LIMITS.failure_window_s + 1
    lockouts = await audit_rows(served, "auth.lockout")
    assert len(lockouts) == 1 and lockouts[0][:3] == ("ops", "refused", "127.0.0.1")
    assert (await audit_rows(served, "auth.login"))[-1][:2] == ("ops", "refused")
    # Another account from the same address is not locked by ops's failures (until the address's own limit).
    assert await login(served.client, "boss")


async def test_failed_logins_from_one_address_lock_the_address_out(served: Served) -> None:
    for i in range(LIMITS.max_failures_per_client):
        response = await served.client.post("/api/auth/login", json={"username": f"guess{i}", "password": "x"})
        assert response.status_code == 401
    locked = await served.client.post("/api/auth/login", json={"username": "boss", "password": TEST_PASSWORD})
    assert locked.status_code == 429 and "client '127.0.0.1'" in locked.json()["detail"]


async def test_a_success_forgives_the_user_names_earlier_failures(served: Served) -> None:
    for _ in range(LIMITS.max_failures_per_user - 1):
        await served.client.post("/api/auth/login", json={"username": "ops", "password": "guess"})
    assert await login(served.client, "ops")
    for _ in range(LIMITS.max_failures_per_user - 1):
        await served.client.post("/api/auth/login", json={"username": "ops", "password": "guess"})
    assert await login(served.client, "ops")


async def test_disabling_a_user_ends_their_sessions(served: Served) -> None:
    headers = await login_headers(served.client, "ops")
    await served.runtime.store.users.set_disabled("ops", True)
    response = await served.client.get("/api/points", headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "account_disabled"
    refused = await served.client.post("/api/auth/login", json={"username": "ops", "password": TEST_PASSWORD})
    assert refused.status_code == 401
    assert (await audit_rows(served, "auth.login"))[-1][3] == "account disabled"


async def test_ws_refuses_without_a_session_and_accepts_a_token(served: Served) -> None:
    ws_url = served.url.replace("http://", "ws://") + "/ws"
    async with connect(ws_url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401 and "not logged in" in closed.value.rcvd.reason
    token = await login(served.client, "ops")
    async with connect(f"{ws_url}?token={token}") as ws:
        assert '"snapshot"' in str(await ws.recv())
    async with connect(ws_url, additional_headers={"Cookie": f"halltwin_session={token}"}) as ws:
        assert '"snapshot"' in str(await ws.recv())


async def test_audit_api_for_admins_with_filters_and_paging(served: Served) -> None:
    admin = await login_headers(served.client, "boss")
    ops = await login_headers(served.client, "ops")
    await served.client.post("/api/auth/login", json={"username": "ops", "password": "wrong"})
    refused = await served.client.get("/api/audit", headers=ops)
    assert refused.status_code == 403 and "role 'facility' may not use GET /api/audit" in refused.json()["detail"]
    assert await audit_rows(served, "access.refused") == [
        ("ops", "refused", "127.0.0.1", "role 'facility' may not use GET /api/audit (allowed: admin)")
    ]
    page = (await served.client.get("/api/audit", params={"actor": "ops", "limit": 1}, headers=admin)).json()
    assert page["total"] == 3 and len(page["entries"]) == 1
    assert page["entries"][0]["action"] == "access.refused" and page["entries"][0]["client"] == "127.0.0.1"
    second = await served.client.get("/api/audit", params={"actor": "ops", "limit": 1, "offset": 1}, headers=admin)
    assert second.json()["entries"][0]["result"] == "failed"
    failed = (
        await served.client.get(
            "/api/audit", params={"action": "auth.login", "since": "2000-01-01T00:00:00Z"}, headers=admin
        )
    ).json()
    assert failed["total"] == 3
    future = (await served.client.get("/api/audit", params={"since": "2100-01-01T00:00:00Z"}, headers=admin)).json()
    assert future["total"] == 0
    bad = await served.client.get("/api/audit", params={"until": "yesterday"}, headers=admin)
    assert bad.status_code == 422 and "until='yesterday'" in bad.json()["detail"]
    verify = (await served.client.get("/api/audit/verify", headers=admin)).json()
    assert verify["ok"] and verify["checked"] == 4


async def test_demo_accounts_one_per_role_created_then_reset(tmp_path: Path) -> None:
    from api.demo import ensure_demo_users
    from store import Store

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    assert await ensure_demo_users(url, "demo") == ["admin", "facility", "security", "maintenance", "manager"]
    store = await Store.open(url)
    try:
        await store.users.set_disabled("security", True)
        await store.users.set_password("admin", "changed")
    finally:
        await store.close()
    await ensure_demo_users(url, "demo")  # the next `halltwin demo` puts every account back
    store = await Store.open(url)
    try:
        for role in Role:
            user = await store.users.verify_password(role.value, "demo")
            assert user is not None and user.role is role, role
        assert await store.audit.count(action="user.reset") == 10
    finally:
        await store.close()


async def test_a_node_without_accounts_says_how_to_add_the_first_admin(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = HallRuntime(make_site(modbus_device("ac-1", free_port())), tmp_path / "site.yaml", tmp_path / "data",
                          poll_devices=False)  # fmt: skip
    await runtime.start()
    try:
        assert await runtime.store.users.list() == []  # serve creates no account
    finally:
        await runtime.stop()
    with pytest.raises(RuntimeError, match="store is not open"):
        runtime.store  # noqa: B018 - closed by stop()
    hint = [r.getMessage() for r in caplog.records if "halltwin user add" in r.getMessage()]
    assert hint and f"--db sqlite:///{tmp_path / 'data' / 'halltwin.sqlite'}" in hint[0]


async def test_an_open_stream_closes_when_its_session_expires_or_ends(served: Served) -> None:
    ws_url = served.url.replace("http://", "ws://") + "/ws"
    token = await login(served.client, "ops")
    async with connect(f"{ws_url}?token={token}") as ws:
        assert '"snapshot"' in str(await ws.recv())
        await served.clock.advance(LIMITS.session_ttl_s)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert closed.value.rcvd.reason.startswith("session expired at")

    # Ended in this process (a logout, a disabled account): the stream closes at once, not at its next check.
    token = await login(served.client, "ops")
    async with connect(f"{ws_url}?token={token}") as ws:
        assert '"snapshot"' in str(await ws.recv())
        logout = await served.client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert logout.status_code == 204
        closed_reason = await _closed_within(ws, 10.0)
    assert closed_reason.startswith("session ended")
    token = await login(served.client, "ops")
    async with connect(f"{ws_url}?token={token}") as ws:
        assert '"snapshot"' in str(await ws.recv())
        await served.runtime.store.users.set_disabled("ops", True)
        closed_reason = await _closed_within(ws, 10.0)
    assert closed_reason == "the account of this session is disabled"
    await served.runtime.store.users.set_disabled("ops", False)

    # Given another role: the session lives on, but what the stream carries depends on the role; it closes at once
    # with 4205 (the page reloads for the new role), and a new stream is the new role's.
    token = await login(served.client, "ops")
    async with connect(f"{ws_url}?token={token}") as ws:
        assert '"snapshot"' in str(await ws.recv())
        await served.runtime.store.users.set_role("ops", Role.MAINTENANCE)
        closed_reason = await _closed_within(ws, 10.0, code=4205)
    assert closed_reason == "the account's role changed to maintenance: reload the page"
    async with connect(f"{ws_url}?token={token}") as ws:
        assert '"snapshot"' in str(await ws.recv())
    me = await served.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "maintenance"
    await served.runtime.store.users.set_role("ops", Role.FACILITY)

    # Ended by another process (the `halltwin user` command, another node): noticed at the periodic check.
    token = await login(served.client, "ops")
    other = await Store.open(f"sqlite:///{served.db_path}", clock=served.clock)
    try:
        async with connect(f"{ws_url}?token={token}") as ws:
            assert '"snapshot"' in str(await ws.recv())
            assert await other.sessions.revoke(token)
            await asyncio.sleep(SESSION_CACHE_S + 0.2)  # past this node's session cache
            with pytest.raises(TimeoutError):
                await _closed_within(ws, 0.5)  # still open: no check has run yet
            await served.clock.advance(60)  # the stream re-checks its session every minute
            closed_reason = await _closed_within(ws, 10.0)
        assert closed_reason.startswith("session ended")
    finally:
        await other.close()


async def _closed_within(ws: Any, timeout_s: float, code: int = 4401) -> str:
    """The reason of the close (``code``) that ends ``ws`` within ``timeout_s`` (frames before it are skipped)."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(timeout_s):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    return closed.value.rcvd.reason


async def test_a_node_on_postgresql_logs_in_and_audits(tmp_path: Path) -> None:
    from tests.store.pg import pg_unavailable, temporary_database

    reason = pg_unavailable()
    if reason:
        pytest.skip(reason)
    with temporary_database() as url:
        site = make_site(modbus_device("ac-1", free_port()))
        runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data", poll_devices=False, db_url=url)
        async with running_app(runtime) as base, httpx.AsyncClient(base_url=base, timeout=10.0) as client:
            assert runtime.store.display_url == url
            await create_user(runtime.store, "ops", Role.FACILITY)
            headers = await login_headers(client, "ops")
            assert (await client.get("/api/points", headers=headers)).status_code == 200
            assert [e.action for e in await runtime.store.audit.query()] == ["auth.login"]
        assert not (tmp_path / "data" / "halltwin.sqlite").exists()


async def test_a_lone_surrogate_in_a_bad_request_gets_a_422_not_a_500(served: Served) -> None:
    # Valid JSON (an escaped lone surrogate) that is not valid UTF-8 once echoed back in FastAPI's 422 body.
    body = b'{"username": ["\\ud800"], "password": "x"}'
    answer = await served.client.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    (issue,) = answer.json()["detail"]
    assert issue["loc"] == ["body", "username"] and issue["input"] == ["\ud800"]
    answer = await served.client.post("/api/auth/login", json={"username": ["名字"], "password": "x"})
    assert answer.status_code == 422 and "名字" in answer.text  # ordinary text is not escaped
