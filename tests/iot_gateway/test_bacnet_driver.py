"""BACnet/IP driver against real bacpypes3 devices (BacnetDeviceSimulator) on loopback UDP ports."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from iot_gateway.driver import DeviceUnavailable, WriteRejected
from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from iot_gateway.drivers.bacnet_ip import BacnetIpDriver, DeviceMismatch
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from tests.peers import free_port
from twin.points import Quality, Reading, Value
from twin.site.model import BacnetAddress, BacnetConnection, Device, DeviceKind, Names, Point, PointKind

GUID = "0" * 22

# (suffix, object, property, kind, states, writable) of a device with every supported object type.
EVERY_TYPE = [
    ("temp", "analog-input:1", "present-value", PointKind.ANALOG, None, False),
    ("valve", "analog-output:2", "present-value", PointKind.ANALOG, None, True),
    ("setpoint", "analog-value:3", "present-value", PointKind.ANALOG, None, True),
    ("smoke", "binary-input:4", "present-value", PointKind.BINARY, None, False),
    ("lock", "binary-output:5", "present-value", PointKind.BINARY, None, True),
    ("evac", "binary-value:6", "present-value", PointKind.BINARY, None, True),
    ("mode", "multi-state-input:7", "present-value", PointKind.MULTISTATE, ["cool", "heat", "fan"], False),
    ("fan", "multi-state-output:8", "present-value", PointKind.MULTISTATE, ["low", "medium", "high"], True),
    ("scene", "multi-state-value:9", "present-value", PointKind.MULTISTATE, ["day", "night"], True),
    ("door.unlocked", "access-door:10", "present-value", PointKind.BINARY, None, True),
    ("door.status", "access-door:10", "door-status", PointKind.TEXT, None, False),
    ("zone.state", "life-safety-zone:11", "present-value", PointKind.MULTISTATE, ["quiet", "pre-alarm", "alarm"],
     False),
    ("detector", "life-safety-point:12", "present-value", PointKind.TEXT, None, False),
    ("message", "characterstring-value:13", "present-value", PointKind.TEXT, None, True),
]  # fmt: skip


def make_point(device_id: str, suffix: str, obj: str, prop: str, kind: PointKind, states: list[str] | None,
               writable: bool, priority: int = 8) -> Point:  # fmt: skip
    return Point(
        id=f"{device_id}.{suffix}",
        name=Names(zh=suffix, en=suffix),
        kind=kind,
        brick="Point",
        address=BacnetAddress(type="bacnet", object=obj, property=prop, priority=priority),
        writable=writable,
        states=states,
    )


def make_device(port: int, instance: int = 1001, *, cov: bool = True, lifetime: int = 300, timeout: float = 0.5,
                rows: Sequence[tuple] = EVERY_TYPE, device_id: str = "ctl") -> Device:  # fmt: skip
    connection = BacnetConnection(
        type="bacnet_ip", address=f"127.0.0.1:{port}", device_instance=instance, poll_interval_s=1.0,
        timeout_s=timeout, cov=cov, cov_lifetime_s=lifetime,
    )  # fmt: skip
    return Device(
        id=device_id, name=Names(zh="控制器", en="controller"), kind=DeviceKind.ACCESS_DOOR, zone="hall",
        ifc_guid=GUID, connection=connection, points=[make_point(device_id, *row) for row in rows],
    )  # fmt: skip


def by_id(readings: Sequence[Reading]) -> dict[str, Reading]:
    return {reading.point_id: reading for reading in readings}


class Collector:
    """A ReadingSink that remembers readings and wakes waiters."""

    def __init__(self) -> None:
        self.readings: list[tuple[float, Reading]] = []
        self._changed = asyncio.Event()

    def __call__(self, readings: Sequence[Reading]) -> None:
        now = time.perf_counter()
        self.readings.extend((now, reading) for reading in readings)
        self._changed.set()

    async def wait_for(self, point_id: str, value: object, within_s: float = 2.0) -> float:
        """perf_counter time at which the value arrived."""
        async with asyncio.timeout(within_s):
            while True:
                for arrived, reading in self.readings:
                    if reading.point_id == point_id and reading.value == value and reading.quality is Quality.GOOD:
                        return arrived
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
async def holder() -> AsyncIterator[BacnetApplicationHolder]:
    shared = BacnetApplicationHolder()
    yield shared
    await shared.close()


@pytest.fixture
async def device() -> Device:
    return make_device(free_port(socket.SOCK_DGRAM))


@pytest.fixture
async def sim(device: Device) -> AsyncIterator[BacnetDeviceSimulator]:
    simulator = BacnetDeviceSimulator(device)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def driver(device: Device, sim: BacnetDeviceSimulator, holder: BacnetApplicationHolder
                 ) -> AsyncIterator[BacnetIpDriver]:  # fmt: skip
    bacnet = BacnetIpDriver(device, application=holder)
    yield bacnet
    await bacnet.close()


async def test_rpm_reads_every_object_type_in_one_request(sim: BacnetDeviceSimulator, driver: BacnetIpDriver) -> None:
    expected: dict[str, Value] = {
        "ctl.temp": 21.5, "ctl.valve": 40.0, "ctl.setpoint": 24.0, "ctl.smoke": True, "ctl.lock": True,
        "ctl.evac": False, "ctl.mode": 2, "ctl.fan": 3, "ctl.scene": 1, "ctl.door.unlocked": True,
        "ctl.door.status": "opened", "ctl.zone.state": 3, "ctl.detector": "pre-alarm", "ctl.message": "你好 hall",
    }  # fmt: skip
    for point_id, value in expected.items():
        sim.set_value(point_id, value)
    await driver.connect()
    readings = by_id(await driver.read())
    assert {pid: (r.value, r.quality) for pid, r in readings.items()} == {
        pid: (value, Quality.GOOD) for pid, value in expected.items()
    }
    assert isinstance(readings["ctl.temp"].value, float) and isinstance(readings["ctl.mode"].value, int)
    assert (driver.stats.rpm_requests, driver.stats.rp_requests) == (1, 0)


async def test_large_device_is_split_into_requests_that_fit(holder: BacnetApplicationHolder) -> None:
    rows = [(f"t{i}", f"analog-input:{i}", "present-value", PointKind.ANALOG, None, False) for i in range(1, 121)]
    device = make_device(free_port(socket.SOCK_DGRAM), rows=rows, cov=False)
    simulator = BacnetDeviceSimulator(device)
    await simulator.start()
    bacnet = BacnetIpDriver(device, application=holder)
    try:
        for i in range(1, 121):
            simulator.set_value(f"ctl.t{i}", float(i))
        await bacnet.connect()
        readings = by_id(await bacnet.read())
        assert [readings[f"ctl.t{i}"].value for i in range(1, 121)] == [float(i) for i in range(1, 121)]
        assert bacnet.stats.rpm_requests > 1  # 120 objects do not fit one 1024-byte APDU
        assert len(bacnet.plan.chunks()) == bacnet.stats.rpm_requests
    finally:
        await bacnet.close()
        await simulator.stop()


@pytest.mark.parametrize("confirmed", [True, False])
async def test_cov_notification_reaches_sink_without_a_poll(
    device: Device, sim: BacnetDeviceSimulator, holder: BacnetApplicationHolder, confirmed: bool
) -> None:
    bacnet = BacnetIpDriver(device, application=holder, confirmed_notifications=confirmed)
    sink = Collector()
    bacnet.set_sink(sink)
    try:
        await bacnet.connect()
        assert {"binary-input:4", "analog-input:1", "access-door:10", "life-safety-point:12"} <= bacnet.cov_objects
        subscriptions = sim.cov_subscriptions()
        assert {s.confirmed for s in subscriptions} == {confirmed}
        await sink.wait_for("ctl.smoke", False)  # the initial notification every subscription starts with
        polls = bacnet.stats.rpm_requests
        latencies = []
        for value in (True, False, True):
            start = time.perf_counter()
            sim.set_value("ctl.smoke", value)
            sink.readings.clear()
            latencies.append(await sink.wait_for("ctl.smoke", value) - start)
        sim.set_value("ctl.temp", 30.5)
        await sink.wait_for("ctl.temp", 30.5)
        sim.set_value("ctl.detector", "alarm")
        await sink.wait_for("ctl.detector", "alarm")
        assert bacnet.stats.rpm_requests == polls == 0
        print(f"COV latency ({'confirmed' if confirmed else 'unconfirmed'}): "
              f"{', '.join(f'{x * 1000:.2f} ms' for x in latencies)}")  # fmt: skip
    finally:
        await bacnet.close()
    assert sim.cov_subscriptions() == []  # close() cancelled them on the device


async def test_cov_subscriptions_are_renewed_before_the_lifetime_ends(holder: BacnetApplicationHolder) -> None:
    rows = [row for row in EVERY_TYPE if row[0] == "smoke"]
    device = make_device(free_port(socket.SOCK_DGRAM), rows=rows, lifetime=10)
    simulator = BacnetDeviceSimulator(device)
    await simulator.start()
    bacnet = BacnetIpDriver(device, application=holder)
    try:
        await bacnet.connect()
        loop = asyncio.get_running_loop()
        [first] = simulator.cov_subscriptions()
        assert 9 < first.expires_in_s <= 10
        assert bacnet.cov_renewal_due is not None
        renew_in = bacnet.cov_renewal_due - loop.time()
        assert 4 < renew_in < first.expires_in_s  # renewed before the device would drop it
        await asyncio.sleep(renew_in + 0.5)
        assert bacnet.cov.renewals == 1
        [renewed] = simulator.cov_subscriptions()
        assert renewed.expires_in_s > 9  # the device restarted the lifetime: same subscription, renewed
        sink = Collector()
        bacnet.set_sink(sink)
        simulator.set_value("ctl.smoke", True)
        await sink.wait_for("ctl.smoke", True)
    finally:
        await bacnet.close()
        await simulator.stop()


async def test_write_with_priority_then_relinquish(sim: BacnetDeviceSimulator, driver: BacnetIpDriver) -> None:
    sim.set_value("ctl.valve", 5.0)  # the device's own value: its relinquish-default
    await driver.connect()
    point = driver.plan.by_id["ctl.valve"]
    await driver.write(point, 42.0)
    assert sim.get_value("ctl.valve") == 42.0
    assert sim.command_priority("ctl.valve") == 8
    assert by_id(await driver.read())["ctl.valve"].value == 42.0
    await driver.write(point, None)
    assert sim.command_priority("ctl.valve") is None
    assert sim.get_value("ctl.valve") == 5.0
    assert by_id(await driver.read())["ctl.valve"].value == 5.0
    await driver.write(driver.plan.by_id["ctl.door.unlocked"], True)
    await driver.write(driver.plan.by_id["ctl.fan"], 2)
    await driver.write(driver.plan.by_id["ctl.message"], "关闭 closed")
    assert [sim.get_value(p) for p in ("ctl.door.unlocked", "ctl.fan", "ctl.message")] == [True, 2, "关闭 closed"]


async def test_refused_writes_raise_write_rejected(sim: BacnetDeviceSimulator, driver: BacnetIpDriver) -> None:
    await driver.connect()
    with pytest.raises(WriteRejected, match="not writable"):
        await driver.write(driver.plan.by_id["ctl.temp"], 1.0)
    with pytest.raises(WriteRejected, match="state 7 is not one of 1..3"):
        await driver.write(driver.plan.by_id["ctl.fan"], 7)
    sneaky = make_point("ctl", "temp", "analog-input:1", "present-value", PointKind.ANALOG, None, True)
    driver.plan.by_id[sneaky.id] = sneaky  # writable in the site file, but the device refuses
    with pytest.raises(WriteRejected, match="write-access-denied"):
        await driver.write(sneaky, 1.0)


async def test_object_error_makes_only_that_point_bad(sim: BacnetDeviceSimulator, driver: BacnetIpDriver) -> None:
    await driver.connect()
    sim.set_object_missing("ctl.temp")
    readings = by_id(await driver.read())
    assert readings["ctl.temp"].quality is Quality.BAD and readings["ctl.temp"].value is None
    assert {r.quality for pid, r in readings.items() if pid != "ctl.temp"} == {Quality.GOOD}
    assert driver.stats.point_faults == 1
    await driver.read()  # still BAD: counted once
    assert driver.stats.point_faults == 1
    sim.set_object_missing("ctl.temp", False)
    assert by_id(await driver.read())["ctl.temp"].quality is Quality.GOOD


async def test_unknown_property_makes_only_that_point_bad(holder: BacnetApplicationHolder) -> None:
    port = free_port(socket.SOCK_DGRAM)
    served = [row for row in EVERY_TYPE if row[0] in ("temp", "smoke")]
    typo = ("temp.status", "analog-input:1", "door-status", PointKind.TEXT, None, False)  # AI has no door-status
    simulator = BacnetDeviceSimulator(make_device(port, rows=served))
    await simulator.start()
    bacnet = BacnetIpDriver(make_device(port, rows=[*served, typo]), application=holder)
    try:
        await bacnet.connect()
        readings = by_id(await bacnet.read())
        assert readings["ctl.temp.status"].quality is Quality.BAD
        assert readings["ctl.temp"].quality is readings["ctl.smoke"].quality is Quality.GOOD
        assert bacnet.stats.rp_requests == 0  # the per-property error came inside the one RPM answer
    finally:
        await bacnet.close()
        await simulator.stop()


async def test_every_object_missing_falls_back_to_single_reads(
    sim: BacnetDeviceSimulator, driver: BacnetIpDriver
) -> None:
    await driver.connect()
    for suffix, *_ in EVERY_TYPE:
        sim.set_object_missing(f"ctl.{suffix}")
    readings = await driver.read()
    assert {r.quality for r in readings} == {Quality.BAD}  # an Error for the whole RPM, then one per object
    assert driver.stats.rp_requests == len(EVERY_TYPE) and driver.plan.use_rpm  # one per (object, property)


async def test_device_without_rpm_is_read_object_by_object(holder: BacnetApplicationHolder) -> None:
    device = make_device(free_port(socket.SOCK_DGRAM), cov=False)
    simulator = BacnetDeviceSimulator(device, supports_rpm=False)
    await simulator.start()
    bacnet = BacnetIpDriver(device, application=holder)
    try:
        simulator.set_value("ctl.temp", 19.0)
        await bacnet.connect()
        first = by_id(await bacnet.read())
        assert first["ctl.temp"].value == 19.0 and {r.quality for r in first.values()} == {Quality.GOOD}
        await bacnet.read()
        assert bacnet.stats.rpm_requests == 1 and not bacnet.plan.use_rpm  # asked once, then never again
    finally:
        await bacnet.close()
        await simulator.stop()


async def test_stopped_device_is_unavailable_and_a_restart_is_good_again(
    device: Device, sim: BacnetDeviceSimulator, driver: BacnetIpDriver
) -> None:
    sink = Collector()
    driver.set_sink(sink)
    await driver.connect()
    await driver.read()
    sim.set_value("ctl.valve", 3.0)
    await driver.write(driver.plan.by_id["ctl.valve"], 9.0)
    await sim.stop()
    start = time.perf_counter()
    with pytest.raises(DeviceUnavailable, match="did not answer"):
        await driver.read()
    assert time.perf_counter() - start < device.connection.timeout_s + 0.5  # type: ignore[union-attr]
    await driver.close()
    with pytest.raises(DeviceUnavailable, match="no I-Am"):
        await driver.connect()
    assert driver.holder.users == 0  # a failed connect holds nothing
    await sim.start()  # the same port again
    start = time.perf_counter()
    await driver.connect()
    readings = by_id(await driver.read())
    reconnect = time.perf_counter() - start
    assert {r.quality for r in readings.values()} == {Quality.GOOD}
    assert readings["ctl.valve"].value == 9.0  # the command survived the restart
    sim.set_value("ctl.smoke", True)
    await sink.wait_for("ctl.smoke", True)  # COV subscribed again
    print(f"reconnect + first read after restart: {reconnect * 1000:.1f} ms")


async def test_connect_finds_a_device_that_boots_during_the_wait(holder: BacnetApplicationHolder) -> None:
    device = make_device(free_port(socket.SOCK_DGRAM), timeout=3.0, cov=False)
    simulator = BacnetDeviceSimulator(device)
    bacnet = BacnetIpDriver(device, application=holder)
    try:
        connecting = asyncio.create_task(bacnet.connect(), name="connect")
        await asyncio.sleep(0.3)
        await simulator.start()  # the Who-Is sent before this is lost; a re-sent one is answered
        await connecting
        assert bacnet.stats.connects == 1
    finally:
        await bacnet.close()
        await simulator.stop()


async def test_wrong_device_instance_is_a_clear_error(holder: BacnetApplicationHolder) -> None:
    port = free_port(socket.SOCK_DGRAM)
    simulator = BacnetDeviceSimulator(make_device(port, instance=2002))
    await simulator.start()
    bacnet = BacnetIpDriver(make_device(port, instance=1001), application=holder)
    try:
        with pytest.raises(DeviceMismatch, match="answers as BACnet device 2002, site.yaml expects 1001"):
            await bacnet.connect()
    finally:
        await bacnet.close()
        await simulator.stop()


def test_bad_connection_address_is_a_clear_error() -> None:
    device = make_device(47808)
    assert device.connection is not None
    bad = device.model_copy(update={"connection": device.connection.model_copy(update={"address": "999.1.1.1:5"})})
    with pytest.raises(ValueError, match="device ctl: BACnet address '999.1.1.1:5' is not an IPv4 host:port"):
        BacnetIpDriver(bad)


async def test_drivers_share_one_application(holder: BacnetApplicationHolder) -> None:
    devices = [make_device(free_port(socket.SOCK_DGRAM), 100 + i, device_id=f"d{i}") for i in range(2)]
    sims = [BacnetDeviceSimulator(d) for d in devices]
    drivers = [BacnetIpDriver(d, application=holder) for d in devices]
    try:
        for simulator in sims:
            await simulator.start()
        for bacnet in drivers:
            await bacnet.connect()
        assert holder.users == 2 and holder.bound_port is not None
        sims[1].set_value("d1.temp", 7.5)
        assert by_id(await drivers[1].read())["d1.temp"].value == 7.5
        await drivers[0].close()
        assert holder.users == 1 and holder.application is not None
    finally:
        for bacnet in drivers:
            await bacnet.close()
        for simulator in sims:
            await simulator.stop()
    assert holder.users == 0 and holder.application is None


async def test_a_poll_answered_after_a_newer_cov_notification_does_not_undo_it(
    sim: BacnetDeviceSimulator, driver: BacnetIpDriver
) -> None:
    """Found by bench_alarms: a poll sent before a notification but answered after it published the older value
    last (a false return to normal). The notification is delivered through the driver's own COV entry point while
    the poll's question is on the wire, so the crossing happens every time."""
    from bacpypes3.basetypes import PropertyIdentifier, PropertyValue
    from bacpypes3.constructeddata import Any as AnyValue
    from bacpypes3.primitivedata import ObjectIdentifier, Real

    sink = Collector()
    driver.set_sink(sink)
    sim.set_value("ctl.temp", 20.0)
    await driver.connect()
    poll = asyncio.create_task(driver.read())
    await asyncio.sleep(0)  # the poll has asked: its answer (20.0) is on its way back
    assert not poll.done()
    newer = PropertyValue(propertyIdentifier=PropertyIdentifier("present-value"), value=AnyValue(Real(90.0)))
    driver._on_cov(ObjectIdentifier("analog-input:1"), [newer])  # noqa: SLF001 - the path bacpypes3 calls
    await sink.wait_for("ctl.temp", 90.0)
    readings = by_id(await poll)
    assert readings["ctl.temp"].value == 90.0  # the device answered 20.0 before it notified 90.0: 90.0 stands
    assert readings["ctl.valve"].quality is Quality.GOOD  # the poll's other points as the device answered
    later = by_id(await driver.read())  # the next poll, asked after the notification, is the device's word again
    assert later["ctl.temp"].value == 20.0
