"""The whole demo hall end to end: simulated devices on Modbus TCP, BACnet/IP and MQTT, polled by the gateway,
served by the app, with the five incident scenarios seen on /api/points, /ws, history and the MQTT bridge.

One hall serves the whole module (its start and first GOOD values take most of the time); every test leaves
it as it found it (scenarios cleared, written points restored).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping

import aiomqtt
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect

from tests.api.demo_fixtures import (
    ALL_GOOD_DEADLINE_S,
    SCENARIO_DEADLINE_S,
    DemoHall,
    Points,
    all_good,
    fire_expectations,
    polled_device_ids,
    running_demo,
)
from twin.site.model import DeviceKind

pytestmark = pytest.mark.asyncio(loop_scope="module")

SITE_ID = "demo-hall"
BATTERY_DEADLINE_S = 10.0  # 1 % of charge (the register's resolution) takes ~2 s at time scale 10 and 40 % load


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoHall]:
    """The served demo hall, shared by this module's tests. The per-test leftover-task check of conftest runs
    in another loop, so this fixture checks its own loop once everything has stopped."""
    before = asyncio.all_tasks()
    async with running_demo(tmp_path_factory.mktemp("demo-e2e")) as hall:
        yield hall
    await asyncio.sleep(0)
    leftovers = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    assert not leftovers, f"background tasks left running: {sorted(t.get_name() for t in leftovers)}"


@pytest.fixture(autouse=True)
def no_scenario_left(demo: DemoHall) -> Iterator[None]:
    """A failed test leaves no incident behind for the next one (the hall is shared)."""
    yield
    for name in list(demo.hall.active):
        demo.hall.clear_scenario(name)


# --- what the points of each device kind should look like ------------------------------------------------------


def point_ids(demo: DemoHall, kind: DeviceKind, suffix: str) -> list[str]:
    return [f"{d.id}.{suffix}" for d in demo.site.devices if d.kind == kind and d.connection is not None]


def implausible(points: Points, ids: Iterable[str], low: float, high: float) -> list[str]:
    complaints = []
    for pid in ids:
        value = points[pid]["value"]
        if not isinstance(value, int | float) or not low <= value <= high:
            complaints.append(f"{pid}={value!r} not in [{low}, {high}]")
    return complaints


def alarm_inputs(points: Points) -> list[str]:
    """Every binary point whose true value is an incident (as the viewer colours them)."""
    suffixes = {"fire", "forced", "open", "fault", "on_battery", "battery_low", "trouble", "evac_broadcast"}
    prefixes = ("smoke_", "ebtn_", "leak_")
    return [pid for pid, p in points.items() if p["kind"] == "binary" and not pid.endswith(".comm_lost")
            and (pid.rsplit(".", 1)[1] in suffixes or pid.rsplit(".", 1)[1].startswith(prefixes))]  # fmt: skip


async def test_every_point_of_every_protocol_is_good_and_plausible(demo: DemoHall) -> None:
    points = await demo.wait_points("every point GOOD", all_good, ALL_GOOD_DEADLINE_S)
    devices = polled_device_ids(demo.site)
    kinds = {demo.site.device(d).connection.type for d in devices}  # type: ignore[union-attr]
    assert (len(devices), kinds) == (37, {"modbus_tcp", "bacnet_ip", "mqtt", "camera"})
    assert {pid for pid in points if pid.endswith(".comm_lost")} == {f"{d}.comm_lost" for d in devices}
    configured = {p.id for d in demo.site.devices for p in d.points}
    assert configured <= set(points) and len(points) == len(configured) + len(devices)

    bad = implausible(points, point_ids(demo, DeviceKind.POWER_METER, "voltage"), 220, 240)
    bad += implausible(points, point_ids(demo, DeviceKind.POWER_METER, "frequency"), 49.5, 50.5)
    bad += implausible(points, point_ids(demo, DeviceKind.POWER_METER, "active_power"), 0.1, 500)
    bad += implausible(points, point_ids(demo, DeviceKind.UPS, "input_voltage"), 220, 240)
    bad += implausible(points, point_ids(demo, DeviceKind.UPS, "output_voltage"), 220, 240)
    bad += implausible(points, point_ids(demo, DeviceKind.UPS, "battery_charge"), 90, 100)
    bad += implausible(points, point_ids(demo, DeviceKind.TEMP_HUMIDITY, "temperature"), 15, 35)
    bad += implausible(points, point_ids(demo, DeviceKind.TEMP_HUMIDITY, "humidity"), 20, 95)
    bad += implausible(points, point_ids(demo, DeviceKind.AC_UNIT, "return_air_temp"), 15, 35)
    bad += implausible(points, point_ids(demo, DeviceKind.AC_UNIT, "supply_air_temp"), 10, 35)
    bad += implausible(points, ["env-ctl.server_room_temp"], 15, 35)
    # The queue device is computed by the queue analytics (tests/monitoring/test_queue_*): figures it has are sane.
    queues = [pid for pid in points if pid.startswith("queue.")]
    assert len(queues) == 49
    bad += implausible(points, [q for q in queues if q.endswith(".waiting")], 0, 10_000)
    bad += implausible(points, [q for q in queues if q.endswith(".windows_open")], 0, 12)
    counters = [d.id for d in demo.site.devices if d.kind == DeviceKind.PEOPLE_COUNTER]
    for counter in counters:
        entered, left = points[f"{counter}.count_in"]["value"], points[f"{counter}.count_out"]["value"]
        if not entered >= left >= 0:
            bad.append(f"{counter}: {entered} in, {left} out")
    # The entrance cameras (the synthetic scene: up to three walkers, counted by the motion detector).
    cameras = [d.id for d in demo.site.devices if d.connection is not None and d.connection.type == "camera"]
    assert cameras == ["cam-1", "cam-5"]
    bad += implausible(points, [f"{c}.people" for c in cameras], 0, 5)
    bad += implausible(points, [f"{c}.door_{way}" for c in cameras for way in ("in", "out")], 0, 10_000)
    # No incident before a scenario starts; commandable points at their defaults (AC on, doors locked).
    bad += [f"{pid} is {points[pid]['value']!r} with no scenario" for pid in alarm_inputs(points)
            if points[pid]["value"] is not False]  # fmt: skip
    bad += [f"{pid} is {points[pid]['value']!r}" for pid in points
            if pid.endswith((".lock", ".output_on")) or pid.startswith("ac-") and pid.endswith(".on")
            if points[pid]["value"] is not True]  # fmt: skip
    assert not bad, bad


async def test_writes_through_the_gateway_land_on_the_simulators(demo: DemoHall) -> None:
    await demo.wait_points("every point GOOD", all_good, ALL_GOOD_DEADLINE_S)
    gateway = demo.runtime.gateway
    assert gateway is not None
    try:
        await gateway.write("ac-1.setpoint", 22.0)  # Modbus holding register, int16 scaled 0.1
        await gateway.write("security-ctl.door_2.lock", False)  # BACnet binary-output
        assert demo.hall.simulator_of("ac-1.setpoint").get_value("ac-1.setpoint") == 22.0
        assert demo.hall.simulator_of("security-ctl.door_2.lock").get_value("security-ctl.door_2.lock") is False
        await demo.wait_values(
            "the written values read back", {"ac-1.setpoint": 22.0, "security-ctl.door_2.lock": False}
        )

        # The simulated unit acts on its new setpoint: it blows air 8 degC below it.
        def supply_follows(points: Points) -> list[str]:
            supply = points["ac-1.supply_air_temp"]["value"]
            return [] if isinstance(supply, float) and abs(supply - 14.0) < 1.0 else [f"supply air {supply}"]

        await demo.wait_points("ac-1 supply air near 14 degC", supply_follows)
    finally:
        await gateway.write("ac-1.setpoint", 24.0)
        await gateway.write("security-ctl.door_2.lock", True)
    await demo.wait_values("the defaults back", {"ac-1.setpoint": 24.0, "security-ctl.door_2.lock": True})


# --- scenarios -------------------------------------------------------------------------------------------------


class Watch:
    """Every (point id, value) seen for the watched points on /ws and on the bridge's MQTT topics, in order."""

    def __init__(self) -> None:
        self.ws: dict[str, list[object]] = defaultdict(list)
        self.mqtt: dict[str, list[object]] = defaultdict(list)

    async def read_ws(self, socket: ClientConnection) -> None:
        async for text in socket:
            frame = json.loads(text)
            if frame["type"] in ("snapshot", "updates"):
                for sample in frame["points"]:
                    if sample["q"] == "GOOD":
                        self.ws[sample["id"]].append(sample["v"])

    async def read_mqtt(self, client: aiomqtt.Client) -> None:
        prefix = f"halltwin/{SITE_ID}/point/"
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            body = json.loads(message.payload)
            if body["q"] == "GOOD":
                self.mqtt[message.topic.value.removeprefix(prefix)].append(body["v"])


@contextlib.asynccontextmanager
async def watching(demo: DemoHall, point_ids: list[str]) -> AsyncIterator[Watch]:
    """A real WebSocket client (filtered to ``point_ids``) and a real MQTT subscriber, read in owned tasks."""
    watch = Watch()
    token = demo.client.headers["Authorization"].removeprefix("Bearer ")  # the stream is for staff only
    ws_url = demo.url.replace("http://", "ws://") + "/ws?points=" + ",".join(point_ids) + f"&token={token}"
    broker = demo.broker
    async with connect(ws_url, open_timeout=10) as socket, aiomqtt.Client(broker.host, broker.port, timeout=5) as mqtt:
        for pid in point_ids:
            await mqtt.subscribe(f"halltwin/{SITE_ID}/point/{pid}", qos=1)
        tasks = [asyncio.create_task(watch.read_ws(socket), name="test-ws-reader"),
                 asyncio.create_task(watch.read_mqtt(mqtt), name="test-mqtt-reader")]  # fmt: skip
        try:
            yield watch
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
            assert not errors, errors


async def until(why: str, condition: Callable[[], list[str]], deadline_s: float = SCENARIO_DEADLINE_S) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while complaints := condition():
        assert loop.time() < end, f"{why}: not within {deadline_s:g} s: {complaints[:10]}"
        await asyncio.sleep(0.1)


def seen_everywhere(watch: Watch, expected: Mapping[str, object]) -> Callable[[], list[str]]:
    """Each expected value has arrived on /ws and on MQTT (as the latest value there)."""

    def check() -> list[str]:
        missing = [f"ws {pid}={want!r}" for pid, want in expected.items() if watch.ws[pid][-1:] != [want]]
        return missing + [f"mqtt {pid}={want!r}" for pid, want in expected.items() if watch.mqtt[pid][-1:] != [want]]

    return check


async def start(demo: DemoHall, name: str, target: str | None = None) -> str:
    response = await demo.client.post(
        f"/api/demo/scenarios/{name}/start", params={"target": target} if target else None
    )
    assert response.status_code == 200, response.text
    description: str = response.json()["started"]
    return description


async def clear(demo: DemoHall, name: str) -> None:
    response = await demo.client.post(f"/api/demo/scenarios/{name}/clear")
    assert response.status_code == 200, response.text
    assert response.json() == {"cleared": name}


async def test_scenarios_reach_api_websocket_history_and_mqtt(demo: DemoHall) -> None:
    await demo.wait_points("every point GOOD", all_good, ALL_GOOD_DEADLINE_S)
    site = demo.site
    meters = point_ids(demo, DeviceKind.POWER_METER, "voltage")
    on_battery = point_ids(demo, DeviceKind.UPS, "on_battery")
    button, leak, door = "security-ctl.ebtn_1", "env-ctl.leak_1", "security-ctl.door_3"
    leak_zone = demo.layout.element_zone[next(p.ifc_guid for d in site.devices for p in d.points if p.id == leak) or ""]
    assert leak_zone == next(z.id for z in site.zones if z.zone_type.value == "server_room")
    fire = fire_expectations(demo, "1f-wait")
    fire_true = {pid: True for pid, on in fire.items() if on}
    assert sum(pid.endswith(".fire") for pid in fire_true) == 1 and sum(".smoke_" in pid for pid in fire_true) >= 1
    watched = [button, leak, f"{door}.forced", f"{door}.open", *fire_true, *on_battery, meters[0]]
    async with watching(demo, watched) as watch:
        # The emergency button first: it must stay latched through everything else until cleared by hand.
        assert "ebtn_1" in await start(demo, "emergency_button")
        await demo.wait_values("emergency button pressed", {button: True})
        await until("emergency button seen", seen_everywhere(watch, {button: True}))

        assert "1f-wait" in await start(demo, "fire")
        await demo.wait_values("fire in 1f-wait", fire)
        await until("fire seen", seen_everywhere(watch, fire_true))
        await clear(demo, "fire")
        await demo.wait_values("fire cleared", {pid: False for pid in fire_true})

        await start(demo, "water_leak")
        leaks = {p.id: p.id == leak for d in site.devices for p in d.points if ".leak_" in p.id}
        await demo.wait_values("server-room leak", leaks)
        await until("leak seen", seen_everywhere(watch, {leak: True}))
        await clear(demo, "water_leak")
        await demo.wait_values("leak cleared", {leak: False})

        assert "door_3" in await start(demo, "door_forced", target=door)
        await demo.wait_values("door forced", {f"{door}.forced": True, f"{door}.open": True, f"{door}.lock": True,
                                               "security-ctl.door_1.forced": False})  # fmt: skip
        await until("door seen", seen_everywhere(watch, {f"{door}.forced": True, f"{door}.open": True}))
        await clear(demo, "door_forced")
        await demo.wait_values("door closed", {f"{door}.forced": False, f"{door}.open": False})

        await start(demo, "mains_failure")
        failed = {pid: True for pid in on_battery} | {pid: 0.0 for pid in meters} | {"fire-panel.trouble": True}
        points = await demo.wait_values("mains failure", failed)
        await until("mains failure seen", seen_everywhere(watch, {on_battery[0]: True, meters[0]: 0.0}))
        charge = points["ups-1.battery_charge"]["value"]
        assert isinstance(charge, int | float)
        await demo.wait_points(
            f"ups-1 discharging from {charge} %",
            lambda p: [] if p["ups-1.battery_charge"]["value"] < charge else [str(p["ups-1.battery_charge"])],
            BATTERY_DEADLINE_S,
        )
        await clear(demo, "mains_failure")
        await demo.wait_values(
            "mains back", {pid: False for pid in on_battery} | {"fire-panel.trouble": False}
        )
        # The meters are polled apart from the UPS: their mains voltage may come back a poll later.
        await demo.wait_points(
            "meters back on the mains", lambda p: implausible(p, meters, 220, 240), SCENARIO_DEADLINE_S
        )

        # Latched: the button never read false while the other incidents came and went.
        assert demo.hall.active.keys() == {"emergency_button"}
        assert (await demo.points())[button]["value"] is True
        for channel, values in (("ws", watch.ws[button]), ("mqtt", watch.mqtt[button])):
            assert False not in values[values.index(True) :], f"{button} on {channel} unlatched: {values}"
        await clear(demo, "emergency_button")
        await demo.wait_values("emergency button reset", {button: False})
        await until("reset seen", seen_everywhere(watch, {button: False}))
    assert demo.hall.active == {}

    # History kept the incident and its end: a true and a later false sample.
    async def leak_history() -> list[object]:
        response = await demo.client.get(f"/api/points/{leak}/history")
        assert response.status_code == 200, response.text
        return [sample["v"] for sample in response.json()["samples"]]

    loop = asyncio.get_running_loop()
    end = loop.time() + SCENARIO_DEADLINE_S
    while (values := await leak_history())[-2:] != [1, 0]:  # a binary is stored as 1 / 0 (true / false)
        assert loop.time() < end, f"history of {leak}: {values}"
        await asyncio.sleep(0.2)


async def test_bad_scenario_requests_are_refused_clearly(demo: DemoHall) -> None:
    listing = (await demo.client.get("/api/demo/scenarios")).json()
    assert listing == {"available": ["fire", "water_leak", "mains_failure", "door_forced", "emergency_button"],
                       "active": {}}  # fmt: skip
    response = await demo.client.post("/api/demo/scenarios/meteor/start")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "unknown scenario 'meteor'" in detail and "fire, water_leak" in detail, detail
    response = await demo.client.post("/api/demo/scenarios/fire/start", params={"target": "roof-garden"})
    assert response.status_code == 404  # the target named is not there
    assert "zone 'roof-garden' is not in site demo-hall" in response.json()["detail"]
    response = await demo.client.post("/api/demo/scenarios/door_forced/start", params={"target": "door_99"})
    assert response.status_code == 404 and "door_99" in response.json()["detail"]
    response = await demo.client.post("/api/demo/scenarios/fire/clear")
    assert response.status_code == 404
    assert response.json()["detail"] == "scenario 'fire' is not active"
    assert demo.hall.active == {}  # nothing started by a refused request
