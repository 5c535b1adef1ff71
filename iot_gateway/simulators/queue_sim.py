"""A simulated queue ticketing system: tickets drawn as the hall's visitors arrive, windows opened and closed as
queues grow, calls, services, no-shows, transfers and ratings, published as ticket events over MQTT.

It follows the HallState's arrival curve (same share per ticket category, same mean service times) but is a
discrete-event simulation: every ticket is a ticket, so waits have a real distribution. Times are the simulated
time of day (``ScaledClock``): a demo at ten simulated seconds per real second shows a day of queueing in 48 min.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from iot_gateway.mqtt_client import MqttDisconnected, SharedMqttClient
from iot_gateway.mqtt_settings import settings_from_site
from iot_gateway.simulators.hall_state import QUEUE_SHARE, SERVICE_MINUTES, HallState
from twin.clock import Clock, SystemClock
from twin.site.model import SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)
NO_SHOW_SHARE = 0.03
TRANSFER_SHARE = 0.05  # integrated windows send some visitors on to a domain window
RATING_SHARE = 0.6
OTHER_SHARE = 0.04  # a ticket category the hall model does not name gets this weight (before normalising)
DEFAULT_SERVICE_MIN = 8.0


def service_shares(services: Mapping[str, object]) -> dict[str, float]:
    """Each service's share of the visitors: the hall model's categories by name, the others OTHER_SHARE each."""
    weight = {s: QUEUE_SHARE.get(s.replace("-", "_"), OTHER_SHARE) for s in services}
    total = sum(weight.values())
    return {s: w / total for s, w in weight.items()}


class ScaledClock:
    """Simulated wall time: ``start`` (epoch) at creation, then ``scale`` simulated seconds per real second."""

    def __init__(self, start: float, scale: float, real: Clock | None = None) -> None:
        self.real: Clock = real or SystemClock()
        self.scale = scale
        self._start = start
        self._real0 = self.real.monotonic()

    def time(self) -> float:
        return self._start + (self.real.monotonic() - self._real0) * self.scale

    def monotonic(self) -> float:
        return (self.real.monotonic() - self._real0) * self.scale

    async def sleep(self, seconds: float) -> None:
        await self.real.sleep(seconds / self.scale)


def sim_start(local: tzinfo, hour: float, today: date | None = None) -> float:
    """Epoch seconds of ``hour`` o'clock today in the hall's time zone."""
    day = today or datetime.now(local).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=local)
    return (midnight + timedelta(hours=hour)).timestamp()


@dataclass
class _Window:
    number: str
    open: bool = False
    ticket: str | None = None
    service: str | None = None
    done_at: float = 0.0
    outcome: str = "served"


@dataclass
class _Group:
    id: str
    windows: list[_Window]
    queue: deque[tuple[str, str, float]] = field(default_factory=deque)  # (ticket, service, issued at)


class QueueSystemSimulator:
    """Draws tickets from the hall's arrival rate and serves them at the site's window groups."""

    def __init__(self, site: SiteConfig, state: HallState, clock: Clock, *, seed: int = 11, tick_s: float = 5.0,
                 client: SharedMqttClient | None = None) -> None:  # fmt: skip
        if not site.queues.services:
            raise ValueError("the site has no queues: services to simulate")
        self.site = site
        self.state = state
        self.clock = clock
        self.tick_s = tick_s
        self.rng = random.Random(seed)
        self.topic = site.queues.events_topic
        self.client = client
        self.groups = {g.id: _Group(g.id, [_Window(w) for w in g.windows]) for g in site.queues.groups}
        self.services = {s.id: s for s in site.queues.services}
        self.numbers = {s.id: 0 for s in site.queues.services}
        self.share = service_shares(self.services)
        # Integrated windows send some visitors on to a domain window ("domain", else a service of another group).
        integrated = self.services.get("integrated")
        self.transfer_to = "domain" if "domain" in self.services else next(
            (s.id for s in site.queues.services if integrated is not None and s.group != integrated.group), None)
        self.published = 0
        self.events: list[dict[str, Any]] = []  # what the last step produced (tests read it)
        self._serial = 0
        self._task: asyncio.Task[None] | None = None
        self._carry = {s: 0.0 for s in self.services}

    async def start(self) -> None:
        if self.client is None:
            self.client = SharedMqttClient(settings_from_site(self.site.mqtt), name="queue-system-simulator")
        self.client.start()
        self._task = asyncio.create_task(self._run(), name="queue-system-simulator")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.client is not None:
            await self.client.stop()

    async def _run(self) -> None:
        last = self.clock.time()
        while True:
            await self.clock.sleep(self.tick_s)
            now = self.clock.time()
            events = self.step(last, now)
            last = now
            if events and self.client is not None and self.topic is not None:
                try:
                    await self.client.publish(self.topic, json.dumps(events), qos=1)
                    self.published += len(events)
                except MqttDisconnected:
                    log.debug("queue simulator: broker away, %d events not sent", len(events))

    # --- the simulation ----------------------------------------------------------------------------------------

    def _event(self, kind: str, at: float, **fields: Any) -> dict[str, Any]:
        self._serial += 1
        event = {"id": f"sim-{self._serial}", "type": kind, "at": round(at, 3), **fields}
        self.events.append(event)
        return event

    def step(self, start: float, end: float) -> list[dict[str, Any]]:
        """Advance from ``start`` to ``end`` (simulated epoch seconds); returns the events in time order."""
        self.events = []
        span = end - start
        if span <= 0:
            return []
        rate = self.state.arrivals_per_second() if self.state.open else 0.0
        for service_id, share in self.share.items():
            expected = rate * share * span + self._carry[service_id]
            count = self._poisson(expected) if expected > 0 else 0
            self._carry[service_id] = 0.0
            for _ in range(count):
                self._issue(service_id, start + self.rng.random() * span)
        for group in self.groups.values():
            self._serve(group, start, end)
        self.events.sort(key=lambda e: e["at"])
        return self.events

    def backfill(self, start: float, end: float, step_s: float = 60.0) -> list[dict[str, Any]]:
        """Simulate ``start``..``end`` in steps of ``step_s`` (as the running simulator would), all events in order:
        a queue system's past hours at once (tests, a demo that starts with a busy morning)."""
        events: list[dict[str, Any]] = []
        at = start
        while at < end:
            events += self.step(at, min(end, at + step_s))
            at += step_s
        return events

    def _poisson(self, mean: float) -> int:
        if mean > 30:  # normal approximation: exact enough and never slow
            return max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def _issue(self, service_id: str, at: float) -> None:
        self.numbers[service_id] += 1
        ticket = f"{self.services[service_id].prefix}{self.numbers[service_id]:03d}"
        group = self.groups[self.services[service_id].group]
        group.queue.append((ticket, service_id, at))
        self._event("issued", at, ticket=ticket, service=service_id)

    def _service_s(self, service_id: str) -> float:
        mean = SERVICE_MINUTES.get(service_id.replace("-", "_"), DEFAULT_SERVICE_MIN) * 60.0
        sigma = 0.5  # log-normal: most services near the mean, a few long ones
        return self.rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)

    def _serve(self, group: _Group, start: float, end: float) -> None:
        windows = group.windows
        open_windows = [w for w in windows if w.open]
        per_window = len(group.queue) / max(len(open_windows), 1)
        # A manager opens another window at five waiting per window, closes an idle one under 1.5 (T/ZAS 7.1.3).
        if self.state.open and (not open_windows or (per_window > 5 and len(open_windows) < len(windows))):
            window = next(w for w in windows if not w.open)
            window.open = True
            self._event("window_opened", start, window=window.number)
        elif open_windows and (per_window < 1.5 or not self.state.open) and len(open_windows) > 1:
            idle = [w for w in open_windows if w.ticket is None]
            if idle:
                idle[-1].open = False
                self._event("window_closed", start, window=idle[-1].number)
        for window in windows:
            now = start
            while now < end:
                if window.ticket is not None:
                    if window.done_at > end:
                        break
                    self._finish(window)
                    now = window.done_at
                if not window.open or not group.queue:
                    break
                ticket, service_id, issued = group.queue.popleft()
                called = max(now, issued)
                if called > end:
                    group.queue.appendleft((ticket, service_id, issued))
                    break
                window.ticket, window.service = ticket, service_id
                self._event("called", called, ticket=ticket, window=window.number)
                roll = self.rng.random()
                if roll < NO_SHOW_SHARE:
                    window.outcome, window.done_at = "no_show", called + 60.0
                elif roll < NO_SHOW_SHARE + TRANSFER_SHARE and service_id == "integrated" and self.transfer_to:
                    window.outcome, window.done_at = "transferred", called + self._service_s(service_id) / 2
                else:
                    window.outcome, window.done_at = "served", called + self._service_s(service_id)
                now = called

    def _finish(self, window: _Window) -> None:
        ticket, at = window.ticket, window.done_at
        if window.outcome == "no_show":
            self._event("no_show", at, ticket=ticket, window=window.number)
        elif window.outcome == "transferred":
            target = self.transfer_to
            assert ticket is not None and target is not None
            self._event("transferred", at, ticket=ticket, to_service=target)
            self.groups[self.services[target].group].queue.append((ticket, target, at))
        else:
            fields: dict[str, Any] = {"ticket": ticket, "window": window.number}
            if self.rng.random() < RATING_SHARE:
                fields["rating"] = self.rng.choices([5, 4, 3, 2, 1], weights=[55, 30, 10, 3, 2])[0]
            self._event("served", at, **fields)
        window.ticket, window.service = None, None


def seed_history(folder: Path, site: SiteConfig, local: tzinfo, today: date, weeks: int, daily_visitors: float,
                 seed: int = 5) -> int:  # fmt: skip
    """Past weeks of issued tickets on the hall's daily curve, written as the queue journal (the demo's weekday
    profile: a real hall's journal holds its own past). Days already there are left alone. Returns tickets."""
    rng = random.Random(seed)
    state = HallState(daily_visitors=daily_visitors)
    services = {s.id: s for s in site.queues.services}
    share = service_shares(services)
    written = 0
    folder.mkdir(parents=True, exist_ok=True)
    for back in range(1, weeks * 7 + 1):
        day = today - timedelta(days=back)
        path = folder / f"events-{day.isoformat()}.jsonl"
        if path.exists():
            continue
        weekend = day.weekday() >= 5
        lines = []
        midnight = datetime(day.year, day.month, day.day, tzinfo=local).timestamp()
        for minute in range(24 * 60):
            hour = minute / 60
            state.hour = hour
            if not state.open:
                continue
            per_minute = state.arrivals_per_second() * 60.0 * (0.4 if weekend else 1.0)
            for service_id in services:
                for _ in range(_poisson(rng, per_minute * share[service_id])):
                    at = midnight + minute * 60 + rng.random() * 60
                    lines.append(json.dumps({"type": "issued", "at": round(at, 3), "service": service_id,
                                             "ticket": f"{services[service_id].prefix}000"}))  # fmt: skip
        path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        written += len(lines)
    return written


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
