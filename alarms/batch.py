"""A batch of alarm transitions: the changes stored in one transaction and the events published after it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from store.alarms import Alarm, AlarmChange, AlarmEventRecord


@dataclass(frozen=True)
class AlarmEvent:
    """What subscribers get after a transition is stored: its kind (raised, acked, cleared, rtn, reset, shelved,
    unshelved, suppressed, unsuppressed, out_of_service, in_service, comment, chattering, updated), the alarm
    as it is after the batch (a copy: the engine keeps changing its own), and the state before."""

    kind: str
    alarm: Alarm
    previous_state: str | None
    by: str | None = None
    role: str | None = None
    reason: str | None = None


class Batch:
    """Collects transitions; ``changes`` is what the store writes, ``events()`` what subscribers see."""

    def __init__(self) -> None:
        self._changes: dict[int, AlarmChange] = {}
        self._events: list[tuple[str, Alarm, str | None, str | None, str | None, str | None]] = []

    def __bool__(self) -> bool:
        return bool(self._changes)

    def __len__(self) -> int:
        return len(self._events)

    def record(
        self,
        alarm: Alarm,
        kind: str,
        at: float,
        *,
        previous: str | None = None,
        by: str | None = None,
        role: str | None = None,
        reason: str | None = None,
        value: Any = None,
    ) -> None:
        change = self._changes.get(id(alarm))
        if change is None:
            change = self._changes[id(alarm)] = AlarmChange(alarm, [])
        change.events.append(AlarmEventRecord(alarm.id, at, kind, by, role, reason, value))
        alarm.updated_at = at
        self._events.append((kind, alarm, previous, by, role, reason))

    def touch(self, alarm: Alarm) -> None:
        """Store the alarm's row again without an event (its value changed while it stayed active)."""
        self._changes.setdefault(id(alarm), AlarmChange(alarm, []))

    @property
    def changes(self) -> list[AlarmChange]:
        return list(self._changes.values())

    def events(self) -> list[AlarmEvent]:
        """The events with copies of their alarms as stored (call after the store has given new alarms ids)."""
        copies: dict[int, Alarm] = {}
        out = []
        for kind, alarm, previous, by, role, reason in self._events:
            copy = copies.get(id(alarm))
            if copy is None:
                copy = copies[id(alarm)] = dataclasses.replace(alarm, space_guids=list(alarm.space_guids))
            out.append(AlarmEvent(kind, copy, previous, by, role, reason))
        return out
