"""Modbus driver read rate vs a raw pymodbus client loop on the same simulated power meter (goal: ratio >= 0.95).

The simulator runs in its own process so the server does not share the client's event loop or core. Both loops
read the same 12 holding registers (a power meter's six values) for a fixed count; rounds alternate between the
two in short pairs so drift in machine load hits both alike; the figure is the median of the per-pair ratios.
Client CPU time per read is printed too: it is what the driver adds, whatever the load on the machine.
Two scenarios: values that hold still (the driver skips decoding an unchanged block) and values that change on
every read (the driver decodes every time).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from iot_gateway.drivers.modbus_tcp import ModbusTcpDriver
from twin.ports import free_port
from twin.site.model import Device

REPO_ROOT = Path(__file__).resolve().parent.parent
READS_PER_ROUND = 400
ROUNDS = 16
GOAL = 0.95  # also with values that change on every read
UNIT = 1
_SERVER = """
import asyncio, json, sys
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from twin.site.model import Device

async def main():
    device, changing = Device.model_validate(json.loads(sys.argv[1])), sys.argv[2] == "changing"
    async with ModbusDeviceSimulator(device) as sim:
        reads = 0
        def drift(_table):
            nonlocal reads
            reads += 1
            for i, point in enumerate(device.points):
                sim.set_value(point.id, 100.0 + i + (reads % 1000) / 10)
        drift("holding")
        if changing:
            sim.on_read = drift  # every value changes on every read
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin

asyncio.run(main())
"""


def power_meter(port: int) -> Device:
    names = ("voltage", "current", "active_power", "power_factor", "frequency")
    points: list[dict[str, Any]] = [
        {"id": f"pm1.{name}", "name": {"zh": name, "en": name}, "kind": "analog", "brick": "Point",
         "address": {"type": "modbus", "table": "holding", "offset": 2 * i, "data_type": "float32"}}
        for i, name in enumerate(names)
    ]  # fmt: skip
    points.append(
        {"id": "pm1.energy", "name": {"zh": "电能", "en": "energy"}, "kind": "analog", "brick": "Point",
         "address": {"type": "modbus", "table": "holding", "offset": 10, "data_type": "uint32", "scale": 0.1}}
    )  # fmt: skip
    return Device.model_validate(
        {"id": "pm1", "name": {"zh": "电表", "en": "power meter"}, "kind": "power_meter", "zone": "power-room",
         "ifc_guid": "0123456789abcdefABCD_$", "points": points,
         "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": port, "device_id": UNIT}}
    )  # fmt: skip


Round = tuple[float, float]  # (reads per second, client CPU microseconds per read)


async def _raw_round(client: AsyncModbusTcpClient, count: int) -> Round:
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        response = await client.read_holding_registers(0, count=12, device_id=UNIT)
        if response.isError():
            raise RuntimeError(f"raw read failed: {response}")
    return count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6


async def _driver_round(driver: ModbusTcpDriver, count: int) -> Round:
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        await driver.read()
    return count / (time.perf_counter() - started), (time.process_time() - cpu) / count * 1e6


async def _measure(device: Device) -> tuple[list[Round], list[Round], list[Any]]:
    connection = device.connection
    assert connection is not None and connection.type == "modbus_tcp"
    client = AsyncModbusTcpClient("127.0.0.1", port=connection.port, timeout=2, retries=0, reconnect_delay=0)
    driver = ModbusTcpDriver(device)
    if not await client.connect():
        raise RuntimeError("raw client cannot connect")
    await driver.connect()
    try:
        await _raw_round(client, 200)  # warm up both paths
        await _driver_round(driver, 200)
        raw: list[Round] = []
        ours: list[Round] = []
        for round_index in range(ROUNDS):
            if round_index % 2:
                ours.append(await _driver_round(driver, READS_PER_ROUND))
                raw.append(await _raw_round(client, READS_PER_ROUND))
            else:
                raw.append(await _raw_round(client, READS_PER_ROUND))
                ours.append(await _driver_round(driver, READS_PER_ROUND))
        last = await driver.read()
    finally:
        client.close()
        await driver.close()
    if driver.stats["requests"] != 200 + ROUNDS * READS_PER_ROUND + 1:
        raise RuntimeError(f"the driver used more than one request per read: {dict(driver.stats)}")
    return raw, ours, last


def _run(scenario: str) -> None:
    port = free_port()
    device = power_meter(port)
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, device.model_dump_json(), scenario],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the simulator process did not start")
        raw, ours, last = asyncio.run(_measure(device))
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    ratio = statistics.median(o[0] / r[0] for o, r in zip(ours, raw, strict=True))
    print(f"\nvalues {scenario}: {ROUNDS} alternating rounds of {READS_PER_ROUND} reads each")
    for name, rounds in (("raw pymodbus loop", raw), ("ModbusTcpDriver", ours)):
        rate = statistics.median(r[0] for r in rounds)
        cpu = statistics.median(r[1] for r in rounds)
        low, high = min(r[0] for r in rounds), max(r[0] for r in rounds)
        print(f"  {name:18}: {rate:6.0f} reads/s median ({low:.0f}-{high:.0f}), client CPU {cpu:5.1f} us/read")
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"  ratio driver/raw  : {ratio:6.3f} (median of paired rounds; goal >= {GOAL}: {verdict})")
    values = ", ".join(f"{reading.point_id}={reading.value}" for reading in last)
    print(f"  last read: {values}")


def main() -> None:
    print("power meter: 6 values in 12 holding registers, one request per read; simulator in its own process")
    _run("static")  # as most registers of a hall's devices are between two polls
    _run("changing")  # every value changes on every read: the driver decodes every time


if __name__ == "__main__":
    main()
