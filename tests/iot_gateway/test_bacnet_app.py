"""The site's one BACnet application: its port for the gateway's whole life, settings from site.yaml bacnet:, and
an answer that arrives for a request the driver already gave up on."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from bacpypes3.apdu import ReadPropertyACK, ReadPropertyRequest
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import Real

from iot_gateway.driver import DeviceUnavailable
from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder, BacnetConfigError
from iot_gateway.drivers.bacnet_ip import BacnetIpDriver
from tests.iot_gateway.test_bacnet_driver import EVERY_TYPE, make_device
from tests.peers import free_port
from twin.site.model import BacnetNetwork


async def test_a_late_answer_to_a_cancelled_request_is_dropped_quietly(caplog: pytest.LogCaptureFixture) -> None:
    holder = BacnetApplicationHolder(port=free_port(socket.SOCK_DGRAM))
    app = await holder.acquire(1.0)
    try:
        device = Address(f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}")
        request = ReadPropertyRequest(
            objectIdentifier="analog-input,1", propertyIdentifier="present-value", destination=device
        )
        future = app.request(request)
        future.cancel()  # a poll timeout: bacpypes3 forgets the request only in a done-callback, run later
        answer = ReadPropertyACK(
            objectIdentifier="analog-input,1", propertyIdentifier="present-value", propertyValue=Real(21.5)
        )
        answer.pduSource = device
        answer.apduInvokeID = request.apduInvokeID
        with caplog.at_level(logging.DEBUG, logger="iot_gateway.drivers.bacnet_app"):
            await app.confirmation(answer)  # before the callback ran: bacpypes3 alone raises InvalidStateError
        assert "late answer from 127.0.0.1" in caplog.text
        await asyncio.sleep(0)
        assert device not in app._requests  # the callback removed it; nothing is left behind
    finally:
        await holder.release()


async def test_the_site_application_keeps_its_port_while_a_device_is_away() -> None:
    """One application per site, bound once: a device that does not answer costs retries, not new ports."""
    port = free_port(socket.SOCK_DGRAM)
    holder = BacnetApplicationHolder(BacnetNetwork(interface="127.0.0.1/8", port=port, device_instance=4321,
                                                   device_name="hall-gw"))  # fmt: skip
    app = await holder.open()
    try:
        assert holder.bound_port == port and app.device_object.objectName == "hall-gw"
        absent = make_device(free_port(socket.SOCK_DGRAM), rows=EVERY_TYPE[:1], timeout=0.2)
        driver = BacnetIpDriver(absent, application=holder)
        for _ in range(3):
            with pytest.raises(DeviceUnavailable, match="no I-Am"):
                await driver.connect()
        assert holder.application is app and holder.bound_port == port and holder.users == 0
        with pytest.raises(BacnetConfigError, match=f"bacnet.port: UDP 127.0.0.1:{port} is in use"):
            await BacnetApplicationHolder(BacnetNetwork(port=port)).open()  # a second gateway on this port
    finally:
        await holder.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", port))  # close() freed it


def test_a_site_without_bacnet_section_takes_the_standard_port() -> None:
    assert (BacnetNetwork().interface, BacnetNetwork().port) == ("127.0.0.1/8", 47808)
    with pytest.raises(ValueError, match="needs a prefix length"):
        BacnetNetwork(interface="10.20.0.5")
    with pytest.raises(ValueError, match="bbmd must be host:port"):
        BacnetNetwork(foreign_device={"bbmd": "10.30.0.1"})  # type: ignore[arg-type]
