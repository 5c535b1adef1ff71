"""Wayfinding on the demo hall and on every model in ../shared/ifc: storeys, step-free, evacuation, optimality."""

from __future__ import annotations

import json
from pathlib import Path

import ifcopenshell
import ifcopenshell.util.element
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from api.cli import main as halltwin
from tests.peers import SHARED
from twin.nav.cache import build_cached
from twin.nav.costs import Conditions
from twin.nav.geodesic import grid_geodesic
from twin.nav.graph import EdgeKind
from twin.nav.modes import Mode
from twin.nav.navigator import Navigator
from twin.nav.router import NoRoute, Place, Route, RouteError

SHARED_MODELS = ("AC20-FZK-Haus.ifc", "Duplex_A_20110907.ifc", "LargeBuilding.ifc")


@pytest.fixture(scope="session")
def nav_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nav-cache")


@pytest.fixture(scope="session")
def demo(nav_cache: Path) -> Navigator:
    demo_hall = pytest.importorskip("bim_models.demo_hall")
    built, _, _ = build_cached(demo_hall.ensure_demo_hall(), nav_cache)
    return Navigator(built)


@pytest.fixture(scope="session")
def shared(nav_cache: Path) -> dict[str, Navigator]:
    """Each shared model built once per session (LargeBuilding ~1-2 s, Duplex ~3-6 s on a loaded machine)."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return {name: Navigator(build_cached(SHARED / "ifc" / name, nav_cache)[0]) for name in SHARED_MODELS}


def _all(demo: Navigator, shared: dict[str, Navigator]) -> dict[str, Navigator]:
    return {"demo": demo, **shared}


def _space(nav: Navigator, name: str) -> Place:
    return nav.resolve(name)


def _uses(route: Route, kind: EdgeKind) -> bool:
    return any(step.kind == kind for step in route.steps)


def test_routes_between_storeys_wherever_stairs_exist(demo: Navigator, shared: dict[str, Navigator]) -> None:
    checked = 0
    for name, nav in _all(demo, shared).items():
        graph = nav.router.graph
        for crossing, item in enumerate(graph.crossings):
            if item.kind != "stair":
                continue
            ends = np.flatnonzero(graph.node_crossing == crossing)
            lower, upper = sorted(ends, key=lambda n: graph.node_z[n])[:: len(ends) - 1]
            start_space = graph.regions[graph.node_region[lower]].spaces[0]
            goal_space = graph.regions[graph.node_region[upper]].spaces[0]
            route = nav.router.route(nav.space_place(start_space), nav.space_place(goal_space), Mode.WALK)
            assert isinstance(route, Route), (name, item.name, route)
            assert _uses(route, EdgeKind.STAIR) or _uses(route, EdgeKind.ELEVATOR), (name, item.name)
            assert route.points[0][2] != route.points[-1][2], (name, item.name)
            checked += 1
    assert checked >= 5  # 2 in the demo hall, 1 in FZK-Haus, 2 in Duplex


def test_accessible_routes_use_no_stairs(demo: Navigator, shared: dict[str, Navigator]) -> None:
    route = demo.router.route(_space(demo, "1F-ENT"), _space(demo, "2F-WIN"), Mode.ACCESSIBLE)
    assert isinstance(route, Route) and not _uses(route, EdgeKind.STAIR) and _uses(route, EdgeKind.ELEVATOR)
    walking = demo.router.route(_space(demo, "1F-ENT"), _space(demo, "2F-WIN"), Mode.WALK)
    assert isinstance(walking, Route) and _uses(walking, EdgeKind.STAIR) and walking.seconds < route.seconds
    answer = demo.route(_space(demo, "1F-ENT"), _space(demo, "2F-WIN"), Mode.ACCESSIBLE)
    assert answer["wheelchair_s"] > 0 and not answer["uses_stairs"] and answer["uses_elevator"]
    # FZK-Haus: its only way up is a spiral stair, so there is no step-free route, and the answer names the stair.
    fzk = shared["AC20-FZK-Haus.ifc"]
    up = fzk.router.route(_space(fzk, "1"), _space(fzk, "7"), Mode.ACCESSIBLE)
    assert isinstance(up, NoRoute) and up.reason == "no_step_free"
    assert {fzk.router.graph.crossings[c].kind for c in up.blockers} == {"stair"}
    for name, nav in _all(demo, shared).items():  # no accessible route anywhere takes a stair or a narrow door
        rooms = nav.built.index.spaces
        for a, b in zip(rooms[::3], rooms[1::3], strict=False):
            result = nav.router.route(nav.space_place(a.guid), nav.space_place(b.guid), Mode.ACCESSIBLE)
            if isinstance(result, Route):
                assert not _uses(result, EdgeKind.STAIR), name
                widths = [nav.router.graph.crossings[s.crossing].width for s in result.steps
                          if s.kind in (EdgeKind.DOOR, EdgeKind.EXIT)]
                assert all(w >= 0.8 for w in widths), (name, widths)


def test_evacuation_avoids_alarmed_zones_and_never_takes_a_lift(demo: Navigator) -> None:
    index = demo.built.index
    wait = next(s for s in index.spaces if s.name == "1F-WAIT")
    start = _space(demo, "1F-WIN")
    plain = demo.router.route(start, None, Mode.EVACUATION)
    assert isinstance(plain, Route)
    assert LineString([p[:2] for p in plain.points]).intersection(demo.built.index.plan(wait.guid)).length > 1.0
    alarmed = demo.router.route(start, None, Mode.EVACUATION, Conditions(alarmed_spaces=frozenset({wait.guid})))
    assert isinstance(alarmed, Route) and alarmed.exit is not None
    inside = demo.built.index.plan(wait.guid).buffer(-0.1)
    assert LineString([p[:2] for p in alarmed.points]).intersection(inside).length == 0.0
    for room in index.spaces:  # from every room of the hall: never a lift, always out of the building
        result = demo.router.route(demo.space_place(room.guid), None, Mode.EVACUATION)
        assert isinstance(result, Route), room.name
        assert not _uses(result, EdgeKind.ELEVATOR) and result.steps[-1].kind == EdgeKind.EXIT, room.name
    # Every exit of 1F's public hall on fire: the answer says so rather than leading through the fire.
    hall = [s.guid for s in index.spaces if s.name in ("1F-WAIT", "1F-ENT", "1F-SELF", "1F-CONV", "1F-24H",
                                                          "1F-CORR-N", "1F-LOBBY-W", "1F-LOBBY-E", "1F-STAIR-W",
                                                          "1F-STAIR-E")]
    trapped = demo.route(start, None, Mode.EVACUATION, Conditions(alarmed_spaces=frozenset(hall)))
    assert trapped["ok"] is False and trapped["reason"] == "exits_blocked" and "alarm" in trapped["detail"]


def test_evacuation_keeps_its_exit_while_the_choice_is_close(demo: Navigator) -> None:
    # Midway between two exits, small moves of the visitor must not flip the exit shown (hysteresis).
    first = demo.route(Place(12.5, 20.0, demo.built.index.storeys[0].guid), None, Mode.EVACUATION)
    chosen = {first["exit"]["guid"]}
    for dx in (0.3, -0.3, 0.6, -0.6):
        again = demo.route(Place(12.5 + dx, 20.0, demo.built.index.storeys[0].guid), None, Mode.EVACUATION)
        chosen.add(again["exit"]["guid"])
    assert len(chosen) == 1


def test_paths_are_within_5_percent_of_a_fine_grid_geodesic(demo: Navigator, shared: dict[str, Navigator]) -> None:
    rng = np.random.default_rng(7)
    ratios = []
    for nav in (demo, shared["Duplex_A_20110907.ifc"], shared["LargeBuilding.ifc"]):
        regions = sorted(nav.router.graph.regions, key=lambda r: -r.walkable.area)[:2]
        for region in regions:
            min_x, min_y, max_x, max_y = region.walkable.bounds
            points: list[tuple[float, float]] = []
            while len(points) < 4:
                x, y = rng.uniform(min_x, max_x), rng.uniform(min_y, max_y)
                if region.walkable.buffer(-0.2).contains(Point(x, y)):
                    points.append((x, y))
            for a, b in ((points[0], points[1]), (points[2], points[3])):
                route = nav.router.route(Place(*a, region.storey), Place(*b, region.storey), Mode.WALK)
                assert isinstance(route, Route)
                reference = grid_geodesic(region.walkable, a, b, cell=0.1)
                if np.hypot(a[0] - b[0], a[1] - b[1]) > 1.0:
                    ratios.append(route.length / reference)
    assert len(ratios) >= 8
    assert all(0.95 <= r <= 1.05 for r in ratios), ratios


def test_exits_are_what_the_models_define(demo: Navigator, shared: dict[str, Navigator]) -> None:
    for name, nav in _all(demo, shared).items():
        model = ifcopenshell.open(nav.built.index.source)
        for door in nav.built.index.doors:
            external = ifcopenshell.util.element.get_psets(model.by_guid(door.guid)).get("Pset_DoorCommon", {}) \
                .get("IsExternal")
            if isinstance(external, bool):
                assert door.is_exit is external, (name, door.name)
        exits = {c.guid for c in nav.router.graph.crossings if c.kind == "exit"}
        assert exits == {d.guid for d in nav.built.index.doors if d.is_exit and len(d.spaces) == 1}, name
    assert len([d for d in demo.built.index.doors if d.is_exit]) == 5
    assert len([d for d in shared["Duplex_A_20110907.ifc"].built.index.doors if d.is_exit]) == 4
    large = shared["LargeBuilding.ifc"]  # every door says IsExternal = false: no exit, and evacuation says so
    answer = large.route(large.space_place(large.built.index.spaces[0].guid), None, Mode.EVACUATION)
    assert answer == {"ok": False, "mode": "evacuation", "reason": "no_exit", "blockers": [],
                      "detail": "the building model has no exit door (no door marked IsExternal)"}


def test_directions_name_landmarks_in_both_languages(demo: Navigator) -> None:
    answer = demo.route(_space(demo, "1F-ENT"), _space(demo, "2F-WIN"), Mode.ACCESSIBLE,
                        destination=demo.labels[_space(demo, "2F-WIN").space or ""])
    texts = [step["text"] for step in answer["steps"]]
    assert any("电梯" in t["zh"] and "lift" in t["en"] for t in texts)
    assert texts[-1] == {"zh": "到达二层窗口服务区", "en": "Arrive at 2F window service zone"}
    assert sum(step["metres"] for step in answer["steps"]) == pytest.approx(answer["length_m"], rel=0.05)
    assert answer["walking_s"] > answer["length_m"] / 1.5


def test_crowds_make_routes_go_around(demo: Navigator) -> None:
    # Lobby to lobby across the hall: the short way crosses the waiting zone, the long way the north corridor.
    start, goal = _space(demo, "1F-LOBBY-W"), _space(demo, "1F-LOBBY-E")
    crowded = {s.guid: 4.0 for s in demo.built.index.spaces if s.name in ("1F-WAIT", "1F-WIN")}
    calm = demo.router.route(start, goal, Mode.WALK, Conditions(density=crowded, congestion=False))
    busy = demo.router.route(start, goal, Mode.WALK, Conditions(density=crowded, congestion=True))
    assert isinstance(calm, Route) and isinstance(busy, Route)
    corridor = demo.built.index.plan(next(s.guid for s in demo.built.index.spaces if s.name == "1F-CORR-N"))
    assert LineString([p[:2] for p in calm.points]).intersection(corridor).length < 1.0
    assert LineString([p[:2] for p in busy.points]).intersection(corridor).length > 20.0
    assert busy.length > calm.length  # the detour is longer in metres and shorter in time


def test_bad_places_are_refused_with_reasons(demo: Navigator) -> None:
    with pytest.raises(RouteError, match="no room named 'nowhere'"):
        demo.resolve("nowhere")
    with pytest.raises(RouteError, match="from any walkable floor"):
        demo.router.route(Place(500.0, 500.0, demo.built.index.storeys[0].guid), None, Mode.EVACUATION)
    with pytest.raises(RouteError, match="no walkable floor on storey"):
        demo.router.route(Place(1.0, 1.0, "not-a-storey"), None, Mode.EVACUATION)


def test_cli_route_and_nav_report(nav_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo_hall = pytest.importorskip("bim_models.demo_hall")
    ifc = str(demo_hall.ensure_demo_hall())
    cache = ["--cache-dir", str(nav_cache)]
    assert halltwin(["route", ifc, "1F-ENT", "2F-WIN", "--mode", "accessible", "--json", *cache]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] and answer["uses_elevator"] and not answer["uses_stairs"]
    assert halltwin(["route", ifc, "1F-WIN", "--mode", "evacuation", "--lang", "en", *cache]) == 0
    assert "Leave the building by" in capsys.readouterr().out
    assert halltwin(["route", ifc, "1F-WIN", "nowhere", *cache]) == 2
    assert "no room named 'nowhere'" in capsys.readouterr().err
    assert halltwin(["nav-report", ifc, "--json", *cache]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["exits"]) == 5 and {j["kind"] for j in report["joined_by"]} == {"stair", "elevator"}
    assert report["unreachable"] == []
    assert halltwin(["nav-report", "/nonexistent.ifc", *cache]) == 1
    assert "file not found" in capsys.readouterr().err
