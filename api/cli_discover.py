"""`halltwin discover [SITE]`: a broadcast Who-Is on the gateway's BACnet interface, a table of what answered and,
with --objects, a site.yaml devices fragment to paste."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from twin.site import SiteFileError, load_site
from twin.site.model import BacnetNetwork


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    discover = sub.add_parser(
        "discover",
        help="find BACnet devices by a broadcast Who-Is on the site's bacnet.interface (or --interface)",
        description="Broadcast a Who-Is, list every device that answered; with --objects print a site.yaml "
        "devices fragment. The gateway's own port may be in use by a running `halltwin serve`: then give "
        "--port 0 (devices answer a Who-Is to its sender's port).",
    )
    discover.add_argument("site", type=Path, nargs="?", help="site.yaml whose bacnet: section to use")
    discover.add_argument("--interface", help="the address to use, with prefix, e.g. 10.20.0.5/24")
    discover.add_argument("--port", type=int, help="UDP port (default: the site's, else 47808; 0: any free port)")
    discover.add_argument("--low", type=int, help="lowest device instance to ask for (with --high)")
    discover.add_argument("--high", type=int, help="highest device instance to ask for (with --low)")
    discover.add_argument("--wait", type=float, default=3.0, help="seconds to wait for I-Am answers")
    discover.add_argument("--objects", action="store_true", help="read each device's objects: print a fragment")
    discover.set_defaults(func=run)


def _network(args: argparse.Namespace) -> tuple[BacnetNetwork, dict[int, str] | None]:
    """The bacnet: settings to use, and the site's devices by instance (None without a site)."""
    if args.site is None:
        if not args.interface:
            raise ValueError("give a SITE or --interface ADDR/PREFIX")
        network = BacnetNetwork(interface=args.interface, port=47808 if args.port is None else args.port)
        return network, None
    site = load_site(args.site, guid_index=None)  # discovery needs the network settings, not the building model
    network = site.bacnet
    update: dict[str, object] = {}
    if args.interface:
        update["interface"] = args.interface
    if args.port is not None:
        update["port"] = args.port
    if update:
        network = BacnetNetwork.model_validate({**network.model_dump(), **update})
    known = {
        device.connection.device_instance: device.id
        for device in site.devices
        if device.connection is not None and device.connection.type == "bacnet_ip"
    }
    return network, known


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from tqdm import tqdm

    from iot_gateway.bacnet_discovery import WhoIsRange, discover, table
    from iot_gateway.site_fragment import devices_fragment

    try:
        network, known = _network(args)
        instances = WhoIsRange(args.low, args.high)
        if args.wait <= 0:
            raise ValueError("--wait must be more than 0 seconds")
    except SiteFileError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        print(f"halltwin discover: bacnet.{problem}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"halltwin discover: {exc}", file=sys.stderr)
        return 2
    bars: list[tqdm[None]] = []  # made at the first tick, so an error at start prints no empty bar

    def waited(seconds: float) -> None:
        if not bars:
            bars.append(tqdm(total=round(args.wait, 1), desc="Who-Is, waiting for I-Am", file=sys.stderr,
                             bar_format="{desc}: {bar} {n:.1f}/{total:.1f} s"))  # fmt: skip
        bars[0].n = round(seconds, 1)
        bars[0].refresh()

    try:
        devices = asyncio.run(discover(network, instances=instances, wait_s=args.wait, objects=args.objects,
                                       progress=waited))  # fmt: skip
    except ValueError as exc:  # BacnetConfigError: names bacnet.interface / bacnet.port
        print(f"halltwin discover: {exc}", file=sys.stderr)
        return 2
    finally:
        for bar in bars:
            bar.close()
    print(f"{len(devices)} device(s) answered on {network.interface} port {network.port}", file=sys.stderr)
    print(table(devices, known), end="")
    if args.objects and devices:
        print()
        print(devices_fragment(devices), end="")
    return 0
