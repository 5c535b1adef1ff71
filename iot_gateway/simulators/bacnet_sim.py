"""A simulated BACnet/IP device: a real bacpypes3 device application serving one object per site.yaml object.

It answers Who-Is, ReadProperty(Multiple), WriteProperty (commandable objects keep a priority array) and
SubscribeCOV (confirmed or unconfirmed). ``set_value`` is the device's own value: for commandable objects it
is the relinquish-default, so a client's command at any priority still wins, as on a real controller. Commands
and values survive stop()/start(), like a controller with non-volatile memory. Given an ``interface`` with a
prefix (a test subnet), it also hears broadcasts and announces itself with an I-Am at start, as devices do at boot.
A subscriber that stops answering COV notifications (a gateway that has gone) is normal for a device: logged once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from bacpypes3.app import Application
from bacpypes3.local.device import DeviceObject
from bacpypes3.primitivedata import Enumerated, ObjectIdentifier, PropertyIdentifier

from iot_gateway.drivers.bacnet_app import bind_udp, shutdown_application, wait_bound
from iot_gateway.drivers.bacnet_values import property_datatype, to_bacnet_value, to_point_value
from iot_gateway.simulators.bacnet_objects import OBJECT_CLASSES, initial_properties
from iot_gateway.site_fragment import UNIT_TEXT
from twin.points import Value
from twin.site.model import BACNET_COMMANDABLE, BacnetAddress, BacnetConnection, Device, Point, PointKind

log = logging.getLogger(__name__)

# The point's unit text -> BACnet engineering units (the reverse of the discovery's table, plus common spellings).
BACNET_UNITS = {text: units for units, text in UNIT_TEXT.items()} | {"degC": "degrees-celsius", "%": "percent"}
_INITIAL: dict[PointKind, Value] = {PointKind.ANALOG: 0.0, PointKind.BINARY: False, PointKind.MULTISTATE: 1,
                                    PointKind.TEXT: ""}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _SimPoint:
    point: Point
    address: BacnetAddress

    @property
    def attr(self) -> str:
        """The bacpypes3 attribute name of the property (present-value -> presentValue)."""
        return str(PropertyIdentifier(self.address.property).attr)

    @property
    def commanded(self) -> bool:
        return self.address.property == "present-value" and self.address.object_type in BACNET_COMMANDABLE


@dataclass(frozen=True, slots=True)
class CovSubscription:
    """A subscription the simulated device holds (for tests: who subscribed, and when it expires)."""

    object: str
    client: str
    confirmed: bool
    expires_in_s: float


class _SimApplication(Application):
    """bacpypes3's device application, with a quiet answer to a subscriber that stopped acknowledging."""

    def cov_confirmation(self, cov: Any, future: asyncio.Future[Any]) -> None:
        # bacpypes3 calls future.result() here, so every notification to a gateway that has gone logged a
        # traceback. A device just keeps notifying until the subscription's lifetime ends: say so once.
        silent: set[str] = self.__dict__.setdefault("_silent_subscribers", set())
        client = str(cov.client_addr)
        if future.cancelled() or future.exception() is not None:
            if client not in silent:
                silent.add(client)
                why = "no answer" if future.cancelled() else repr(future.exception())
                log.info("COV subscriber %s did not acknowledge a notification (%s); it may have gone, the "
                         "subscription ends with its lifetime", client, why)  # fmt: skip
        elif client in silent:
            silent.discard(client)
            log.info("COV subscriber %s acknowledges notifications again", client)


class _DeviceWithoutRpm(_SimApplication):
    """A device that predates ReadPropertyMultiple: bacpypes3 rejects services without a do_ handler."""

    do_ReadPropertyMultipleRequest = None


class BacnetDeviceSimulator:
    """Serves ``device`` (a site.yaml Device with a bacnet_ip connection) on its connection address."""

    def __init__(self, device: Device, *, vendor_identifier: int = 999, supports_rpm: bool = True,
                 interface: str | None = None, port: int | None = None, announce: bool = True) -> None:  # fmt: skip
        """``interface`` (host or host/prefix) and ``port`` override the connection's address (needed when the
        site gives the device by instance only; default port 47808). ``announce``: broadcast an I-Am at start."""
        if not isinstance(device.connection, BacnetConnection):
            raise ValueError(f"device {device.id}: a BACnet simulator needs a bacnet_ip connection")
        self.device = device
        self.connection = device.connection
        host, _, configured_port = (self.connection.address or "").rpartition(":")
        self.interface = interface or host
        if not self.interface:
            raise ValueError(f"device {device.id}: no address in the site: give the simulator an interface")
        self.host = self.interface.split("/")[0]
        self.port = port if port is not None else int(configured_port or 47808)
        self.vendor_identifier = vendor_identifier
        self.announce = announce
        self.supports_rpm = supports_rpm  # False: ReadPropertyMultiple is rejected (unrecognized-service)
        self._points: dict[str, _SimPoint] = {}
        self._objects: dict[str, list[_SimPoint]] = defaultdict(list)
        for point in device.points:
            if not isinstance(point.address, BacnetAddress):
                raise ValueError(f"device {device.id}: point {point.id} has no BACnet address")
            sim_point = _SimPoint(point, point.address)
            self._points[point.id] = sim_point
            self._objects[point.address.object].append(sim_point)
        self._values: dict[str, Value] = {pid: self._initial(sp) for pid, sp in self._points.items()}
        for point_id, sim_point in self._points.items():  # a point the device could not serve fails here, not later
            to_bacnet_value(sim_point.point, sim_point.address, self._values[point_id])
        self._priority_arrays: dict[str, list[Any]] = {}  # object -> priority array kept across restarts
        self._missing: set[str] = set()
        self._app: Application | None = None
        self._live: dict[str, Any] = {}  # object -> bacpypes3 object while running

    @property
    def running(self) -> bool:
        return self._app is not None

    async def start(self) -> None:
        """Serve on the connection's host:port; raises OSError naming the address when the port is taken."""
        if self._app is not None:
            raise RuntimeError(f"BACnet simulator {self.device.id} is already running")
        device_object = DeviceObject(
            objectIdentifier=("device", self.connection.device_instance),
            objectName=self.device.id,
            vendorIdentifier=self.vendor_identifier,
        )
        self._live = {name: self._build_object(name, points) for name, points in self._objects.items()}
        app_class = _SimApplication if self.supports_rpm else _DeviceWithoutRpm
        app = app_class.from_object_list([device_object])
        for name, obj in self._live.items():
            if name not in self._missing:
                app.add_object(obj)
        try:
            bind_udp(app, self.interface, self.port, key_prefix=f"simulator {self.device.id}: ")
            await wait_bound(app)
        except BaseException:
            await shutdown_application(app)
            self._live = {}
            raise
        self._app = app
        log.info("BACnet simulator %s (device %d) on %s:%d", self.device.id, self.connection.device_instance,
                 self.host, self.port)  # fmt: skip
        if self.announce and self.hears_broadcasts:
            app.i_am()  # the announcement a device broadcasts at boot: a client that knew it elsewhere re-binds

    @property
    def hears_broadcasts(self) -> bool:
        """Bound to a subnet (not loopback): Who-Is broadcasts reach it and its I-Am can be broadcast."""
        link = self._app.link_layers.get(ObjectIdentifier(("network-port", 1))) if self._app else None
        return link is not None and link.server.broadcast_address is not None

    async def stop(self) -> None:
        """Stop answering and release the UDP port; start() may follow."""
        app, self._app = self._app, None
        if app is None:
            return
        for name, obj in self._live.items():
            if any(sp.commanded for sp in self._objects[name]):
                self._priority_arrays[name] = list(obj.priorityArray)
        self._live = {}
        await shutdown_application(app)

    def set_value(self, point_id: str, value: Value) -> None:
        """What the device reports from now on (commandable objects: their relinquish-default)."""
        sim_point = self._point(point_id)
        encoded = to_bacnet_value(sim_point.point, sim_point.address, value)  # validates even while stopped
        self._values[point_id] = value
        obj = self._live.get(sim_point.address.object)
        if obj is None:
            return
        if sim_point.commanded:
            obj.relinquishDefault = encoded
            obj.recalculating()  # present-value follows unless a client command is active
        else:
            setattr(obj, sim_point.attr, encoded)  # bacpypes3 sends COV notifications on the change

    def get_value(self, point_id: str) -> Value:
        """What the device reports now, including clients' commands."""
        sim_point = self._point(point_id)
        obj = self._live.get(sim_point.address.object)
        if obj is not None:
            return to_point_value(sim_point.point, getattr(obj, sim_point.attr))
        if sim_point.commanded:
            for entry in self._priority_arrays.get(sim_point.address.object, []):
                if entry.null is None:
                    return to_point_value(sim_point.point, getattr(entry, entry._choice))
        return self._values[point_id]

    def command_priority(self, point_id: str) -> int | None:
        """The priority whose command sets the point's present-value now (None: relinquish-default rules)."""
        sim_point = self._point(point_id)
        obj = self._live.get(sim_point.address.object)
        entries = list(obj.priorityArray) if obj is not None and sim_point.commanded else []
        if obj is None and sim_point.commanded:
            entries = self._priority_arrays.get(sim_point.address.object, [])
        for priority, entry in enumerate(entries, start=1):
            if entry.null is None:
                return priority
        return None

    def set_object_missing(self, point_id: str, missing: bool = True) -> None:
        """Remove (or restore) the object of a point: reads of it answer unknown-object (bad-input tests)."""
        name = self._point(point_id).address.object
        if missing:
            self._missing.add(name)
        else:
            self._missing.discard(name)
        obj = self._live.get(name)
        if self._app is None or obj is None:
            return
        present = self._app.get_object_id(obj.objectIdentifier) is not None
        if missing and present:
            self._app.delete_object(obj)
        elif not missing and not present:
            self._app.add_object(obj)

    def cov_subscriptions(self) -> list[CovSubscription]:
        """The COV subscriptions the device currently holds."""
        if self._app is None:
            return []
        now = asyncio.get_running_loop().time()
        found = []
        for detection in self._app._cov_detections.values():
            object_id = detection.obj.objectIdentifier
            for cov in detection.cov_subscriptions:
                expires = cov.cancel_handle.when() - now if cov.cancel_handle else math.inf
                found.append(CovSubscription(f"{object_id[0]}:{object_id[1]}", str(cov.client_addr),
                                             bool(cov.confirmed), expires))  # fmt: skip
        return found

    # --- internals ---------------------------------------------------------------------------------------

    def _point(self, point_id: str) -> _SimPoint:
        try:
            return self._points[point_id]
        except KeyError:
            raise KeyError(f"device {self.device.id} has no point {point_id!r}") from None

    def _initial(self, sim_point: _SimPoint) -> Value:
        """Before any set_value: 0, False, state 1, or an enumeration's value 0 (quiet, closed, lock)."""
        point = sim_point.point
        if point.kind is PointKind.TEXT:
            datatype = property_datatype(sim_point.address.object_type, sim_point.address.property)
            if datatype is not None and issubclass(datatype, Enumerated):
                names: dict[str, int] = getattr(datatype, "_enum_map", {"": 0})
                return min(names, key=names.__getitem__)
        return _INITIAL[point.kind]

    def _build_object(self, name: str, points: list[_SimPoint]) -> Any:
        object_type, instance = name.split(":")
        states = max((len(sp.point.states or []) for sp in points), default=0)
        properties = initial_properties(object_type, states)
        for sim_point in points:
            encoded = to_bacnet_value(sim_point.point, sim_point.address, self._values[sim_point.point.id])
            properties[sim_point.attr] = encoded
            units = BACNET_UNITS.get(sim_point.point.unit)
            if units and object_type.startswith("analog") and sim_point.address.property == "present-value":
                properties["units"] = units  # what a discovery reads back (and guesses a Brick class from)
            if sim_point.commanded:
                properties["relinquishDefault"] = encoded
        if object_type in BACNET_COMMANDABLE and name in self._priority_arrays:
            properties["priorityArray"] = self._priority_arrays[name]
        object_name = points[0].point.id
        obj = OBJECT_CLASSES[object_type](
            objectIdentifier=ObjectIdentifier((object_type, int(instance))),
            objectName=object_name,
            **properties,
        )
        if object_type in BACNET_COMMANDABLE:
            obj.recalculating()  # present-value from a restored priority array
        return obj
