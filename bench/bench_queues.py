"""Queue analytics throughput: a simulated day of the demo hall's ticket events (issued, called, served, transferred,
no-shows, windows opened and closed) through QueueService.ingest — parse, validate, resolve, journal, apply — one
event per message and in batches of 100; the figures (snapshot with forecast and advice) at the end of the day.
Baselines in the same run: json.loads of the same messages alone (the floor any JSON ingest pays) and the
analytics' apply() of already-validated events (what the state machine costs without the input checks).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bim_models.demo_hall import SITE_PATH
from iot_gateway.simulators.hall_state import HallState
from iot_gateway.simulators.queue_sim import QueueSystemSimulator, sim_start
from monitoring.queues.analytics import QueueAnalytics
from monitoring.queues.events import validate
from monitoring.queues.service import QueueService
from twin.bus import PointBus
from twin.clock import ManualClock
from twin.site.loader import load_site

REPEATS = 3
BATCH = 100


def _day_of_events() -> tuple[list[dict[str, object]], float]:
    site = load_site(SITE_PATH, None)
    local = ZoneInfo(site.site.timezone)
    start = sim_start(local, 8.5, datetime(2026, 12, 7).date())  # a Monday
    state = HallState(hour=8.5, daily_visitors=3000)
    simulator = QueueSystemSimulator(site, state, ManualClock(start))
    events: list[dict[str, object]] = []
    at = start
    for _ in range(10 * 60):  # 08:30-18:30 in one-minute steps, the hall's arrivals following its daily curve
        state.step(60.0)
        events += simulator.step(at, at + 60.0)
        at += 60.0
    return events, at


def _service(end: float, folder: Path) -> QueueService:
    site = load_site(SITE_PATH, None)
    return QueueService(site, PointBus(), ManualClock(end), folder)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> None:
    events, end = _day_of_events()
    kinds: dict[str, int] = {}
    for event in events:
        kinds[str(event["type"])] = kinds.get(str(event["type"]), 0) + 1
    single = [json.dumps(event) for event in events]
    batches = [json.dumps(events[i:i + BATCH]) for i in range(0, len(events), BATCH)]
    print(f"one simulated day (3000 visitors): {len(events)} events "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})")
    figures: dict[str, list[float]] = {"json": [], "apply": [], "single": [], "batched": [], "snapshot_ms": []}
    for _ in range(REPEATS):
        started = time.perf_counter()
        for text in single:
            json.loads(text)
        figures["json"].append(_rate(len(single), time.perf_counter() - started))
        with tempfile.TemporaryDirectory() as tmp:
            service = _service(end, Path(tmp))
            resolved = []
            for event in events:  # validated once, outside the timing: the apply baseline
                resolved.append(service.analytics.resolve(validate(event, service.local, end), end))
            analytics = QueueAnalytics(service.settings, service.local)
            started = time.perf_counter()
            for item in resolved:
                analytics.apply(item)
            figures["apply"].append(_rate(len(resolved), time.perf_counter() - started))
        with tempfile.TemporaryDirectory() as tmp:
            service = _service(end, Path(tmp))
            started = time.perf_counter()
            accepted = sum(service.ingest(text, "bench").accepted for text in single)
            figures["single"].append(_rate(len(single), time.perf_counter() - started))
            assert accepted == len(events), (accepted, len(events))
            service.journal.close()
        with tempfile.TemporaryDirectory() as tmp:
            service = _service(end, Path(tmp))
            started = time.perf_counter()
            accepted = sum(service.ingest(text, "bench").accepted for text in batches)
            figures["batched"].append(_rate(len(events), time.perf_counter() - started))
            assert accepted == len(events)
            started = time.perf_counter()
            for i in range(20):
                service._snapshot = None  # recompute, as once a second in the running service
                service.snapshot(end + i)
            figures["snapshot_ms"].append((time.perf_counter() - started) / 20 * 1000)
            service.journal.close()
    med = {key: statistics.median(values) for key, values in figures.items()}
    print(f"json.loads alone (baseline):           {med['json']:>12,.0f} messages/s")
    print(f"apply() of validated events (baseline): {med['apply']:>11,.0f} events/s")
    print(f"ingest, one event per message:          {med['single']:>11,.0f} events/s "
          f"(ratio to json.loads {med['single'] / med['json']:.3f}, to apply {med['single'] / med['apply']:.3f})")
    print(f"ingest, batches of {BATCH}:                 {med['batched']:>11,.0f} events/s "
          f"(ratio to json.loads {med['batched'] / med['json']:.3f})")
    print(f"figures of the whole day (snapshot with forecast and advice): {med['snapshot_ms']:.2f} ms")
    busiest = 3000 * 4 / 8 / 3600 * 3  # a hall at its peak: ~4 events a ticket, three times the mean rate
    print(f"a 3000-visitor hall sends ~{busiest:.1f} events/s at its peak: headroom x{med['single'] / busiest:,.0f}")


if __name__ == "__main__":
    main()
