"""Bench: a big hall of 10,000 points at 1 Hz; the gateway process's CPU per 1,000 points/s, p99 poll lateness, loss.

Set-up: 200 Modbus TCP devices (35 float32 points each, one block read per poll) and 300 MQTT devices (10 points
in one JSON message a second each) = 10,000 points, every value changing every second; BACnet devices join when
``BACNET_DEVICES`` > 0 (100 devices with COV, 20 points each, replacing 2,000 Modbus points). The simulators
(iot_gateway/simulators/) run in a second process; mosquitto is a third. This process is the hall node: the
HallRuntime with its gateway, SQLite history (rollups on) and the MQTT bridge (one retained message per value),
as `halltwin serve` runs it, minus the HTTP server.

Figures, over a measuring window after a warm-up:
- gateway CPU: utime + stime of this process from /proc (all its threads: the SQLite writer too), as a fraction
  of one core, and per 1,000 point updates/s;
- poll lateness: every sleep of the pollers' schedule goes through a clock that records how late it woke up;
  baseline in the same run: a probe process with as many sleepers on the same 1 s schedule and nothing else to
  do (its p99 is what the machine's other load alone costs);
- lost updates: each device's first point counts its messages (MQTT) or reads (Modbus) in the simulator, which
  notes every count that left it (a Modbus answer, an MQTT message; a starved MQTT simulator coalesces changes
  like a real device, and those never left it); every noted value must be in the SQLite history: sent - stored.
Two rounds: values that change every second, and values that hold still (the poll cost without the per-value
path); the difference is the per-value cost. Baseline in the same run: a bare 10-million-step Python loop (this
machine's speed), so figures from different runs and machines compare as ratios.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import socket
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Sizes can be changed from the environment for a quick look (BIG_HALL_MODBUS=10 BIG_HALL_MQTT=10 ...).
POINTS = int(os.environ.get("BIG_HALL_POINTS", 10_000))
MODBUS_DEVICES = int(os.environ.get("BIG_HALL_MODBUS", 200))
MQTT_DEVICES = int(os.environ.get("BIG_HALL_MQTT", 300))
MQTT_POINTS = 10
BACNET_DEVICES = int(os.environ.get("BIG_HALL_BACNET", 0))
BACNET_POINTS = 20
_MODBUS_SHARE = POINTS - MQTT_DEVICES * MQTT_POINTS - BACNET_DEVICES * BACNET_POINTS
# The Modbus meters carry the rest: 35 points each without BACnet, 25 with 100 BACnet devices (one block read).
MODBUS_POINTS = max(1, min(60, _MODBUS_SHARE // max(1, MODBUS_DEVICES)))
WARMUP_S = float(os.environ.get("BIG_HALL_WARMUP_S", 10))
MEASURE_S = float(os.environ.get("BIG_HALL_MEASURE_S", 20))
GUID = "3" * 22
LATENESS_GOAL_MS = 100.0


def big_site(ports: list[int], broker_port: int, bacnet_ports: list[int]) -> dict[str, Any]:
    """The site as plain data (it crosses into the simulator process as JSON)."""

    def name(text: str) -> dict[str, str]:
        return {"zh": text, "en": text}

    devices: list[dict[str, Any]] = []
    for d, port in enumerate(ports):
        device_id = f"pm-{d:03d}"
        points = [
            {"id": f"{device_id}.p{i:02d}", "name": name(f"p{i}"), "kind": "analog", "brick": "Point",
             "address": {"type": "modbus", "table": "input", "offset": 2 * i, "data_type": "float32"}}
            for i in range(MODBUS_POINTS)
        ]  # fmt: skip
        devices.append(
            {"id": device_id, "name": name(device_id), "kind": "power_meter", "zone": "hall", "ifc_guid": GUID,
             "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": port, "poll_interval_s": 1.0,
                            "timeout_s": 2.0},
             "points": points}
        )  # fmt: skip
    for d in range(MQTT_DEVICES):
        device_id = f"env-{d:03d}"
        points = [
            {"id": f"{device_id}.p{i:02d}", "name": name(f"p{i}"), "kind": "analog", "brick": "Point",
             "address": {"type": "mqtt", "json_path": f"p{i:02d}"}}
            for i in range(MQTT_POINTS)
        ]  # fmt: skip
        devices.append(
            {"id": device_id, "name": name(device_id), "kind": "temp_humidity", "zone": "hall", "ifc_guid": GUID,
             "connection": {"type": "mqtt", "topic": f"bighall/{device_id}", "stale_after_s": 30},
             "points": points}
        )  # fmt: skip
    for d, port in enumerate(bacnet_ports):
        device_id = f"ahu-{d:03d}"
        points = [
            {"id": f"{device_id}.p{i:02d}", "name": name(f"p{i}"), "kind": "analog", "brick": "Point",
             "address": {"type": "bacnet", "object": f"analog-input:{i + 1}"}}
            for i in range(BACNET_POINTS)
        ]  # fmt: skip
        devices.append(
            {"id": device_id, "name": name(device_id), "kind": "ac_unit", "zone": "hall", "ifc_guid": GUID,
             "connection": {"type": "bacnet_ip", "address": f"127.0.0.1:{port}", "device_instance": 300_000 + d,
                            "poll_interval_s": 60.0, "cov": True},
             "points": points}
        )  # fmt: skip
    return {
        "site": {"id": "big-hall", "name": name("big hall"), "ifc": "none.ifc"},
        "mqtt": {"host": "127.0.0.1", "port": broker_port},
        "bacnet": {"interface": "127.0.0.1/8", "port": 0},  # the gateway's one BACnet application: any free port
        "zones": [{"id": "hall", "name": name("hall"), "zone_type": "waiting", "ifc_guid": GUID}],
        "devices": devices,
    }


# --- the simulator process ----------------------------------------------------------------------------------


async def _simulate(site_data: dict[str, Any], changing: bool, conn: Any) -> None:
    from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
    from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
    from iot_gateway.simulators.mqtt_sim import MqttDeviceSimulator
    from twin.site.model import BacnetConnection, ModbusConnection, MqttConnection, SiteConfig

    site = SiteConfig.model_validate(site_data)
    produced: dict[str, int] = {}  # first point of each device -> values it took (each one an update)
    sent: dict[str, list[int]] = {}  # first point -> the counts that left the simulator while counting
    counting = False
    modbus: list[ModbusDeviceSimulator] = []
    mqtt: list[MqttDeviceSimulator] = []
    bacnet: list[BacnetDeviceSimulator] = []

    class NotingMqttSimulator(MqttDeviceSimulator):
        def payload(self, topic: str) -> dict[str, Any]:
            body = super().payload(topic)  # called for each message it publishes
            if counting and "p00" in body:
                sent[self.device.points[0].id].append(int(body["p00"]))
            return body

    def hook(sim: ModbusDeviceSimulator) -> Any:
        points = [p.id for p in sim.device.points]

        def on_read(_table: Any) -> None:  # every value changes on every read: each poll brings 35 new values
            count = produced[points[0]] = produced[points[0]] + 1
            for i, point_id in enumerate(points):
                sim.set_value(point_id, float(count) if i == 0 else count * 0.5 + i)
            if counting:
                sent[points[0]].append(count)  # this read answers with these values

        return on_read

    for device in site.devices:
        first = device.points[0].id
        produced[first] = 1
        sent[first] = []
        if isinstance(device.connection, ModbusConnection):
            modbus_sim = ModbusDeviceSimulator(device)
            for i, point in enumerate(device.points):
                modbus_sim.set_value(point.id, 1.0 if i == 0 else float(i))
            if changing:
                modbus_sim.on_read = hook(modbus_sim)
            modbus.append(modbus_sim)
        elif isinstance(device.connection, MqttConnection):
            mqtt_sim = NotingMqttSimulator(device, site.mqtt, period_s=3600.0, stamp=False, qos=1)
            for i, point in enumerate(device.points):
                mqtt_sim.set_value(point.id, 1.0 if i == 0 else float(i))
            mqtt.append(mqtt_sim)
        elif isinstance(device.connection, BacnetConnection):
            bacnet_sim = BacnetDeviceSimulator(device)
            for i, point in enumerate(device.points):
                bacnet_sim.set_value(point.id, 1.0 if i == 0 else float(i))
            bacnet.append(bacnet_sim)
    simulators: list[Any] = [*modbus, *mqtt, *bacnet]
    await asyncio.gather(*(sim.start() for sim in simulators))
    conn.send("ready")
    # Messages from the bench: "go" (count from here), "stop" (stop changing, report), "exit".
    stop, leave = asyncio.Event(), asyncio.Event()

    def on_message() -> None:
        nonlocal counting
        try:
            message = conn.recv()
        except EOFError:  # the bench went away
            message = "exit"
            asyncio.get_running_loop().remove_reader(conn.fileno())
        if message == "go":
            counting = True
        elif message == "stop":
            stop.set()
        else:
            leave.set()

    asyncio.get_running_loop().add_reader(conn.fileno(), on_message)
    pushers: list[Any] = [*mqtt, *bacnet]
    tick = 0
    started = time.perf_counter()
    while not stop.is_set():
        # Push devices change once a second each, spread over the second like unsynchronised field devices.
        slot = tick % 100
        if changing:
            for sim in pushers[slot::100]:
                points = [p.id for p in sim.device.points]
                count = produced[points[0]] = produced[points[0]] + 1
                for i, point_id in enumerate(points):
                    sim.set_value(point_id, float(count) if i == 0 else count * 0.5 + i)
                if counting and sim in bacnet:  # a BACnet device notifies its COV subscribers of each change
                    sent[points[0]].append(count)
        tick += 1
        await asyncio.sleep(max(0.0, started + tick * 0.01 - time.perf_counter()))
    for sim in mqtt:
        await sim.flush()
    counting = False
    conn.send(sent)
    await leave.wait()
    await asyncio.gather(*(sim.stop() for sim in simulators), return_exceptions=True)


def _simulator_process(site_data: dict[str, Any], changing: bool, conn: Any) -> None:
    asyncio.run(_simulate(site_data, changing, conn))


# --- the lateness probe: the baseline of poll lateness on this machine, now -------------------------------------


async def _probe(tasks: int, seconds: float) -> list[float]:
    """``tasks`` sleepers on a 1 s schedule doing nothing else: how late this machine wakes a process up now."""
    lateness: list[float] = []

    async def sleeper(offset: float) -> None:
        anchor = time.monotonic() + offset
        k = 0
        while True:
            k += 1
            target = anchor + k
            await asyncio.sleep(max(0.0, target - time.monotonic()))
            lateness.append(time.monotonic() - target)

    runners = [asyncio.create_task(sleeper(i / tasks)) for i in range(tasks)]
    await asyncio.sleep(seconds)
    for runner in runners:
        runner.cancel()
    await asyncio.gather(*runners, return_exceptions=True)
    return lateness


def _probe_process(tasks: int, seconds: float, conn: Any) -> None:
    conn.send(asyncio.run(_probe(tasks, seconds)))


# --- this process: the hall node ----------------------------------------------------------------------------


class LatenessClock:
    """The system clock; every sleep of at least 50 ms (the pollers' schedule) records how late it woke up."""

    def __init__(self) -> None:
        self.recording = False
        self.lateness: list[float] = []

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        target = time.monotonic() + max(0.0, seconds)
        await asyncio.sleep(max(0.0, seconds))
        if self.recording and seconds >= 0.05:
            self.lateness.append(time.monotonic() - target)


def cpu_seconds() -> float:
    """utime + stime of this process (all threads), from /proc/self/stat."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop_baseline_s() -> float:
    """Seconds of a bare 10-million-step Python loop: this machine's speed right now."""
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


@dataclass
class Round:
    changing: bool
    points: int = 0
    cpu: float = 0.0  # fraction of one core
    rate: float = 0.0  # point updates/s on the bus
    mqtt_rate: float = 0.0  # retained messages/s the MQTT bridge published (it coalesces per point when behind)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    probe_p99_ms: float = 0.0  # the same schedule in an idle process at the same time: the machine's share
    produced: int = 0  # counting values that left the simulators while counted
    stored: int = 0  # of those, in the SQLite history
    drops: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return max(0, self.produced - self.stored)


def _stored_counted(db: Path, sent: dict[str, list[int]]) -> int:
    """How many of the counting values that left the simulators are in the history."""
    with sqlite3.connect(db) as conn:
        ids = dict(conn.execute("SELECT name, id FROM point").fetchall())
        total = 0
        for point, values in sent.items():
            if point in ids and values:
                stored = {row[0] for row in conn.execute("SELECT value FROM sample WHERE point = ?", (ids[point],))}
                total += len({float(v) for v in values} & stored)
    conn.close()
    return total


async def run_round(changing: bool, folder: Path, broker_port: int) -> Round:
    from api.runtime import HallRuntime
    from twin.ports import free_port
    from twin.site.model import SiteConfig

    modbus_ports = [free_port() for _ in range(MODBUS_DEVICES)]
    bacnet_ports = [free_port(socket.SOCK_DGRAM) for _ in range(BACNET_DEVICES)]
    site_data = big_site(modbus_ports, broker_port, bacnet_ports)
    site = SiteConfig.model_validate(site_data)
    result = Round(changing, points=sum(len(d.points) for d in site.devices))
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    simulator = context.Process(target=_simulator_process, args=(site_data, changing, theirs), daemon=True)
    simulator.start()
    try:
        if not await asyncio.to_thread(ours.poll, 120):
            raise RuntimeError("simulators did not start within 120 s")
        ours.recv()
        clock = LatenessClock()
        data_dir = folder / ("changing" if changing else "static")
        runtime = HallRuntime(site, folder / "site.yaml", data_dir, clock=clock, mqtt_bridge=True)
        await runtime.start()
        try:
            await asyncio.sleep(1.0)  # every device connected
            ours.send("go")
            await asyncio.sleep(WARMUP_S)
            probe_ours, probe_theirs = context.Pipe()
            probe = context.Process(
                target=_probe_process, args=(len(site.devices), MEASURE_S, probe_theirs), daemon=True
            )
            probe.start()
            clock.recording = True
            bridge = runtime.mqtt_bridge
            assert bridge is not None
            cpu0, published0, mqtt0, t0 = cpu_seconds(), runtime.bus.published, bridge.published, time.monotonic()
            await asyncio.sleep(MEASURE_S)
            cpu1, published1, mqtt1, t1 = cpu_seconds(), runtime.bus.published, bridge.published, time.monotonic()
            clock.recording = False
            result.cpu = (cpu1 - cpu0) / (t1 - t0)
            result.rate = (published1 - published0) / (t1 - t0)
            result.mqtt_rate = (mqtt1 - mqtt0) / (t1 - t0)
            ours.send("stop")
            sent: dict[str, list[int]] = await asyncio.to_thread(ours.recv)
            await asyncio.sleep(1.5)  # the last polls and messages reach the bus
            if runtime.recorder is not None:
                result.drops["history queue"] = runtime.recorder.dropped
                result.drops["history store"] = runtime.recorder.lost
            if runtime.mqtt_bridge is not None:
                await runtime.mqtt_bridge.wait_idle(10.0)
        finally:
            await runtime.stop()
        probe_lateness = sorted(probe_ours.recv() if await asyncio.to_thread(probe_ours.poll, 30) else [])
        await asyncio.to_thread(probe.join, 10)
        if probe_lateness:
            result.probe_p99_ms = probe_lateness[min(len(probe_lateness) - 1, int(0.99 * len(probe_lateness)))] * 1000
        lateness = sorted(clock.lateness)
        if lateness:
            result.p50_ms = lateness[len(lateness) // 2] * 1000
            result.p99_ms = lateness[min(len(lateness) - 1, int(0.99 * len(lateness)))] * 1000
        result.produced = sum(len(set(values)) for values in sent.values())
        result.stored = await asyncio.to_thread(_stored_counted, data_dir / "history.sqlite", sent)
    finally:
        ours.send("exit")
        ours.close()
        await asyncio.to_thread(simulator.join, 20)
        if simulator.is_alive():
            simulator.kill()
    return result


def report(rounds: list[Round], baseline_s: float) -> None:
    print(
        f"{'values':<9}{'points':>7}{'updates/s':>11}{'MQTT/s':>8}{'CPU core':>10}{'per 1k/s':>10}"
        f"{'late p50':>10}{'p99 ms':>8}{'probe p99':>10}{'sent':>9}{'lost':>6}"
    )
    for r in rounds:
        per_k = r.cpu / (r.rate / 1000) if r.rate > 0 else float("nan")
        print(
            f"{'changing' if r.changing else 'static':<9}{r.points:>7,}{r.rate:>11,.0f}{r.mqtt_rate:>8,.0f}"
            f"{r.cpu:>10.2f}{per_k:>10.3f}"
            f"{r.p50_ms:>10.1f}{r.p99_ms:>8.1f}{r.probe_p99_ms:>10.1f}{r.produced:>9,}{r.lost:>6}"
        )
        if any(r.drops.values()):
            print(f"  dropped: {r.drops}")
    changing = next((r for r in rounds if r.changing), None)
    static = next((r for r in rounds if not r.changing), None)
    if changing is not None and static is not None and changing.rate > static.rate:
        per_value = (changing.cpu - static.cpu) / ((changing.rate - static.rate) / 1000)
        print(
            f"per-value path: {per_value:.3f} core per 1,000 values/s "
            f"(x loop baseline: {per_value / baseline_s:.3f}); poll cost without values {static.cpu:.2f} core"
        )
    if changing is not None:
        verdict = "meets" if changing.cpu <= 1.0 and changing.p99_ms <= LATENESS_GOAL_MS else "misses"
        print(
            f"goal: {changing.points:,} points at 1 Hz within one core, p99 lateness <= {LATENESS_GOAL_MS:g} ms: "
            f"{verdict} ({changing.cpu:.2f} core, p99 {changing.p99_ms:.1f} ms)"
        )
    print(f"baseline: bare 10-million-step Python loop {baseline_s:.2f} s")


async def _main(modes: list[str]) -> None:
    from iot_gateway.broker import MqttBrokerLauncher

    baseline = loop_baseline_s()
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="halltwin-bighall-") as tmp:
        folder = Path(tmp)
        broker = MqttBrokerLauncher(workdir=folder / "broker")
        await broker.start()
        try:
            print(
                f"{MODBUS_DEVICES} Modbus x {MODBUS_POINTS}, {MQTT_DEVICES} MQTT x {MQTT_POINTS}, "
                f"{BACNET_DEVICES} BACnet x {BACNET_POINTS} points at 1 Hz ({broker.kind}); "
                f"warm-up {WARMUP_S:g} s, measured {MEASURE_S:g} s",
                flush=True,
            )
            for mode in modes:
                rounds.append(await run_round(mode == "changing", folder, broker.port))
                print(json.dumps(rounds[-1].__dict__, default=str), flush=True)
        finally:
            await broker.stop()
    report(rounds, baseline)


def main(argv: list[str] | None = None) -> None:
    modes = argv if argv else ["changing", "static"]
    asyncio.run(_main(modes))


if __name__ == "__main__":
    main(sys.argv[1:])
