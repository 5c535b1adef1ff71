"""Command latency: write to confirmed read-back through the CommandRouter (audited in SQLite), for Modbus and
BACnet, against the simulators; baselines in the same run: a raw read round trip of the same device, and the
Gateway write + read-back without the router (no checks, no audit).

Simulators run in this process (one event loop), so the figures include their share of the CPU.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bacpypes3.pdu import Address
from pymodbus.client import AsyncModbusTcpClient

from api.command_router import CommandRouter
from iot_gateway.drivers.bacnet_app import BacnetApplicationHolder
from iot_gateway.drivers.bacnet_values import object_identifier
from iot_gateway.gateway import Gateway
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from iot_gateway.simulators.modbus_sim import ModbusDeviceSimulator
from store import Store
from store.audit import PlainActor
from twin.bus import PointBus
from twin.clock import SystemClock
from twin.points import Quality
from twin.ports import free_port
from twin.site.model import BacnetAddress, SiteConfig

ROUNDS = 200
GUID = "4" * 22
CALLER = PlainActor("bench", "facility", "127.0.0.1")


def _site(modbus_port: int, bacnet_port: int) -> SiteConfig:
    def point(point_id: str, kind: str, address: dict[str, object]) -> dict[str, object]:
        return {"id": point_id, "name": {"zh": point_id, "en": point_id}, "kind": kind, "brick": "Point",
                "address": address, "writable": True}  # fmt: skip

    return SiteConfig.model_validate(
        {
            "site": {"id": "bench", "name": {"zh": "基准", "en": "Bench"}, "ifc": "x.ifc"},
            "bacnet": {"port": 0},
            "zones": [{"id": "z", "name": {"zh": "z", "en": "z"}, "zone_type": "other", "ifc_guid": GUID}],
            "devices": [
                {"id": "ac", "name": {"zh": "空调", "en": "AC"}, "kind": "ac_unit", "zone": "z", "ifc_guid": GUID,
                 "connection": {"type": "modbus_tcp", "host": "127.0.0.1", "port": modbus_port,
                                "poll_interval_s": 60.0},
                 "points": [point("ac.setpoint", "analog", {"type": "modbus", "table": "holding", "offset": 0,
                                                            "data_type": "int16", "scale": 0.1})]},
                {"id": "ctl", "name": {"zh": "控制器", "en": "Ctl"}, "kind": "access_door", "zone": "z",
                 "ifc_guid": GUID,
                 "connection": {"type": "bacnet_ip", "address": f"127.0.0.1:{bacnet_port}", "device_instance": 3001,
                                "poll_interval_s": 60.0, "cov": False},
                 "points": [point("ctl.setpoint", "analog", {"type": "bacnet", "object": "analog-value:1"})]},
            ],
        }
    )  # fmt: skip


def _figures(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"{name:<50} p50 {statistics.median(ordered) * 1e3:7.2f} ms   p99 {p99 * 1e3:7.2f} ms   (n={len(ordered)})"


def _good(bus: PointBus, point_id: str) -> bool:
    update = bus.latest.get(point_id)
    return update is not None and update.quality is Quality.GOOD


async def _timed(action: Callable[[int], Awaitable[object]]) -> list[float]:
    samples = []
    for i in range(ROUNDS):
        started = time.perf_counter()
        await action(i)
        samples.append(time.perf_counter() - started)
    return samples


async def _run(folder: Path) -> None:
    site = _site(free_port(), free_port())
    modbus = ModbusDeviceSimulator(site.device("ac"))
    bacnet = BacnetDeviceSimulator(site.device("ctl"))
    await modbus.start()
    await bacnet.start()
    bus = PointBus()
    gateway = Gateway(site, bus, SystemClock())
    store = await Store.open(f"sqlite:///{folder / 'bench.sqlite'}")
    client = AsyncModbusTcpClient("127.0.0.1", port=modbus.port, timeout=2.0)
    holder = BacnetApplicationHolder()
    try:
        await gateway.start()
        deadline = time.monotonic() + 10
        while not all(_good(bus, p) for p in ("ac.setpoint", "ctl.setpoint")):
            if time.monotonic() > deadline:
                raise RuntimeError("the simulators were not read within 10 s")
            await asyncio.sleep(0.01)
        router = CommandRouter(site, gateway, store.audit, SystemClock())
        await client.connect()
        app = await holder.acquire(2.0)
        address = site.device("ctl").points[0].address
        assert isinstance(address, BacnetAddress)
        peer = Address(f"{bacnet.host}:{bacnet.port}")

        async def raw_modbus(_i: int) -> object:
            return await client.read_holding_registers(0, count=1, device_id=1)

        async def raw_bacnet(_i: int) -> object:
            return await app.read_property(peer, object_identifier(address), "present-value")

        async def audit_only(i: int) -> object:
            return await store.audit.append(action="bench.append", actor="bench", role="facility", client=None,
                                            target="ac.setpoint", arguments={"value": i}, result="ok")  # fmt: skip

        rows = [
            ("audit append alone, SQLite (part of every command)", audit_only),
            ("Modbus raw read round trip (baseline)", raw_modbus),
            ("Modbus Gateway write + read-back", lambda i: gateway.write("ac.setpoint", 20.0 + (i % 50) / 10)),
            ("Modbus CommandRouter write, confirmed + audited",
             lambda i: router.write(CALLER, "ac.setpoint", 25.0 + (i % 50) / 10, "bench")),
            ("BACnet raw ReadProperty round trip (baseline)", raw_bacnet),
            ("BACnet Gateway write + read-back", lambda i: gateway.write("ctl.setpoint", 20.0 + (i % 50) / 10)),
            ("BACnet CommandRouter write, confirmed + audited",
             lambda i: router.write(CALLER, "ctl.setpoint", 25.0 + (i % 50) / 10, "bench")),
        ]  # fmt: skip
        for name, action in rows:
            print(_figures(name, await _timed(action)), flush=True)
        failed = [r for r in await store.audit.query(limit=10_000) if r.result != "ok"]
        print(f"commands not confirmed: {len(failed)} of {await store.audit.count(action='point.write')}")
    finally:
        client.close()
        await holder.close()
        await gateway.stop()
        await store.close()
        await bacnet.stop()
        await modbus.stop()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-commands-") as folder:
        asyncio.run(_run(Path(folder)))


if __name__ == "__main__":
    main()
