"""The Driver interface every protocol driver implements, and the errors a driver may raise."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from twin.points import Reading, Value
from twin.site.model import Device, Point


class DeviceUnavailable(Exception):
    """The device cannot be reached (connection refused, timeout, no route): its points become UNAVAILABLE."""


class WriteRejected(Exception):
    """The device refused a write (exception response, BACnet error, point not writable)."""


# Called by push drivers (MQTT, BACnet COV) for readings that arrive between polls.
ReadingSink = Callable[[Sequence[Reading]], None]


class Driver(Protocol):
    """One connection to one device. The Poller owns the schedule, timeouts and backoff; a driver only talks.

    ``read`` returns a Reading for every point of the device: GOOD values, or BAD for points the device answered
    with an error for. It raises DeviceUnavailable when the device as a whole cannot be reached.
    """

    device: Device

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def read(self) -> list[Reading]: ...

    async def write(self, point: Point, value: Value) -> None: ...


class PushDriver(Driver, Protocol):
    """A driver that also receives values between polls (MQTT messages, BACnet COV notifications)."""

    def set_sink(self, sink: ReadingSink) -> None: ...
