"""Who is calling: the Principal of a request (from its session cookie or bearer token) and the auth settings."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection
from starlette.types import Scope

from store import Store
from store.sessions import SessionLookup
from store.users import Role
from twin.clock import Clock
from twin.tasks import cancel_and_wait

COOKIE_NAME = "halltwin_session"
DEFAULT_SESSION_TTL_S = 12 * 3600.0


@dataclass(frozen=True)
class AuthSettings:
    """Session lifetime and the failed-login limits (per user name and per client address, in a moving window)."""

    session_ttl_s: float = DEFAULT_SESSION_TTL_S
    max_failures_per_user: int = 5
    max_failures_per_client: int = 20
    failure_window_s: int = 15 * 60

    def __post_init__(self) -> None:
        if self.session_ttl_s <= 0:
            raise ValueError(f"session lifetime must be positive, got {self.session_ttl_s} s")
        if min(self.max_failures_per_user, self.max_failures_per_client, self.failure_window_s) < 1:
            raise ValueError("failed-login limits and their window must be at least 1")

    @classmethod
    def from_env(cls) -> AuthSettings:
        """HALLTWIN_SESSION_HOURS sets the session lifetime (default 12)."""
        raw = os.environ.get("HALLTWIN_SESSION_HOURS")
        if not raw:
            return cls()
        try:
            hours = float(raw)
        except ValueError:
            raise ValueError(f"HALLTWIN_SESSION_HOURS={raw!r} is not a number of hours") from None
        return cls(session_ttl_s=hours * 3600.0)


@dataclass(frozen=True)
class Principal:
    """The logged-in caller of a request."""

    name: str
    role: Role
    client: str | None
    session_id: int
    expires_at: float = float("inf")  # a principal made in code (a system caller) does not expire


@dataclass(frozen=True)
class AuthProblem:
    """Why a request has no principal: a short code and a sentence for the 401 detail."""

    code: str
    detail: str


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def token_of(scope: Scope) -> str | None:
    """The session token: ``Authorization: Bearer``, else the session cookie, else (WebSocket only) ``?token=``."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if "cookie" in headers:
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(headers["cookie"])
        except Exception:  # noqa: BLE001 - a malformed Cookie header is the same as none
            cookies = SimpleCookie()
        if COOKIE_NAME in cookies and cookies[COOKIE_NAME].value:
            return cookies[COOKIE_NAME].value
    if scope["type"] == "websocket":
        tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
        if tokens and tokens[0]:
            return tokens[0]
    return None


NOT_LOGGED_IN = AuthProblem(
    "not_authenticated",
    "not logged in: POST /api/auth/login, then send the halltwin_session cookie or 'Authorization: Bearer <token>'",
)


def _problem(lookup: SessionLookup) -> AuthProblem:
    if lookup.problem == "expired" and lookup.expired_at is not None:
        return AuthProblem("session_expired", f"session expired at {iso(lookup.expired_at)}: log in again")
    if lookup.problem == "revoked":
        return AuthProblem("session_ended", "session ended (logged out): log in again")
    if lookup.problem == "disabled":
        return AuthProblem("account_disabled", "the account of this session is disabled")
    return AuthProblem("session_unknown", "the session token is not valid: log in again")


async def authenticate(store: Store, scope: Scope) -> tuple[Principal | None, AuthProblem | None]:
    token = token_of(scope)
    if token is None:
        return None, NOT_LOGGED_IN
    lookup = await store.sessions.lookup(token)
    session = lookup.session
    if session is not None:
        return Principal(session.user, session.role, client_address(scope), session.id, session.expires_at), None
    return None, _problem(lookup)


ROLE_CHANGED = "role_changed"  # the AuthProblem code of a session whose user was given another role
SESSION_RECHECK_S = 60.0  # a session ended by another process (the CLI, another node) is noticed this soon


async def until_session_ends(
    store: Store, scope: Scope, clock: Clock, role: Role | None = None, recheck_s: float = SESSION_RECHECK_S
) -> AuthProblem:
    """Wait (on the runtime's clock) until the session of ``scope`` expires, is ended, its user disabled or given
    another role than ``role`` (None: the session's role now); returns why. A WebSocket outlives the request that
    opened it, so its session is watched for as long as it is open: at once when this process ends it or changes
    its account, else every ``recheck_s``."""
    token = token_of(scope)
    if token is None:
        return NOT_LOGGED_IN
    sessions = store.sessions
    lookup = await sessions.lookup(token)
    if role is None and lookup.session is not None:
        role = lookup.session.role
    while lookup.session is not None and lookup.session.role == role:
        ended = sessions.watch(token, lookup.session.user)
        lookup = await sessions.lookup(token)  # (cached) a change made before the watch began is not missed
        if lookup.session is None or lookup.session.role != role:
            break
        wait_s = max(0.0, min(recheck_s, lookup.session.expires_at - clock.time()))
        sleeping = asyncio.ensure_future(clock.sleep(wait_s))
        woken = asyncio.ensure_future(ended.wait())
        try:
            await asyncio.wait((sleeping, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(sleeping, woken)
        lookup = await sessions.lookup(token)
    if lookup.session is not None:
        # What a stream carries depends on the role: the page reloads to show the new role's view (or its refusal).
        return AuthProblem(ROLE_CHANGED, f"the account's role changed to {lookup.session.role.value}: reload the page")
    return _problem(lookup)


def current_principal(connection: HTTPConnection) -> Principal:
    """FastAPI dependency: the caller, as the access guard resolved it (401 if the route let an anonymous through)."""
    principal = getattr(connection.state, "principal", None)
    if not isinstance(principal, Principal):
        raise HTTPException(401, detail=NOT_LOGGED_IN.detail, headers={"WWW-Authenticate": "Bearer"})
    return principal


def optional_principal(connection: HTTPConnection) -> Principal | None:
    principal = getattr(connection.state, "principal", None)
    return principal if isinstance(principal, Principal) else None


# `principal: CurrentPrincipal` in a route's parameters: the caller (ruff's B008 forbids Depends() as a default).
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
