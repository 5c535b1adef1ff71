"""The linkage bus: in-process requests from the alarm linkage to other services (the broadcast system first).

The fire linkage publishes ``EvacuationRequested`` when a fire is confirmed and ``EvacuationEnded`` when the last
fire has cleared; the broadcast service subscribes and carries them out (GB 50116 4.8: the certified fire panel
owns the fire-to-PA path; the twin asks for, and supervises, the evacuation message on IP speakers). Subscribers
are plain callables or coroutine functions; one that fails is logged and does not stop the others. The bus keeps
the last requests, so a subscriber that starts late (or a test) can see what was asked.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)
HISTORY = 100


@dataclass(frozen=True, slots=True)
class EvacuationRequested:
    """Evacuate: ``zones`` are the site zones on fire; ``pa_zones`` the PA zones to cover (the whole building,
    GB 50116 4.8.8); ``drill`` marks an exercise."""

    alarm_id: int
    zones: tuple[str, ...]
    pa_zones: tuple[str, ...]
    drill: bool
    at: float


@dataclass(frozen=True, slots=True)
class EvacuationEnded:
    """No fire is active any more: the evacuation message may stop (the broadcast system decides how)."""

    alarm_id: int
    at: float


LinkageRequest = EvacuationRequested | EvacuationEnded
Subscriber = Callable[[LinkageRequest], Awaitable[None] | None]


class LinkageBus:
    """publish / subscribe of linkage requests (see the module docstring)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self.history: deque[LinkageRequest] = deque(maxlen=HISTORY)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    async def publish(self, request: LinkageRequest) -> int:
        """Hand ``request`` to every subscriber; the number that took it without failing."""
        self.history.append(request)
        delivered = 0
        for subscriber in list(self._subscribers):
            try:
                result = subscriber(request)
                if inspect.isawaitable(result):
                    await asyncio.wait_for(result, timeout=10.0)
                delivered += 1
            except Exception:
                log.exception("linkage subscriber %r failed on %s", subscriber, type(request).__name__)
        return delivered
