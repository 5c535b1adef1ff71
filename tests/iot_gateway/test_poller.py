"""Poller: drift-free schedule, skipped slots and backoff on a ManualClock; qualities against a real TCP peer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from iot_gateway.driver import DeviceUnavailable, ReadingSink
from iot_gateway.poller import Backoff, DeviceState, Poller
from tests.peers import free_port, wait_until
from twin.bus import PointBus
from twin.clock import ManualClock, SystemClock
from twin.points import Quality, Reading, Value
from twin.site.model import Device, Point

GUID = "0" * 22


def make_device(
    device_id: str = "meter",
    points: Sequence[str] = ("voltage", "current"),
    *,
    port: int = 502,
    period: float = 1.0,
    timeout: float = 1.0,
    stale_after_s: float | None = None,
) -> Device:
    """A Modbus-typed device; the in-test drivers below ignore the addresses and use their own wire format."""
    return Device.model_validate(
        {
            "id": device_id,
            "name": {"zh": "电表", "en": "Meter"},
            "kind": "power_meter",
            "zone": "power-room",
            "ifc_guid": GUID,
            "connection": {
                "type": "modbus_tcp", "host": "127.0.0.1", "port": port,
                "poll_interval_s": period, "timeout_s": timeout,
            },
            "points": [
                {
                    "id": f"{device_id}.{name}", "name": {"zh": name, "en": name}, "kind": "analog",
                    "brick": "Voltage_Sensor", "address": {"type": "modbus", "table": "holding", "offset": i},
                    "stale_after_s": stale_after_s, "writable": True,
                }
                for i, name in enumerate(points)
            ],
        }
    )  # fmt: skip


class ScriptedDriver:
    """An in-memory driver for schedule tests on a ManualClock: records when it is called, fails on demand."""

    def __init__(self, device: Device, clock: ManualClock) -> None:
        self.device = device
        self.clock = clock
        self.connects: list[float] = []
        self.reads: list[float] = []
        self.reachable = True
        self.read_error: BaseException | None = None
        self.read_duration = 0.0
        self.values: dict[str, Value] = {p.id: 1.0 for p in device.points}
        self.sink: ReadingSink | None = None
        self.pushed_on_connect: list[Reading] = []  # what a COV subscription made in connect() sends at once

    async def connect(self) -> None:
        self.connects.append(self.clock.monotonic())
        if not self.reachable:
            raise DeviceUnavailable("connection refused")
        if self.sink is not None and self.pushed_on_connect:
            self.sink(self.pushed_on_connect)

    async def close(self) -> None:
        pass

    async def read(self) -> list[Reading]:
        self.reads.append(self.clock.monotonic())
        if self.read_duration:
            await self.clock.sleep(self.read_duration)
        if not self.reachable:
            raise DeviceUnavailable("connection reset")
        if self.read_error is not None:
            raise self.read_error
        now = self.clock.time()
        return [Reading(pid, value, Quality.GOOD, now) for pid, value in self.values.items()]

    async def write(self, point: Point, value: Value) -> None:
        self.values[point.id] = value

    def set_sink(self, sink: ReadingSink) -> None:
        self.sink = sink


@contextlib.asynccontextmanager
async def running(poller: Poller) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(poller.run(), name=f"poller:{poller.device.id}")
    await asyncio.sleep(0)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_schedule_is_drift_free_despite_slow_reads() -> None:
    clock = ManualClock()
    driver = ScriptedDriver(make_device(period=1.0), clock)
    driver.read_duration = 0.3
    async with running(Poller(driver, PointBus(), clock)):
        await clock.advance(10.0)
    assert driver.reads == [float(k) for k in range(11)]


async def test_overrunning_poll_skips_missed_slots_instead_of_bursting() -> None:
    clock = ManualClock()
    driver = ScriptedDriver(make_device(period=1.0, timeout=30.0), clock)
    async with running(Poller(driver, PointBus(), clock)):
        await clock.advance(2.0)
        driver.read_duration = 2.5  # the read at t=3 ends at 5.5: slots 4 and 5 are missed
        await clock.advance(1.0)
        driver.read_duration = 0.0
        await clock.advance(4.0)
    assert driver.reads == [0.0, 1.0, 2.0, 3.0, 6.0, 7.0]


async def test_reconnect_backoff_quick_first_then_doubling_to_cap() -> None:
    clock = ManualClock()
    driver = ScriptedDriver(make_device(period=1.0), clock)
    driver.reachable = False
    poller = Poller(driver, PointBus(), clock, backoff=Backoff(first=0.5, maximum=4.0, fast_attempts=2))
    async with running(poller):
        await clock.advance(20.0)
        delays = [b - a for a, b in zip(driver.connects, driver.connects[1:], strict=False)]
        assert delays[:7] == [0.5, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
        driver.reachable = True
        attempts = len(driver.connects)
        await clock.advance(4.0)
        assert len(driver.connects) == attempts + 1
        assert poller.state is DeviceState.ONLINE


def test_default_first_retry_is_never_slower_than_the_poll_period() -> None:
    clock = ManualClock()
    assert Poller(ScriptedDriver(make_device(period=0.2), clock), PointBus(), clock).backoff.first == 0.2
    assert Poller(ScriptedDriver(make_device(period=10.0), clock), PointBus(), clock).backoff.first == 0.5


async def test_publishes_on_change_only_and_marks_comm_loss(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="iot_gateway.poller")
    clock = ManualClock()
    bus = PointBus()
    subscription = bus.subscribe("test")
    driver = ScriptedDriver(make_device(period=1.0), clock)
    async with running(Poller(driver, bus, clock)):
        await clock.advance(3.0)  # four identical reads: one update per point plus comm_lost False
        seen = subscription.drain()
        assert [(u.point_id, u.value, u.quality) for u in seen] == [
            ("meter.comm_lost", False, Quality.GOOD),
            ("meter.voltage", 1.0, Quality.GOOD),
            ("meter.current", 1.0, Quality.GOOD),
        ]
        assert seen[1].ts == clock.time() - 3.0  # stamped when read, on the injected clock
        driver.values["meter.voltage"] = 2.0
        await clock.advance(1.0)
        assert [(u.point_id, u.value) for u in subscription.drain()] == [("meter.voltage", 2.0)]
        driver.reachable = False  # read at t=5 fails; retries at 5.5, 6, 6.5, 7, 7.5, 8.5, 10.5
        await clock.advance(5.0)
        # The failed read and the failed reconnects say different things: each new reason is published once.
        assert sorted((u.point_id, u.value, u.quality, u.reason or "") for u in subscription.drain()) == [
            ("meter.comm_lost", True, Quality.GOOD, ""),
            ("meter.current", None, Quality.UNAVAILABLE, "connection refused"),
            ("meter.current", None, Quality.UNAVAILABLE, "connection reset"),
            ("meter.voltage", None, Quality.UNAVAILABLE, "connection refused"),
            ("meter.voltage", None, Quality.UNAVAILABLE, "connection reset"),
        ]
        driver.reachable = True
        await clock.advance(2.0)
        latest = bus.latest
        assert latest["meter.comm_lost"].value is False
        assert (latest["meter.voltage"].value, latest["meter.voltage"].quality) == (2.0, Quality.GOOD)
        assert latest["meter.voltage"].ts == clock.time() - 0.5
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["device meter unavailable: connection reset", "device meter recovered after 5.5 s"]


async def test_values_pushed_during_a_reconnect_follow_comm_lost_false() -> None:
    clock = ManualClock()
    bus = PointBus()
    subscription = bus.subscribe("test")
    driver = ScriptedDriver(make_device(period=1.0), clock)
    driver.reachable = False
    async with running(Poller(driver, bus, clock)):
        await clock.advance(0.1)
        assert bus.latest["meter.comm_lost"].value is True
        subscription.drain()
        driver.reachable = True
        driver.pushed_on_connect = [Reading("meter.voltage", 7.0, Quality.GOOD, clock.time())]
        await clock.advance(1.0)
        seen = [(u.point_id, u.value) for u in subscription.drain()]
    assert seen[:2] == [("meter.comm_lost", False), ("meter.voltage", 7.0)]


async def test_unexpected_driver_error_gives_bad_and_polling_continues(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    bus = PointBus()
    driver = ScriptedDriver(make_device(period=1.0), clock)
    poller = Poller(driver, bus, clock)
    async with running(poller) as task:
        await clock.advance(1.0)
        driver.read_error = ValueError("register decode failed")
        await clock.advance(3.0)
        assert bus.latest["meter.voltage"].quality is Quality.BAD
        assert poller.state is DeviceState.FAULTY and not task.done()
        driver.read_error = None
        await clock.advance(1.0)
        assert bus.latest["meter.voltage"].quality is Quality.GOOD
    assert sum("driver error" in r.getMessage() for r in caplog.records) == 1


async def test_pushed_readings_go_stale_and_refresh() -> None:
    clock = ManualClock()
    bus = PointBus()
    driver = ScriptedDriver(make_device(period=1.0, stale_after_s=5.0), clock)
    poller = Poller(driver, bus, clock)
    assert driver.sink == poller.accept
    async with running(poller):
        await clock.advance(0.5)
        driver.values = {}  # this device only pushes from now on
        assert driver.sink is not None
        driver.sink([Reading("meter.voltage", 230.0, Quality.GOOD, clock.time())])
        assert bus.latest["meter.voltage"].value == 230.0
        await clock.advance(5.0)
        assert bus.latest["meter.voltage"].quality is Quality.GOOD
        await clock.advance(1.0)
        assert bus.latest["meter.voltage"].quality is Quality.STALE
        assert bus.latest["meter.voltage"].value == 230.0
        stale_ts = bus.latest["meter.voltage"].source_ts
        driver.sink([Reading("meter.voltage", 230.0, Quality.GOOD, stale_ts)])  # a re-delivered old message
        assert bus.latest["meter.voltage"].quality is Quality.STALE
        driver.sink([Reading("meter.voltage", 230.0, Quality.GOOD, clock.time())])
        assert bus.latest["meter.voltage"].quality is Quality.GOOD


async def test_write_goes_through_the_driver_and_is_read_back() -> None:
    clock = ManualClock()
    bus = PointBus()
    driver = ScriptedDriver(make_device(period=10.0), clock)
    poller = Poller(driver, bus, clock)
    async with running(poller):
        await clock.advance(0.1)
        await poller.write(poller.points["meter.current"], 5.0)
        assert bus.latest["meter.current"].value == 5.0
        driver.reachable = False
        await clock.advance(10.0)
        with pytest.raises(DeviceUnavailable, match="device meter is unavailable"):
            await poller.write(poller.points["meter.current"], 6.0)


# --- against a real TCP peer, on the real clock ------------------------------------------------------------


class LinePeer:
    """A tiny TCP device: answers "READ" with "point=value" lines; can be stopped, restarted and muted (a muted
    device holds the requests it gets and answers them once unmuted, as a hung device that comes back does)."""

    def __init__(self, port: int, values: dict[str, float]) -> None:
        self.port = port
        self.values = values
        self._unmuted = asyncio.Event()
        self._unmuted.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def mute(self) -> bool:
        return not self._unmuted.is_set()

    @mute.setter
    def mute(self, muted: bool) -> None:
        if muted:
            self._unmuted.clear()
        else:
            self._unmuted.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            await asyncio.wait_for(asyncio.gather(*self._handlers, return_exceptions=True), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while await reader.readline():
                await self._unmuted.wait()
                body = "".join(f"{k}={v}\n" for k, v in self.values.items())
                writer.write(f"{body}.\n".encode())
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.close()


class LineDriver:
    """The client side of LinePeer: a real TCP connection, errors mapped the way drivers must map them."""

    def __init__(self, device: Device, port: int) -> None:
        self.device = device
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def connect(self) -> None:
        try:
            self._streams = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot connect to 127.0.0.1:{self.port}: {exc.strerror}") from exc

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def read(self) -> list[Reading]:
        if self._streams is None:
            raise DeviceUnavailable("not connected")
        reader, writer = self._streams
        try:
            writer.write(b"READ\n")
            await writer.drain()
            readings = []
            while (line := (await reader.readline()).decode().strip()) != ".":
                if not line:
                    raise DeviceUnavailable("connection closed by the device")
                key, _, value = line.partition("=")
                readings.append(Reading(key, float(value), Quality.GOOD, 0.0))
        except ConnectionError as exc:
            raise DeviceUnavailable(f"connection lost: {exc}") from exc
        return readings

    async def write(self, point: Point, value: Value) -> None:
        raise NotImplementedError


async def test_real_peer_lost_muted_and_recovered() -> None:
    port = free_port()
    # Half a second: the deadlines below are "within one poll", and a suite running on every core can hold this
    # event loop for a good part of a tenth of a second.
    period = timeout = 0.5
    device = make_device(port=port, period=period, timeout=timeout)
    peer = LinePeer(port, {"meter.voltage": 230.0, "meter.current": 1.5})
    await peer.start()
    bus = PointBus()
    latest = bus.latest
    voltage = "meter.voltage"
    poller = Poller(LineDriver(device, port), bus, SystemClock())
    try:
        async with running(poller):
            await wait_until(lambda: voltage in latest and latest[voltage].quality is Quality.GOOD, 1.0, "first read")
            await peer.stop()
            await wait_until(lambda: latest[voltage].quality is Quality.UNAVAILABLE, 2 * period, "UNAVAILABLE")
            assert latest["meter.comm_lost"].value is True
            peer.values[voltage] = 231.0
            await peer.start()
            await wait_until(lambda: latest[voltage].value == 231.0, period + timeout, "recovered")
            assert latest["meter.comm_lost"].value is False
            peer.mute = True  # connected but silent: the guard (twice the request timeout) ends the wait
            deadline = period + 3 * timeout
            await wait_until(lambda: latest[voltage].quality is Quality.UNAVAILABLE, deadline, "timeout")
            peer.mute = False
            await wait_until(lambda: latest[voltage].quality is Quality.GOOD, period + timeout, "GOOD after mute")
    finally:
        await peer.stop()
