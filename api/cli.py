"""The `halltwin` command line: demo, serve, check, convert, schema, simulate."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin.site.model import SiteConfig


def _check(args: argparse.Namespace) -> int:
    """Every error and warning in line order; exit 1 on any error, 0 when there are only warnings."""
    from twin.site.ifc_facts import read_model_facts
    from twin.site.loader import site_problems

    site, problems = site_problems(args.site, lambda ifc: read_model_facts(ifc, geometry=True))
    for problem in problems:
        print(problem, file=sys.stderr)
    errors = sum(1 for p in problems if not p.is_warning)
    warnings = len(problems) - errors
    noted = f", {warnings} warning(s)" if warnings else ""
    if errors or site is None:
        print(f"{errors} problem(s){noted} in {args.site}", file=sys.stderr)
        return 1
    engine_problem = _alarm_rules_problem(site)
    if engine_problem is not None:  # what needs the templates' own rules (twin/site/checks_alarms.py)
        print(f"{args.site}: alarms: {engine_problem}", file=sys.stderr)
        print(f"1 problem(s){noted} in {args.site}", file=sys.stderr)
        return 1
    points = sum(len(d.points) for d in site.devices)
    print(f"{args.site}: OK ({len(site.zones)} zones, {len(site.devices)} devices, {points} points){noted}")
    return 0


def _alarm_rules_problem(site: SiteConfig) -> str | None:
    """The alarm engine's own check of its rules (an override that matches no template's rule, a rule id taken by
    a template), on the site without its building model: every reference is resolved already."""
    from alarms.rules import AlarmConfigError, build_rules
    from iot_gateway.simulators.hall import HallLayout

    try:
        build_rules(site, HallLayout())
    except AlarmConfigError as exc:
        return str(exc)
    return None


def _schema(_args: argparse.Namespace) -> int:
    from twin.site.model import SiteConfig

    print(json.dumps(SiteConfig.model_json_schema(), indent=2, ensure_ascii=False))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from twin.bim import IfcLoadError, convert

    output: Path = args.output or args.ifc.with_suffix(".glb")
    try:
        result = convert(args.ifc, output, progress=sys.stderr.isatty())
    except (IfcLoadError, OSError) as exc:
        print(f"halltwin convert: {exc}", file=sys.stderr)
        return 1
    print(f"{result.glb_path}: {result.glb_bytes / 1e6:.2f} MB, {result.elements} elements, {result.seconds:.1f} s")
    print(f"{result.elements_path}: element metadata")
    return 0


def _load(site_path: Path) -> SiteConfig | None:
    """The checked site, or None after printing every problem."""
    from twin.site import SiteFileError, load_site

    try:
        return load_site(site_path)
    except SiteFileError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return None


def _port_taken(command: str, host: str, port: int) -> str | None:
    """One line saying the web port is taken and how to choose another, or None when it is free. Checked before
    anything starts (the demo's simulated devices would otherwise print their own bind errors first)."""
    import errno
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            sock.bind((host, port))
            return None
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:  # a name that does not resolve, an address not on this machine
                return f"halltwin {command}: cannot listen on {host}:{port}: {exc.strerror or exc}"
    other = "8001" if port != 8001 else "8002"
    how = f"`halltwin {command} --port {other}`" + (f" or `make demo PORT={other}`" if command == "demo" else "")
    return f"halltwin {command}: port {port} on {host} is already in use (another HallTwin?): choose another with {how}"


DB_HELP = "users and audit: sqlite:///file or postgresql://user@host/db (or HALLTWIN_DB_URL)"


def _db_url(args: argparse.Namespace, data_dir: Path, command: str) -> str | None:
    """--db, else HALLTWIN_DB_URL, else the data dir's SQLite file; printed. None after printing a bad URL."""
    from store import DatabaseUrlError, default_url
    from store.url import async_url, display

    url = args.db or os.environ.get("HALLTWIN_DB_URL") or default_url(data_dir)
    try:
        print(f"database: {display(async_url(url))}", file=sys.stderr)
    except DatabaseUrlError as exc:
        print(f"halltwin {command}: {exc}", file=sys.stderr)
        return None
    return url


def _serve(args: argparse.Namespace) -> int:
    from api.app import create_app
    from api.auth import AuthSettings
    from api.runtime import HallRuntime, HistoryConfig
    from api.serve import serve_app
    from iot_gateway.mqtt_settings import MqttSettingsError, settings_from_site

    taken = _port_taken("serve", args.host, args.port)
    if taken:
        print(taken, file=sys.stderr)
        return 2
    site = _load(args.site)
    if site is None:
        return 1
    site_path: Path = args.site.resolve()
    data_dir: Path = args.data_dir or site_path.parent / "halltwin-data"
    db_url = _db_url(args, data_dir, "serve")
    if db_url is None:
        return 2
    try:
        history = HistoryConfig(args.history, args.vm_url)
        auth = AuthSettings.from_env()  # HALLTWIN_SESSION_HOURS
        settings_from_site(site.mqtt, base_dir=site_path.parent)  # credentials and CA file, checked before start
        if any(d.connection is not None and d.connection.type == "bacnet_ip" for d in site.devices):
            from iot_gateway.drivers.bacnet_app import probe_network

            probe_network(site.bacnet)  # bacnet.interface / bacnet.port: one clear message, not a traceback
    except (ValueError, MqttSettingsError) as exc:
        print(f"halltwin serve: {exc}", file=sys.stderr)
        return 2
    runtime = HallRuntime(
        site, site_path, data_dir, history=history, mqtt_bridge=args.mqtt_bridge, db_url=db_url, auth=auth
    )
    asyncio.run(serve_app(create_app(runtime, prepare_model=True), args.host, args.port))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from api.demo import run_demo
    from bim_models.demo_hall import SITE_PATH, ensure_demo_hall

    taken = _port_taken("demo", args.host, args.port)
    if taken:
        print(taken, file=sys.stderr)
        return 2
    ensure_demo_hall()  # the demo IFC is generated on first run (and again when its generator changes)
    site = _load(SITE_PATH)
    if site is None:
        return 1
    try:
        db_url = _db_url(args, args.data_dir, "demo")
        if db_url is None:
            return 2
        asyncio.run(run_demo(site, SITE_PATH, args.host, args.port, args.data_dir, args.tour_interval, db_url))
    except OSError as exc:  # a port of the demo's simulated devices is taken (another demo still running?)
        print(f"halltwin demo: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="halltwin", description="HallTwin: digital twin of a service hall")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate a site file and print every problem with file:line")
    check.add_argument("site", type=Path)
    check.set_defaults(func=_check)

    convert = sub.add_parser("convert", help="convert an IFC model to GLB (+ <name>.elements.json beside it)")
    convert.add_argument("ifc", type=Path, help="IFC2X3 or IFC4 file")
    convert.add_argument("-o", "--output", type=Path, help="GLB to write (default: the IFC name with .glb)")
    convert.set_defaults(func=_convert)

    from api import cli_simulate

    cli_simulate.add_parser(sub)
    from api import cli_discover

    cli_discover.add_parser(sub)
    from api import cli_ede

    cli_ede.add_parser(sub)
    from api import cli_store

    cli_store.add_parser(sub)
    from api import cli_nav

    cli_nav.add_parser(sub)
    from api import cli_count

    cli_count.add_parser(sub)

    serve = sub.add_parser("serve", help="run the gateway, history, API and viewer for a site")
    serve.add_argument("site", type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", type=Path, help="history and caches (default: halltwin-data beside the site)")
    serve.add_argument("--history", choices=("sqlite", "victoriametrics"), default="sqlite")
    serve.add_argument("--vm-url", help="VictoriaMetrics base URL, e.g. http://127.0.0.1:8428")
    serve.add_argument("--db", metavar="URL", help=DB_HELP + " (default: halltwin.sqlite in the data dir)")
    serve.add_argument(
        "--mqtt-bridge",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="publish every point to halltwin/{site}/point/{id} on the site's broker",
    )
    serve.set_defaults(func=_serve)

    demo = sub.add_parser("demo", help="the bundled demo hall, simulated devices included, on http://127.0.0.1:8000")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "halltwin" / "demo")
    demo.add_argument("--db", metavar="URL", help=DB_HELP + " (default: halltwin.sqlite in the data dir)")
    demo.add_argument(
        "--tour-interval", type=float, default=120.0, help="seconds between scenarios of the tour (0: no tour)"
    )
    demo.set_defaults(func=_demo)

    schema = sub.add_parser("schema", help="print the JSON schema of site.yaml")
    schema.set_defaults(func=_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
