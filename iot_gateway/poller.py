"""The Poller: one per device connection; drift-free schedule, timeouts, reconnect backoff, quality and comm loss."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from iot_gateway.driver import DeviceUnavailable, Driver
from twin.bus import PointBus
from twin.clock import Clock
from twin.points import PointUpdate, Quality, Reading, Value
from twin.site.model import MqttConnection, Point
from twin.tasks import raise_if_cancelled

log = logging.getLogger(__name__)

# Push-only connections (MQTT) have no poll period: the Poller still ticks this often to check liveness and age.
PUSH_TICK_S = 1.0
DEFAULT_TIMEOUT_S = 5.0
# Exceptions a driver must never swallow or turn into a quality: they end the task.
_FATAL = (asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit)


class DeviceState(StrEnum):
    STARTING = "starting"  # no attempt has finished yet
    ONLINE = "online"
    UNAVAILABLE = "unavailable"  # cannot be reached: points UNAVAILABLE, comm_lost True
    FAULTY = "faulty"  # reachable, but the driver failed unexpectedly: points BAD


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt ``n`` (1-based): ``fast_attempts`` quick retries so a rebooting device is
    back within about one period, then doubling up to ``maximum`` so a dead device is not hammered."""

    first: float = 0.5
    maximum: float = 30.0
    fast_attempts: int = 5

    def delay(self, attempt: int) -> float:
        if attempt <= self.fast_attempts:
            return self.first
        return min(self.maximum, self.first * 2.0 ** (attempt - self.fast_attempts))


# States in which comm_lost is (or is about to be) True: a GOOD value received ends them.
_COMM_LOST_STATES = frozenset({DeviceState.STARTING, DeviceState.UNAVAILABLE})


def _same(a: Value, b: Value) -> bool:
    """Value equality for the change filter: NaN equals NaN, True is not 1."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if isinstance(exc, DeviceUnavailable) and text else f"{type(exc).__name__}: {text}".rstrip(": ")


REASON_MAX = 119  # a reason is a short line beside the quality, not a log entry


def short_reason(text: str, device_id: str) -> str:
    """``text`` for a point's reason: without the "device X (host:port):" prefix drivers put in their errors (the
    point already names its device), cut to REASON_MAX characters."""
    head, sep, tail = text.partition(": ")
    if sep and device_id in head and tail:
        text = tail
    else:  # "device X (10.0.0.7:47808) did not answer ..." has no colon after its prefix
        prefix = f"device {device_id} "
        at = text.find(prefix)
        if 0 <= at <= len("modbus "):
            rest = text[at + len(prefix) :]
            if rest.startswith("(") and ") " in rest:
                rest = rest[rest.index(") ") + 2 :]
            text = rest or text
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


class Poller:
    """Reads one device on a fixed schedule and publishes PointUpdates on change of value or quality.

    The schedule is ``anchor + k * period`` on the injected clock, so polls never drift; a poll that overruns skips
    the slots it missed instead of bursting to catch up. Every driver failure becomes a quality, never a crash.
    ``phase`` (a fraction of the period) moves every poll after the first one: the Gateway spreads its pollers
    over the period, because 200 devices connected at once and polled in the same instant every second kept the
    event loop busy for a burst that made the last polls of it 160-270 ms late.
    """

    def __init__(
        self,
        driver: Driver,
        bus: PointBus,
        clock: Clock,
        *,
        period: float | None = None,
        phase: float = 0.0,
        timeout: float | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        device = driver.device
        connection = device.connection
        if connection is None:
            raise ValueError(f"device {device.id} has no connection: nothing to poll")
        self.driver = driver
        self.device = device
        self.bus = bus
        self.clock = clock
        self.period: float = period or getattr(connection, "poll_interval_s", None) or PUSH_TICK_S
        if not 0.0 <= phase < 1.0:
            raise ValueError(f"device {device.id}: poll phase must be a fraction of the period in [0, 1), got {phase}")
        self.phase = phase
        self.timeout: float = timeout or getattr(connection, "timeout_s", None) or DEFAULT_TIMEOUT_S
        # Drivers time out each request at ``timeout``; this guard around a whole call is the backstop for a
        # driver that hangs anyway (a read may be several requests, so it gets twice the request timeout).
        self.guard: float = 2.0 * self.timeout
        self.backoff = backoff or Backoff(first=min(0.5, self.period))
        self.points: dict[str, Point] = {point.id: point for point in device.points}
        default_stale = connection.stale_after_s if isinstance(connection, MqttConnection) else None
        stale_after = {p.id: p.stale_after_s or default_stale for p in device.points}
        # Only points with a limit can go stale: the others need no refresh times and no check at every poll.
        self._stale_after: dict[str, float] = {pid: limit for pid, limit in stale_after.items() if limit is not None}
        self.state = DeviceState.STARTING
        self.polls = 0
        self._connected = False
        self._connecting = False  # inside driver.connect(): COV/MQTT values may already arrive
        self._down_since: float | None = None
        self._published: dict[str, PointUpdate] = {}
        self._refreshed: dict[str, tuple[float, float]] = {}  # point -> (source_ts, monotonic when it arrived)
        self._unknown_logged: set[str] = set()
        self.last_error = ""  # why the last read failed (a failed write read-back names it)
        self._lock = asyncio.Lock()  # one request at a time on the connection: polls and writes take turns
        set_sink = getattr(driver, "set_sink", None)
        if callable(set_sink):
            set_sink(self.accept)

    @property
    def comm_point_id(self) -> str:
        return self.device.comm_point_id

    @property
    def connected(self) -> bool:
        return self._connected

    # --- the task ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until cancelled; always closes the driver on the way out."""
        try:
            await self._loop()
        finally:
            await self._close_driver()

    async def _loop(self) -> None:
        attempt = 0
        anchor = self.clock.monotonic()
        while True:
            raise_if_cancelled()  # a driver library may have swallowed the cancel that stops this poller
            if not self._connected:
                # Retry delays count from the start of the failed attempt, so an attempt that waited out its
                # timeout does not push recovery later: a device back up is found within one delay.
                attempt_started = self.clock.monotonic()
                if await self._connect():
                    attempt = 0
                    anchor = self.clock.monotonic() + self.phase * self.period  # the first poll is at once
                else:
                    attempt += 1
                    await self._sleep_until(attempt_started + self.backoff.delay(attempt))
                    continue
            poll_started = self.clock.monotonic()
            await self.poll_once()
            if not self._connected:  # the poll lost the device: first retry after the quick delay
                attempt = 1
                await self._sleep_until(poll_started + self.backoff.delay(attempt))
                continue
            now = self.clock.monotonic()
            slot = math.floor((now - anchor) / self.period) + 1  # the next slot not yet started: skip missed ones
            await self.clock.sleep(anchor + slot * self.period - now)

    async def _sleep_until(self, deadline: float) -> None:
        await self.clock.sleep(max(0.0, deadline - self.clock.monotonic()))

    async def _connect(self) -> bool:
        self._connecting = True
        try:
            async with asyncio.timeout(self.guard):
                await self.driver.connect()
        except _FATAL:
            raise
        except TimeoutError:
            await self._close_driver()
            self._mark_unavailable(f"no answer to connect within {self.guard:g} s")
            return False
        except BaseException as exc:  # some library errors derive from BaseException only
            await self._close_driver()
            self._mark_unavailable(_reason(exc), exc)
            return False
        finally:
            self._connecting = False
        # Online only once the device has sent something (the first poll, or a pushed value): a device that
        # accepts the connection but never answers must not flap comm_lost at every reconnect attempt.
        self._connected = True
        return True

    async def _close_driver(self) -> None:
        self._connected = False
        try:
            async with asyncio.timeout(self.guard):
                await self.driver.close()
        except _FATAL:
            raise
        except BaseException as exc:
            log.debug("device %s: close failed: %s", self.device.id, _reason(exc))

    async def poll_once(self) -> list[Reading] | None:
        """One read of the whole device, its results published; failures become qualities. Returns the readings
        (None when the read failed: ``last_error`` says why), so a write can be confirmed by reading back."""
        result: list[Reading] | None = None
        async with self._lock:
            if not self._connected:
                self.last_error = f"device {self.device.id} is unavailable"
                return None
            self.polls += 1
            try:
                async with asyncio.timeout(self.guard):
                    readings = await self.driver.read()
            except _FATAL:
                raise
            except TimeoutError:
                await self._close_driver()
                self._mark_unavailable(f"no answer within {self.guard:g} s")
            except DeviceUnavailable as exc:
                await self._close_driver()
                self._mark_unavailable(_reason(exc))
            except BaseException as exc:
                self._mark_faulty(exc)
            else:
                self._mark_online()
                self.accept(readings)
                result = readings
        self.check_stale()
        return result

    async def write(self, point: Point, value: Value) -> Reading:
        """Write through the driver between polls, then read back so the bus shows what the device now reports;
        returns the point's read-back reading (DeviceUnavailable when the device did not answer it)."""
        async with self._lock:
            if not self._connected:
                raise DeviceUnavailable(f"device {self.device.id} is unavailable")
            try:
                async with asyncio.timeout(self.guard):
                    await self.driver.write(point, value)
            except TimeoutError as exc:
                raise DeviceUnavailable(
                    f"device {self.device.id} did not answer the write of {point.id} within {self.guard:g} s"
                ) from exc
        return await self.read_back(point)

    async def read_back(self, point: Point) -> Reading:
        """Read the device now (one poll, published as usual) and return ``point``'s reading."""
        readings = await self.poll_once()
        if readings is None:
            raise DeviceUnavailable(f"read-back of {point.id} failed: {self.last_error}")
        for reading in readings:
            if reading.point_id == point.id:
                return reading
        raise DeviceUnavailable(f"read-back of {point.id} failed: the device's read has no value for it")

    async def priority_array(self, point: Point) -> list[Value] | None:
        """The BACnet priority array of a commandable point (index 0 = priority 1; None entries are free), read
        between polls; None when the driver has no priority arrays (Modbus, MQTT)."""
        read = getattr(self.driver, "read_priority_array", None)
        if not callable(read):
            return None
        async with self._lock:
            if not self._connected:
                raise DeviceUnavailable(f"device {self.device.id} is unavailable")
            try:
                async with asyncio.timeout(self.guard):
                    entries: list[Value] = await read(point)
            except TimeoutError as exc:
                raise DeviceUnavailable(
                    f"device {self.device.id} did not answer the priority-array read of {point.id}"
                ) from exc
        return entries

    # --- publishing --------------------------------------------------------------------------------------

    def accept(self, readings: Sequence[Reading]) -> None:
        """Publish readings that change a value or quality (also the sink of push drivers), in order.

        This runs for every value of every poll, so it is written for the common case: a GOOD reading whose
        value, quality and reason are those last published is dropped before any PointUpdate is made, and the
        changed ones go to the bus as one batch (publish_many)."""
        now_mono = self.clock.monotonic()
        ts = self.clock.time()
        points, published, stale_after, refreshed = self.points, self._published, self._stale_after, self._refreshed
        good = Quality.GOOD
        changed: list[PointUpdate] = []
        for reading in readings:
            point_id = reading.point_id
            if point_id not in points:
                if point_id not in self._unknown_logged:
                    self._unknown_logged.add(point_id)
                    log.warning("device %s: driver reported unknown point %s (ignored)", self.device.id, point_id)
                continue
            quality = reading.quality
            if quality is good:
                if self.state in _COMM_LOST_STATES and (self._connected or self._connecting):
                    # A value pushed right after a reconnect (COV, MQTT) proves communication before the first
                    # poll does: comm_lost False goes out first, so the comm-loss point never lags the values.
                    self._flush(changed)
                    self._mark_online()
                if point_id in stale_after:  # refresh times matter only to points that can go stale
                    previous = refreshed.get(point_id)
                    # A cached reading re-delivered with the same source time is not fresh data.
                    if previous is None or previous[0] != reading.source_ts:
                        refreshed[point_id] = (reading.source_ts, now_mono)
                    elif self._is_stale(point_id, now_mono):
                        continue
            last = published.get(point_id)
            value = reading.value
            if (
                last is not None
                and last.quality is quality
                and ((last.value == value and type(last.value) is type(value)) or _same(last.value, value))
                and last.reason == reading.reason
            ):
                continue  # what _publish() would drop, before a PointUpdate is made for it
            update = PointUpdate(point_id, value, quality, reading.source_ts, ts, reading.reason)
            published[point_id] = update
            changed.append(update)
        self._flush(changed)

    def _flush(self, changed: list[PointUpdate]) -> None:
        """Publish accept()'s pending updates (before anything else goes out, to keep the bus in order)."""
        if changed:
            self.bus.publish_many(changed)
            changed.clear()

    def check_stale(self) -> None:
        """Turn GOOD values that were not refreshed within the point's stale_after_s into STALE."""
        if not self._stale_after:
            return
        now_mono = self.clock.monotonic()
        ts = self.clock.time()
        for point_id, last in list(self._published.items()):
            if last.quality is Quality.GOOD and self._is_stale(point_id, now_mono):
                # The limit, not the age: the reason must not change at every check, or STALE would re-publish.
                reason = f"no update for more than {self._stale_after[point_id]:g} s"
                self._publish(PointUpdate(point_id, last.value, Quality.STALE, last.source_ts, ts, reason))

    def _is_stale(self, point_id: str, now_mono: float) -> bool:
        limit = self._stale_after.get(point_id)
        refreshed = self._refreshed.get(point_id)
        return limit is not None and refreshed is not None and now_mono - refreshed[1] > limit

    def _publish(self, update: PointUpdate) -> None:
        last = self._published.get(update.point_id)
        if (
            last is not None
            and last.quality is update.quality
            and _same(last.value, update.value)
            and last.reason == update.reason  # a new reason is news even when value and quality stand
        ):
            return
        self._published[update.point_id] = update
        self.bus.publish(update)

    def _publish_comm(self, lost: bool) -> None:
        last = self._published.get(self.comm_point_id)
        if last is not None and last.value is lost and last.quality is Quality.GOOD and last.reason is None:
            return  # what _publish() would drop: every poll confirms the link, a PointUpdate only when it changes
        now = self.clock.time()
        self._publish(PointUpdate(self.comm_point_id, lost, Quality.GOOD, now, now))

    def _mark_all(self, quality: Quality, reason: str) -> None:
        now = self.clock.time()
        reason = short_reason(reason, self.device.id)
        for point_id in self.points:
            self._publish(PointUpdate(point_id, None, quality, now, now, reason))

    # --- state changes (logged once each) ----------------------------------------------------------------

    def _mark_online(self) -> None:
        if self.state is not DeviceState.ONLINE:
            if self.state is DeviceState.UNAVAILABLE and self._down_since is not None:
                down = self.clock.monotonic() - self._down_since
                log.info("device %s recovered after %.1f s", self.device.id, down)
            elif self.state is DeviceState.FAULTY:
                log.info("device %s recovered from driver error", self.device.id)
            self.state = DeviceState.ONLINE
            self._down_since = None
        self._publish_comm(False)

    def _mark_unavailable(self, reason: str, exc: BaseException | None = None) -> None:
        self.last_error = reason
        if self.state is not DeviceState.UNAVAILABLE:
            unexpected = exc is not None and not isinstance(exc, DeviceUnavailable | OSError)
            log.warning("device %s unavailable: %s", self.device.id, reason, exc_info=exc if unexpected else None)
            self.state = DeviceState.UNAVAILABLE
            self._down_since = self.clock.monotonic()
        self._mark_all(Quality.UNAVAILABLE, reason)
        self._publish_comm(True)

    def _mark_faulty(self, exc: BaseException) -> None:
        self.last_error = f"driver error: {_reason(exc)}"
        if self.state is not DeviceState.FAULTY:
            log.error("device %s: driver error, points BAD: %s", self.device.id, _reason(exc), exc_info=exc)
            self.state = DeviceState.FAULTY
        self._mark_all(Quality.BAD, f"driver error: {_reason(exc)}")
