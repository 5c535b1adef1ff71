"""Supervision of the fire evacuation broadcast (GB 16806, GB 50116 4.8, GB 50166): did it happen, in time, everywhere?

Checks, each with its evidence (which zone, which speaker, which door, measured times):
- zones: every PA zone plays the evacuation within ``supervise_within_s`` (10 s) of the fire's confirmation;
- speakers: every speaker of those zones confirmed reception by then (RTCP report or SIP/HTTP answer);
- doors: the evacuation doors of the zones on fire (site ``linkage.evacuation``) and every door released after the
  fire were commanded, and the command was confirmed by the door's read-back (DoorService/CommandRouter audit row)
  with the lock point reporting unlocked within ``door_unlock_within_s`` (3 s);
- cycle: each sounder part lasts 8-20 s and each voice part 10-30 s, as measured at the RTP sender.
A failed check raises a critical 'linkage' alarm through the AlarmSink (the alarm engine), is audited
(``broadcast.linkage_check``) and is kept with the broadcast's record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from broadcast import texts
from broadcast.model import Broadcast
from twin.points import Quality

log = logging.getLogger(__name__)

CYCLE_TOLERANCE_S = 0.5  # scheduling slack of the measured part lengths
CYCLE_WATCH_S = 180.0  # the cycle is timed for this long after the start (several cycles)
DOOR_WATCH_S = 10.0  # doors commanded up to this long after the fire are checked


class AlarmSink(Protocol):
    """Raises an external alarm (the alarm engine's API for alarms no point condition raises)."""

    async def raise_linkage_failure(self, key: str, title: dict[str, str], message: dict[str, str],
                                    zone: str | None, evidence: dict[str, Any]) -> int | None: ...  # fmt: skip

    async def clear_linkage_failure(self, key: str) -> None: ...


class FireSupervisor:
    """Runs the checks of one evacuation broadcast (one runtime-owned task)."""

    def __init__(self, service: Any, broadcast: Broadcast, fire_at: float, trigger: str, sink: AlarmSink | None,
                 fire_zones: list[str]) -> None:  # fmt: skip
        self.service = service
        self.broadcast = broadcast
        self.fire_at = fire_at
        self.trigger = trigger
        self.sink = sink
        self.fire_zones = set(fire_zones)
        self.settings = service.settings.evacuation
        self.checks: list[dict[str, Any]] = []
        self.raised: list[int] = []
        self.failed_keys: list[str] = []
        self._cycle_seen: dict[str, int] = {}

    def add_fire_zones(self, zones: Iterable[str]) -> None:
        self.fire_zones.update(zones)

    async def run(self) -> None:
        clock = self.service.clock
        deadline = self.fire_at + self.settings.supervise_within_s
        await clock.sleep(max(0.0, deadline - clock.time()))
        await self._report("zones", self._zones())
        await self._report("speakers", self._speakers())
        await self._report("doors", await self._doors())
        end = self.broadcast.started_at + CYCLE_WATCH_S
        failed_cycle: list[dict[str, Any]] = []
        while clock.time() < end and self.broadcast.id in self.service.active:
            failed_cycle += self._cycle()
            if failed_cycle:
                break
            await clock.sleep(1.0)
        await self._report("cycle", failed_cycle, passed=not failed_cycle and self._cycle_measured())
        while self.broadcast.id in self.service.active:
            await clock.sleep(1.0)
        if self.sink is not None:  # the evacuation is over: its failed checks no longer hold
            for key in self.failed_keys:
                await self.sink.clear_linkage_failure(key)

    # --- the checks ------------------------------------------------------------------------------------------

    def _zones(self) -> list[dict[str, Any]]:
        limit = self.settings.supervise_within_s
        failures = []
        for zone in self.broadcast.zones:
            started = self.broadcast.zone_started.get(zone)
            after = None if started is None else round(started - self.fire_at, 3)
            if after is None or after > limit:
                failures.append({"zone": zone, "started_after_s": after, "limit_s": limit,
                                 "text": texts.both("linkage.zone_late", zone=zone, limit=f"{limit:g}")})  # fmt: skip
        return failures

    def _speakers(self) -> list[dict[str, Any]]:
        failures = []
        deadline = self.fire_at + self.settings.supervise_within_s
        for zone in self.broadcast.zones:
            for speaker in self.service.zones[zone].speakers:
                confirmed = self.broadcast.confirmed.get(speaker)
                if confirmed is not None and confirmed <= deadline:
                    continue
                driver = next((d for d in self.service.drivers.get(zone, []) if d.speaker == speaker), None)
                failures.append({
                    "speaker": speaker, "zone": zone, "transport": driver.transport if driver else None,
                    "confirmed_after_s": None if confirmed is None else round(confirmed - self.fire_at, 3),
                    "last_report_at": self.service.heard.get(speaker),
                    "error": getattr(driver, "last_error", None) if driver else "no endpoint under broadcast.speakers",
                    "text": texts.both("linkage.speaker_silent", speaker=speaker, zone=zone),
                })  # fmt: skip
        return failures

    async def _doors(self) -> list[dict[str, Any]]:
        site = self.service.site
        doors = {door.id: door for door in site.doors}
        expected = {d for route in site.linkage.evacuation if self.fire_zones & set(route.zones) for d in route.doors}
        clock = self.service.clock
        watch_end = self.fire_at + DOOR_WATCH_S
        await clock.sleep(max(0.0, watch_end - clock.time()))
        commanded: dict[str, Any] = {}
        for action in ("door.release", "door.unlock"):
            for entry in await self.service.audit.query(action=action, since=self.fire_at, newest_first=False):
                if entry.target is not None and entry.target not in commanded:
                    commanded[entry.target] = entry
        limit = self.settings.door_unlock_within_s
        failures = []
        for door_id in sorted(expected - set(commanded)):
            failures.append({"door": door_id, "commanded": False,
                             "text": texts.both("linkage.door_missing", door=door_id)})  # fmt: skip
        for door_id, entry in sorted(commanded.items()):
            door = doors.get(door_id)
            latest = self.service.bus_latest(door.lock_point) if door is not None else None
            unlocked = (
                latest is not None and latest.quality is Quality.GOOD and door is not None
                and latest.value is (not door.locked_value)
            )  # fmt: skip
            if entry.result == "ok" and unlocked:
                continue
            failures.append({
                "door": door_id, "commanded": True, "audit_id": entry.id, "result": entry.result,
                "detail": entry.detail, "commanded_after_s": round(entry.ts - self.fire_at, 3), "limit_s": limit,
                "reports_unlocked": unlocked,
                "text": texts.both("linkage.door_late", door=door_id, limit=f"{limit:g}"),
            })  # fmt: skip
        return failures

    def _cycle(self) -> list[dict[str, Any]]:
        """Lengths of the parts completed since the last look; those outside the norm (with slack)."""
        bounds = {"sounder": (8.0, 20.0), "voice": (10.0, 30.0)}
        failures = []
        for zone, phases in self.broadcast.phases.items():
            seen = self._cycle_seen.get(zone, 0)
            for index in range(max(seen, 0), len(phases) - 1):
                part, started = phases[index]
                length = phases[index + 1][1] - started
                low, high = bounds.get(part, (0.0, float("inf")))
                if not low - CYCLE_TOLERANCE_S <= length <= high + CYCLE_TOLERANCE_S:
                    failures.append({"zone": zone, "part": part, "measured_s": round(length, 2), "low_s": low,
                                     "high_s": high, "text": texts.both("linkage.cycle", zone=zone, part=part,
                                     measured=f"{length:.1f}", low=f"{low:g}", high=f"{high:g}")})  # fmt: skip
            self._cycle_seen[zone] = max(seen, len(phases) - 1)
        return failures

    def _cycle_measured(self) -> bool:
        return any(count >= 1 for count in self._cycle_seen.values())

    # --- reporting -------------------------------------------------------------------------------------------

    async def _report(self, check: str, failures: list[dict[str, Any]], passed: bool | None = None) -> None:
        ok = not failures if passed is None else passed
        record = {"check": check, "ok": ok, "at": self.service.clock.time(), "trigger": self.trigger,
                  "fire_at": self.fire_at, "failures": failures}  # fmt: skip
        self.checks.append(record)
        await self.service.log.set_supervision(self.broadcast.id, self.checks)
        await self.service.audit.append(action="broadcast.linkage_check", actor="system", role=None, client=None,
                                        target=f"broadcast:{self.broadcast.id}",
                                        arguments={"check": check, "failures": [_plain(f) for f in failures]},
                                        result="ok" if ok else "failed")  # fmt: skip
        if not failures:
            return
        names = ", ".join(str(f.get("speaker") or f.get("door") or f.get("zone")) for f in failures)
        log.error("fire linkage check %s failed: %s", check, names)
        if self.sink is None:
            return
        subject = {"zh": "；".join(f["text"]["zh"] for f in failures)[:480],
                   "en": "; ".join(f["text"]["en"] for f in failures)[:480]}  # fmt: skip
        title = texts.both("linkage.title", check=names[:120])
        zone = next((f.get("zone") for f in failures if f.get("zone")), None)
        evidence = {"check": check, "broadcast": self.broadcast.id, "fire_at": self.fire_at, "trigger": self.trigger,
                    "failures": [_plain(f) for f in failures]}  # fmt: skip
        self.failed_keys.append(f"broadcast.{check}")
        try:
            alarm_id = await self.sink.raise_linkage_failure(f"broadcast.{check}", title, subject, zone, evidence)
        except Exception:
            log.exception("the linkage failure alarm (%s) could not be raised", check)
            return
        if alarm_id is not None:
            self.raised.append(alarm_id)


def _plain(failure: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in failure.items() if key != "text"}
