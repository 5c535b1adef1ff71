"""Writes through the Gateway return the device's read-back (Modbus and BACnet simulators), and the BACnet
priority array says who holds a point: the facts the CommandRouter confirms a command with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from iot_gateway.drivers.bacnet_ip import BacnetIpDriver
from iot_gateway.gateway import Gateway
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from tests.peers import free_port, wait_until
from twin.bus import PointBus
from twin.clock import SystemClock
from twin.points import Quality
from twin.site.model import BacnetAddress, SiteConfig

GUID = "2" * 22
DOOR_GUID = "3" * 22
PERIOD = 0.2
TIMEOUT = 0.5


def _point(point_id: str, kind: str, address: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": point_id, "name": {"zh": point_id, "en": point_id}, "kind": kind, "brick": "Point",
            "address": address, **extra}  # fmt: skip


def command_site(modbus_port: int, bacnet_port: int, **commands: Any) -> SiteConfig:
    """A hall with one device per protocol: an AC unit (Modbus: scaled holding register, coil), a door controller
    (BACnet: binary-output lock, analog-value setpoint with a priority array), an MQTT sensor, and one door."""
    modbus = {"type": "modbus", "table": "holding", "offset": 0, "data_type": "int16", "scale": 0.1}
    return SiteConfig.model_validate(
        {
            "site": {"id": "cmd-hall", "name": {"zh": "命令测试", "en": "Command test"}, "ifc": "hall.ifc"},
            "bacnet": {"port": 0},  # the gateway's own BACnet port: any free one
            "zones": [{"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "zone_type": "waiting", "ifc_guid": GUID}],
            "commands": commands,
            "devices": [
                {
                    "id": "ac", "name": {"zh": "空调", "en": "AC"}, "kind": "ac_unit", "zone": "hall",
                    "ifc_guid": GUID,
                    "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": modbus_port,
                                   "poll_interval_s": PERIOD, "timeout_s": TIMEOUT},
                    "points": [
                        _point("ac.setpoint", "analog", modbus, writable=True, unit="degC", min=16.0, max=30.0),
                        _point("ac.on", "binary", {"type": "modbus", "table": "coil", "offset": 0,
                                                   "data_type": "bool"}, writable=True),
                        _point("ac.mode", "multistate", {"type": "modbus", "table": "holding", "offset": 1},
                               writable=True, states=["cool", "heat", "fan"]),
                        _point("ac.service", "binary", {"type": "modbus", "table": "coil", "offset": 1,
                                                        "data_type": "bool"}, writable=True,
                               write_roles=["maintenance"]),
                        _point("ac.supply", "analog", {"type": "modbus", "table": "input", "offset": 0,
                                                       "data_type": "int16", "scale": 0.1}),
                    ],
                },
                {
                    "id": "sec", "name": {"zh": "门禁", "en": "Doors"}, "kind": "access_door", "zone": "hall",
                    "ifc_guid": GUID,
                    "connection": {"type": "bacnet_ip", "address": f"127.0.0.1:{bacnet_port}",
                                   "device_instance": 2001, "poll_interval_s": PERIOD, "timeout_s": TIMEOUT},
                    "points": [
                        _point("sec.lock", "binary", {"type": "bacnet", "object": "binary-output:1"},
                               writable=True),
                        _point("sec.open", "binary", {"type": "bacnet", "object": "binary-input:101"}),
                        _point("sec.forced", "binary", {"type": "bacnet", "object": "binary-input:201"}),
                        _point("sec.setpoint", "analog", {"type": "bacnet", "object": "analog-value:1",
                                                          "priority": 8}, writable=True),
                    ],
                },
                {
                    "id": "env", "name": {"zh": "温湿度", "en": "Env"}, "kind": "temp_humidity", "zone": "hall",
                    "ifc_guid": GUID, "connection": {"type": "mqtt", "topic": "test/env"},
                    "points": [_point("env.temp", "analog", {"type": "mqtt", "json_path": "t"}, writable=True)],
                },
            ],
            "doors": [
                {"id": "door-1", "name": {"zh": "门1", "en": "Door 1"}, "ifc_guid": DOOR_GUID, "zone": "hall",
                 "lock_point": "sec.lock", "open_point": "sec.open", "forced_point": "sec.forced"},
            ],
        }
    )  # fmt: skip


@dataclass
class Hall:
    site: SiteConfig
    gateway: Gateway
    bus: PointBus
    modbus: ModbusDeviceSimulator
    bacnet: BacnetDeviceSimulator


def good(bus: PointBus, point_id: str) -> bool:
    update = bus.latest.get(point_id)
    return update is not None and update.quality is Quality.GOOD


@pytest.fixture
async def devices() -> AsyncIterator[tuple[SiteConfig, ModbusDeviceSimulator, BacnetDeviceSimulator]]:
    """The Modbus and BACnet simulators of command_site, started (the MQTT device stays unconnected)."""
    site = command_site(free_port(), free_port())
    modbus = ModbusDeviceSimulator(site.device("ac"))
    modbus.set_value("ac.setpoint", 24.0)
    modbus.set_value("ac.mode", 1)
    bacnet = BacnetDeviceSimulator(site.device("sec"))
    bacnet.set_value("sec.lock", True)
    bacnet.set_value("sec.setpoint", 20.0)
    await modbus.start()
    await bacnet.start()
    try:
        yield site, modbus, bacnet
    finally:
        await bacnet.stop()
        await modbus.stop()


@pytest.fixture
async def hall(devices: tuple[SiteConfig, ModbusDeviceSimulator, BacnetDeviceSimulator]) -> AsyncIterator[Hall]:
    """A running gateway on command_site's Modbus and BACnet devices, once both have been read."""
    site, modbus, bacnet = devices
    polled = site.model_copy(update={"devices": [site.device("ac"), site.device("sec")]})
    bus = PointBus()
    gateway = Gateway(polled, bus, SystemClock())
    try:
        await gateway.start()
        await wait_until(lambda: good(bus, "ac.setpoint") and good(bus, "sec.setpoint"), 5.0, "first reads")
        yield Hall(site, gateway, bus, modbus, bacnet)
    finally:
        await gateway.stop()


async def test_modbus_write_returns_the_scaled_read_back(hall: Hall) -> None:
    reading = await hall.gateway.write("ac.setpoint", 21.5)  # int16 x 0.1: raw 215
    assert reading.point_id == "ac.setpoint" and reading.quality is Quality.GOOD
    assert reading.value == pytest.approx(21.5)
    assert hall.modbus.get_value("ac.setpoint") == pytest.approx(21.5)
    coil = await hall.gateway.write("ac.on", True)
    assert coil.value is True and hall.modbus.get_value("ac.on") is True
    assert hall.bus.latest["ac.setpoint"].value == pytest.approx(21.5)  # the read-back was published too


async def test_modbus_read_back_shows_what_the_device_keeps(hall: Hall) -> None:
    """A device that accepts the write but keeps its own value (a clamped or local-mode unit)."""
    hall.modbus.on_read = lambda _table: hall.modbus.set_value("ac.setpoint", 24.0)
    reading = await hall.gateway.write("ac.setpoint", 22.0)
    assert reading.value == pytest.approx(24.0)


async def test_bacnet_write_read_back_and_priority_array(hall: Hall) -> None:
    reading = await hall.gateway.write("sec.setpoint", 22.5)
    assert reading.value == pytest.approx(22.5) and hall.bacnet.get_value("sec.setpoint") == pytest.approx(22.5)
    point, poller = hall.gateway.poller_of("sec.setpoint")
    entries = await poller.priority_array(point)
    assert entries is not None and len(entries) == 16
    assert entries[7] == pytest.approx(22.5) and [e for i, e in enumerate(entries) if i != 7] == [None] * 15

    lock = await hall.gateway.write("sec.lock", False)
    assert lock.value is False and hall.bacnet.command_priority("sec.lock") == 8

    released = await hall.gateway.write("sec.setpoint", None)  # relinquish priority 8
    assert released.value == pytest.approx(20.0)  # back to the device's relinquish-default
    assert await poller.priority_array(point) == [None] * 16
    modbus_point, modbus_poller = hall.gateway.poller_of("ac.setpoint")
    assert await modbus_poller.priority_array(modbus_point) is None  # Modbus has no priority array


async def test_bacnet_higher_priority_keeps_the_present_value(hall: Hall) -> None:
    """Another client commands the lock at priority 3; our write at 8 lands in the array but does not act."""
    device = hall.site.device("sec")
    other_point = device.points[0].model_copy(
        update={"address": BacnetAddress(type="bacnet", object="binary-output:1", priority=3)}
    )
    other = BacnetIpDriver(device.model_copy(update={"points": [other_point]}), application=BacnetApplicationHolder())
    await other.connect()
    try:
        await other.write(other_point, True)
        reading = await hall.gateway.write("sec.lock", False)
        assert reading.value is True  # priority 3 holds "locked"
        point, poller = hall.gateway.poller_of("sec.lock")
        entries = await poller.priority_array(point)
        assert entries is not None and entries[2] is True and entries[7] is False
        await other.write(other_point, None)
        assert (await poller.read_back(point)).value is False  # released: our priority 8 command acts
    finally:
        await other.close()
        await other.holder.close()
