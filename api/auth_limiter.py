"""Failed-login rate limits per user name and per client address (the `limits` library, moving window)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.auth import AuthSettings

# `limits` rather than counters written here: a moving window that forgets old failures by itself, and the same
# API over Redis when several nodes share a login. Its synchronous in-memory storage is used on purpose: each call
# is a dictionary update of microseconds, and its asyncio storage starts unnamed background tasks.


@dataclass(frozen=True)
class Lockout:
    """A login refused before the password is checked: which limit, and for how long."""

    scope: str  # "user" or "client"
    key: str
    retry_after_s: int


class LoginLimiter:
    def __init__(self, settings: AuthSettings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_user = RateLimitItemPerSecond(settings.max_failures_per_user, settings.failure_window_s)
        self._per_client = RateLimitItemPerSecond(settings.max_failures_per_client, settings.failure_window_s)

    def _retry_after(self, item: RateLimitItemPerSecond, *identifiers: str) -> int:
        stats = self._limiter.get_window_stats(item, *identifiers)
        return max(1, int(stats.reset_time - time.time()) + 1)

    def locked(self, user: str, client: str | None) -> Lockout | None:
        """A lockout in force for this user name or this client address, else None."""
        if not self._limiter.test(self._per_user, "user", user):
            return Lockout("user", user, self._retry_after(self._per_user, "user", user))
        if client is not None and not self._limiter.test(self._per_client, "client", client):
            return Lockout("client", client, self._retry_after(self._per_client, "client", client))
        return None

    def failed(self, user: str, client: str | None) -> Lockout | None:
        """Count a failed login; returns the lockout this failure starts, if it reached a limit."""
        self._limiter.hit(self._per_user, "user", user)
        if client is not None:
            self._limiter.hit(self._per_client, "client", client)
        return self.locked(user, client)

    def succeeded(self, user: str) -> None:
        """A right password forgives the user name's failures (not the address's: one account must not reset
        the counter of an address that guesses others)."""
        self._limiter.clear(self._per_user, "user", user)
