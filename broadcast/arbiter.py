"""Per-zone priority arbiter: which broadcast each PA zone plays; pure (no I/O), so every rule is testable.

Fire evacuation > emergency > manual page > queue calls and scheduled notices > background music (HALL.md,
GB 16806: normal broadcast stops at once, manual beats automatic). A higher claim preempts a zone at once; what it
interrupted waits and plays again when it ends (resume); one claim plays per zone, never two (a multicast group
would mix them). Among equal priorities the earlier claim keeps the zone and the later one waits its turn.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum


class Priority(IntEnum):
    MUSIC = 1
    NOTICE = 2  # queue calls and scheduled notices
    PAGE = 3
    EMERGENCY = 4
    EVACUATION = 5


KIND_PRIORITY: dict[str, Priority] = {
    "music": Priority.MUSIC,
    "notice": Priority.NOTICE,
    "queue_call": Priority.NOTICE,
    "page": Priority.PAGE,
    "emergency": Priority.EMERGENCY,
    "evacuation": Priority.EVACUATION,
}


@dataclass(frozen=True, slots=True)
class ZoneChange:
    """Zone ``zone`` stopped playing ``before`` and plays ``after`` now (None: nothing)."""

    zone: str
    before: int | None
    after: int | None


@dataclass
class _Claim:
    id: int
    priority: Priority
    zones: set[str]
    order: int = field(default=0)


class Arbiter:
    """Claims of zones by broadcasts (ids); each call returns the zones whose winner changed."""

    def __init__(self, zones: Iterable[str]) -> None:
        self.zones = frozenset(zones)
        self._claims: dict[int, _Claim] = {}
        self._order = itertools.count()

    def winner(self, zone: str) -> int | None:
        best = self._ranked(zone)
        return best[0].id if best else None

    def waiting(self, zone: str) -> list[int]:
        """Claims of ``zone`` that wait behind its winner, next first."""
        return [claim.id for claim in self._ranked(zone)[1:]]

    def claimed_zones(self, claim_id: int) -> frozenset[str]:
        claim = self._claims.get(claim_id)
        return frozenset(claim.zones) if claim else frozenset()

    def priority(self, claim_id: int) -> Priority | None:
        claim = self._claims.get(claim_id)
        return claim.priority if claim else None

    def claim(self, claim_id: int, priority: Priority, zones: Iterable[str]) -> list[ZoneChange]:
        wanted = set(zones)
        unknown = wanted - self.zones
        if unknown:
            raise KeyError(f"no PA zone {', '.join(sorted(unknown))}")
        if not wanted:
            raise ValueError("a broadcast needs at least one zone")
        if claim_id in self._claims:
            raise ValueError(f"broadcast {claim_id} already claims zones")
        before = {zone: self.winner(zone) for zone in wanted}
        self._claims[claim_id] = _Claim(claim_id, Priority(priority), wanted, next(self._order))
        return self._changes(before)

    def release(self, claim_id: int, zones: Iterable[str] | None = None) -> list[ZoneChange]:
        """End a claim in ``zones`` (None: everywhere); a claim left with no zone is forgotten."""
        claim = self._claims.get(claim_id)
        if claim is None:
            return []
        leaving = claim.zones if zones is None else claim.zones & set(zones)
        before = {zone: self.winner(zone) for zone in leaving}
        claim.zones -= leaving
        if not claim.zones:
            del self._claims[claim_id]
        return self._changes(before)

    def _ranked(self, zone: str) -> list[_Claim]:
        claims = [claim for claim in self._claims.values() if zone in claim.zones]
        return sorted(claims, key=lambda claim: (-claim.priority, claim.order))

    def _changes(self, before: dict[str, int | None]) -> list[ZoneChange]:
        changes = []
        for zone in sorted(before):
            after = self.winner(zone)
            if after != before[zone]:
                changes.append(ZoneChange(zone, before[zone], after))
        return changes
