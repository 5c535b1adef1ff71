"""The BACnet device simulator: port handling, restarts, bad input, and what an independent client sees."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from iot_gateway.drivers.bacnet_values import ValueConversionError
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from tests.iot_gateway.test_bacnet_driver import EVERY_TYPE, make_device
from tests.peers import free_port
from twin.site.model import PointKind


async def test_port_taken_is_a_clear_error_and_stop_frees_the_port() -> None:
    port = free_port(socket.SOCK_DGRAM)
    first = BacnetDeviceSimulator(make_device(port))
    second = BacnetDeviceSimulator(make_device(port, instance=7))
    await first.start()
    try:
        with pytest.raises(OSError, match=f"UDP 127.0.0.1:{port} is in use"):
            await second.start()
        assert not second.running
    finally:
        await first.stop()
    await second.start()  # the port is free again at once
    await second.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", port))  # and nothing of the simulator holds it any more


async def test_bad_input_names_the_point() -> None:
    simulator = BacnetDeviceSimulator(make_device(free_port(socket.SOCK_DGRAM)))
    with pytest.raises(KeyError, match="device ctl has no point 'ctl.nope'"):
        simulator.set_value("ctl.nope", 1.0)
    with pytest.raises(ValueConversionError, match="ctl.detector"):
        simulator.set_value("ctl.detector", "on fire")  # not a life-safety state name
    with pytest.raises(ValueConversionError, match="ctl.temp"):
        simulator.set_value("ctl.temp", "warm")
    assert simulator.get_value("ctl.temp") == 0.0  # the refused values changed nothing
    assert simulator.get_value("ctl.detector") == "quiet"


def test_a_point_the_device_cannot_serve_fails_at_construction() -> None:
    zone = ("zone", "life-safety-zone:1", "present-value", PointKind.MULTISTATE, ["calm", "panic"], False)
    with pytest.raises(ValueConversionError, match="ctl.zone: 1 is not one of"):
        BacnetDeviceSimulator(make_device(free_port(socket.SOCK_DGRAM), rows=[zone]))  # not life-safety states


async def test_values_and_commands_survive_a_restart() -> None:
    simulator = BacnetDeviceSimulator(make_device(free_port(socket.SOCK_DGRAM)))
    simulator.set_value("ctl.temp", 18.5)  # before start: the initial value
    await simulator.start()
    holder = BacnetApplicationHolder()
    app = await holder.acquire(1.0)
    try:
        address = Address(simulator.connection.address)
        await app.write_property(address, ObjectIdentifier("binary-output,5"), "present-value", "active", None, 3)
        assert simulator.get_value("ctl.lock") is True and simulator.command_priority("ctl.lock") == 3
        await simulator.stop()
        assert simulator.get_value("ctl.lock") is True  # a stopped device still "has" its command
        simulator.set_value("ctl.temp", 19.0)
        await simulator.start()
        value = await asyncio.wait_for(app.read_property(address, ObjectIdentifier("analog-input,1"),
                                                         "present-value"), 1.0)  # fmt: skip
        assert value == 19.0
        assert simulator.get_value("ctl.lock") is True and simulator.command_priority("ctl.lock") == 3
        assert simulator.get_value("ctl.temp") == 19.0
    finally:
        await holder.release()
        await simulator.stop()


async def test_device_object_lists_every_object() -> None:
    simulator = BacnetDeviceSimulator(make_device(free_port(socket.SOCK_DGRAM), instance=4321))
    await simulator.start()
    holder = BacnetApplicationHolder()
    app = await holder.acquire(1.0)
    try:
        address = Address(simulator.connection.address)
        object_list = await asyncio.wait_for(app.read_property(address, ObjectIdentifier("device,4321"),
                                                               "object-list"), 1.0)  # fmt: skip
        listed = {f"{o[0]}:{o[1]}" for o in object_list}
        assert listed == {row[1] for row in EVERY_TYPE} | {"device:4321"}
    finally:
        await holder.release()
        await simulator.stop()


async def test_a_subscriber_that_has_gone_is_logged_once_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    from iot_gateway.drivers.bacnet_ip import BacnetIpDriver
    from tests.peers import wait_until

    rows = [row for row in EVERY_TYPE if row[0] == "temp"]
    device = make_device(free_port(socket.SOCK_DGRAM), rows=rows, timeout=0.3)
    simulator = BacnetDeviceSimulator(device)
    await simulator.start()
    try:
        holder = BacnetApplicationHolder()
        driver = BacnetIpDriver(device, application=holder)
        await driver.connect()
        assert len(simulator.cov_subscriptions()) == 1
        # The gateway goes without cancelling its confirmed subscription.
        await driver.cov.stop(cancel_on_device=False)
        await holder.close()
        app = simulator._app
        assert app is not None
        app.device_object.apduTimeout, app.device_object.numberOfApduRetries = 200, 0  # give up soon, not in 12 s
        with caplog.at_level(logging.INFO):
            for value in (20.0, 21.0, 22.0):
                simulator.set_value("ctl.temp", value)  # a confirmed notification each, to nobody
                await wait_until(lambda: app.asap.clientTransactions, 5.0, "the notification to be sent")
                await wait_until(lambda: not app.asap.clientTransactions, 20.0, "the notification to end")
        gone = [r for r in caplog.records if "did not acknowledge a notification" in r.getMessage()]
        assert len(gone) == 1 and gone[0].levelno == logging.INFO
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info], caplog.text
    finally:
        await simulator.stop()
