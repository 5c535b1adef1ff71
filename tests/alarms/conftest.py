"""Alarm tests: a small site, the real PointBus and the real store (SQLite file, and PostgreSQL when it runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from alarms import AlarmEngine
from iot_gateway.simulators.hall import HallLayout
from store import Store
from tests.store.conftest import db_url, pg_skip_reason  # noqa: F401 - the store tests' databases, SQLite and PostgreSQL
from twin.bus import PointBus
from twin.clock import ManualClock
from twin.points import PointUpdate, Quality
from twin.site.model import SiteConfig

GUID = "0" * 21
ZONE_GUIDS = {"hall": "1" * 22, "server": "2" * 22}


def _point(pid: str, kind: str, brick: str, obj: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "name": {"zh": pid, "en": pid}, "kind": kind, "brick": brick,
            "address": {"type": "bacnet", "object": obj}, **extra}  # fmt: skip


def small_site(**alarms: Any) -> SiteConfig:
    """A UPS, a security controller with two emergency buttons, four smoke detectors, a server-room probe."""
    binary = "binary-input"
    security = [_point(f"sec.ebtn_{n}", "binary", "Emergency_Alarm", f"{binary}:{n}") for n in (1, 2)]
    fire = [_point(f"fire.smoke_{n}", "binary", "Smoke_Detection_Alarm", f"{binary}:{n}") for n in (1, 2, 3)]
    fire.append(_point("fire.trouble", "binary", "Fault_Status", f"{binary}:9"))
    env = [
        _point("env.leak_1", "binary", "Leak_Alarm", f"{binary}:1"),
        _point("env.temp", "analog", "Zone_Air_Temperature_Sensor", "analog-input:1", unit="degC"),
    ]
    ups = [
        _point("ups.on_battery", "binary", "Status", f"{binary}:1"),
        _point("ups.battery_runtime", "analog", "Duration_Sensor", "analog-input:1", unit="min"),
    ]

    def device(did: str, kind: str, zone: str, points: list[dict[str, Any]], port: int) -> dict[str, Any]:
        return {"id": did, "name": {"zh": did, "en": did}, "kind": kind, "zone": zone, "ifc_guid": GUID + "d",
                "connection": {"type": "bacnet_ip", "address": f"127.0.0.1:{port}", "device_instance": port},
                "points": points}  # fmt: skip

    return SiteConfig.model_validate({
        "site": {"id": "alarm-test", "name": {"zh": "告警测试", "en": "Alarm test"}, "ifc": "none.ifc"},
        "zones": [{"id": z, "name": {"zh": z, "en": z}, "zone_type": "server_room" if z == "server" else "waiting",
                   "ifc_guid": g} for z, g in ZONE_GUIDS.items()],
        "devices": [device("sec", "access_door", "hall", security, 47901), device("fire", "fire_panel", "hall", fire,
                    47902), device("env", "water_leak", "server", env, 47903),
                    device("ups", "ups", "server", ups, 47904)],
        "alarms": alarms,
    }, strict=False)  # fmt: skip


def update(point_id: str, value: Any, ts: float, quality: Quality = Quality.GOOD) -> PointUpdate:
    return PointUpdate(point_id, value, quality, ts, ts)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


class Harness:
    """An engine on a small site with a manual clock; ``feed`` publishes values and waits until they are judged."""

    def __init__(self, site: SiteConfig, store: Store, clock: ManualClock) -> None:
        self.site, self.store, self.clock = site, store, clock
        self.bus = PointBus()
        self.engine = AlarmEngine(site, self.bus, store, clock, layout=HallLayout())
        self.events: list[Any] = []

    async def start(self) -> None:
        await self.engine.start()
        self.engine.subscribe(self.events.append, "test-events")

    async def feed(self, *values: tuple[str, Any] | PointUpdate) -> None:
        updates = [v if isinstance(v, PointUpdate) else update(v[0], v[1], self.clock.time()) for v in values]
        await self.engine.process(updates)
        for _ in range(3):  # let the subscriber tasks run
            await self.clock.advance(0)

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await self.engine.on_tick()

    def open(self, key: str) -> Any:
        return self.engine.open.get(key)


@pytest.fixture
async def harness_factory(sqlite_url: str) -> AsyncIterator[Any]:
    made: list[tuple[Harness, Store]] = []

    async def make(site: SiteConfig | None = None, url: str = sqlite_url, clock: ManualClock | None = None) -> Harness:
        clock = clock or ManualClock()
        store = await Store.open(url, clock=clock)
        harness = Harness(site or small_site(), store, clock)
        await harness.start()
        made.append((harness, store))
        return harness

    yield make
    for harness, store in made:
        await harness.engine.stop()
        await store.close()
