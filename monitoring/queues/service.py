"""QueueService: takes ticket events (MQTT, webhook), keeps them in the journal, runs the analytics, and publishes
the figures as the site's computed points and as the /api/queues summary.

Nothing is lost: an accepted event is journalled before it changes any figure; a refused one is journalled with
its reason (refused-<day>.jsonl) and counted, and the sender is told why. After a restart today's journal is
replayed, so waits and counts carry on where they were.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitoring.queues import texts
from monitoring.queues.alarm_watch import Finding
from monitoring.queues.analytics import QueueAnalytics
from monitoring.queues.erlang import mean_wait_s, windows_needed
from monitoring.queues.events import EventError, TicketEvent, parse_payload, validate
from monitoring.queues.forecast import Forecast, WeekdayProfile, build_profile, forecast_next_hour
from monitoring.queues.journal import EventJournal, event_from_record
from twin.bus import PointBus
from twin.clock import Clock
from twin.points import PointUpdate, Quality, Value
from twin.site.computed_model import ComputedAddress, ComputedConnection
from twin.site.model import SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)

DEFAULT_SERVICE_S = 300.0  # before any ticket was served: a five-minute service is assumed
HORIZON_S = 3600.0
CALL_FRESH_S = 30.0  # a call older than this when it arrives (a replayed batch, a late webhook) is not announced
CallListener = Callable[[str, str, str], None]  # (ticket, window, zone of the window group)


@dataclass
class IngestResult:
    """What became of one message: events accepted, resent ones ignored, refused ones with their reasons."""

    accepted: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None or not math.isfinite(seconds) else round(seconds / 60.0, 1)


class QueueService:
    """The queue analytics of one site, owned by the runtime (``start``/``stop``)."""

    def __init__(self, site: SiteConfig, bus: PointBus, clock: Clock, data_dir: Path, tick_s: float = 1.0) -> None:
        self.site = site
        self.settings = site.queues
        self.bus = bus
        self.clock = clock
        self.tick_s = tick_s
        self.local = ZoneInfo(site.site.timezone)
        self.analytics = QueueAnalytics(self.settings, self.local)
        self.journal = EventJournal(data_dir / "queues", self.local)
        self.profile = WeekdayProfile({}, {})
        self.call_listeners: list[CallListener] = []
        self.points = self._computed_points()
        self._warn_unknown_refs()
        self._snapshot: dict[str, Any] | None = None
        self._snapshot_at = -math.inf
        self._published: dict[str, Value] = {}
        self._task: asyncio.Task[None] | None = None
        self._profile_day: object = None

    @property
    def configured(self) -> bool:
        return bool(self.settings.services)

    def _computed_points(self) -> dict[tuple[str, str | None], list[str]]:
        """(measure, ref) -> the ids of the site's computed queue points that carry it."""
        points: dict[tuple[str, str | None], list[str]] = {}
        for device in self.site.devices:
            connection = device.connection
            if not isinstance(connection, ComputedConnection) or connection.source != "queues":
                continue
            for point in device.points:
                if isinstance(point.address, ComputedAddress):
                    points.setdefault((point.address.measure, point.address.ref), []).append(point.id)
        return points

    def _warn_unknown_refs(self) -> None:
        """A computed point naming a service or group the queues: section does not have would never get a value."""
        services = {s.id for s in self.settings.services}
        groups = {g.id for g in self.settings.groups}
        for (measure, ref), point_ids in self.points.items():
            known = groups | services if measure in ("waiting",) else groups if measure in (
                "windows_open", "windows_needed") else services
            if (ref is None and measure != "satisfaction") or (ref is not None and ref not in known):
                log.warning("queues: point %s: no %s %r under queues: (it will stay without a value)",
                            ", ".join(point_ids), "window group" if known is groups else "service", ref)

    # --- life cycle --------------------------------------------------------------------------------------------

    async def start(self, spawn: Callable[[str, Any], asyncio.Task[Any]] | None = None) -> None:
        """Replay today's journal, build the weekday profile, then publish the figures every tick."""
        now = self.clock.time()
        today = datetime.fromtimestamp(now, self.local).date()
        records = await asyncio.to_thread(lambda: list(self.journal.read("events", today)))
        for record in records:
            try:
                self.analytics.apply(event_from_record(record))
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("queue journal: record skipped on replay (%s): %r", exc, record)
        self.analytics.roll_day(now)
        if records:
            log.info("queues: %d events of today replayed from the journal", len(records))
        await self.refresh_profile(now)
        coro = self._run()
        self._task = spawn("queues", coro) if spawn is not None else asyncio.create_task(coro, name="queues")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        self.journal.close()

    async def refresh_profile(self, now: float) -> None:
        """The weekday profile from the journal's past weeks (once a day; file reads in a thread)."""
        today = datetime.fromtimestamp(now, self.local).date()
        if self._profile_day == today:
            return
        services = list(self.analytics.services)
        self.profile = await asyncio.to_thread(build_profile, self.journal, today, self.settings.profile_weeks,
                                               services)  # fmt: skip
        self._profile_day = today

    async def _run(self) -> None:
        while True:
            await self.clock.sleep(self.tick_s)
            now = self.clock.time()
            self.journal.flush()
            await self.refresh_profile(now)
            self.analytics.roll_day(now)
            self.publish(now)

    # --- input -------------------------------------------------------------------------------------------------

    def ingest(self, payload: bytes | str, source: str) -> IngestResult:
        """One message of one event or a list of events; each is judged on its own."""
        received_at = self.clock.time()
        result = IngestResult()
        try:
            items = parse_payload(payload)
        except EventError as exc:
            self.journal.refuse(payload, str(exc), source, received_at)
            result.refused.append(str(exc))
            return result
        for index, item in enumerate(items):
            where = f"event {index + 1}: " if len(items) > 1 else ""
            try:
                event = self.analytics.resolve(validate(item, self.local, received_at), received_at)
            except EventError as exc:
                self.journal.refuse(item, str(exc), source, received_at)
                result.refused.append(where + str(exc))
                continue
            self.accept(event, received_at, result)
        if result.refused:
            log.warning("queues: %d event(s) from %s refused: %s", len(result.refused), source, result.refused[0])
        return result

    def accept(self, event: TicketEvent, received_at: float, result: IngestResult) -> None:
        self.journal.append(event, received_at)  # before it counts: a crash cannot lose a counted event
        if not self.analytics.apply(event):
            result.duplicates += 1
            return
        result.accepted += 1
        self._snapshot = None
        fresh = received_at - event.at <= CALL_FRESH_S
        if fresh and event.type in ("called", "recalled") and event.ticket and event.window:
            zone = self.analytics.groups[self.analytics.windows[event.window].group].zone
            for listener in self.call_listeners:
                try:
                    listener(event.ticket, event.window, zone)
                except Exception:  # a failing announcement never loses the event
                    log.exception("queue call listener failed for %s at window %s", event.ticket, event.window)

    # --- figures -----------------------------------------------------------------------------------------------

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Every figure, for staff (the public summary is cut from it); recomputed at most once a second."""
        now = self.clock.time() if now is None else now
        if self._snapshot is not None and now - self._snapshot_at < 1.0:
            return self._snapshot
        analytics = self.analytics
        services: list[dict[str, Any]] = []
        by_group: dict[str, list[dict[str, Any]]] = {g: [] for g in analytics.groups}
        for service in self.settings.services:
            stats = analytics.service_stats(service.id, now)
            forecast = forecast_next_hour(self.profile, service.id, now, self.local,
                                          analytics.slot_arrivals(service.id), int(stats["arrivals_last_hour"] or 0))
            entry: dict[str, Any] = {"id": service.id, "name": service.name.model_dump(), "prefix": service.prefix,
                     "group": service.group, **stats, "forecast": _forecast_json(forecast)}  # fmt: skip
            services.append(entry)
            by_group[service.group].append(entry)
        groups = [self._group(group_id, members, now) for group_id, members in by_group.items()]
        for entry in services:
            group = next(g for g in groups if g["id"] == entry["group"])
            entry["forecast"]["wait_s"] = group["forecast_wait_s"]
        self._snapshot = {
            "at": now,
            "day": analytics.day.isoformat() if analytics.day else None,
            "services": services,
            "groups": groups,
            "events": {
                "applied": analytics.applied, "duplicates": analytics.duplicates, "refused": self.journal.refused,
                "anomalies": analytics.anomaly_count, "last_event_at": analytics.last_event_at,
            },
            "anomalies": [{"at": a.at, "reason": a.reason} for a in list(analytics.anomalies)[-20:]],
        }  # fmt: skip
        self._snapshot_at = now
        return self._snapshot

    def _group(self, group_id: str, members: list[dict[str, Any]], now: float) -> dict[str, Any]:
        group = self.analytics.groups[group_id]
        windows = self.analytics.group_windows(group_id)
        open_count = sum(1 for w in windows if w.open)
        waiting = sum(int(m["waiting"]) for m in members)
        served = [(m["service_mean_s"], m["service_samples"]) for m in members if m["service_mean_s"] is not None]
        total = sum(n for _, n in served)
        service_s = sum(s * n for s, n in served) / total if total else DEFAULT_SERVICE_S
        arrivals_per_s = sum(float(m["forecast"]["arrivals"]) for m in members) / HORIZON_S
        wait = mean_wait_s(arrivals_per_s, service_s, open_count, waiting, HORIZON_S)
        target = group.target_wait_min * 60.0
        needed = windows_needed(arrivals_per_s, service_s, waiting, target, HORIZON_S, len(windows))
        fields = {"group": group.name, "open": open_count, "total": len(windows),
                  "target": f"{group.target_wait_min:g}",
                  "wait": "∞" if not math.isfinite(wait) else f"{wait / 60:.0f}"}  # fmt: skip
        if needed > open_count and open_count < len(windows):
            advice = texts.both("advice.open", count=needed - open_count, **fields)
            action = "open"
        elif needed >= len(windows) and wait > target:
            advice, action = texts.both("advice.open_all", **fields), "redirect"
        elif open_count > needed + 1 and waiting <= open_count:
            advice = texts.both("advice.close", count=open_count - needed, keep=needed, **fields)
            action = "close"
        else:
            advice, action = texts.both("advice.none", **fields), "none"
        return {
            "id": group_id, "name": group.name.model_dump(), "zone": group.zone,
            "waiting_zone": group.waiting_zone or group.zone, "windows_total": len(windows),
            "windows_open": open_count, "waiting": waiting, "service_mean_s": round(service_s, 1),
            "forecast_wait_s": None if not math.isfinite(wait) else round(wait, 1),
            "windows_needed": needed, "target_wait_min": group.target_wait_min, "action": action, "advice": advice,
            "windows": [
                {"window": w.number, "open": w.open, "ticket": w.ticket, "service": w.service, "busy": w.busy,
                 "called_at": w.called_at}
                for w in windows
            ],
        }  # fmt: skip

    def public_summary(self, now: float | None = None) -> dict[str, Any]:
        """What visitors may see (GB/T 40756 9.4.4.5): per service people waiting, the expected wait and the open
        windows, and the number called at each window. No event counts, no advice."""
        snap = self.snapshot(now)
        groups = {g["id"]: g for g in snap["groups"]}
        services = []
        for entry in snap["services"]:
            group = groups[entry["group"]]
            expected = entry["forecast"]["wait_s"]
            services.append({
                "id": entry["id"], "name": entry["name"], "prefix": entry["prefix"], "waiting": entry["waiting"],
                "expected_wait_min": _minutes(expected), "windows_open": group["windows_open"],
                "zone": group["zone"],
            })  # fmt: skip
        calls = [
            {"window": w["window"], "ticket": w["ticket"], "service": w["service"], "called_at": w["called_at"]}
            for g in snap["groups"] for w in g["windows"] if w["open"] and w["ticket"]
        ]  # fmt: skip
        calls.sort(key=lambda c: -(c["called_at"] or 0))
        return {"at": snap["at"], "services": services, "calls": calls}

    def figures(self, now: float) -> dict[tuple[str, str | None], Value]:
        """The value of every (measure, ref) a computed point may carry (minutes for times)."""
        snap = self.snapshot(now)
        out: dict[tuple[str, str | None], Value] = {}
        for s in snap["services"]:
            ref = s["id"]
            out[("waiting", ref)] = s["waiting"]
            out[("wait_p50", ref)] = _minutes(s["wait_p50_s"])
            out[("wait_p90", ref)] = _minutes(s["wait_p90_s"])
            out[("longest_wait", ref)] = _minutes(s["longest_wait_s"]) or 0.0
            out[("service_p50", ref)] = _minutes(s["service_p50_s"])
            out[("issued_today", ref)] = s["issued_today"]
            out[("served_today", ref)] = s["served_today"]
            out[("forecast_arrivals", ref)] = round(float(s["forecast"]["arrivals"]), 1)
            out[("forecast_wait", ref)] = _minutes(s["forecast"]["wait_s"])
            out[("satisfaction", ref)] = s["satisfaction"]
        for g in snap["groups"]:
            out[("windows_open", g["id"])] = g["windows_open"]
            out[("windows_needed", g["id"])] = g["windows_needed"]
            out[("waiting", g["id"])] = g["waiting"]
        ratings = [(s["satisfaction"], s["ratings"]) for s in snap["services"] if s["satisfaction"] is not None]
        count = sum(n for _, n in ratings)
        out[("satisfaction", None)] = round(sum(v * n for v, n in ratings) / count, 2) if count else None
        return out

    def publish(self, now: float) -> None:
        """Changed figures go on the bus as GOOD updates of the computed points (no figure yet: BAD, say why)."""
        if not self.points:
            return
        figures = self.figures(now)
        updates = []
        for key, point_ids in self.points.items():
            value = figures.get(key)
            for point_id in point_ids:
                if point_id in self._published and self._published[point_id] == value:
                    continue
                self._published[point_id] = value
                if value is None:
                    reason = "no ticket yet for this figure" if key in figures else f"no {key[0]} of {key[1]}"
                    updates.append(PointUpdate(point_id, None, Quality.BAD, now, now, reason))
                else:
                    updates.append(PointUpdate(point_id, value, Quality.GOOD, now, now))
        self.bus.publish_many(updates)


def _forecast_json(forecast: Forecast) -> dict[str, Any]:
    return {"arrivals": round(forecast.arrivals, 1), "method": forecast.method, "scale": round(forecast.scale, 3),
            "profile_days": forecast.profile_days}  # fmt: skip


def wait_findings(queues: QueueService, now: float) -> list[Finding]:
    """Per window group with a wait limit: the larger of the p90 wait and the longest current wait (minutes)."""
    snap = queues.snapshot(now)
    findings = []
    for group in snap["groups"]:
        settings = queues.analytics.groups[group["id"]]
        if settings.wait_alarm_min is None:
            continue
        members = [s for s in snap["services"] if s["group"] == group["id"]]
        p90 = max((s["wait_p90_s"] or 0.0 for s in members), default=0.0) / 60.0
        longest = max((s["longest_wait_s"] or 0.0 for s in members), default=0.0) / 60.0
        name = settings.name
        fields = {"group": name, "p90": f"{p90:.0f}", "longest": f"{longest:.0f}",
                  "limit": f"{settings.wait_alarm_min:g}"}  # fmt: skip
        message = {lang: texts.both("alarm.wait.message", advice=group["advice"][lang], **fields)[lang]
                   for lang in ("zh", "en")}  # fmt: skip
        findings.append(Finding(
            key=f"queue:{group['id']}", value=max(p90, longest), limit=settings.wait_alarm_min, alarm_class="queue",
            zone=settings.zone, title=texts.both("alarm.wait.title", group=name), message=message,
            evidence={"group": group["id"], "wait_p90_min": round(p90, 1), "longest_wait_min": round(longest, 1),
                      "windows_open": group["windows_open"], "windows_needed": group["windows_needed"],
                      "action": group["action"]},
            revision=(group["action"], group["windows_open"], group["windows_needed"]),
        ))  # fmt: skip
    return findings
