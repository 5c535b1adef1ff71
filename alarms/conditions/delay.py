"""On and off delays: a condition must hold (or be gone) for a while before the alarm follows it."""

from __future__ import annotations

from typing import Any


class Debounce:
    """Confirms changes of a raw condition after ``on_delay_s`` (to true) or ``off_delay_s`` (to false).
    ``state`` is the confirmed condition (None: not known yet, as after a restart before the first value)."""

    def __init__(self, on_delay_s: float, off_delay_s: float, state: bool | None = None) -> None:
        self.on_delay_s = on_delay_s
        self.off_delay_s = off_delay_s
        self.state = state
        self.value: Any = None
        self._pending: bool | None = None
        self._since = 0.0

    @property
    def waiting(self) -> bool:
        return self._pending is not None

    def feed(self, raw: bool, value: Any, now: float) -> bool | None:
        """The newly confirmed condition, or None when nothing changed (yet)."""
        self.value = value
        if raw == self.state:
            self._pending = None
            return None
        delay = self.on_delay_s if raw else self.off_delay_s
        if self.state is None and not raw:
            delay = 0.0  # first value after a start: "not in alarm" needs no confirmation
        if delay <= 0:
            self._pending = None
            self.state = raw
            return raw
        if self._pending != raw:
            self._pending, self._since = raw, now
        return self.tick(now)

    def tick(self, now: float) -> bool | None:
        pending = self._pending
        if pending is None:
            return None
        delay = self.on_delay_s if pending else self.off_delay_s
        if now - self._since >= delay:
            self._pending = None
            self.state = pending
            return pending
        return None
