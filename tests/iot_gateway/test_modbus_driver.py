"""The Modbus TCP driver against the Modbus device simulator (a real pymodbus server) on loopback."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from iot_gateway.driver import DeviceUnavailable, WriteRejected
from iot_gateway.drivers.modbus_blocks import PlanError
from iot_gateway.drivers.modbus_tcp import ModbusTcpDriver, ModbusWriteRejected
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from tests.peers import free_port
from twin.points import Quality, Reading
from twin.site.model import Device

GUID = "0123456789abcdefABCD_$"


def mb_point(point_id: str, *, writable: bool = False, kind: str = "analog", **address: Any) -> dict[str, Any]:
    point: dict[str, Any] = {
        "id": point_id,
        "name": {"zh": point_id, "en": point_id},
        "kind": "binary" if address.get("data_type") == "bool" or "bit" in address else kind,
        "brick": "Point",
        "address": {"type": "modbus", **address},
        "writable": writable,
    }
    if kind == "multistate":
        point["states"] = ["cool", "heat", "fan"]
    return point


def make_device(port: int, points: list[dict[str, Any]], **connection: Any) -> Device:
    return Device.model_validate(
        {
            "id": "dev",
            "name": {"zh": "设备", "en": "device"},
            "kind": "power_meter",
            "zone": "power-room",
            "ifc_guid": GUID,
            "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": port, "device_id": 17, **connection},
            "points": points,
        }
    )


# Every data type, word/byte order and table, with the value the simulator is set to.
FULL_POINTS: list[tuple[dict[str, Any], Any]] = [
    (mb_point("dev.f32_bb", table="holding", offset=0, data_type="float32"), 230.1),
    (mb_point("dev.f32_lb", table="holding", offset=2, data_type="float32", word_order="little"), -0.5),
    (mb_point("dev.f32_bl", table="holding", offset=4, data_type="float32", byte_order="little"), 1234.5),
    (
        mb_point(
            "dev.f32_ll", table="holding", offset=6, data_type="float32", word_order="little", byte_order="little"
        ),
        3.0e-5,
    ),  # fmt: skip
    (mb_point("dev.f64_bb", table="holding", offset=8, data_type="float64"), math.pi),
    (
        mb_point(
            "dev.f64_ll", table="holding", offset=12, data_type="float64", word_order="little", byte_order="little"
        ),
        -1e300,
    ),  # fmt: skip
    (mb_point("dev.i32_lb", table="holding", offset=16, data_type="int32", word_order="little"), -70_000),
    (
        mb_point("dev.energy", table="holding", offset=18, data_type="uint32", byte_order="little", scale=0.1),
        12345.6,
    ),
    (mb_point("dev.setpoint", writable=True, table="holding", offset=20, data_type="int16", scale=0.1), 23.5),
    (mb_point("dev.mode", writable=True, kind="multistate", table="holding", offset=21), 2),
    (mb_point("dev.on_battery", table="holding", offset=22, data_type="bool", bit=0), True),
    (mb_point("dev.battery_low", writable=True, table="holding", offset=22, data_type="bool", bit=1), False),
    (mb_point("dev.fault", table="holding", offset=22, data_type="uint16", bit=2), True),
    (mb_point("dev.u16_bl", table="holding", offset=23, data_type="uint16", byte_order="little"), 0xABCD),
    (mb_point("dev.temp", table="input", offset=0, data_type="int16", scale=0.1, value_offset=-40.0), 21.3),
    (
        mb_point("dev.counter", table="input", offset=1, data_type="uint32", word_order="little", byte_order="little"),
        4_000_000_000,
    ),  # fmt: skip
    (mb_point("dev.delta", table="input", offset=3, data_type="int32"), -2_000_000_000),
    (mb_point("dev.f64_lb", table="input", offset=5, data_type="float64", word_order="little"), -0.1),
    (mb_point("dev.alarm_bit", table="input", offset=9, data_type="bool", bit=15), True),
    (mb_point("dev.wide_bit", table="input", offset=40, data_type="int32", bit=20, word_order="little"), True),
    (mb_point("dev.on", writable=True, table="coil", offset=0, data_type="bool"), True),
    (mb_point("dev.aux", table="coil", offset=1, data_type="bool"), False),
    (mb_point("dev.fault_di", table="discrete", offset=0, data_type="bool"), True),
    (mb_point("dev.door", table="discrete", offset=2, data_type="bool"), False),
]
EXPECTED = {point["id"]: value for point, value in FULL_POINTS}


def by_id(readings: list[Reading]) -> dict[str, Reading]:
    return {r.point_id: r for r in readings}


@pytest.fixture
async def peer() -> AsyncIterator[tuple[ModbusDeviceSimulator, ModbusTcpDriver]]:
    device = make_device(free_port(), [p for p, _ in FULL_POINTS], timeout_s=0.5)
    sim = ModbusDeviceSimulator(device)
    for point_id, value in EXPECTED.items():
        sim.set_value(point_id, value)
    await sim.start()
    driver = ModbusTcpDriver(device)
    try:
        await driver.connect()
        yield sim, driver
    finally:
        await driver.close()
        await sim.stop()


async def test_driver_reads_back_every_type_order_and_table(
    peer: tuple[ModbusDeviceSimulator, ModbusTcpDriver],
) -> None:
    sim, driver = peer
    readings = by_id(await driver.read())
    assert set(readings) == set(EXPECTED)
    for point_id, expected in EXPECTED.items():
        reading = readings[point_id]
        assert reading.quality == Quality.GOOD, point_id
        assert reading.value == pytest.approx(expected, rel=1e-12), point_id
        assert type(reading.value) is type(expected), point_id
        assert sim.get_value(point_id) == reading.value
    assert readings["dev.f32_bb"].value == 230.1  # the float32 reads back as the decimal that was set
    assert readings["dev.energy"].value == 12345.6
    # Four register runs (holding 0-23, input 0-8, input 40-41) and one block per bit table.
    assert dict(sim.read_requests) == {"holding": 1, "input": 2, "coil": 1, "discrete": 1}
    assert driver.stats["requests"] == 5 and driver.stats["reads"] == 1


async def test_adjacent_registers_are_read_in_one_request() -> None:
    names = ("voltage", "current", "active_power", "power_factor", "frequency", "energy")
    points = [mb_point(f"dev.{name}", table="holding", offset=2 * i, data_type="float32") for i, name in
              enumerate(names)]  # fmt: skip
    points.append(mb_point("dev.far", table="holding", offset=12 + 9, data_type="uint16"))  # beyond max_gap 8
    device = make_device(free_port(), points)
    async with ModbusDeviceSimulator(device) as sim:
        for i, name in enumerate(names):
            sim.set_value(f"dev.{name}", 100.0 + i)
        driver = ModbusTcpDriver(device)
        await driver.connect()
        try:
            for _ in range(3):
                readings = by_id(await driver.read())
        finally:
            await driver.close()
    assert [readings[f"dev.{name}"].value for name in names] == [100.0, 101.0, 102.0, 103.0, 104.0, 105.0]
    assert sim.read_requests["holding"] == 6  # 3 polls x (one 12-register block + the far register)
    assert driver.stats["requests"] == 6


async def test_writes_land_in_the_device_and_read_back(peer: tuple[ModbusDeviceSimulator, ModbusTcpDriver]) -> None:
    sim, driver = peer
    points = {p.id: p for p in driver.device.points}
    await driver.write(points["dev.setpoint"], 24.5)
    await driver.write(points["dev.mode"], 3)
    await driver.write(points["dev.battery_low"], True)  # bit 1 of a register whose bits 0 and 2 are set
    await driver.write(points["dev.on"], False)
    assert sim.get_value("dev.setpoint") == 24.5
    assert sim.get_value("dev.mode") == 3
    assert (sim.get_value("dev.on_battery"), sim.get_value("dev.battery_low"), sim.get_value("dev.fault")) == (
        True, True, True,
    )  # fmt: skip
    assert sim.get_value("dev.on") is False
    readings = by_id(await driver.read())
    assert readings["dev.setpoint"].value == 24.5 and readings["dev.mode"].value == 3
    assert readings["dev.battery_low"].value is True and readings["dev.on_battery"].value is True
    assert readings["dev.on"].value is False
    await driver.write(points["dev.battery_low"], False)
    assert (sim.get_value("dev.on_battery"), sim.get_value("dev.battery_low")) == (True, False)
    assert sim.write_requests == {"holding": 4, "coil": 1}
    assert driver.stats["writes"] == 5


async def test_bad_writes_are_rejected_with_a_reason(peer: tuple[ModbusDeviceSimulator, ModbusTcpDriver]) -> None:
    sim, driver = peer
    points = {p.id: p for p in driver.device.points}
    with pytest.raises(WriteRejected, match="point dev.fault is not writable"):
        await driver.write(points["dev.fault"], False)
    with pytest.raises(WriteRejected, match=r"dev.setpoint: 4000 \(raw 40000\) is outside int16"):
        await driver.write(points["dev.setpoint"], 4000)
    with pytest.raises(WriteRejected, match="dev.on: expected a bool"):
        await driver.write(points["dev.on"], "yes")
    sim.fail_with_exception("dev.setpoint")
    with pytest.raises(ModbusWriteRejected, match="exception code 4 .DEVICE_FAILURE.") as refused:
        await driver.write(points["dev.setpoint"], 21.0)
    assert refused.value.exception_code == 4
    sim.fail_with_exception(None)
    await driver.write(points["dev.setpoint"], 21.0)  # the connection survived the refusals
    assert sim.get_value("dev.setpoint") == 21.0
    assert sim.write_requests["holding"] == 2  # the refused one and the accepted one


async def test_device_refusing_a_write_gives_its_exception_code() -> None:
    """The site file says writable, the device's register is read-only: the device's ILLEGAL ADDRESS shows."""
    port = free_port()
    on_device = make_device(port, [mb_point("dev.limit", table="holding", offset=3), mb_point(
        "dev.flag", table="input", offset=0)])  # fmt: skip
    in_site = make_device(port, [mb_point("dev.limit", writable=True, table="holding", offset=3), mb_point(
        "dev.flag", writable=True, table="input", offset=0)])  # fmt: skip
    async with ModbusDeviceSimulator(on_device) as sim:
        driver = ModbusTcpDriver(in_site)
        await driver.connect()
        try:
            with pytest.raises(ModbusWriteRejected, match="exception code 2 .ILLEGAL_ADDRESS.") as refused:
                await driver.write(in_site.points[0], 5)
            with pytest.raises(WriteRejected, match="dev.flag: input 0 is read-only in Modbus"):
                await driver.write(in_site.points[1], 1)
        finally:
            await driver.close()
    assert refused.value.exception_code == 2
    assert sim.get_value("dev.limit") == 0


async def test_exception_response_marks_only_that_block_bad(
    peer: tuple[ModbusDeviceSimulator, ModbusTcpDriver], caplog: pytest.LogCaptureFixture
) -> None:
    sim, driver = peer
    sim.fail_with_exception("dev.energy")
    with caplog.at_level(logging.WARNING, logger="iot_gateway.drivers.modbus_tcp"):
        for _ in range(2):
            readings = by_id(await driver.read())
    holding = {p.id for p in driver.device.points if p.address.table == "holding"}  # type: ignore[union-attr]
    for point_id, reading in readings.items():
        assert reading.quality == (Quality.BAD if point_id in holding else Quality.GOOD), point_id
        assert (reading.value is None) == (point_id in holding)
    assert driver.stats["exception_responses"] == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"modbus device dev (127.0.0.1:{driver.connection.port} unit 17): "
        "holding 0..23 answered exception 4 (DEVICE_FAILURE)"
    ]  # logged once, not on every poll
    sim.fail_with_exception(None)
    readings = by_id(await driver.read())
    assert all(r.quality == Quality.GOOD for r in readings.values())
    assert readings["dev.energy"].value == 12345.6


async def test_unmapped_register_answers_illegal_address() -> None:
    port = free_port()
    real = [mb_point("dev.a", table="holding", offset=0), mb_point("dev.b", table="input", offset=0)]
    configured = [*real, mb_point("dev.typo", table="holding", offset=30)]
    async with ModbusDeviceSimulator(make_device(port, real)):
        driver = ModbusTcpDriver(make_device(port, configured))
        await driver.connect()
        try:
            readings = by_id(await driver.read())
        finally:
            await driver.close()
    assert {pid: r.quality for pid, r in readings.items()} == {
        "dev.a": Quality.GOOD, "dev.b": Quality.GOOD, "dev.typo": Quality.BAD,
    }  # fmt: skip


async def test_nan_and_infinity_are_bad(peer: tuple[ModbusDeviceSimulator, ModbusTcpDriver]) -> None:
    sim, driver = peer
    sim.set_value("dev.f32_lb", math.nan)
    sim.set_value("dev.f64_bb", math.inf)
    readings = by_id(await driver.read())
    assert readings["dev.f32_lb"].quality == Quality.BAD and readings["dev.f32_lb"].value is None
    assert readings["dev.f64_bb"].quality == Quality.BAD
    assert readings["dev.f32_bb"].quality == Quality.GOOD
    assert driver.stats["bad_values"] == 2


async def test_stopped_device_is_unavailable_and_recovers_on_the_same_port(
    peer: tuple[ModbusDeviceSimulator, ModbusTcpDriver],
) -> None:
    sim, driver = peer
    timeout = driver.connection.timeout_s
    await sim.stop()
    started = time.monotonic()
    with pytest.raises(DeviceUnavailable, match="modbus device dev"):
        await driver.read()
    assert time.monotonic() - started < timeout + 0.25  # functional deadline: within the device timeout
    with pytest.raises(DeviceUnavailable, match="not connected"):
        await driver.read()
    with pytest.raises(DeviceUnavailable, match="cannot connect"):
        await driver.connect()
    assert driver.stats["connect_failures"] == 1
    await sim.start()
    await driver.connect()
    readings = by_id(await driver.read())
    assert readings["dev.f32_bb"].value == 230.1 and readings["dev.f32_bb"].quality == Quality.GOOD


async def test_silent_device_times_out() -> None:
    """A peer that accepts the connection but never answers: DeviceUnavailable after timeout_s."""
    handlers: list[asyncio.Task[None]] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append(task)
        while await reader.read(1024):
            pass
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    driver = ModbusTcpDriver(make_device(port, [mb_point("dev.a", table="holding", offset=0)], timeout_s=0.3))
    try:
        await driver.connect()
        started = time.monotonic()
        with pytest.raises(DeviceUnavailable, match=r"no answer within 0.3 s"):
            await driver.read()
        assert 0.25 < time.monotonic() - started < 0.3 + 0.25
        assert driver.stats["timeouts"] == 1 and not driver.connected
    finally:
        await driver.close()
        server.close()
        await server.wait_closed()
        await asyncio.wait_for(asyncio.gather(*handlers), 5)


def test_bad_configuration_is_refused_clearly() -> None:
    bacnet = Device.model_validate(
        {
            "id": "ctl",
            "name": {"zh": "控制器", "en": "controller"},
            "kind": "fire_panel",
            "zone": "z",
            "ifc_guid": GUID,
            "connection": {"type": "bacnet_ip", "address": "127.0.0.1:47808", "device_instance": 1},
        }
    )
    with pytest.raises(ValueError, match="device ctl: connection is not modbus_tcp"):
        ModbusTcpDriver(bacnet)
    with pytest.raises(ValueError, match="device ctl: connection is not modbus_tcp"):
        ModbusDeviceSimulator(bacnet)
    too_wide = make_device(502, [mb_point("dev.f64", table="holding", offset=0, data_type="float64")], max_block=2)
    with pytest.raises(PlanError, match="point dev.f64: 4 registers do not fit max_block 2"):
        ModbusTcpDriver(too_wide)


async def test_simulator_rejects_bad_values_and_busy_ports() -> None:
    device = make_device(free_port(), [mb_point("dev.a", table="holding", offset=0, data_type="int16")])
    sim = ModbusDeviceSimulator(device)
    with pytest.raises(KeyError, match="device dev has no point 'dev.nope'"):
        sim.set_value("dev.nope", 1)
    with pytest.raises(ValueError, match="dev: cannot set dev.a to 40000: .*outside int16"):
        sim.set_value("dev.a", 40000)
    assert sim.get_value("dev.a") == 0  # nothing half-written
    async with sim:
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{sim.port}"):
            await ModbusDeviceSimulator(device).start()


async def test_simulator_computes_values_on_demand() -> None:
    """on_read lets dynamics set a value just before the device answers a read of a table."""
    device = make_device(free_port(), [mb_point("dev.energy", table="input", offset=0, data_type="uint32", scale=0.1)])
    async with ModbusDeviceSimulator(device) as sim:
        tables: list[str] = []

        def meter(table: str) -> None:
            tables.append(table)
            sim.set_value("dev.energy", 10.0 * len(tables))

        sim.on_read = meter
        driver = ModbusTcpDriver(device)
        await driver.connect()
        try:
            values = [by_id(await driver.read())["dev.energy"].value for _ in range(3)]
        finally:
            await driver.close()
    assert values == [10.0, 20.0, 30.0] and tables == ["input"] * 3
