"""/api/auth/login, /logout and /me: sessions for the pages (HttpOnly cookie) and for API clients (bearer)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import access
from api.auth import COOKIE_NAME, AuthSettings, CurrentPrincipal, client_address, iso, token_of
from api.auth_limiter import LoginLimiter
from store import Store

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])

WRONG = "wrong user name or password"


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserInfo(BaseModel):
    name: str
    role: str


class LoginAnswer(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>' (pages use the cookie instead)")
    token_type: str = "bearer"
    expires_at: str = Field(description="ISO 8601 UTC")
    user: UserInfo


class PageTitle(BaseModel):
    zh: str
    en: str


class PageInfo(BaseModel):
    id: str
    path: str
    title: PageTitle
    roles: list[str] | str = Field(description='the roles that may open it, or "public"')


class Me(BaseModel):
    name: str
    role: str
    expires_at: str
    pages: list[PageInfo]


class Refusal(BaseModel):
    detail: str
    error: str | None = None


def store_of(request: Request) -> Store:
    store: Store = request.app.state.runtime.store
    return store


def settings_of(request: Request) -> AuthSettings:
    settings: AuthSettings = request.app.state.runtime.auth
    return settings


def limiter_of(request: Request) -> LoginLimiter:
    limiter: LoginLimiter | None = getattr(request.app.state, "login_limiter", None)
    if limiter is None:
        limiter = request.app.state.login_limiter = LoginLimiter(settings_of(request))
    return limiter


def _refusal(status: int, error: str, detail: str, retry_after: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(status_code=status, content={"detail": detail, "error": error}, headers=headers)


@router.post(
    "/login",
    response_model=LoginAnswer,
    responses={
        401: {"model": Refusal, "description": "wrong user name or password (or the account is disabled)"},
        429: {"model": Refusal, "description": "too many failed logins for this user or address: see Retry-After"},
    },
)
async def login(request: Request, body: LoginRequest) -> Response:
    store, settings, limiter = store_of(request), settings_of(request), limiter_of(request)
    client = client_address(request.scope)
    name = body.username

    async def audit(action: str, result: str, detail: str | None = None, role: str | None = None) -> None:
        await store.audit.append(action=action, actor=name, role=role, client=client, result=result, detail=detail)

    lockout = limiter.locked(name, client)
    if lockout is not None:
        detail = f"too many failed logins for {lockout.scope} {lockout.key!r}: try again in {lockout.retry_after_s} s"
        await audit("auth.login", "refused", detail)
        return _refusal(429, "locked_out", detail, lockout.retry_after_s)
    user = await store.users.verify_password(name, body.password)
    if user is None:
        known = await store.users.get(name)
        why = "account disabled" if known is not None and known.disabled else WRONG
        await audit("auth.login", "failed", why)
        lockout = limiter.failed(name, client)
        if lockout is not None:
            detail = (
                f"{lockout.scope} {lockout.key!r} locked out for {lockout.retry_after_s} s after too many failed logins"
            )
            log.warning("login lockout: %s (last attempt for user %r from %s)", detail, name, client)
            await audit("auth.lockout", "refused", detail)
        return _refusal(401, "login_failed", WRONG)
    limiter.succeeded(name)
    token, session = await store.sessions.create(user, client, settings.session_ttl_s)
    await audit("auth.login", "ok", role=user.role.value)
    answer = LoginAnswer(
        token=token, expires_at=iso(session.expires_at), user=UserInfo(name=user.name, role=user.role.value)
    )
    response = JSONResponse(answer.model_dump())
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(settings.session_ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", status_code=204, response_class=Response)
async def logout(request: Request, principal: CurrentPrincipal) -> Response:
    store = store_of(request)
    token = token_of(request.scope)
    if token is not None:
        await store.sessions.revoke(token)
    await store.audit.append(
        action="auth.logout", actor=principal.name, role=principal.role.value, client=principal.client, result="ok"
    )
    response = Response(status_code=204)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


@router.get("/me")
async def me(principal: CurrentPrincipal) -> Me:
    pages = [PageInfo.model_validate(page) for page in access.pages_for(principal.role)]
    return Me(name=principal.name, role=principal.role.value, expires_at=iso(principal.expires_at), pages=pages)
