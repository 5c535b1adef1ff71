"""The gateway's shared BACnet application: an answer that arrives for a request the driver already gave up on."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from bacpypes3.apdu import ReadPropertyACK, ReadPropertyRequest
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import Real

from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from tests.peers import free_port


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
