"""Exponential retry delays for loops that wait out an outage (history stores, broker links)."""

from __future__ import annotations


class RetryDelay:
    """``next()`` gives ``initial_s``, then twice the previous delay up to ``max_s``; ``reset()`` after a success
    starts again from ``initial_s``, so a short outage after a long one is retried quickly."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError(f"retry delays need 0 < initial_s <= max_s, got {initial_s} and {max_s}")
        self.initial_s = initial_s
        self.max_s = max_s
        self._next = initial_s

    def next(self) -> float:
        delay = self._next
        self._next = min(delay * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = self.initial_s
