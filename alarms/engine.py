"""AlarmEngine: evaluates the site's alarm rules on every point update and moves alarms through ISA-18.2.

Contract:
- Every transition is stored (store.alarms, one transaction per batch of updates) BEFORE anyone hears of it:
  subscribers (``subscribe``), the /ws frames and MQTT all follow the store. A crash therefore loses nothing
  that was announced, and the unique open key of the store keeps one open alarm per source whatever happens.
- After a restart the open alarms come back from the store with their states (unacknowledged stays
  unacknowledged) and each rule's condition starts from the stored alarm; the first value of each point then
  brings them up to date (an alarm whose condition went while the node was down clears; a new one is raised).
- Operator actions (alarms/operator.py) take the same lock as the evaluation, so an acknowledgement never
  interleaves with a transition of the same alarm.
- Timers (on/off delays, stale-by-age, rate windows, shelving expiry) run on the injected clock's tick.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from alarms.batch import AlarmEvent, Batch
from alarms.lifecycle import State, Trigger, next_state
from alarms.rules import RuleInstance, build_rules
from alarms.texts import names
from iot_gateway.simulators.hall import HallLayout
from store import Store
from store.alarms import Alarm
from twin.bus import PointBus, Subscription
from twin.clock import Clock
from twin.points import PointUpdate
from twin.site.model import SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)

TICK_S = 0.25
MAX_BATCH = 20_000
BUS_QUEUE = 200_000  # a first poll of a big hall, or a flood, fits; the engine never drops an update silently
COMMIT_RETRY_S = (0.1, 0.5, 2.0, 5.0)

Callback = Callable[[AlarmEvent], None | Awaitable[None]]


class _Subscriber:
    """One subscriber's queue and task: a slow callback delays only itself, never the engine."""

    def __init__(self, callback: Callback, name: str) -> None:
        self.callback = callback
        self.queue: asyncio.Queue[AlarmEvent] = asyncio.Queue()
        self.task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                result = self.callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("alarm subscriber %s failed on %s of alarm %d", self.task.get_name(), event.kind,
                              event.alarm.id)  # fmt: skip


class AlarmEngine:
    """The alarms of one site: rules, their running conditions, the open alarms and who hears of changes."""

    def __init__(
        self,
        site: SiteConfig,
        bus: PointBus,
        store: Store,
        clock: Clock,
        *,
        ifc_path: Path | None = None,
        layout: HallLayout | None = None,
        tick_s: float = TICK_S,
    ) -> None:
        self.site = site
        self.bus = bus
        self.store = store
        self.clock = clock
        self.ifc_path = ifc_path
        self.layout = layout
        self.tick_s = tick_s
        self.settings = site.alarms
        self.rules: list[RuleInstance] = []
        self.rule_by_key: dict[str, RuleInstance] = {}
        self._by_point: dict[str, list[RuleInstance]] = {}
        self._timed: list[RuleInstance] = []
        self._suppressible: list[RuleInstance] = []
        self.open: dict[str, Alarm] = {}  # source key -> the open alarm of that source
        self.by_id: dict[int, Alarm] = {}
        self._raises: dict[str, deque[float]] = {}
        self.lock = asyncio.Lock()
        self.drill = False  # the follow-up service sets it while a drill runs: new alarms are marked as drill
        self.transitions = 0
        self._subscribers: list[_Subscriber] = []
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._retired: list[asyncio.Task[None]] = []

    # --- life cycle --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Build the rules, load the open alarms, and follow the bus (call before the gateway starts polling)."""
        if self.layout is None:
            from alarms.layout import load_layout

            path = self.ifc_path or Path("/nonexistent")
            self.layout = await asyncio.to_thread(load_layout, path, self.site)
        self.rules = build_rules(self.site, self.layout)
        self.rule_by_key = {rule.key: rule for rule in self.rules}
        for rule in self.rules:
            for point_id in rule.points:
                self._by_point.setdefault(point_id, []).append(rule)
            if rule.evaluator.time_based:
                self._timed.append(rule)
            if rule.suppressors:
                self._suppressible.append(rule)
        for alarm in await self.store.alarms.load_open():
            self.open[alarm.source_key] = alarm
            self.by_id[alarm.id] = alarm
            known = self.rule_by_key.get(alarm.source_key)
            if known is not None:
                known.debounce.state = alarm.active  # the first value decides whether it still holds
        log.info("alarms: %d rules, %d open alarms", len(self.rules), len(self.open))
        self._subscription = self.bus.subscribe("alarm-engine", maxsize=BUS_QUEUE, accept=self._by_point.__contains__)
        self._tasks = [
            asyncio.create_task(self._run(), name="alarm-engine"),
            asyncio.create_task(self._tick(), name="alarm-engine:tick"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(*tasks)
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        subscribers, self._subscribers = self._subscribers, []
        for subscriber in subscribers:  # what was stored is also delivered before the subscribers end
            while not subscriber.queue.empty():
                await asyncio.sleep(0)
                if subscriber.task.done():
                    break
        retired, self._retired = self._retired, []
        await cancel_and_wait(*(s.task for s in subscribers), *retired)

    def subscribe(self, callback: Callback, name: str | None = None) -> Callable[[], None]:
        """``callback(AlarmEvent)`` after every stored transition (sync or async; its errors are logged).
        Returns the function that unsubscribes."""
        subscriber = _Subscriber(callback, name or f"alarm-subscriber-{len(self._subscribers) + 1}")
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)
                subscriber.task.cancel()
                self._retired.append(subscriber.task)  # awaited by stop()

        return unsubscribe

    def active(self) -> list[Alarm]:
        """The open alarms, newest first."""
        return sorted(self.open.values(), key=lambda alarm: alarm.id, reverse=True)

    # --- evaluation --------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        while True:
            updates = await subscription.get_batch(MAX_BATCH)
            if updates:
                await self.process(updates)

    async def process(self, updates: list[PointUpdate]) -> None:
        """Evaluate a batch of updates, store the transitions, then tell subscribers."""
        async with self.lock:
            batch = Batch()
            now = self.clock.time()
            by_point = self._by_point
            for update in updates:
                for rule in by_point.get(update.point_id, ()):
                    verdict = rule.evaluator.update(update, now)
                    if verdict is None:
                        continue
                    confirmed = rule.debounce.feed(verdict.active, verdict.value, now)
                    if confirmed is not None:
                        self._condition(rule, confirmed, verdict.value, now, batch)
            if batch:
                self._update_suppression(now, batch)
            await self.commit(batch)
        self.publish(batch)

    async def _tick(self) -> None:
        while True:
            await self.clock.sleep(self.tick_s)
            await self.on_tick()

    async def on_tick(self) -> None:
        """Timers: delays that ran out, conditions judged by age, shelving that expired."""
        async with self.lock:
            batch = Batch()
            now = self.clock.time()
            for rule in self._timed:
                verdict = rule.evaluator.tick(now)
                if verdict is not None:
                    confirmed = rule.debounce.feed(verdict.active, verdict.value, now)
                    if confirmed is not None:
                        self._condition(rule, confirmed, verdict.value, now, batch)
            for rule in self.rules:
                if rule.debounce.waiting:
                    confirmed = rule.debounce.tick(now)
                    if confirmed is not None:
                        self._condition(rule, confirmed, rule.debounce.value, now, batch)
            for alarm in list(self.open.values()):
                if alarm.shelved_until is not None and alarm.shelved_until <= now:
                    self.unshelve_now(alarm, now, batch, by=None, role=None, reason="shelving time ran out")
            if batch:
                self._update_suppression(now, batch)
            await self.commit(batch)
        self.publish(batch)

    def _condition(self, rule: RuleInstance, active: bool, value: Any, now: float, batch: Batch) -> None:
        alarm = self.open.get(rule.key)
        if active:
            if alarm is None:
                alarm = self._new_alarm(rule, value, now)
                self.open[rule.key] = alarm
                batch.record(alarm, "raised", now, previous=State.NORMAL.value, value=_plain(value))
                self._count_raise(alarm, now, batch)
                return
            if alarm.active:
                return
            previous = alarm.state
            state = next_state(alarm.latched, previous, Trigger.ALARM)
            assert state is not None
            alarm.state, alarm.active, alarm.value, alarm.cleared_at = state.value, True, _plain(value), None
            if previous in (State.NORMAL, State.RTN_UNACK):
                alarm.acked_at, alarm.acked_by = None, None  # a new annunciation, to be acknowledged again
                batch.record(alarm, "raised", now, previous=previous, value=_plain(value))
                self._count_raise(alarm, now, batch)
            else:
                batch.record(alarm, "updated", now, previous=previous, value=_plain(value))
            return
        if alarm is None or not alarm.active:
            return
        previous = alarm.state
        state = next_state(alarm.latched, previous, Trigger.CLEAR)
        assert state is not None
        alarm.state, alarm.active, alarm.cleared_at = state.value, False, now
        kind = "rtn" if state is State.RTN_UNACK or (alarm.latched and state is not State.NORMAL) else "cleared"
        batch.record(alarm, kind, now, previous=previous, value=_plain(value))
        if alarm.shelve_one_shot and alarm.shelved_until is not None:
            self.unshelve_now(alarm, now, batch, by=None, role=None, reason="one-shot shelving ends as it clears")
        self.close_if_done(alarm, now)

    def _new_alarm(self, rule: RuleInstance, value: Any, now: float) -> Alarm:
        r = rule.rule
        if r.condition.type == "k_of_n" and isinstance(value, list):
            message = names("message.k_of_n", count=len(value), points=", ".join(value))
        else:
            message = names("message.raised", title=r.name, value=_shown(value))
        return Alarm(
            source_key=rule.key, rule=r.id, alarm_class=r.alarm_class, priority=r.priority,
            state=State.UNACK.value, active=True, raised_at=now, title={"zh": r.name.zh, "en": r.name.en},
            message={"zh": message.zh, "en": message.en}, latched=r.latched, drill=self.drill,
            suppressed=r.shelvable and self._suppressed(rule), device=rule.device, point=rule.point,
            zone=rule.zone, ifc_guid=rule.ifc_guid, space_guids=list(rule.space_guids), value=_plain(value),
            camera=rule.camera, plan=rule.plan, updated_at=now,
        )  # fmt: skip

    async def raise_external(self, *, key: str, alarm_class: str, priority: str, title: dict[str, str],
                             message: dict[str, str], zone: str | None = None, device: str | None = None,
                             ifc_guid: str | None = None, value: Any = None) -> Alarm:  # fmt: skip
        """Raise an alarm that no point rule raises: a failed check reported by another service (the broadcast's
        fire-linkage supervision). One open alarm per ``key``; raising it again while open updates its message and
        evidence (``value``). It stays active until ``clear_external`` (the checked situation is over)."""
        async with self.lock:
            batch = Batch()
            now = self.clock.time()
            source = f"external:{key}"
            alarm = self.open.get(source)
            if alarm is None:
                alarm = Alarm(
                    source_key=source, rule=key, alarm_class=alarm_class, priority=priority, state=State.UNACK.value,
                    active=True, raised_at=now, title=dict(title), message=dict(message), latched=False,
                    drill=self.drill, device=device, zone=zone, ifc_guid=ifc_guid, value=_plain(value),
                    updated_at=now,
                )  # fmt: skip
                self.open[source] = alarm
                batch.record(alarm, "raised", now, previous=State.NORMAL.value, value=_plain(value))
            else:
                alarm.message, alarm.value, alarm.updated_at = dict(message), _plain(value), now
                batch.record(alarm, "updated", now, previous=alarm.state, value=_plain(value))
            await self.commit(batch)
        self.publish(batch)
        return alarm

    async def clear_external(self, key: str) -> None:
        """The condition of an external alarm is over (e.g. the supervised evacuation broadcast has ended)."""
        async with self.lock:
            batch = Batch()
            alarm = self.open.get(f"external:{key}")
            if alarm is not None and alarm.active:
                now = self.clock.time()
                previous = alarm.state
                state = next_state(alarm.latched, previous, Trigger.CLEAR)
                if state is not None:
                    alarm.state, alarm.active, alarm.cleared_at = state.value, False, now
                    batch.record(alarm, "rtn" if state is State.RTN_UNACK else "cleared", now, previous=previous)
                    self.close_if_done(alarm, now)
            await self.commit(batch)
        self.publish(batch)

    async def set_work_order(self, alarm_id: int, work_order: int | None, at: float) -> bool:
        """Link an open alarm to its work order, as an ``updated`` transition: stored, then published (/ws, MQTT),
        and kept in the engine's copy so the alarm's next transition keeps it. False when the alarm is not open
        here (closed already): then only its stored row can take the link (AlarmRepository.set_work_order)."""
        async with self.lock:  # the same lock as evaluation: the alarm cannot close between look-up and commit
            alarm = self.by_id.get(alarm_id)
            if alarm is None:
                return False
            alarm.work_order = work_order
            batch = Batch()
            batch.record(alarm, "updated", at, reason=f"work order {work_order}")
            await self.commit(batch)
        self.publish(batch)
        return True

    def _count_raise(self, alarm: Alarm, now: float, batch: Batch) -> None:
        """Chattering (ISA-18.2 / EEMUA 191: 3+ annunciations a minute) is flagged on the alarm."""
        raises = self._raises.setdefault(alarm.source_key, deque())
        raises.append(now)
        window = self.settings.chatter_window_s
        while raises and raises[0] < now - window:
            raises.popleft()
        if len(raises) >= self.settings.chatter_count and not alarm.chattering:
            alarm.chattering = True
            reason = f"{len(raises)} annunciations within {window:g} s"
            batch.record(alarm, "chattering", now, previous=alarm.state, reason=reason)

    def _suppressed(self, rule: RuleInstance) -> bool:
        for key in rule.suppressors:
            alarm = self.open.get(key)
            if alarm is not None and alarm.active:
                return True
        return False

    def _update_suppression(self, now: float, batch: Batch) -> None:
        """Suppression by design follows the suppressing alarms (e.g. downstream faults while mains failed)."""
        for rule in self._suppressible:
            alarm = self.open.get(rule.key)
            if alarm is None or not rule.rule.shelvable:
                continue
            suppressed = self._suppressed(rule)
            if suppressed != alarm.suppressed:
                alarm.suppressed = suppressed
                kind = "suppressed" if suppressed else "unsuppressed"
                batch.record(alarm, kind, now, previous=alarm.state, reason="suppressed by design" if suppressed
                             else None)  # fmt: skip

    def unshelve_now(
        self, alarm: Alarm, now: float, batch: Batch, *, by: str | None, role: str | None, reason: str | None
    ) -> None:
        alarm.shelved_until, alarm.shelved_by, alarm.shelve_reason, alarm.shelve_one_shot = None, None, None, False
        batch.record(alarm, "unshelved", now, previous=alarm.state, by=by, role=role, reason=reason)
        self.close_if_done(alarm, now)

    def close_if_done(self, alarm: Alarm, now: float) -> None:
        """An alarm back to normal, neither shelved nor out of service, leaves the open set (kept as history)."""
        if alarm.is_open:
            if alarm.id:
                self.by_id[alarm.id] = alarm
            return
        alarm.closed_at = now
        if self.open.get(alarm.source_key) is alarm:
            del self.open[alarm.source_key]
        self.by_id.pop(alarm.id, None)

    # --- storing and telling -------------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> None:
        """Store the batch; retried until the database takes it (nothing is announced before it is stored)."""
        if not batch:
            return
        attempt = 0
        while True:
            try:
                await self.store.alarms.apply(batch.changes)
                break
            except Exception as exc:  # the database is away: keep the batch and the lock, try again
                delay = COMMIT_RETRY_S[min(attempt, len(COMMIT_RETRY_S) - 1)]
                if attempt == 0:
                    log.error("alarms: cannot store %d transitions (%s): retrying", len(batch), exc)
                attempt += 1
                await asyncio.sleep(delay)
        if attempt:
            log.warning("alarms: stored again after %d attempts", attempt + 1)
        for change in batch.changes:
            alarm = change.alarm
            if alarm.is_open:
                self.by_id[alarm.id] = alarm
        self.transitions += len(batch)

    def publish(self, batch: Batch) -> None:
        if not batch or not self._subscribers:
            return
        for event in batch.events():
            for subscriber in self._subscribers:
                subscriber.queue.put_nowait(event)


def _plain(value: Any) -> Any:
    """A value as JSON can hold it (NaN and infinities have no JSON form)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
