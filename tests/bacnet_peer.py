"""A BACnet peer that network-namespace tests run inside a test host: a simulated device, a BBMD, or the gateway.

    python -m tests.bacnet_peer device --instance N --interface ADDR/PREFIX [--port P]
    python -m tests.bacnet_peer bbmd --interface ADDR/PREFIX
    python -m tests.bacnet_peer gateway SITE

It prints JSON lines on stdout ({"ready": ...}; the gateway: {"id", "v", "q"} for every point update) and takes
JSON commands on stdin: a device {"set": [suffix, value]} and {"move": "ADDR/PREFIX", "announce": bool} (restart
at a new address, with or without an I-Am broadcast);
the gateway {"stats": DEVICE_ID} (driver counters). End of stdin or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from twin.site.model import BacnetAddress, BacnetConnection, Device, DeviceKind, Names, Point, PointKind

GUID = "0" * 22
# The simulated device's points: (suffix, object, kind, unit, states).
DEVICE_POINTS = [
    ("supply-temp", "analog-input:1", PointKind.ANALOG, "°C", None),
    ("fan-alarm", "binary-input:2", PointKind.BINARY, "", None),
    ("mode", "multi-state-value:3", PointKind.MULTISTATE, "", ["auto", "day", "night"]),
]


def emit(**message: Any) -> None:
    print(json.dumps(message), flush=True)


def device_model(instance: int, port: int) -> Device:
    device_id = f"dev-{instance}"
    points = [
        Point(id=f"{device_id}.{suffix}", name=Names(zh=suffix, en=suffix), kind=kind, unit=unit, brick="Point",
              address=BacnetAddress(type="bacnet", object=obj), states=states)
        for suffix, obj, kind, unit, states in DEVICE_POINTS
    ]  # fmt: skip
    connection = BacnetConnection(type="bacnet_ip", device_instance=instance)
    return Device(id=device_id, name=Names(zh=device_id, en=device_id), kind=DeviceKind.AC_UNIT, zone="hall",
                  ifc_guid=GUID, connection=connection, points=points)  # fmt: skip


async def run_until_stdin_ends(handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """Read JSON commands until end of input or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while not stop.is_set():
        line_task = asyncio.ensure_future(reader.readline())
        stop_task = asyncio.ensure_future(stop.wait())
        await asyncio.wait({line_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        stop_task.cancel()
        if not line_task.done():
            line_task.cancel()
            break
        line = line_task.result()
        if not line:
            break
        await handle(json.loads(line))


async def device(args: argparse.Namespace) -> None:
    from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator

    model = device_model(args.instance, args.port)
    values: dict[str, Any] = {"supply-temp": 18.5, "fan-alarm": False, "mode": 2}
    sim = BacnetDeviceSimulator(model, interface=args.interface, port=args.port)
    for suffix, value in values.items():
        sim.set_value(f"{model.id}.{suffix}", value)
    await sim.start()
    emit(ready=f"{sim.host}:{sim.port}")

    async def handle(command: dict[str, Any]) -> None:
        nonlocal sim
        if "set" in command:
            suffix, value = command["set"]
            sim.set_value(f"{model.id}.{suffix}", value)
            values[suffix] = value
            emit(done="set")
        elif "move" in command:
            await sim.stop()
            sim = BacnetDeviceSimulator(model, interface=command["move"], port=args.port,
                                        announce=command.get("announce", True))  # fmt: skip
            for name, value in values.items():
                sim.set_value(f"{model.id}.{name}", value)
            await sim.start()
            emit(ready=f"{sim.host}:{sim.port}")

    try:
        await run_until_stdin_ends(handle)
    finally:
        await sim.stop()


async def bbmd(args: argparse.Namespace) -> None:
    """A BBMD on the interface: it redistributes a foreign device's broadcasts on its own subnet (Annex J)."""
    from bacpypes3.app import Application
    from bacpypes3.ipv4.link import BBMDLinkLayer
    from bacpypes3.local.device import DeviceObject
    from bacpypes3.pdu import IPv4Address
    from bacpypes3.primitivedata import ObjectIdentifier

    from iot_gateway.drivers.bacnet_app import shutdown_application, wait_bound

    app = Application.from_object_list([DeviceObject(objectIdentifier=("device", 4_194_301), objectName="bbmd",
                                                     vendorIdentifier=999)])  # fmt: skip
    address = IPv4Address(f"{args.interface}:47808")
    link = BBMDLinkLayer(address)
    link.add_peer(address)  # itself in its broadcast distribution table: forward to the local subnet
    app.nsap.bind(link, address=address)
    app.link_layers[ObjectIdentifier(("network-port", 1))] = link
    await wait_bound(app)
    emit(ready=str(address))

    async def handle(command: dict[str, Any]) -> None:
        if "fdt" in command:
            emit(fdt=[str(entry.fdAddress) for entry in link.bbmdFDT])

    try:
        await run_until_stdin_ends(handle)
    finally:
        link._fdt_clock_handle.cancel()
        await shutdown_application(app)


async def gateway(args: argparse.Namespace) -> None:
    from iot_gateway.drivers.bacnet_app import BacnetConfigError
    from iot_gateway.gateway import Gateway
    from twin.bus import PointBus
    from twin.clock import SystemClock
    from twin.site import load_site

    site = load_site(args.site, guid_index=None)
    bus = PointBus()
    updates = bus.subscribe("peer")
    gw = Gateway(site, bus, SystemClock())
    try:
        await gw.start()
    except BacnetConfigError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    async def forward() -> None:
        while True:
            for update in await updates.get_batch():
                emit(id=update.point_id, v=update.value, q=update.quality.value)

    forwarder = asyncio.create_task(forward(), name="peer-forward")
    emit(ready="gateway")

    async def handle(command: dict[str, Any]) -> None:
        if "stats" in command:
            driver: Any = gw.pollers[command["stats"]].driver
            holder = driver.holder
            emit(stats=vars(driver.stats), address=str(driver.address),
                 registrations=holder.foreign.registrations if holder.foreign else None)  # fmt: skip

    try:
        await run_until_stdin_ends(handle)
    finally:
        forwarder.cancel()
        await gw.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="tests.bacnet_peer")
    sub = parser.add_subparsers(dest="mode", required=True)
    dev = sub.add_parser("device")
    dev.add_argument("--instance", type=int, required=True)
    dev.add_argument("--interface", required=True)
    dev.add_argument("--port", type=int, default=47808)
    box = sub.add_parser("bbmd")
    box.add_argument("--interface", required=True)
    gw = sub.add_parser("gateway")
    gw.add_argument("site", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    runner = {"device": device, "bbmd": bbmd, "gateway": gateway}[args.mode]
    asyncio.run(runner(args))


if __name__ == "__main__":
    main()
