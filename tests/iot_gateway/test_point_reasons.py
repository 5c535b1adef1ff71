"""Every value that is not GOOD carries why, and one point a device refuses never takes the others down."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from pymodbus.constants import ExcCodes

from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from iot_gateway.drivers.bacnet_ip import BacnetIpDriver
from iot_gateway.drivers.modbus_tcp import ModbusTcpDriver
from iot_gateway.mqtt_settings import MqttSettings
from iot_gateway.poller import REASON_MAX, Poller, short_reason
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from tests.iot_gateway.test_bacnet_driver import EVERY_TYPE, make_device, make_point
from tests.iot_gateway.test_modbus_driver import make_device as modbus_device
from tests.iot_gateway.test_modbus_driver import mb_point
from tests.iot_gateway.test_mqtt_driver import DEADLINE_S, PANEL, PANEL_TOPIC, connected_pair
from tests.iot_gateway.test_poller import ScriptedDriver
from tests.iot_gateway.test_poller import make_device as scripted_device
from tests.peers import free_port, wait_until
from twin.bus import PointBus
from twin.clock import ManualClock, SystemClock
from twin.points import PointUpdate, Quality
from twin.site.model import BacnetAddress, Device

ROWS = [row for row in EVERY_TYPE if row[0] in ("temp", "smoke")]


@contextlib.asynccontextmanager
async def polling(poller: Poller) -> AsyncIterator[None]:
    task = asyncio.create_task(poller.run(), name=f"poller:{poller.device.id}")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.asynccontextmanager
async def serving(simulator: BacnetDeviceSimulator) -> AsyncIterator[BacnetDeviceSimulator]:
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def with_points(device: Device, *extra: tuple) -> Device:
    """``device`` as the gateway's site file describes it: its own points plus ``extra`` the device lacks."""
    return device.model_copy(update={"points": [*device.points, *(make_point(device.id, *row) for row in extra)]})


async def test_unknown_bacnet_object_is_bad_with_its_reason_and_the_others_stay_good() -> None:
    served = make_device(free_port(socket.SOCK_DGRAM), rows=ROWS, cov=False)
    configured = with_points(served, ("ghost", "analog-input:99", "present-value", *ROWS[0][3:]))
    holder = BacnetApplicationHolder()
    bus = PointBus()
    poller = Poller(BacnetIpDriver(configured, application=holder), bus, SystemClock())
    async with serving(BacnetDeviceSimulator(served)), polling(poller):
        latest = bus.latest
        await wait_until(lambda: {"ctl.temp", "ctl.smoke", "ctl.ghost"} <= set(latest), 5.0, "every point")
    await holder.close()
    assert latest["ctl.temp"].quality is Quality.GOOD and latest["ctl.temp"].reason is None
    assert latest["ctl.smoke"].quality is Quality.GOOD
    ghost = latest["ctl.ghost"]
    assert ghost.quality is Quality.BAD and ghost.value is None
    assert ghost.reason is not None and "unknown-object" in ghost.reason
    assert ghost.to_json()["r"] == ghost.reason and "r" not in latest["ctl.temp"].to_json()
    assert latest["ctl.comm_lost"].value is False


async def test_misspelt_bacnet_property_is_one_bad_point_not_a_device_failure() -> None:
    served = make_device(free_port(socket.SOCK_DGRAM), rows=ROWS, cov=True)
    typo = served.points[0].model_copy(
        update={
            "id": "ctl.typo",
            # model_copy skips validation: a site file checked by an older halltwin could still hold this
            "address": BacnetAddress.model_construct(type="bacnet", object="analog-input:1", property="present-valeu"),
        }
    )
    configured = served.model_copy(update={"points": [*served.points, typo]})
    holder = BacnetApplicationHolder()
    bus = PointBus()
    driver = BacnetIpDriver(configured, application=holder)
    async with serving(BacnetDeviceSimulator(served)), polling(Poller(driver, bus, SystemClock())):
        latest = bus.latest
        await wait_until(lambda: "ctl.typo" in latest and "ctl.temp" in latest, 5.0, "both points")
    await holder.close()
    assert latest["ctl.temp"].quality is Quality.GOOD
    assert latest["ctl.typo"].quality is Quality.BAD
    assert latest["ctl.typo"].reason == "unknown property 'present-valeu' (not a BACnet property name)"
    assert latest["ctl.comm_lost"].value is False  # the device is fine; one point of the site file is not


async def test_identity_mismatch_and_silence_are_the_reason_of_unavailable() -> None:
    port = free_port(socket.SOCK_DGRAM)
    served = make_device(port, instance=260001, rows=ROWS, cov=False)
    expected = make_device(port, instance=260002, rows=ROWS, cov=False, timeout=0.3)
    holder = BacnetApplicationHolder()
    bus = PointBus()
    async with polling(Poller(BacnetIpDriver(expected, application=holder), bus, SystemClock())):
        latest = bus.latest
        await wait_until(lambda: "ctl.temp" in latest, 5.0, "a first update")
        assert latest["ctl.temp"].quality is Quality.UNAVAILABLE
        assert latest["ctl.temp"].reason == f"no I-Am from 127.0.0.1:{port} within 0.3 s"
        async with serving(BacnetDeviceSimulator(served)):
            await wait_until(lambda: "answers as" in (latest["ctl.temp"].reason or ""), 5.0, "the mismatch")
    await holder.close()
    assert latest["ctl.temp"].reason == f"127.0.0.1:{port} answers as BACnet device 260001, site.yaml expects 260002"
    assert latest["ctl.comm_lost"].value is True


async def test_illegal_address_block_is_split_until_the_refused_point_is_alone() -> None:
    port = free_port()
    served = [mb_point(f"dev.r{i}", table="holding", offset=i) for i in (0, 1, 3, 4, 5)]
    configured = [*served, mb_point("dev.hole", table="holding", offset=2)]  # the device has no register 2
    async with ModbusDeviceSimulator(modbus_device(port, served)):
        driver = ModbusTcpDriver(modbus_device(port, configured))
        await driver.connect()
        try:
            first = {r.point_id: r for r in await driver.read()}
            again = {r.point_id: r for r in await driver.read()}
        finally:
            await driver.close()
    for readings in (first, again):
        assert readings["dev.hole"].quality is Quality.BAD
        assert readings["dev.hole"].reason == "exception 2 ILLEGAL_ADDRESS"
        assert all(readings[f"dev.r{i}"].quality is Quality.GOOD for i in (0, 1, 3, 4, 5)), readings
    assert [b.describe() for b in driver.blocks] == ["holding 0..0", "holding 1..1", "holding 2..2", "holding 3..5"]
    assert driver.stats["blocks_split"] == 3  # 0..5 -> 0..1 + 2..5 -> 0 + 1, 2 + 3..5; then never again


async def test_split_blocks_are_merged_again_when_the_device_answers_the_refused_address() -> None:
    """A device reconfigured to serve the refused register: that point turns GOOD, and from the next poll the
    points are read as the one planned block again. Connected again (perhaps a replaced device), the driver starts
    from the planned blocks too, and a register still refused is split again in that first poll."""
    port = free_port()
    points = [mb_point(f"dev.r{i}", table="holding", offset=i) for i in range(6)]
    async with ModbusDeviceSimulator(modbus_device(port, points)) as device:
        device.fail_with_exception("dev.r2", ExcCodes.ILLEGAL_ADDRESS)
        device.set_value("dev.r4", 44)
        driver = ModbusTcpDriver(modbus_device(port, points))
        await driver.connect()
        try:
            refused = {r.point_id: r for r in await driver.read()}
            assert refused["dev.r2"].quality is Quality.BAD and refused["dev.r4"].value == 44
            assert len(driver.blocks) == 4
            device.fail_with_exception(None)  # the device now serves register 2
            healed = {r.point_id: r for r in await driver.read()}
            assert all(r.quality is Quality.GOOD for r in healed.values()), healed
            requests = device.read_requests["holding"]
            again = {r.point_id: r for r in await driver.read()}
            assert [b.describe() for b in driver.blocks] == ["holding 0..5"]
            assert device.read_requests["holding"] - requests == 1
            assert [again[f"dev.r{i}"].value for i in range(6)] == [healed[f"dev.r{i}"].value for i in range(6)]

            device.fail_with_exception("dev.r2", ExcCodes.ILLEGAL_ADDRESS)
            await driver.read()
            assert len(driver.blocks) == 4
            splits = driver.stats["blocks_split"]
            await driver.connect()
            assert [b.describe() for b in driver.blocks] == ["holding 0..5"]
            readings = {r.point_id: r for r in await driver.read()}
            assert readings["dev.r2"].reason == "exception 2 ILLEGAL_ADDRESS" and readings["dev.r4"].value == 44
            assert driver.stats["blocks_split"] == splits + 3  # as above: 0..5 -> 0..1 + 2..5 -> 0 + 1, 2 + 3..5
        finally:
            await driver.close()


async def test_modbus_device_that_refuses_the_connection() -> None:
    port = free_port()  # nothing listens
    bus = PointBus()
    driver = ModbusTcpDriver(modbus_device(port, [mb_point("dev.a", table="holding", offset=0)], timeout_s=2.0))
    async with polling(Poller(driver, bus, SystemClock())):
        latest = bus.latest
        await wait_until(lambda: "dev.a" in latest, 5.0, "a first update")
    assert latest["dev.a"].quality is Quality.UNAVAILABLE
    assert latest["dev.a"].reason == "cannot connect: connection refused or host unreachable"


async def test_poller_publishes_a_new_reason_with_the_same_quality_and_stale_says_why() -> None:
    clock = ManualClock()
    driver = ScriptedDriver(scripted_device(period=1.0, stale_after_s=5.0), clock)
    bus = PointBus()
    updates = bus.subscribe("test")
    poller = Poller(driver, bus, clock)
    async with polling(poller):
        await clock.advance(0.0)
        driver.reachable = False
        await clock.advance(1.0)  # the read fails: "connection reset"
        await clock.advance(1.0)  # the reconnect fails: "connection refused", quality still UNAVAILABLE
    seen: list[PointUpdate] = [u for u in updates.drain() if u.point_id == "meter.voltage"]
    assert [(u.quality, u.reason) for u in seen] == [
        (Quality.GOOD, None),
        (Quality.UNAVAILABLE, "connection reset"),
        (Quality.UNAVAILABLE, "connection refused"),
    ]
    clock2 = ManualClock()
    driver2 = ScriptedDriver(scripted_device(period=1.0, stale_after_s=5.0), clock2)
    bus2 = PointBus()
    async with polling(Poller(driver2, bus2, clock2)):
        await clock2.advance(0.0)
        # From now on the driver keeps returning the same source time: the device re-sends old data.
        driver2.clock = ManualClock(start=clock2.time())
        await clock2.advance(7.0)
    stale = bus2.latest["meter.voltage"]
    assert stale.quality is Quality.STALE and stale.reason == "no update for more than 5 s"


def test_short_reason_drops_the_device_prefix_and_is_short() -> None:
    assert short_reason("device pm-1: no I-Am from 10.0.0.1:47808 within 1 s", "pm-1") == (
        "no I-Am from 10.0.0.1:47808 within 1 s"
    )
    assert short_reason("modbus device pm-1 (h:502 unit 1): no answer within 1 s", "pm-1") == "no answer within 1 s"
    assert short_reason("device pm-1 (10.0.0.7:47808) did not answer ReadProperty within 1 s", "pm-1") == (
        "did not answer ReadProperty within 1 s"
    )
    assert short_reason("ValueError: x", "pm-1") == "ValueError: x"
    assert short_reason("the device pm-10 is gone", "pm-1") == "the device pm-10 is gone"
    long = short_reason("x" * 500, "pm-1")
    assert len(long) == REASON_MAX and long.endswith("…")


async def test_mqtt_bad_payload_missing_value_and_silence_say_why(mqtt_settings: MqttSettings) -> None:
    clock = ManualClock()
    driver, simulator, sink = await connected_pair(PANEL, mqtt_settings, clock=clock)
    try:
        first = {r.point_id: r for r in await driver.read()}
        assert first["panel.humidity"].quality is Quality.UNAVAILABLE
        assert first["panel.humidity"].reason == "no message received yet"
        await simulator.publish_raw(PANEL_TOPIC, b'{"humidity": 4')
        await wait_until(lambda: sink.last("panel.humidity") is not None, DEADLINE_S, "the broken message")
        broken = sink.last("panel.humidity")
        assert broken is not None and broken.quality is Quality.BAD
        assert broken.reason is not None and broken.reason.startswith("bad payload (malformed_json): ")
        sink.readings.clear()
        await simulator.publish_raw(PANEL_TOPIC, b'{"humidity": 40}')
        await wait_until(lambda: sink.last("panel.temperature") is not None, DEADLINE_S, "the second message")
        assert sink.last("panel.humidity").quality is Quality.GOOD  # type: ignore[union-attr]
        assert sink.last("panel.temperature").reason == "bad payload: no value at $.sensors[1].temperature"  # type: ignore[union-attr]
        await clock.advance(5.0)
        stale = {r.point_id: r for r in await driver.read()}["panel.humidity"]
        assert stale.quality is Quality.STALE and stale.reason == "no update for more than 1 s"
    finally:
        await simulator.stop()
        await driver.close()


async def test_a_property_the_object_lacks_is_one_error_inside_the_rpm_answer() -> None:
    served = make_device(free_port(socket.SOCK_DGRAM), rows=ROWS, cov=False)
    configured = with_points(served, ("polarity", "analog-input:1", "polarity", *ROWS[0][3:]))
    holder = BacnetApplicationHolder()
    driver = BacnetIpDriver(configured, application=holder)
    async with serving(BacnetDeviceSimulator(served)):
        await driver.connect()
        try:
            readings = {r.point_id: r for r in await driver.read()}
        finally:
            await driver.close()
    await holder.close()
    assert readings["ctl.temp"].quality is Quality.GOOD and readings["ctl.smoke"].quality is Quality.GOOD
    assert readings["ctl.polarity"].quality is Quality.BAD
    assert readings["ctl.polarity"].reason == "error property/unknown-property"
    assert driver.stats.rpm_requests == 1 and driver.stats.rp_requests == 0  # one answer carried all three
