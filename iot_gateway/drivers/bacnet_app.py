"""The gateway's one bacpypes3 Application for the whole site (site.yaml ``bacnet:``), its sockets and link layer.

bacpypes3 binds its UDP endpoints with SO_REUSEPORT and retries a failing bind forever in a background task; a
second program on a taken port would then silently share it. We bind the sockets ourselves (no SO_REUSEPORT) and
hand them to the link layer, so a taken port or a foreign address fails at once with an error naming the site key,
and stop() really frees the port. On a subnet the application has two sockets, as BACnet/IP needs on Linux: the
unicast one on the interface address (it also sends, with SO_BROADCAST) and one on the subnet's broadcast address
that receives Who-Is / I-Am broadcasts (SO_REUSEADDR, so several simulated devices of one test host can listen).
With ``foreign_device`` the application registers with a BBMD and broadcasts through it (Annex J.5).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import functools
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

from bacpypes3.apdu import (
    ConfirmedCOVNotificationRequest,
    IAmRequest,
    SimpleAckPDU,
    UnconfirmedCOVNotificationRequest,
)
from bacpypes3.app import Application
from bacpypes3.comm import bind
from bacpypes3.errors import ServicesError
from bacpypes3.ipv4 import IPv4DatagramServer
from bacpypes3.ipv4.bvll import BVLLCodec
from bacpypes3.ipv4.service import BIPForeign, BIPNormal, UDPMultiplexer
from bacpypes3.local.device import DeviceObject
from bacpypes3.pdu import Address, IPv4Address
from bacpypes3.primitivedata import ObjectIdentifier

from twin.site.model import BacnetNetwork

log = logging.getLogger(__name__)

# The gateway's own device instance by default: the highest legal one, unlikely to clash with a field device.
GATEWAY_DEVICE_INSTANCE = 4_194_302
BIND_TIMEOUT_S = 2.0
# Re-register with the BBMD this long before the time-to-live ends (at most half of it).
REREGISTER_MARGIN_S = 60.0
SIOCGIFADDR = 0x8915

# Called with the monitored object and the notification's list of BACnet PropertyValue.
CovHandler = Callable[[ObjectIdentifier, list[Any]], None]
# Called with every I-Am the application receives (the device instance, where it came from, the request).
IAmListener = Callable[[int, Address, IAmRequest], None]


class BacnetConfigError(ValueError, OSError):
    """A ``bacnet:`` setting that cannot work on this host; the message names the site key. A ValueError (bad
    configuration) and an OSError (what the host refused), so callers catching either see it."""


def local_ipv4_addresses() -> list[str]:
    """The primary IPv4 address of every interface of this host (network namespace), for error messages."""
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # an interface without IPv4
            found.append(f"{name} {socket.inet_ntoa(answer[20:24])}")
    return found


def _bind(sock: socket.socket, host: str, port: int, key_prefix: str) -> None:
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRNOTAVAIL:
            have = ", ".join(local_ipv4_addresses()) or "none"
            raise BacnetConfigError(
                f"{key_prefix}interface: {host} is not an address of this host (its addresses: {have})"
            ) from None
        if exc.errno == errno.EADDRINUSE:
            raise BacnetConfigError(
                f"{key_prefix}port: UDP {host}:{port} is in use by another program (another gateway, a BACnet "
                f"tool?); stop it or choose another port"
            ) from None
        raise BacnetConfigError(f"{key_prefix}interface: cannot bind UDP {host}:{port}: {exc.strerror}") from None


def open_sockets(
    interface: str, port: int, *, broadcast: bool = True, key_prefix: str = "bacnet."
) -> tuple[socket.socket, socket.socket | None, IPv4Address]:
    """The unicast socket on the interface address, the broadcast listener (None on loopback, a /31 or /32, or
    when not wanted) and the bacpypes3 address (with the netmask, so LocalBroadcast goes to the subnet)."""
    network = ipaddress.IPv4Interface(interface if "/" in interface else f"{interface}/32")
    host = str(network.ip)
    unicast = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _bind(unicast, host, port, key_prefix)
    unicast.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    unicast.setblocking(False)
    bound_port: int = unicast.getsockname()[1]
    subnet_broadcast = network.network.broadcast_address
    listener: socket.socket | None = None
    if broadcast and not network.ip.is_loopback and network.network.prefixlen < 31:
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((str(subnet_broadcast), bound_port))
        except OSError as exc:
            listener.close()
            unicast.close()
            raise BacnetConfigError(
                f"{key_prefix}interface: cannot listen for broadcasts on {subnet_broadcast}:{bound_port}: "
                f"{exc.strerror}"
            ) from None
        listener.setblocking(False)
        address = IPv4Address(f"{host}/{network.network.prefixlen}:{bound_port}")
    else:
        # No netmask: bacpypes3 then has no broadcast address and sends nothing to one.
        address = IPv4Address(f"{host}:{bound_port}")
    return unicast, listener, address


def probe_network(network: BacnetNetwork) -> None:
    """Bind the site's BACnet sockets once and free them: BacnetConfigError names the key that cannot work."""
    if network.foreign_device is not None:
        _check_bbmd(network.foreign_device.bbmd)
    unicast, listener, _ = open_sockets(network.interface, network.port, broadcast=network.foreign_device is None)
    unicast.close()
    if listener is not None:
        listener.close()


def _check_bbmd(bbmd: str) -> IPv4Address:
    try:
        return IPv4Address(bbmd)
    except (ValueError, RuntimeError) as exc:
        raise BacnetConfigError(f"bacnet.foreign_device.bbmd: {bbmd!r} is not an IPv4 host:port ({exc})") from None


def _datagram_server(address: IPv4Address, unicast: socket.socket, listener: socket.socket | None
                     ) -> IPv4DatagramServer:  # fmt: skip
    """bacpypes3's datagram server on our sockets (it would give a bind_socket to its broadcast endpoint too)."""
    server = IPv4DatagramServer(address, no_broadcast=True, bind_socket=unicast)
    if listener is not None:
        loop = asyncio.get_running_loop()
        server.broadcast_address = address.addrBroadcastTuple
        task = loop.create_task(
            server.retrying_create_datagram_endpoint(loop, address.addrBroadcastTuple, bind_socket=listener)
        )
        task.add_done_callback(functools.partial(server.set_broadcast_transport_protocol, address))
        server._transport_tasks.append(task)
    return server


class NormalLink(BIPNormal):
    """A plain BACnet/IP link layer (Annex J) on our own sockets."""

    def __init__(self, server: IPv4DatagramServer) -> None:
        BIPNormal.__init__(self)
        self.codec = BVLLCodec()
        self.multiplexer = UDPMultiplexer()
        self.server = server
        bind(self, self.codec, self.multiplexer.annexJ)
        bind(self.multiplexer, self.server)

    def close(self) -> None:
        self.server.close()


class ForeignLink(BIPForeign):
    """A foreign-device link layer on our own socket that re-registers before the time-to-live ends (bacpypes3
    waits for the TTL itself and leans on the BBMD's 30 s grace, J.5.2.3) and logs registration changes once."""

    def __init__(self, server: IPv4DatagramServer) -> None:
        BIPForeign.__init__(self)
        self.codec = BVLLCodec()
        self.multiplexer = UDPMultiplexer()
        self.server = server
        self.registrations = 0  # successful registrations (the first and every renewal)
        bind(self, self.codec, self.multiplexer.annexJ)
        bind(self.multiplexer, self.server)

    @property
    def registered(self) -> bool:
        return self.bbmdRegistrationStatus == 0

    def _start_tracking_registration(self) -> None:
        super()._start_tracking_registration()
        ttl = float(self.bbmdTimeToLive or 0)
        handle: asyncio.Handle | None = getattr(self, "_registration_handle", None)
        if handle is not None:
            handle.cancel()  # bacpypes3's renewal at the TTL itself
        delay = ttl - min(ttl / 2, REREGISTER_MARGIN_S)
        self._registration_handle = asyncio.get_running_loop().call_later(delay, self._start_registration)
        if self.registrations == 0:
            log.info("BACnet: registered as a foreign device with BBMD %s (TTL %g s, renewed every %g s)",
                     self.bbmdAddress, ttl, delay)  # fmt: skip
        self.registrations += 1

    def _registration_expired(self) -> None:
        log.warning("BACnet: foreign-device registration with BBMD %s has lapsed (no answer); retrying",
                    self.bbmdAddress)  # fmt: skip
        address, ttl = self.bbmdAddress, self.bbmdTimeToLive
        super()._registration_expired()
        self.registrations = 0
        if address is not None and ttl:
            self.register(address, ttl)

    async def unregister_now(self, timeout_s: float) -> None:
        """Tell the BBMD to drop our entry (TTL 0) and stop renewing."""
        address = self.bbmdAddress
        self._stop_tracking_registration()
        self.bbmdRegistrationStatus = -2
        if address is not None:
            try:
                async with asyncio.timeout(timeout_s):
                    await self._stop_registration(address)
            except (TimeoutError, OSError) as exc:
                log.debug("BACnet: could not unregister from BBMD %s: %s", address, exc)

    def close(self) -> None:
        self._stop_tracking_registration()
        self.server.close()


def bind_udp(app: Application, interface: str, port: int, *, broadcast: bool = True,
             key_prefix: str = "bacnet.") -> int:  # fmt: skip
    """Give ``app`` a BACnet/IP link layer on interface (``host`` or ``host/prefix``) and port (0: a free port);
    returns the bound port. Raises BacnetConfigError naming ``{key_prefix}interface`` / ``{key_prefix}port``."""
    unicast, listener, address = open_sockets(interface, port, broadcast=broadcast, key_prefix=key_prefix)
    link_layer = NormalLink(_datagram_server(address, unicast, listener))
    app.nsap.bind(link_layer, address=address)
    app.link_layers[ObjectIdentifier(("network-port", 1))] = link_layer
    return int(address.addrTuple[1])


def bind_foreign(app: Application, interface: str, port: int, bbmd: str, ttl_s: int) -> ForeignLink:
    """Give ``app`` a foreign-device link layer and start registering with ``bbmd`` (host:port)."""
    bbmd_address = _check_bbmd(bbmd)
    unicast, _, address = open_sockets(interface, port, broadcast=False)
    link_layer = ForeignLink(_datagram_server(address, unicast, None))
    app.nsap.bind(link_layer, address=address)
    app.link_layers[ObjectIdentifier(("network-port", 1))] = link_layer
    link_layer.register(bbmd_address, ttl_s)
    return link_layer


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
    for layer in app.link_layers.values():
        if isinstance(layer, ForeignLink):
            await layer.unregister_now(0.5)
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
        self.i_am_listeners: dict[int, IAmListener] = {}  # by device instance (drivers of devices found by Who-Is)
        self._next_process_id = 1

    async def do_IAmRequest(self, apdu: IAmRequest) -> None:
        await super().do_IAmRequest(apdu)
        instance = int(apdu.iAmDeviceIdentifier[1])
        listener = self.i_am_listeners.get(instance)
        if listener is not None:
            listener(instance, apdu.pduSource, apdu)

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
    """The site's one GatewayApplication, configured by site.yaml ``bacnet:``. ``open()`` creates and binds it at
    start (errors name the site key) and keeps it until ``close()``; drivers ``acquire``/``release`` it. Without
    ``open()`` (tests of a single driver) the first acquire creates it and the last release closes it."""

    def __init__(self, network: BacnetNetwork | None = None, *, port: int | None = None) -> None:
        # Without a site: loopback on a free port, so tests and tools never collide.
        self.network = network or BacnetNetwork(port=0)
        if port is not None:
            self.network = self.network.model_copy(update={"port": port})
        self._app: GatewayApplication | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._users = 0
        self._pinned = False
        self.bound_port: int | None = None
        self.foreign: ForeignLink | None = None

    @property
    def users(self) -> int:
        return self._users

    @property
    def application(self) -> GatewayApplication | None:
        return self._app

    async def open(self) -> GatewayApplication:
        """Create and bind the application now and keep it until close(); BacnetConfigError if it cannot be."""
        app = await self._ensure()
        self._pinned = True
        return app

    async def acquire(self, timeout_s: float) -> GatewayApplication:
        """The shared application (created if needed); every acquire needs one release."""
        app = await self._ensure()
        self._users += 1
        # No bacpypes3 retries: the Poller's next poll is the retry, and each request ends within its timeout.
        wanted_ms = max(int(timeout_s * 1000), int(app.device_object.apduTimeout))
        app.device_object.apduTimeout = wanted_ms
        return app

    async def release(self) -> None:
        if self._users == 0:
            return
        self._users -= 1
        if self._users == 0 and not self._pinned:
            await self.close()

    async def close(self) -> None:
        """Shut the application down now, whoever still uses it."""
        app, self._app, self._users, self.bound_port, self.foreign = self._app, None, 0, None, None
        self._pinned = False
        if app is not None and self._loop is asyncio.get_running_loop():
            await shutdown_application(app)

    async def _ensure(self) -> GatewayApplication:
        loop = asyncio.get_running_loop()
        if self._app is not None and self._loop is not loop:
            # Its loop is gone (a test or runtime that never released it): its sockets died with it.
            log.warning("dropping a BACnet application left over from another event loop")
            self._app, self._users, self._pinned = None, 0, False
        if self._app is None:
            app = self._create()
            try:
                await wait_bound(app)
            except BaseException:
                await shutdown_application(app)
                self.bound_port = self.foreign = None
                raise
            self._app, self._loop = app, loop
        return self._app

    def _create(self) -> GatewayApplication:
        network = self.network
        device = DeviceObject(
            objectIdentifier=("device", network.device_instance),
            objectName=network.device_name,
            apduTimeout=1000,
            numberOfApduRetries=0,
        )
        app = GatewayApplication.from_object_list([device])
        assert isinstance(app, GatewayApplication)
        foreign = network.foreign_device
        if foreign is not None:
            self.foreign = bind_foreign(app, network.interface, network.port, foreign.bbmd, foreign.ttl_s)
            self.bound_port = int(self.foreign.server.local_address[1])
        else:
            self.bound_port = bind_udp(app, network.interface, network.port)
        via = f", foreign device of BBMD {foreign.bbmd}" if foreign else ""
        log.info("BACnet gateway application (device %d) on %s port %d%s", network.device_instance,
                 network.interface, self.bound_port, via)  # fmt: skip
        return app
