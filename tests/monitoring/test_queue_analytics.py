"""Queue analytics on event sequences of known waits: exact p50/p90, service times, windows, transfers, no-shows,
duplicates, refused events kept with their reason, and today's journal replayed after a restart."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitoring.queues.erlang import erlang_c, mean_wait_s, windows_needed
from monitoring.queues.percentiles import nearest_rank
from monitoring.queues.service import QueueService
from tests.monitoring.queue_site import queue_site
from twin.bus import PointBus
from twin.clock import ManualClock
from twin.points import Quality

LOCAL = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=LOCAL).timestamp()  # a Monday, 09:00 in the hall


def service(tmp_path: Path, clock: ManualClock, bus: PointBus | None = None) -> QueueService:
    return QueueService(queue_site(), bus or PointBus(), clock, tmp_path)


def send(queues: QueueService, **event: object) -> None:
    result = queues.ingest(json.dumps(event), "test")
    assert result.accepted == 1, result.refused


def test_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert nearest_rank(values, 50) == 5.0
    assert nearest_rank(values, 90) == 9.0
    assert nearest_rank(values, 100) == 10.0
    assert nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([], 50) is None


def test_known_waits_give_exact_percentiles(tmp_path: Path) -> None:
    """Ten tickets issued at T0 and called after 1..10 minutes: p50 = 5 min, p90 = 9 min (nearest rank)."""
    clock = ManualClock(T0 + 3600)
    queues = service(tmp_path, clock)
    for n in range(1, 11):
        send(queues, type="issued", ticket=f"A{n:03d}", at=T0)
    for n in range(1, 11):
        window = str(1 + n % 4)
        send(queues, type="called", ticket=f"A{n:03d}", window=window, at=T0 + 60 * n)
        # Service times of 2, 4, ... 20 minutes: p50 = 10 min.
        send(queues, type="served", ticket=f"A{n:03d}", window=window, at=T0 + 60 * n + 120 * n)
    stats = queues.analytics.service_stats("integrated", T0 + 1800)
    assert stats["wait_p50_s"] == 300.0
    assert stats["wait_p90_s"] == 540.0
    assert stats["wait_samples"] == 10
    assert stats["service_p50_s"] == 600.0
    assert stats["waiting"] == 0
    assert stats["issued_today"] == 10 and stats["served_today"] == 10
    # An hour after the last call, the window of statistics holds none of them; the day's counts stay.
    later = queues.analytics.service_stats("integrated", T0 + 600 + 3601)
    assert later["wait_p50_s"] is None and later["issued_today"] == 10


def test_waiting_longest_wait_and_windows(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 900)
    queues = service(tmp_path, clock)
    send(queues, type="window_opened", window="1", at=T0)
    send(queues, type="window_opened", window="2", at=T0)
    send(queues, type="window_closed", window="2", at=T0 + 10)
    for n, minute in ((1, 0), (2, 3), (3, 5)):
        send(queues, type="issued", ticket=f"A{n:03d}", at=T0 + 60 * minute)
    send(queues, type="issued", ticket="B001", at=T0 + 60)  # by prefix: the domain service, same window group
    send(queues, type="called", ticket="A001", window="3", at=T0 + 420)
    snap = queues.snapshot(T0 + 900)
    integrated = next(s for s in snap["services"] if s["id"] == "integrated")
    assert integrated["waiting"] == 2
    assert integrated["longest_wait_s"] == 900 - 180  # A002, issued at minute 3
    assert integrated["wait_p50_s"] == 420.0
    g1 = next(g for g in snap["groups"] if g["id"] == "g1")
    assert g1["windows_open"] == 2  # 1 opened; 2 opened and closed; 3 opened by its call
    assert g1["waiting"] == 3  # two integrated, one domain
    shown = {w["window"]: w["ticket"] for w in g1["windows"]}
    assert shown == {"1": None, "2": None, "3": "A001", "4": None}
    public = queues.public_summary(T0 + 900)
    assert public["calls"] == [{"window": "3", "ticket": "A001", "service": "integrated", "called_at": T0 + 420}]
    assert "advice" not in json.dumps(public) and "anomal" not in json.dumps(public)


def test_transfer_no_show_recall_and_rating(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 3000)
    queues = service(tmp_path, clock)
    send(queues, type="issued", ticket="A001", at=T0)
    send(queues, type="called", ticket="A001", window="1", at=T0 + 120)
    # Served at the integrated window for 5 minutes, then sent on to pick-up, where it waits 4 minutes.
    send(queues, type="transferred", ticket="A001", to_service="pickup", at=T0 + 420)
    send(queues, type="called", ticket="A001", window="9", at=T0 + 660)
    send(queues, type="served", ticket="A001", window="9", at=T0 + 720, rating=4)
    integrated = queues.analytics.service_stats("integrated", T0 + 800)
    pickup = queues.analytics.service_stats("pickup", T0 + 800)
    assert integrated["wait_p50_s"] == 120.0 and integrated["service_p50_s"] == 300.0
    assert integrated["transferred_today"] == 1 and integrated["served_today"] == 0
    assert pickup["wait_p50_s"] == 240.0 and pickup["service_p50_s"] == 60.0
    assert pickup["served_today"] == 1 and pickup["satisfaction"] == 4.0
    # A no-show ends the ticket without a service time; its wait (3 min) still counts.
    send(queues, type="issued", ticket="A002", at=T0 + 1000)
    send(queues, type="called", ticket="A002", window="2", at=T0 + 1180)
    send(queues, type="no_show", ticket="A002", window="2", at=T0 + 1300)
    send(queues, type="recalled", ticket="A002", window="2", at=T0 + 1400)  # not known any more: an anomaly
    integrated = queues.analytics.service_stats("integrated", T0 + 1500)
    assert integrated["no_show_today"] == 1
    assert sorted(s for _, s in queues.analytics.days["integrated"].waits) == [120.0, 180.0]
    assert queues.analytics.anomaly_count == 1
    assert "A002" in queues.snapshot(T0 + 1500)["anomalies"][0]["reason"]


def test_bad_events_are_refused_with_reasons_and_kept(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    queues = service(tmp_path, clock)
    cases = {
        b"{not json": "not JSON",
        b'{"type": "issued"}': "ticket: a issued event needs the ticket number",
        b'{"type": "boarded", "ticket": "A001"}': "type: Input should be",
        b'{"type": "issued", "ticket": "Z001"}': "no service has the prefix 'Z'",
        b'{"type": "called", "ticket": "A001", "window": "77"}': "window: 77 is in no window group",
        b'{"type": "issued", "ticket": "A001", "at": "yesterday"}': "at:",
        b'{"type": "issued", "ticket": "A001", "colour": "red"}': "colour: Extra inputs are not permitted",
        b'{"type": "called", "ticket": "A001"}': "window: a called event needs the window number",
        b'{"type": "issued", "ticket": "A001", "rating": 5}': "rating: only a served event",
        b'[]': "non-empty list",
    }
    for payload, expected in cases.items():
        result = queues.ingest(payload, "test")
        assert result.accepted == 0 and len(result.refused) == 1, payload
        assert expected in result.refused[0], (payload, result.refused)
    # A batch: the good event counts, the bad one is refused with its position.
    result = queues.ingest(b'[{"type": "issued", "ticket": "A001"}, {"type": "issued", "ticket": "Q1"}]', "test")
    assert result.accepted == 1 and result.refused[0].startswith("event 2: ticket: no service has the prefix 'Q'")
    queues.journal.flush()
    refused = [json.loads(line) for line in (tmp_path / "queues" / "refused-2026-12-07.jsonl").read_text().splitlines()]
    assert len(refused) == len(cases) + 1
    assert refused[0]["payload"] == "{not json" and refused[0]["reason"].startswith("not JSON")
    assert refused[-1]["payload"] == {"type": "issued", "ticket": "Q1"}
    assert queues.snapshot()["events"]["refused"] == len(cases) + 1


def test_duplicates_are_ignored_and_the_journal_is_replayed(tmp_path: Path) -> None:
    async def run() -> None:
        clock = ManualClock(T0 + 600)
        first = service(tmp_path, clock)
        await first.start()
        for n in range(1, 4):
            send(first, id=f"e{n}", type="issued", ticket=f"A00{n}", at=T0 + n)
        send(first, id="e9", type="called", ticket="A001", window="1", at=T0 + 301)
        again = first.ingest(json.dumps({"id": "e9", "type": "called", "ticket": "A001", "window": "1"}), "test")
        assert again.accepted == 0 and again.duplicates == 1
        before = first.analytics.service_stats("integrated", T0 + 600)
        await first.stop()
        second = service(tmp_path, clock)
        await second.start()
        after = second.analytics.service_stats("integrated", T0 + 600)
        await second.stop()
        assert before == after and after["waiting"] == 2 and after["wait_p50_s"] == 300.0

    asyncio.run(run())


async def test_computed_points_published_on_the_bus(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    bus = PointBus()
    sub = bus.subscribe("test", maxsize=1000, accept=None)
    queues = service(tmp_path, clock, bus)
    await queues.start()
    await asyncio.sleep(0)  # the publishing task starts and sleeps on the clock
    try:
        send(queues, type="issued", ticket="A001", at=T0)
        send(queues, type="issued", ticket="A002", at=T0)
        await clock.advance(600)
        latest = bus.latest
        assert latest["qa.integrated.waiting"].value == 2
        assert latest["qa.integrated.longest_wait"].value == 10.0
        assert latest["qa.integrated.wait_p90"].quality is Quality.BAD  # nobody called yet: no wait known
        assert latest["qa.integrated.wait_p90"].reason == "no ticket yet for this figure"
        send(queues, type="called", ticket="A001", window="2", at=T0 + 600)
        await clock.advance(1)
        assert bus.latest["qa.integrated.wait_p90"].value == 10.0
        assert bus.latest["qa.g1.windows_open"].value == 1
        assert sub.drain()
    finally:
        await queues.stop()


def test_erlang_c_and_advice() -> None:
    # Textbook check: 2 servers, load 1 erlang -> P(wait) = 1/3.
    assert erlang_c(1 / 300, 300, 2) == pytest.approx(1 / 3)
    assert erlang_c(1.0, 10, 2) == 1.0  # overloaded
    # 20 waiting, 5-minute services, no new arrivals, 2 windows: the backlog takes 50 min; mean wait 25 min.
    assert mean_wait_s(0.0, 300, 2, 20, 3600) == pytest.approx(20 * 3000 / 2 / 3600 / (2 / 300))
    assert windows_needed(0.0, 300, 20, 600, 3600, 10) > 2
    assert windows_needed(0.0, 300, 0, 600, 3600, 10) == 1


def test_advice_to_open_windows(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 1200)
    queues = service(tmp_path, clock)
    send(queues, type="window_opened", window="1", at=T0)
    for n in range(1, 21):
        send(queues, type="issued", ticket=f"A{n:03d}", at=T0 + n)
    g1 = next(g for g in queues.snapshot()["groups"] if g["id"] == "g1")
    assert g1["action"] == "open" and g1["windows_needed"] > 1
    assert g1["advice"]["zh"].startswith("建议增开") and "integrated windows" in g1["advice"]["en"]


def test_forecast_from_the_weekday_profile_scaled_by_today(tmp_path: Path) -> None:
    """Two past Mondays with 4 tickets per quarter hour from 09:00 to 11:00: the profile expects 16 by 10:00 and 16
    in the next hour. Today brought 8 by 10:00, so the next hour is forecast at 16 x 8/16 = 8."""
    folder = tmp_path / "queues"
    folder.mkdir()
    for weeks_back in (1, 2):
        day = datetime(2026, 12, 7, tzinfo=LOCAL).timestamp() - weeks_back * 7 * 86_400
        lines = [json.dumps({"type": "issued", "service": "integrated", "ticket": "A001",
                             "at": day + 9 * 3600 + slot * 900 + n * 60}) for slot in range(8) for n in range(4)]
        name = datetime.fromtimestamp(day, LOCAL).date().isoformat()
        (folder / f"events-{name}.jsonl").write_text("\n".join(lines) + "\n")

    async def run() -> dict[str, object]:
        clock = ManualClock(T0 + 3600)  # 10:00
        queues = service(tmp_path, clock)
        await queues.start()
        for n in range(8):
            send(queues, type="issued", ticket=f"A{n + 1:03d}", at=T0 + n * 400)
        snapshot = queues.snapshot(T0 + 3600)
        await queues.stop()
        return next(s for s in snapshot["services"] if s["id"] == "integrated")["forecast"]

    forecast = asyncio.run(run())
    assert forecast == {"arrivals": 8.0, "method": "profile", "scale": 0.5, "profile_days": 2,
                        "wait_s": forecast["wait_s"]}  # fmt: skip


def test_forecast_without_a_profile_carries_the_last_hour_on(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 3600)
    queues = service(tmp_path, clock)
    for n in range(5):
        send(queues, type="issued", ticket=f"D{n + 1:03d}", at=T0 + 1800 + n)
    pickup = next(s for s in queues.snapshot(T0 + 3600)["services"] if s["id"] == "pickup")
    assert pickup["forecast"]["method"] == "last_hour" and pickup["forecast"]["arrivals"] == 5.0
