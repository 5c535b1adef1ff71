"""The gateway's one bacpypes3 Application (shared by all BACnet drivers, ref-counted) and socket helpers.

bacpypes3 binds its UDP endpoints with SO_REUSEPORT and retries a failing bind forever in a background task; a
second device on a taken port would then silently share it. We bind the socket ourselves (no SO_REUSEPORT)
and hand it to the link layer, so a taken port fails at once with a clear error and stop() really frees it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

from bacpypes3.apdu import (
    ConfirmedCOVNotificationRequest,
    SimpleAckPDU,
    UnconfirmedCOVNotificationRequest,
)
from bacpypes3.app import Application
from bacpypes3.errors import ServicesError
from bacpypes3.ipv4.link import NormalLinkLayer
from bacpypes3.local.device import DeviceObject
from bacpypes3.pdu import Address, IPv4Address
from bacpypes3.primitivedata import ObjectIdentifier

log = logging.getLogger(__name__)

# The gateway's own device instance: the highest legal one, unlikely to clash with a field device.
GATEWAY_DEVICE_INSTANCE = 4_194_302
BIND_TIMEOUT_S = 2.0

# Called with the monitored object and the notification's list of BACnet PropertyValue.
CovHandler = Callable[[ObjectIdentifier, list[Any]], None]


def bind_udp(app: Application, host: str, port: int) -> int:
    """Give ``app`` a BACnet/IP link layer on host:port (0: a free port); returns the bound port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot bind BACnet/IP UDP {host}:{port}: {exc.strerror}") from exc
    sock.setblocking(False)
    bound_port: int = sock.getsockname()[1]
    # No netmask: the broadcast address equals our own, so bacpypes3 opens no second (broadcast) socket.
    address = IPv4Address(f"{host}:{bound_port}")
    link_layer = NormalLinkLayer(address, bind_socket=sock)
    app.nsap.bind(link_layer, address=address)
    app.link_layers[ObjectIdentifier(("network-port", 1))] = link_layer
    return bound_port


async def wait_bound(app: Application) -> None:
    """Wait for bacpypes3's endpoint tasks, so close() finds a transport to close (else the socket leaks)."""
    tasks = [task for layer in app.link_layers.values() for task in layer.server._transport_tasks]
    if tasks:
        await asyncio.wait_for(asyncio.gather(*tasks), BIND_TIMEOUT_S)


async def shutdown_application(app: Application) -> None:
    """Close sockets and stop every timer bacpypes3 still holds, so no task of it outlives the application."""
    try:
        await wait_bound(app)
    except (TimeoutError, OSError) as exc:
        log.warning("BACnet link layer was never bound: %s", exc)
    for transaction in [*app.asap.clientTransactions, *app.asap.serverTransactions]:
        transaction.stop_timer()  # an expiring timer would start a retry or abort task later
    app.asap.clientTransactions.clear()
    app.asap.serverTransactions.clear()
    for future in list(getattr(app, "_who_is_futures", [])):
        future.future.cancel()
    for requests in list(app._requests.values()):
        for _, future in requests:
            future.cancel()
    for detection in list(app._cov_detections.values()):
        for subscription in list(detection.cov_subscriptions):
            subscription.cancel_subscription()  # its expiry timer would call into the closed application
    app.close()
    # The transport closes its socket in a callback on the next loop iteration; let that run.
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class GatewayApplication(Application):
    """A client application that routes COV notifications to the driver that subscribed, without queues."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cov_handlers: dict[tuple[Address, int], CovHandler] = {}
        self._next_process_id = 1

    def next_process_id(self) -> int:
        """A subscriber process identifier unique within this application (BACnet allows 0..2^22-1)."""
        process_id = self._next_process_id
        self._next_process_id = self._next_process_id % ((1 << 22) - 1) + 1
        return process_id

    async def confirmation(self, apdu: Any) -> None:
        # A request we gave up on (poll timeout, stop) is cancelled, but bacpypes3 drops it from its table only in
        # a callback run later: an answer arriving in between would make it set a result on the cancelled future
        # and log an InvalidStateError traceback. Such a late answer is simply not wanted any more.
        for request, future in self._requests.get(apdu.pduSource, ()):
            if request.apduInvokeID == apdu.apduInvokeID and future.done():
                log.debug(
                    "late answer from %s to a request given up on (invoke id %s)", apdu.pduSource, apdu.apduInvokeID
                )
                return
        await super().confirmation(apdu)

    async def do_ConfirmedCOVNotificationRequest(self, apdu: ConfirmedCOVNotificationRequest) -> None:
        if not self._dispatch(apdu):
            # Clause 13.1.3: tell the device to drop a subscription nobody here owns any more.
            raise ServicesError(errorCode="unknownSubscription")
        await self.response(SimpleAckPDU(context=apdu))

    async def do_UnconfirmedCOVNotificationRequest(self, apdu: UnconfirmedCOVNotificationRequest) -> None:
        self._dispatch(apdu)

    def _dispatch(self, apdu: Any) -> bool:
        handler = self.cov_handlers.get((apdu.pduSource, apdu.subscriberProcessIdentifier))
        if handler is None:
            return False
        try:
            handler(apdu.monitoredObjectIdentifier, list(apdu.listOfValues))
        except Exception:
            log.exception("COV notification from %s could not be handled", apdu.pduSource)
        return True


class BacnetApplicationHolder:
    """Creates the gateway's GatewayApplication on first use (in the running loop) and closes it after
    the last driver releases it. Give one holder to all BACnet drivers of a gateway;
    ``close()`` forces shutdown."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, device_instance: int = GATEWAY_DEVICE_INSTANCE):
        self.host = host
        self.port = port
        self.device_instance = device_instance
        self._app: GatewayApplication | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._users = 0
        self.bound_port: int | None = None

    @property
    def users(self) -> int:
        return self._users

    @property
    def application(self) -> GatewayApplication | None:
        return self._app

    async def acquire(self, timeout_s: float) -> GatewayApplication:
        """The shared application (created if needed); every acquire needs one release."""
        loop = asyncio.get_running_loop()
        if self._app is not None and self._loop is not loop:
            # Its loop is gone (a test or runtime that never released it): its sockets died with it.
            log.warning("dropping a BACnet application left over from another event loop")
            self._app, self._users = None, 0
        if self._app is None:
            self._app = self._create()
            self._loop = loop
        self._users += 1
        app = self._app
        # No bacpypes3 retries: the Poller's next poll is the retry, and each request ends within its timeout.
        wanted_ms = max(int(timeout_s * 1000), int(app.device_object.apduTimeout))
        app.device_object.apduTimeout = wanted_ms
        try:
            await wait_bound(app)
        except BaseException:
            await self.release()
            raise
        return app

    async def release(self) -> None:
        if self._users == 0:
            return
        self._users -= 1
        if self._users == 0:
            await self.close()

    async def close(self) -> None:
        """Shut the application down now, whoever still uses it."""
        app, self._app, self._users, self.bound_port = self._app, None, 0, None
        if app is not None and self._loop is asyncio.get_running_loop():
            await shutdown_application(app)

    def _create(self) -> GatewayApplication:
        device = DeviceObject(
            objectIdentifier=("device", self.device_instance),
            objectName="halltwin-gateway",
            apduTimeout=1000,
            numberOfApduRetries=0,
        )
        app = GatewayApplication.from_object_list([device])
        assert isinstance(app, GatewayApplication)
        self.bound_port = bind_udp(app, self.host, self.port)
        log.info("BACnet gateway application on %s:%d", self.host, self.bound_port)
        return app


# The default holder shared by BACnet drivers that are not given one.
GATEWAY_APPLICATION = BacnetApplicationHolder()
