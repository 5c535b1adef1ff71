"""BACnet/IP driver: directed Who-Is, ReadPropertyMultiple polling, COV push, WriteProperty with priority.

A device is reached at the static address of its connection (a known address makes reconnects immediate, and
global Who-Is cannot find several devices sharing one loopback host), or, given by ``device_instance`` alone, found
by a ranged Who-Is broadcast and re-bound when it moves: an I-Am from another address, or silence at the old one
(the Poller reconnects, and connect broadcasts again). All drivers of a gateway share the site's one bacpypes3
application (bacnet_app.BacnetApplicationHolder). Value conversions are documented in bacnet_values.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from bacpypes3.apdu import AbortPDU, ErrorRejectAbortNack, RejectPDU
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier, PropertyIdentifier

from iot_gateway.driver import DeviceUnavailable, ReadingSink, WriteRejected
from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder, GatewayApplication
from iot_gateway.drivers.bacnet_cov import CovSubscriptions, describe, no_response, object_text
from iot_gateway.drivers.bacnet_reads import ReadPlan
from iot_gateway.drivers.bacnet_values import (
    ValueConversionError,
    decode_any,
    object_identifier,
    to_bacnet_value,
    to_point_value,
)
from twin.points import Quality, Reading, Value
from twin.site.model import BACNET_COMMANDABLE, BacnetAddress, BacnetConnection, Device, Point

log = logging.getLogger(__name__)
T = TypeVar("T")

WHO_IS_RESEND_S = 0.2


class DeviceMismatch(DeviceUnavailable):
    """Another device (another instance number) answers at the configured address: its values are not ours."""


@dataclass
class BacnetStats:
    """Counters for monitoring and tests (what the driver did since it was built)."""

    connects: int = 0
    rpm_requests: int = 0
    rp_requests: int = 0
    cov_notifications: int = 0
    writes: int = 0
    point_faults: int = 0  # transitions of a point into BAD


class BacnetIpDriver:
    """Driver for one BACnet device (iot_gateway.driver.PushDriver)."""

    def __init__(
        self,
        device: Device,
        *,
        application: BacnetApplicationHolder | None = None,
        confirmed_notifications: bool = True,
    ) -> None:
        if not isinstance(device.connection, BacnetConnection):
            raise ValueError(f"device {device.id}: the BACnet/IP driver needs a bacnet_ip connection")
        self.device = device
        self.connection: BacnetConnection = device.connection
        # Found by Who-Is when the site gives no address: the placeholder is replaced before any request.
        self.static = self.connection.address is not None
        try:
            self.address = Address(self.connection.address or "0.0.0.0:47808")
        except (RuntimeError, ValueError) as exc:  # bacpypes3 raises RuntimeError for names it cannot resolve
            raise ValueError(
                f"device {device.id}: BACnet address {self.connection.address!r} is not an IPv4 host:port ({exc})"
            ) from exc
        self._bound_to: Address | None = None  # where a device found by Who-Is was last found (for logging)
        self._moved_to: Address | None = None  # an I-Am came from here: re-bind before the next read
        # A driver given no application (a single-driver test or tool) gets its own on a free loopback port.
        self.holder = application or BacnetApplicationHolder()
        self.stats = BacnetStats()
        self.plan = ReadPlan(device)
        cov_objects = self.plan.cov_objects() if self.connection.cov else []
        self.cov = CovSubscriptions(
            device.id,
            self.address,
            cov_objects,
            lifetime_s=self.connection.cov_lifetime_s,
            timeout_s=self.connection.timeout_s,
            confirmed=confirmed_notifications,
            handler=self._on_cov,
        )
        self._app: GatewayApplication | None = None
        self._sink: ReadingSink | None = None
        self._reachable = False
        self._bad: dict[str, str] = {}  # point id -> why it is BAD (for logging changes only)
        # Each point's last COV reading and when it came (monotonic): a poll sent before that notification but
        # answered after it holds the older value, and publishing it last would undo the change (a false return to
        # normal, found by bench_alarms); such a poll reports the notification's reading instead.
        self._by_cov: dict[str, tuple[float, Reading]] = {}

    # --- Driver interface --------------------------------------------------------------------------------

    def set_sink(self, sink: ReadingSink) -> None:
        self._sink = sink

    async def connect(self) -> None:
        """Confirm the device instance with a directed Who-Is, then subscribe COV where the device agrees."""
        if self._app is not None:
            await self.close()
        self._app = await self.holder.acquire(self.connection.timeout_s)
        try:
            if self.static:
                await self._confirm_device(self._app)
            else:
                self._app.i_am_listeners[self.connection.device_instance] = self._on_i_am
                await self._locate(self._app)
            if self.cov.objects:
                await self.cov.start(self._app, on_unreachable=self._unreachable)
        except BaseException:
            await self.close()  # a failed connect holds nothing (the caller need not close)
            raise
        self.stats.connects += 1

    async def _confirm_device(self, app: GatewayApplication) -> None:
        timeout = self.connection.timeout_s
        i_ams = await self._who_is(app, timeout)
        if not i_ams:
            raise DeviceUnavailable(
                f"device {self.device.id}: no I-Am from {self.address} within {timeout:g} s"
            )
        found = int(i_ams[0].iAmDeviceIdentifier[1])
        if found != self.connection.device_instance:
            raise DeviceMismatch(
                f"device {self.device.id}: {self.address} answers as BACnet device {found}, "
                f"site.yaml expects {self.connection.device_instance}"
            )
        self.plan.max_apdu = int(i_ams[0].maxAPDULengthAccepted)
        self._reachable = True

    async def _locate(self, app: GatewayApplication) -> None:
        """Find the device by a ranged Who-Is broadcast for its instance; log a new binding once."""
        instance, timeout = self.connection.device_instance, self.connection.timeout_s
        i_ams = await self._who_is(app, timeout, instance=instance)
        if not i_ams:
            raise DeviceUnavailable(
                f"device {self.device.id}: no I-Am from BACnet device {instance} within {timeout:g} s "
                f"(Who-Is broadcast on {self.holder.network.interface})"
            )
        found: Address = i_ams[0].pduSource
        if self._bound_to is None:
            log.info("device %s: BACnet device %d found at %s", self.device.id, instance, found)
        elif found != self._bound_to:
            log.info("device %s: BACnet device %d moved from %s to %s: re-bound", self.device.id, instance,
                     self._bound_to, found)  # fmt: skip
        self.address = self._bound_to = found
        self.cov.address = found
        if self._moved_to is not None and self._moved_to == found:
            self._moved_to = None  # the answer to our own Who-Is
        self.plan.max_apdu = int(i_ams[0].maxAPDULengthAccepted)
        self._reachable = True

    def _on_i_am(self, instance: int, source: Address, _apdu: Any) -> None:
        """An I-Am of our device (a reboot announcement, another client's Who-Is): from elsewhere, it moved."""
        # (bacpypes3 Addresses cannot be compared with None: check for it first.)
        if self._app is None or source == self.address:
            return
        if self._moved_to is None or source != self._moved_to:
            self._moved_to = source

    async def _who_is(self, app: GatewayApplication, within_s: float, instance: int | None = None) -> list[Any]:
        """Directed Who-Is, re-sent every WHO_IS_RESEND_S: a device that boots during the wait answers at once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while (remaining := deadline - loop.time()) > 0:
            wait = min(WHO_IS_RESEND_S, remaining)
            # bacpypes3 resolves the future with [] after ``wait``; the extra second only guards against a hang.
            async with asyncio.timeout(wait + 1.0):
                if instance is None:
                    i_ams: list[Any] = await app.who_is(address=self.address, timeout=wait)
                else:
                    i_ams = await app.who_is(instance, instance, timeout=wait)
            if i_ams:
                return i_ams
        return []

    async def close(self) -> None:
        if self._app is None:
            return
        try:
            await self.cov.stop(cancel_on_device=self._reachable)
        finally:
            if self._app.i_am_listeners.get(self.connection.device_instance) == self._on_i_am:
                del self._app.i_am_listeners[self.connection.device_instance]
            self._app = None
            self._reachable = False
            await self.holder.release()

    async def read(self) -> list[Reading]:
        """Every point: RPM in chunks (ReadProperty if the device refuses RPM); errors -> BAD."""
        if self._moved_to is not None and not self.static:
            # Its I-Am came from another address: find it again (the old address may be another device's now).
            self._moved_to, self._reachable = None, False
            await self.connect()
        app = self._connected_app()
        asked_at = time.monotonic()
        results: dict[tuple[str, str], Any] = {}
        pending = list(self.plan.chunks())
        while pending and self.plan.use_rpm:
            chunk = pending.pop(0)
            try:
                self.stats.rpm_requests += 1
                answer = await self._ask(
                    "ReadPropertyMultiple", app.read_property_multiple(self.address, chunk.spec)
                )
            except (RejectPDU, AbortPDU) as refusal:
                self.plan.use_rpm = False
                log.warning("device %s: ReadPropertyMultiple refused (%s): reading object by object",
                            self.device.id, describe(refusal))  # fmt: skip
                pending.insert(0, chunk)
            except ErrorRejectAbortNack as error:
                # One error for the whole request (every object unknown, say): per-object reads tell which.
                log.debug(
                    "device %s: RPM error %s, reading chunk object by object", self.device.id, describe(error)
                )
                results.update(await self._read_singly(app, chunk.keys))
            else:
                for object_id, prop, _index, value in answer:
                    results[(object_text(object_id), str(prop))] = value
        for chunk in pending:
            results.update(await self._read_singly(app, chunk.keys))
        now = time.time()
        invalid = self.plan.invalid
        readings = [
            self._bad_reading(point, invalid[key], now)
            if key in invalid
            else self._reading(point, results.get(key), now)
            for key, point in self.plan.points()
        ]
        if self._by_cov:
            by_cov = self._by_cov
            newer = (by_cov.get(reading.point_id) for reading in readings)
            readings = [
                seen[1] if seen is not None and seen[0] > asked_at else reading  # the newer notification wins
                for reading, seen in zip(readings, newer, strict=True)
            ]
        return readings

    async def write(self, point: Point, value: Value) -> None:
        """WriteProperty; commandable present-values at the point's priority, None relinquishes it."""
        app = self._connected_app()
        address = point.address
        if not isinstance(address, BacnetAddress) or point.id not in self.plan.by_id:
            raise WriteRejected(f"device {self.device.id} has no BACnet point {point.id}")
        if not point.writable:
            raise WriteRejected(f"point {point.id} is not writable")
        invalid = self.plan.invalid.get((address.object, address.property))
        if invalid is not None:
            raise WriteRejected(f"point {point.id}: {invalid}")
        commandable = address.object_type in BACNET_COMMANDABLE and address.property == "present-value"
        if value is None and not commandable:
            raise WriteRejected(
                f"point {point.id}: only commandable objects can be relinquished (write None)"
            )
        if address.object_type.startswith("life-safety") and address.property == "present-value":
            raise WriteRejected(f"point {point.id}: a life-safety present-value is read-only in BACnet")
        try:
            encoded = to_bacnet_value(point, address, value)
        except ValueConversionError as exc:
            raise WriteRejected(str(exc)) from exc
        priority = address.priority if commandable else None
        request = app.write_property(
            self.address,
            object_identifier(address),
            PropertyIdentifier(address.property),
            encoded,
            None,
            priority,
        )
        self.stats.writes += 1
        try:
            await self._ask(f"WriteProperty {point.id}", request)
        except ErrorRejectAbortNack as error:
            raise WriteRejected(
                f"device {self.device.id} refused the write of {point.id}: {describe(error)}"
            ) from None

    async def read_priority_array(self, point: Point) -> list[Value]:
        """The 16 commands of a commandable point's object (index 0 = priority 1, None = free), as point values:
        the CommandRouter names who holds a point that did not take its write ("overridden at priority 3")."""
        app = self._connected_app()
        address = point.address
        if not isinstance(address, BacnetAddress) or address.object_type not in BACNET_COMMANDABLE:
            raise WriteRejected(f"point {point.id} is not a commandable BACnet object: it has no priority array")
        try:
            raw = await self._ask(
                f"ReadProperty {address.object} priority-array",
                app.read_property(self.address, object_identifier(address), PropertyIdentifier("priority-array")),
            )
        except ErrorRejectAbortNack as error:
            raise WriteRejected(
                f"device {self.device.id} refused the priority-array read of {point.id}: {describe(error)}"
            ) from None
        entries: list[Value] = []
        for entry in raw:
            choice = getattr(entry, "_choice", None)
            if choice is None or choice == "null" or getattr(entry, "null", None) is not None:
                entries.append(None)
                continue
            try:
                entries.append(to_point_value(point, getattr(entry, choice)))
            except ValueConversionError:
                entries.append(str(getattr(entry, choice)))  # a command this point cannot show: name it as text
        return entries

    # --- state for tests and monitoring ------------------------------------------------------------------

    @property
    def cov_renewal_due(self) -> float | None:
        """Event-loop time of the next COV renewal (None: no subscriptions running)."""
        return self.cov.renewal_due

    @property
    def cov_objects(self) -> set[str]:
        """Objects whose COV subscription the device accepted."""
        return {object_text(object_id) for object_id in self.cov.active}

    # --- internals ---------------------------------------------------------------------------------------

    def _connected_app(self) -> GatewayApplication:
        if self._app is None:
            raise DeviceUnavailable(f"device {self.device.id}: not connected")
        return self._app

    def _unreachable(self) -> None:
        self._reachable = False

    async def _ask(self, what: str, request: Awaitable[T]) -> T:
        """Await one confirmed request within timeout_s: silence -> DeviceUnavailable, answers pass."""
        timeout = self.connection.timeout_s
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that lands just as the
            # answer arrives, and the Poller task being stopped would then poll on forever.
            async with asyncio.timeout(timeout):
                answer = await request
        except TimeoutError:
            self._reachable = False
            raise DeviceUnavailable(
                f"device {self.device.id} ({self.address}) did not answer {what} within {timeout:g} s"
            ) from None
        except AbortPDU as abort:
            if no_response(abort):
                self._reachable = False
                raise DeviceUnavailable(
                    f"device {self.device.id} ({self.address}) did not answer {what}"
                ) from None
            raise
        if isinstance(
            answer, ErrorRejectAbortNack
        ):  # some bacpypes3 paths return the error instead of raising
            raise answer
        return answer

    async def _read_singly(
        self, app: GatewayApplication, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        results: dict[tuple[str, str], Any] = {}
        for object_name, prop in keys:
            object_type, instance = object_name.split(":")
            object_id = ObjectIdentifier((object_type, int(instance)))
            self.stats.rp_requests += 1
            try:
                results[(object_name, prop)] = await self._ask(
                    f"ReadProperty {object_name} {prop}", app.read_property(self.address, object_id, prop)
                )
            except ErrorRejectAbortNack as error:
                results[(object_name, prop)] = error
        return results

    def _reading(self, point: Point, raw: Any, ts: float) -> Reading:
        if isinstance(raw, ErrorRejectAbortNack) or hasattr(raw, "errorClass"):
            return self._bad_reading(point, describe(raw), ts)
        try:
            value = to_point_value(point, raw)
        except ValueConversionError as exc:
            return self._bad_reading(point, str(exc), ts)
        if self._bad.pop(point.id, None) is not None:
            log.info("device %s: point %s is GOOD again", self.device.id, point.id)
        return Reading(point.id, value, Quality.GOOD, ts)

    def _bad_reading(self, point: Point, why: str, ts: float) -> Reading:
        if self._bad.get(point.id) != why:
            if point.id not in self._bad:
                self.stats.point_faults += 1
            self._bad[point.id] = why
            log.warning("device %s: point %s is BAD: %s", self.device.id, point.id, why)
        return Reading.bad(point.id, ts, reason=why)

    def _on_cov(self, object_id: ObjectIdentifier, values: list[Any]) -> None:
        """A COV notification: readings for the points on the reported properties, straight to the sink."""
        self.stats.cov_notifications += 1
        now = time.time()
        arrived = time.monotonic()
        readings: list[Reading] = []
        for property_value in values:
            prop = property_value.propertyIdentifier
            points = self.plan.by_key.get((object_text(object_id), str(prop)), [])
            if not points:
                continue  # status-flags and the like: no point reads them
            try:
                raw = decode_any(object_id[0], prop, property_value.value)
            except (ValueConversionError, ValueError) as exc:
                readings.extend(self._bad_reading(point, str(exc), now) for point in points)
                continue
            readings.extend(self._reading(point, raw, now) for point in points)
        for reading in readings:
            self._by_cov[reading.point_id] = (arrived, reading)
        if readings and self._sink is not None:
            self._sink(readings)
