"""RoundService: scheduled inspection rounds (T/ZAS 4012 7.2.4) as runs with a checklist, a work order each, and
a repair work order for every item found failing.

Each template of site.yaml ``rounds:`` is due at its ``schedule.times`` on its weekdays (site time zone). The round
task schedules the day's runs (idempotent: one run per template and time, its checklist frozen then, in the
walking order of that run: forward, reverse, or alternating by day), opens the run's work order once it is due,
and closes runs left unfinished after their window as missed (audited). Results: ok, fail (a repair order is
opened for the item's device or zone) or na (could not be checked); the run is done when every item has one,
and its work order is then resolved with the tally.

Runs that fell due while the node was down are not lost: the first tick after a start schedules every day from
the newest scheduled run's day up to today (at most BACKFILL_DAYS back; a new installation, with no run yet,
backfills nothing), so their runs exist and, their windows over, are closed as missed like any other, each once
(one run per template and time; closing only takes open runs), audited as missed while the node was down. A run
whose window is over when it is first seen gets no work order: nobody could still do it.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alarms.workorders import WorkOrderForbidden, WorkOrderService
from store.audit import SYSTEM, Actor, AuditLog
from store.rounds import RoundError, RoundRepository, RoundRun
from store.text import storable
from store.workorders import NewWorkOrder, WorkOrder, WorkOrderError
from twin.clock import Clock
from twin.site.model import InspectionRound, SiteConfig

log = logging.getLogger(__name__)
TICK_S = 30.0
BACKFILL_DAYS = 31  # after a longer outage the older runs are not recorded (logged): a month of misses says enough
ROUND_ROLES = frozenset({"admin", "facility", "maintenance"})


def direction_for(template: InspectionRound, day: date) -> str:
    if template.order != "alternate":
        return template.order
    return "forward" if day.toordinal() % 2 == 0 else "reverse"


def checklist(template: InspectionRound, direction: str) -> list[dict[str, Any]]:
    """The round's check items in walking order, numbered from 1 (the stops reversed for a reverse run)."""
    stops = template.stops if direction == "forward" else list(reversed(template.stops))
    items: list[dict[str, Any]] = []
    for stop in stops:
        for text in stop.items:
            items.append({"n": len(items) + 1, "zone": stop.zone, "device": stop.device,
                          "text": {"zh": text.zh, "en": text.en}})  # fmt: skip
    return items


class RoundService:
    """tick (schedule, open work orders, close missed runs), today, record (see the module docstring)."""

    def __init__(
        self, site: SiteConfig, runs: RoundRepository, workorders: WorkOrderService, audit: AuditLog, clock: Clock
    ) -> None:
        self.site = site
        self.runs = runs
        self.workorders = workorders
        self.audit = audit
        self.clock = clock
        self.tz = ZoneInfo(site.site.timezone)
        self.templates = {template.id: template for template in site.rounds}
        self._backfilled = False  # the first tick of each start looks back at the days the node was down
        self._while_down: set[int] = set()  # runs created by the backfill: their miss happened while down

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock.time(), self.tz).date()

    def day_bounds(self, day: date) -> tuple[float, float]:
        start = datetime.combine(day, time(0, 0), self.tz)
        return start.timestamp(), (start + timedelta(days=1)).timestamp()

    async def schedule_day(self, day: date) -> list[RoundRun]:
        """Create the day's runs (those that exist are kept)."""
        return [run for run, _ in await self._schedule_day(day)]

    async def _schedule_day(self, day: date) -> list[tuple[RoundRun, bool]]:
        runs = []
        for template in self.site.rounds:
            if day.isoweekday() not in template.schedule.weekdays:
                continue
            direction = direction_for(template, day)
            for hhmm in template.schedule.times:
                hour, minute = (int(part) for part in hhmm.split(":"))
                due = datetime.combine(day, time(hour, minute), self.tz).timestamp()
                end = due + template.schedule.window_minutes * 60.0
                runs.append(await self.runs.schedule(template.id, due, end, direction, checklist(template, direction)))
        return runs

    async def backfill(self) -> list[RoundRun]:
        """Schedule the runs of the days since the newest scheduled run, up to yesterday (see the module
        docstring); the runs (existing ones too) of those days."""
        latest = await self.runs.latest_due()
        if latest is None or not self.site.rounds:
            return []
        today = self.today()
        day = datetime.fromtimestamp(latest, self.tz).date()  # that day again: a start may have died mid-way
        oldest = today - timedelta(days=BACKFILL_DAYS)
        if day < oldest:
            log.warning("inspection rounds: the node was down since %s; runs before %s are not recorded", day, oldest)
            day = oldest
        runs = []
        while day < today:
            for run, created in await self._schedule_day(day):
                runs.append(run)
                if created:
                    self._while_down.add(run.id)
            day += timedelta(days=1)
        if self._while_down:
            log.warning("inspection rounds: %d runs fell due while the node was down", len(self._while_down))
        return runs

    async def tick(self) -> None:
        """Schedule today's runs (after a start, first those of the days the node was down), open the work orders
        of runs now due, close runs past their window as missed."""
        now = self.clock.time()
        runs = [] if self._backfilled else await self.backfill()
        self._backfilled = True
        runs += await self.schedule_day(self.today())
        for run in runs:
            if run.due_at <= now < run.window_end and run.work_order_id is None and run.status == "open":
                await self._open_order(run)
        for run in await self.runs.close_missed(now):
            template = self.templates.get(run.round_id)
            while_down = run.id in self._while_down
            self._while_down.discard(run.id)
            log.warning("inspection round %s due at %.0f was missed%s", run.round_id, run.due_at,
                        " while the node was down" if while_down else "")  # fmt: skip
            await self.audit.append(action="round.missed", actor="system", role=None, client=None,
                                    target=f"round-run:{run.id}", result="ok",
                                    arguments={"round": run.round_id, "due_at": run.due_at,
                                               "results": len(run.results), "items": len(run.items),
                                               "while_down": while_down},
                                    detail=f"{template.name.en if template else run.round_id}: "
                                           f"{len(run.results)} of {len(run.items)} items checked"
                                           + (" (the node was down)" if while_down else ""))  # fmt: skip
            if run.work_order_id is not None:
                try:
                    await self.workorders.act(SYSTEM, run.work_order_id, "comment", note="round missed: window over")
                except WorkOrderError:
                    pass

    async def run(self) -> None:
        """The round task."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("inspection round scheduling failed; retrying")
            await self.clock.sleep(TICK_S)

    async def _open_order(self, run: RoundRun) -> None:
        template = self.templates.get(run.round_id)
        if template is None:
            return  # the template left site.yaml; its old run stays as it is
        at = datetime.fromtimestamp(run.due_at, self.tz).strftime("%H:%M")
        first = run.items[0] if run.items else {}
        zone = first.get("zone")
        new = NewWorkOrder(
            title={"zh": f"巡检：{template.name.zh} {at}", "en": f"Inspection round: {template.name.en} {at}"},
            priority=template.priority, source="round", due_at=run.window_end, created_by="system",
            description=f"{len(run.items)} items, {run.direction} order", zone=zone,
            device=first.get("device"), space_guid=self._space(zone), round_run_id=run.id,
        )  # fmt: skip
        order, _ = await self.workorders.create(SYSTEM, new)
        await self.runs.set_work_order(run.id, order.id)

    def _space(self, zone_id: str | None) -> str | None:
        return next((zone.ifc_guid for zone in self.site.zones if zone.id == zone_id), None)

    async def runs_between(self, since: float, until: float) -> list[RoundRun]:
        return await self.runs.between(since, until)

    async def record(self, actor: Actor, run_id: int, item: int, result: str, note: str | None) -> RoundRun:
        """One item's result; a failing item opens a repair work order. Audited as ``round.result``."""
        target = f"round-run:{run_id}"
        note = storable(note, 2000) or None
        if actor.role is not None and actor.role not in ROUND_ROLES:
            message = f"role {actor.role} may not record inspection results (maintenance does)"
            await self._audit(actor, target, "refused", message, {"item": item, "result": result})
            raise RoundError("forbidden", message)
        order_id = None
        try:
            run = await self.runs.get(run_id)
            if run is None:
                raise RoundError("unknown_run", f"no inspection round run {run_id}")
            if result == "fail" and note and 1 <= item <= len(run.items) and run.status == "open":
                order_id = await self._repair_order(actor, run, run.items[item - 1], note)
            updated = await self.runs.record(run_id, item, result, note, actor.name, order_id)
        except RoundError as exc:
            await self._audit(actor, target, "refused", str(exc), {"item": item, "result": result})
            raise
        await self._audit(actor, target, "ok", f"item {item}: {result}",
                          {"item": item, "result": result, "note": note, "work_order": order_id})  # fmt: skip
        await self._follow_run_order(actor, updated)
        return updated

    async def _repair_order(self, actor: Actor, run: RoundRun, item: dict[str, Any], note: str) -> int:
        template = self.templates.get(run.round_id)
        name = template.name if template else None
        text = item["text"]
        new = NewWorkOrder(
            title={"zh": f"巡检发现：{text['zh']}", "en": f"Found on inspection: {text['en']}"},
            priority="medium", source="round", due_at=0.0, created_by=actor.name, role=actor.role,
            description=f"{name.en if name else run.round_id}, item {item['n']}: {note}",
            device=item.get("device"), zone=item.get("zone"), space_guid=self._space(item.get("zone")),
            round_run_id=run.id,
        )  # fmt: skip
        order, _ = await self.workorders.create(actor, new)
        return order.id

    async def _follow_run_order(self, actor: Actor, run: RoundRun) -> None:
        """The run's own work order follows the round: in progress at the first result, resolved when done."""
        if run.work_order_id is None:
            return
        order = await self.workorders.get(run.work_order_id)
        if order is None:
            return
        try:
            if order.status in ("open", "assigned", "acknowledged"):
                order = await self._act(actor, order.id, "start", f"round started by {actor.name}")
            if run.status == "done" and order.status == "in_progress":
                tally = {r: sum(1 for x in run.results if x.result == r) for r in ("ok", "fail", "na")}
                note = (f"round done by {actor.name}: {tally['ok']} ok, {tally['fail']} failed, "
                        f"{tally['na']} not checked")
                await self._act(actor, order.id, "resolve", note)
        except WorkOrderError as exc:
            log.info("round run %d: its work order %d stays %s (%s)", run.id, order.id, order.status, exc)

    async def _act(self, actor: Actor, order_id: int, action: str, note: str) -> WorkOrder:
        """The person doing the round moves its order (taking it when unassigned); the system when it is someone
        else's (a colleague finished the round)."""
        try:
            return await self.workorders.act(actor, order_id, action, note=note)
        except WorkOrderForbidden:
            return await self.workorders.act(SYSTEM, order_id, action, note=note)

    async def _audit(self, actor: Actor, target: str, result: str, detail: str, arguments: dict[str, Any]) -> None:
        await self.audit.append(action="round.result", actor=actor.name, role=actor.role, client=actor.client,
                                target=target, arguments=arguments, result=result, detail=detail)  # fmt: skip


def run_json(run: RoundRun, template: InspectionRound | None) -> dict[str, Any]:
    results = {r.item: r for r in run.results}
    items = []
    for item in run.items:
        found = results.get(item["n"])
        items.append({**item, "result": found.result if found else None, "note": found.note if found else None,
                      "at": found.at if found else None, "by": found.by if found else None,
                      "work_order": found.work_order_id if found else None})  # fmt: skip
    name = {"zh": template.name.zh, "en": template.name.en} if template else {"zh": run.round_id, "en": run.round_id}
    return {"id": run.id, "round": run.round_id, "name": name, "due_at": run.due_at, "window_end": run.window_end,
            "direction": run.direction, "status": run.status, "work_order": run.work_order_id,
            "finished_at": run.finished_at, "checked": len(run.results), "total": len(run.items),
            "items": items}  # fmt: skip
