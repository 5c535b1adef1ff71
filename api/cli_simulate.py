"""`halltwin simulate SITE`: run the site's devices as simulators on real protocols, optionally with a scenario."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from iot_gateway.simulators.scenario_names import SCENARIO_NAMES

if TYPE_CHECKING:
    from twin.site.model import SiteConfig

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = sub.add_parser("simulate", help="run the site's devices as simulators on Modbus TCP, BACnet/IP, MQTT")
    simulate.add_argument("site", type=Path)
    simulate.add_argument("--scenario", choices=SCENARIO_NAMES, help="start this incident after --after seconds")
    simulate.add_argument("--target", help="zone, door or button id for the scenario (default: a sensible one)")
    simulate.add_argument("--after", type=float, default=5.0, help="seconds before the scenario starts")
    simulate.add_argument("--clear-after", type=float, help="seconds the scenario lasts (default: until stopped)")
    simulate.add_argument("--time-scale", type=float, default=1.0, help="simulated seconds per real second")
    simulate.add_argument("--start-hour", type=float, default=9.5, help="simulated time of day at start")
    simulate.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    simulate.set_defaults(func=run)


def _accepting(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


async def simulate(site: SiteConfig, ifc_path: Path, args: argparse.Namespace) -> None:
    from iot_gateway.broker import MqttBrokerLauncher
    from iot_gateway.simulators.hall import HallSimulator, read_layout

    layout = await asyncio.to_thread(read_layout, ifc_path, site)
    broker = None
    needs_broker = any(d.connection is not None and d.connection.type == "mqtt" for d in site.devices)
    if needs_broker and not _accepting(site.mqtt.host, site.mqtt.port):
        # No broker where the site expects one: start ours there, so the simulators have somewhere to publish.
        broker = MqttBrokerLauncher(site.mqtt.host, site.mqtt.port)
        await broker.start()
    hall = HallSimulator(site, layout, time_scale=args.time_scale, start_hour=args.start_hour)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await hall.start()
        if args.scenario:
            await _wait(stop, args.after)
            if not stop.is_set():
                hall.start_scenario(args.scenario, args.target)
                if args.clear_after is not None:
                    await _wait(stop, args.clear_after)
                    hall.clear_scenario(args.scenario)
        await _wait(stop, args.duration)
    finally:
        await hall.stop()
        if broker is not None:
            await broker.stop()


async def _wait(stop: asyncio.Event, seconds: float | None) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def run(args: argparse.Namespace) -> int:
    from iot_gateway.simulators.scenarios import ScenarioError, build_scenario
    from twin.site import SiteFileError, load_site

    try:
        site = load_site(args.site)
    except SiteFileError as exc:
        for error in exc.errors:
            log.error("%s", error)
        return 1
    try:
        if args.scenario:
            build_scenario(site, args.scenario, args.target)  # a wrong target fails before any server starts
        asyncio.run(simulate(site, (args.site.parent / site.site.ifc).resolve(), args))
    except ScenarioError as exc:
        log.error("%s", exc)
        return 2
    return 0
