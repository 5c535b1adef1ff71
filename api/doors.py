"""Access-controlled doors: their live state, and unlock (for a bounded time) and lock through the CommandRouter.

An unlock writes the door's lock point to "unlocked" and schedules its re-lock: one runtime-owned task per door
(``door-relock:<id>``) that sleeps until the unlock runs out, then locks the door as the system (audited as
``door.relock``), retrying with backoff while the controller cannot be reached. A lock by hand, or a new unlock,
replaces the task. The deadline lives in the audit row of the unlock (``arguments.until``), so a restart
while a door is unlocked finds it again: ``recover()`` re-locks at once what is overdue and schedules the rest.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from api.command_router import Command, CommandResult, CommandRouter
from store.audit import SYSTEM, Actor, AuditLog
from twin.backoff import RetryDelay
from twin.bus import PointBus
from twin.clock import Clock
from twin.points import PointUpdate, Quality
from twin.site.model import Door, SiteConfig

log = logging.getLogger(__name__)

Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
DOOR_ACTIONS = ("door.unlock", "door.lock", "door.relock", "door.release")  # release: no deadline (fire)
# Quality order for a door's overall quality: the worst of its points.
_QUALITY_RANK = {Quality.GOOD: 0, Quality.STALE: 1, Quality.BAD: 2, Quality.UNAVAILABLE: 3}
RELOCK_RETRY_FIRST_S, RELOCK_RETRY_MAX_S = 1.0, 60.0  # a controller that is down is retried, not hammered


@dataclass(frozen=True, slots=True)
class DoorState:
    """A door as the security desk sees it."""

    door: Door
    locked: bool | None  # None: the lock point has no good value
    open: bool | None
    forced: bool | None
    quality: Quality  # the worst quality of its points
    reason: str | None  # why the quality is not GOOD
    unlocked_until: float | None  # epoch seconds when a running unlock re-locks


class DoorService:
    """Lists doors and commands them; owns the re-lock tasks (through the runtime's ``spawn``)."""

    def __init__(
        self, site: SiteConfig, router: CommandRouter, bus: PointBus, clock: Clock, spawn: Spawn, audit: AuditLog
    ) -> None:
        self.site = site
        self.router = router
        self.bus = bus
        self.clock = clock
        self.spawn = spawn
        self.audit = audit
        self.doors: dict[str, Door] = {door.id: door for door in site.doors}
        self.unlocked_until: dict[str, float] = {}
        self._relocks: dict[str, asyncio.Task[Any]] = {}
        self._relocking: set[str] = set()  # doors whose re-lock command is running (not to be cancelled)

    # --- state ---------------------------------------------------------------------------------------------

    def states(self) -> list[DoorState]:
        return [self.state(door) for door in self.doors.values()]

    def state(self, door: Door) -> DoorState:
        latest = self.bus.latest
        ids = [door.lock_point, door.open_point] + ([door.forced_point] if door.forced_point else [])
        updates: list[PointUpdate | None] = [latest.get(point_id) for point_id in ids]
        worst, reason = Quality.GOOD, None
        for point_id, update in zip(ids, updates, strict=True):
            quality = update.quality if update is not None else Quality.UNAVAILABLE
            if _QUALITY_RANK[quality] > _QUALITY_RANK[worst]:
                worst = quality
                why = getattr(update, "reason", None) if update is not None else "no value received yet"
                reason = f"{point_id}: {why}" if why else point_id
        lock = _good_bool(updates[0])
        forced = _good_bool(updates[2]) if door.forced_point else None
        return DoorState(
            door,
            None if lock is None else lock is door.locked_value,
            _good_bool(updates[1]),
            forced,
            worst,
            reason,
            self.unlocked_until.get(door.id),
        )

    def roles(self, door: Door) -> frozenset[str]:
        return frozenset(door.roles or self.site.commands.door_roles)

    # --- commands ------------------------------------------------------------------------------------------

    async def unlock(
        self, caller: Actor, door_id: str, reason: str, duration_s: float, idempotency_key: str | None = None
    ) -> CommandResult:
        """Unlock for ``duration_s`` (1 s to commands.max_unlock_s); re-locked by the system when it runs out."""
        door = self.doors.get(door_id)
        limit = self.site.commands.max_unlock_s
        valid = isinstance(duration_s, int | float) and not isinstance(duration_s, bool) and math.isfinite(duration_s)
        if door is None or not valid or not 1 <= duration_s <= limit:
            code = "unknown_door" if door is None else "invalid_duration"
            message = (
                f"no door {door_id!r} in site {self.site.site.id}: see /api/doors"
                if door is None
                else f"duration_s must be 1 to {limit} seconds, got {duration_s!r}"
            )
            refused = replace(self._command(door_id, door, "door.unlock", reason), refused=(code, message))
            return await self.router.command(caller, refused, idempotency_key)
        until = self.clock.time() + float(duration_s)
        command = self._command(door_id, door, "door.unlock", reason, {"duration_s": duration_s, "until": until})
        result = await self.router.command(caller, command, idempotency_key)
        if result.ok and not result.replayed:
            self._schedule_relock(door, until)
        return result

    async def lock(
        self, caller: Actor, door_id: str, reason: str, idempotency_key: str | None = None
    ) -> CommandResult:
        door = self.doors.get(door_id)
        command = self._command(door_id, door, "door.lock", reason)
        if door is None:
            message = f"no door {door_id!r} in site {self.site.site.id}: see /api/doors"
            command = replace(command, refused=("unknown_door", message))
        result = await self.router.command(caller, command, idempotency_key)
        if result.ok and not result.replayed:
            self._cancel_relock(door_id)
        return result

    async def release(self, caller: Actor, door_id: str, reason: str) -> CommandResult:
        """Unlock with no deadline (fire linkage, GB 50116 4.10.3): a pending re-lock is dropped and none is
        scheduled, also after a restart (``recover`` finds the release as the door's newest command)."""
        door = self.doors.get(door_id)
        command = self._command(door_id, door, "door.release", reason)
        if door is None:
            command = replace(command, refused=("unknown_door", f"no door {door_id!r} in site {self.site.site.id}"))
        result = await self.router.command(caller, command)
        if result.ok:
            self._cancel_relock(door_id)
        return result

    def _command(
        self, door_id: str, door: Door | None, action: str, reason: str, extra: dict[str, Any] | None = None
    ) -> Command:
        point = self.router.point(door.lock_point) if door is not None else None
        locked = door.locked_value if door is not None else True
        value = not locked if action in ("door.unlock", "door.release") else locked
        roles = self.roles(door) if door is not None else None
        return Command(action, door_id, point, value, reason, roles, arguments=dict(extra or {}))

    # --- re-locking ----------------------------------------------------------------------------------------

    def _schedule_relock(self, door: Door, until: float) -> None:
        self._cancel_relock(door.id)
        self.unlocked_until[door.id] = until
        self._relocks[door.id] = self.spawn(f"door-relock:{door.id}", self._relock_at(door, until))

    def _cancel_relock(self, door_id: str) -> None:
        """Drop a pending re-lock; one that is commanding the door right now finishes (its audit row too)."""
        self.unlocked_until.pop(door_id, None)
        task = self._relocks.pop(door_id, None)
        if task is not None and door_id not in self._relocking:
            task.cancel()

    async def _relock_at(self, door: Door, until: float) -> None:
        await self.clock.sleep(max(0.0, until - self.clock.time()))
        retry = RetryDelay(RELOCK_RETRY_FIRST_S, RELOCK_RETRY_MAX_S)
        while True:
            command = self._command(door.id, door, "door.relock", "the unlock ran out")
            self._relocking.add(door.id)
            try:
                result = await self.router.command(SYSTEM, command)
            finally:
                self._relocking.discard(door.id)
            if result.ok:
                break
            log.warning("door %s did not re-lock (%s); retrying", door.id, result.message)
            await self.clock.sleep(retry.next())
        if self._relocks.get(door.id) is asyncio.current_task():
            self._relocks.pop(door.id, None)
            self.unlocked_until.pop(door.id, None)

    async def recover(self) -> None:
        """After a restart: doors whose last command was an unlock get their re-lock back (at once if overdue)."""
        for door in self.doors.values():
            newest = None
            for action in DOOR_ACTIONS:
                found = await self.audit.query(action=action, target=door.id, limit=20, newest_first=True)
                ok = [entry for entry in found if entry.result == "ok"]
                if ok and (newest is None or ok[0].id > newest.id):
                    newest = ok[0]
            if newest is None or newest.action != "door.unlock":
                continue
            until = float((newest.arguments or {}).get("until", 0.0))
            overdue = until <= self.clock.time()
            log.warning("door %s was left unlocked until %.0f: %s", door.id, until,
                        "re-locking now" if overdue else "re-lock scheduled")  # fmt: skip
            self._schedule_relock(door, until)

    async def stop(self) -> None:
        tasks = list(self._relocks.values())
        self._relocks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _good_bool(update: PointUpdate | None) -> bool | None:
    """The value of a binary point that has a good one, else None (unknown)."""
    if update is None or update.quality is not Quality.GOOD or not isinstance(update.value, bool):
        return None
    return update.value
