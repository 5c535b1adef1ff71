"""Gateway against real simulated devices: device loss and recovery, exception responses, write routing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymodbus.constants import ExcCodes

from iot_gateway.driver import DeviceUnavailable, WriteRejected
from iot_gateway.gateway import Gateway, PointNotWritable, UnknownPoint, point_catalog
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from tests.peers import free_port, wait_until
from twin.bus import PointBus
from twin.clock import SystemClock
from twin.points import Quality
from twin.site.model import SiteConfig

PERIOD = 0.25
TIMEOUT = 0.25
GUID = "1" * 22


def _point(device_id: str, name: str, kind: str, address: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{device_id}.{name}", "name": {"zh": name, "en": name}, "kind": kind, "brick": "Point",
        "address": address, **extra,
    }  # fmt: skip


def modbus_device(device_id: str, port: int) -> dict[str, Any]:
    return {
        "id": device_id, "name": {"zh": "空调", "en": "AC unit"}, "kind": "ac_unit", "zone": "hall",
        "ifc_guid": GUID,
        "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": port, "poll_interval_s": PERIOD,
                       "timeout_s": TIMEOUT},
        "points": [
            _point(device_id, "on", "binary", {"type": "modbus", "table": "coil", "offset": 0, "data_type": "bool"},
                   writable=True),
            _point(device_id, "setpoint", "analog",
                   {"type": "modbus", "table": "holding", "offset": 0, "data_type": "int16", "scale": 0.1},
                   writable=True, unit="degC"),
            _point(device_id, "mode", "multistate", {"type": "modbus", "table": "holding", "offset": 1},
                   writable=True, states=["cool", "heat", "fan"]),
            _point(device_id, "supply_air_temp", "analog",
                   {"type": "modbus", "table": "input", "offset": 0, "data_type": "int16", "scale": 0.1}),
        ],
    }  # fmt: skip


def make_site(*devices: dict[str, Any]) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {"id": "test-hall", "name": {"zh": "测试大厅", "en": "Test hall"}, "ifc": "hall.ifc"},
            "bacnet": {"port": 0},  # any free port: tests run side by side
            "zones": [{"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "zone_type": "waiting", "ifc_guid": GUID}],
            "devices": [
                *devices,
                {"id": "cam-1", "name": {"zh": "摄像机", "en": "Camera"}, "kind": "camera", "zone": "hall",
                 "ifc_guid": GUID},
            ],
        }
    )  # fmt: skip


@pytest.fixture
async def modbus_hall() -> AsyncIterator[tuple[Gateway, ModbusDeviceSimulator, PointBus]]:
    site = make_site(modbus_device("ac-1", free_port()))
    simulator = ModbusDeviceSimulator(site.device("ac-1"))
    simulator.set_value("ac-1.setpoint", 24.0)
    simulator.set_value("ac-1.mode", 1)
    simulator.set_value("ac-1.supply_air_temp", 16.5)
    await simulator.start()
    bus = PointBus()
    gateway = Gateway(site, bus, SystemClock())
    try:
        await gateway.start()
        yield gateway, simulator, bus
    finally:
        await gateway.stop()
        await simulator.stop()


def good(bus: PointBus, point_id: str, value: object = None) -> bool:
    update = bus.latest.get(point_id)
    return update is not None and update.quality is Quality.GOOD and (value is None or update.value == value)


async def test_modbus_device_lost_then_recovered_without_gateway_restart(
    modbus_hall: tuple[Gateway, ModbusDeviceSimulator, PointBus],
) -> None:
    gateway, simulator, bus = modbus_hall
    assert list(gateway.pollers) == ["ac-1"]  # the camera has no connection: not polled
    latest = bus.latest
    await wait_until(lambda: good(bus, "ac-1.setpoint", 24.0), 2.0, "first poll")
    assert latest["ac-1.comm_lost"].value is False
    task_names = {t.get_name() for t in asyncio.all_tasks()}

    await simulator.stop()
    points = ["ac-1.on", "ac-1.setpoint", "ac-1.mode", "ac-1.supply_air_temp"]
    await wait_until(lambda: all(latest[p].quality is Quality.UNAVAILABLE for p in points), 2 * PERIOD, "UNAVAILABLE")
    assert latest["ac-1.comm_lost"].value is True

    simulator.set_value("ac-1.supply_air_temp", 17.0)
    await simulator.start()
    await wait_until(lambda: good(bus, "ac-1.supply_air_temp", 17.0), PERIOD + TIMEOUT, "GOOD again")
    assert all(latest[p].quality is Quality.GOOD for p in points)
    assert latest["ac-1.comm_lost"].value is False
    assert "poller:ac-1" in task_names and "poller:ac-1" in {t.get_name() for t in asyncio.all_tasks()}


async def test_modbus_exception_response_marks_points_bad_and_polling_goes_on(
    modbus_hall: tuple[Gateway, ModbusDeviceSimulator, PointBus],
) -> None:
    gateway, simulator, bus = modbus_hall
    await wait_until(lambda: good(bus, "ac-1.supply_air_temp"), 2.0, "first poll")
    simulator.fail_with_exception("ac-1.supply_air_temp", ExcCodes.DEVICE_FAILURE)
    await wait_until(lambda: bus.latest["ac-1.supply_air_temp"].quality is Quality.BAD, 2 * PERIOD, "BAD")
    assert good(bus, "ac-1.setpoint", 24.0) and bus.latest["ac-1.comm_lost"].value is False
    polls = gateway.pollers["ac-1"].polls
    await wait_until(lambda: gateway.pollers["ac-1"].polls >= polls + 2, 3 * PERIOD, "polling goes on")
    simulator.fail_with_exception(None)
    await wait_until(lambda: good(bus, "ac-1.supply_air_temp", 16.5), 2 * PERIOD, "healed")


async def test_writes_are_routed_and_errors_say_what_is_wrong(
    modbus_hall: tuple[Gateway, ModbusDeviceSimulator, PointBus],
) -> None:
    gateway, simulator, bus = modbus_hall
    await wait_until(lambda: good(bus, "ac-1.setpoint"), 2.0, "first poll")
    await gateway.write("ac-1.setpoint", 21.5)
    assert simulator.get_value("ac-1.setpoint") == 21.5
    assert bus.latest["ac-1.setpoint"].value == 21.5  # read back right after the write
    await gateway.write("ac-1.mode", "fan")
    assert simulator.get_value("ac-1.mode") == 3
    await gateway.write("ac-1.on", True)
    assert simulator.get_value("ac-1.on") is True

    with pytest.raises(UnknownPoint, match="no point 'ac-1.nope' in site test-hall"):
        await gateway.write("ac-1.nope", 1)
    with pytest.raises(PointNotWritable, match="ac-1.supply_air_temp is not writable"):
        await gateway.write("ac-1.supply_air_temp", 1.0)
    with pytest.raises(PointNotWritable, match="computed by the gateway"):
        await gateway.write("ac-1.comm_lost", False)
    with pytest.raises(WriteRejected, match=r"ac-1.mode \(multistate\) takes one of 1 \(cool\), 2 \(heat\)"):
        await gateway.write("ac-1.mode", "dry")
    with pytest.raises(WriteRejected, match="takes true/false"):
        await gateway.write("ac-1.on", "yes")

    await simulator.stop()
    await wait_until(lambda: bus.latest["ac-1.comm_lost"].value is True, 2 * PERIOD, "comm lost")
    with pytest.raises(DeviceUnavailable, match="ac-1"):
        await gateway.write("ac-1.setpoint", 22.0)


async def test_unreachable_device_at_start_is_unavailable_and_gateway_stops_cleanly() -> None:
    site = make_site(modbus_device("ac-2", free_port()))  # nothing listens there
    bus = PointBus()
    gateway = Gateway(site, bus, SystemClock())
    await gateway.start()
    try:
        await wait_until(lambda: "ac-2.comm_lost" in bus.latest, 2 * PERIOD + TIMEOUT, "comm point")
        assert bus.latest["ac-2.comm_lost"].value is True
        assert bus.latest["ac-2.setpoint"].quality is Quality.UNAVAILABLE
    finally:
        await gateway.stop()
    assert not gateway.pollers


def test_catalog_has_every_point_and_comm_points_of_polled_devices_only() -> None:
    site = make_site(modbus_device("ac-1", free_port(socket.SOCK_STREAM)))
    catalog = point_catalog(site)
    assert list(catalog) == ["ac-1.on", "ac-1.setpoint", "ac-1.mode", "ac-1.supply_air_temp", "ac-1.comm_lost"]
    comm = catalog["ac-1.comm_lost"]
    assert (comm.kind.value, comm.ifc_guid, comm.name.en) == ("binary", GUID, "AC unit: communication lost")


BACNET_PERIOD = 0.4
BACNET_TIMEOUT = 0.15


def bacnet_device(device_id: str, port: int, instance: int) -> dict[str, Any]:
    return {
        "id": device_id, "name": {"zh": "环境控制器", "en": "Environment controller"}, "kind": "water_leak",
        "zone": "hall", "ifc_guid": GUID,
        "connection": {"type": "bacnet_ip", "address": f"127.0.0.1:{port}", "device_instance": instance,
                       "poll_interval_s": BACNET_PERIOD, "timeout_s": BACNET_TIMEOUT},
        "points": [
            _point(device_id, "leak_1", "binary", {"type": "bacnet", "object": "binary-input:1"}),
            _point(device_id, "server_room_temp", "analog", {"type": "bacnet", "object": "analog-input:1"},
                   unit="degC"),
        ],
    }  # fmt: skip


async def test_bacnet_device_lost_then_recovered_without_gateway_restart() -> None:
    from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator

    site = make_site(bacnet_device("env-ctl", free_port(socket.SOCK_DGRAM), 1201))
    simulator = BacnetDeviceSimulator(site.device("env-ctl"))
    simulator.set_value("env-ctl.server_room_temp", 22.5)
    await simulator.start()
    bus = PointBus()
    gateway = Gateway(site, bus, SystemClock())
    latest = bus.latest
    points = ["env-ctl.leak_1", "env-ctl.server_room_temp"]
    try:
        await gateway.start()
        # A COV notification of one point may arrive before the first poll: it sets comm_lost False at once, and
        # the other point follows with its own notification or that poll.
        await wait_until(
            lambda: (
                good(bus, "env-ctl.comm_lost", False)
                and good(bus, "env-ctl.server_room_temp", 22.5)
                and good(bus, "env-ctl.leak_1", False)
            ),
            3.0,
            "first values",
        )

        await simulator.stop()
        await wait_until(
            lambda: all(latest[p].quality is Quality.UNAVAILABLE for p in points), 2 * BACNET_PERIOD, "UNAVAILABLE"
        )
        assert latest["env-ctl.comm_lost"].value is True

        simulator.set_value("env-ctl.leak_1", True)
        await simulator.start()
        # comm_lost False may now come with the first COV value, before the poll that refreshes every point.
        await wait_until(
            lambda: (
                good(bus, "env-ctl.leak_1", True)
                and good(bus, "env-ctl.comm_lost", False)
                and good(bus, "env-ctl.server_room_temp", 22.5)
            ),
            BACNET_PERIOD + BACNET_TIMEOUT,
            "GOOD again",
        )
    finally:
        await gateway.stop()
        await simulator.stop()
