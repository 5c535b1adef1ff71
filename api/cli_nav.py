"""`halltwin route IFC FROM TO` and `halltwin nav-report IFC`: wayfinding on any building model from the shell."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from twin.nav.modes import Mode

if TYPE_CHECKING:
    from twin.nav.builder import Built
    from twin.nav.navigator import Navigator

DEFAULT_CACHE = Path.home() / ".cache" / "halltwin" / "nav"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    route = sub.add_parser("route", help="the walking, step-free or evacuation route between two rooms of an IFC")
    route.add_argument("ifc", type=Path)
    route.add_argument("start", metavar="FROM", help="space name, long name or GlobalId")
    route.add_argument("goal", metavar="TO", nargs="?", help="space name, long name or GlobalId (evacuation: none)")
    route.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.WALK.value)
    route.add_argument("--json", action="store_true", help="print the route as JSON")
    route.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the directions")
    route.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    route.set_defaults(func=_route)
    nav = sub.add_parser("nav-report", help="navigation graph of an IFC: size, exits, storeys, unreachable rooms")
    nav.add_argument("ifc", type=Path)
    nav.add_argument("--json", action="store_true")
    nav.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    nav.set_defaults(func=_nav_report)


# The planner (shapely, scipy, ifcopenshell) is imported by the commands that use it: every other `halltwin`
# command starts a second sooner.


def _graph(args: argparse.Namespace) -> Built | None:
    from twin.bim.errors import IfcLoadError
    from twin.nav.cache import build_cached

    try:
        built, _, _ = build_cached(args.ifc, args.cache_dir)
    except (IfcLoadError, OSError) as exc:
        print(f"halltwin {args.command}: {exc}", file=sys.stderr)
        return None
    return built


def _load(args: argparse.Namespace) -> Navigator | None:
    from twin.nav.navigator import Navigator

    built = _graph(args)
    return Navigator(built) if built is not None else None


def _route(args: argparse.Namespace) -> int:
    from twin.nav.router import RouteError

    navigator = _load(args)
    if navigator is None:
        return 1
    mode = Mode(args.mode)
    if args.goal is None and mode != Mode.EVACUATION:
        print("halltwin route: TO is needed except with --mode evacuation", file=sys.stderr)
        return 2
    try:
        start = navigator.resolve(args.start)
        goal = navigator.resolve(args.goal) if args.goal and mode != Mode.EVACUATION else None
        destination = navigator.labels[goal.space] if goal and goal.space else None
        answer = navigator.route(start, goal, mode, destination=destination)
    except RouteError as exc:
        print(f"halltwin route: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0 if answer["ok"] else 3
    if not answer["ok"]:
        print(f"no route ({answer['reason']}): {answer['detail']}")
        return 3
    for number, step in enumerate(answer["steps"], 1):
        print(f"{number:>2}. {step['text'][args.lang]}")
    times = f"{answer['walking_s'] / 60:.1f} min"
    if "wheelchair_s" in answer:
        times += f", wheelchair {answer['wheelchair_s'] / 60:.1f} min"
    print(f"{answer['length_m']:.0f} m, {times}")
    return 0


def _nav_report(args: argparse.Namespace) -> int:
    from twin.nav.report import format_report, report

    built = _graph(args)
    if built is None:
        return 1
    data = report(built)
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_report(data))
    return 0
