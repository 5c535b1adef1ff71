"""Destinations of the demo hall (catalogue, windows, rooms, amenities), their search, the live conditions of
routes, and the site checks of the wayfinding sections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from twin.nav.builder import Built
from twin.nav.cache import build_cached
from twin.nav.destination_search import DestinationSearch
from twin.nav.destinations import Destinations, build_destinations
from twin.nav.live import crowd_density, danger
from twin.points import PointUpdate, Quality
from twin.site.loader import load_site, site_problems
from twin.site.model import SiteConfig


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteConfig, Built, Destinations]:
    ensure_demo_hall()
    site = load_site(SITE_PATH, guid_index=None)
    # The session's cache folder, as tests/api/test_wayfinding_api.py's runtime uses it: the graph is built once.
    cache = tmp_path_factory.getbasetemp() / "halltwin-cache" / "nav"
    built, _, _ = build_cached(SITE_PATH.parent / site.site.ifc, cache)
    return site, built, build_destinations(site, built.index)


def test_every_service_window_and_public_room_is_a_destination(demo: tuple[SiteConfig, Built, Destinations]) -> None:
    site, built, found = demo
    assert not found.notes
    assert len(site.services) >= 40
    assert {f"service:{s.id}" for s in site.services} <= set(found.items)
    assert {f"window:{n}" for n in range(1, 33)} <= set(found.items)
    kinds = {d.kind for d in found.items.values()}
    assert {"toilet", "mother_baby", "self_service", "exit", "elevator", "stair", "guidance"} <= kinds
    assert "zone:1f-server" not in found.items and "zone:1f-power" not in found.items  # machine rooms: staff only
    exits = [d for d in found.items.values() if d.kind == "exit"]
    assert len(exits) == sum(1 for d in built.index.doors if d.is_exit)
    assert all(e.name.zh.startswith("出口") and e.name.en.startswith("Exit") for e in exits)


def test_windows_are_reached_from_the_public_side(demo: tuple[SiteConfig, Built, Destinations]) -> None:
    """The counters stand at y = 25 with the waiting zone to the south: visitors stand at y = 24."""
    _, _, found = demo
    for number in ("1", "12", "21", "32"):
        window = found.items[f"window:{number}"]
        assert window.y == pytest.approx(24.0, abs=0.01), number
    assert found.items["window:26"].name.zh == "26号窗口（公积金窗口）"
    loan = found.items["service:fund-loan"]
    assert loan.windows == ("26", "27", "28") and (loan.x, loan.y) == (found.items["window:27"].x, 24.0)


@pytest.fixture(scope="module")
def search(demo: tuple[SiteConfig, Built, Destinations]) -> DestinationSearch:
    return DestinationSearch(demo[2].items.values())


def ids(search: DestinationSearch, query: str, limit: int = 5) -> list[str]:
    return [hit.destination.id for hit in search.search(query, limit)]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("身份证", "service:id-card-first"),
        ("我要办营业执照", "service:company-setup"),  # filler words dropped
        ("ＨＪＱＲ", "service:hukou-move-in"),  # full-width initials, any case
        ("hu ji qian ru", "service:hukou-move-in"),  # pinyin with spaces
        ("第12号窗口", "window:12"),
        ("12号窗", "window:12"),
        ("Window 12", "window:12"),
        ("mother and baby", "zone:1f-mb"),
        ("洗手间", "zone:1f-wc"),
        ("lift", "elevator"),
        ("档案室", "zone:2f-arch"),
    ],
)
def test_search_ranks(search: DestinationSearch, query: str, first: str) -> None:
    found = ids(search, query)
    assert found and found[0].startswith(first), found


def test_search_initials_of_a_category(search: DestinationSearch) -> None:
    """bdcdj: 不动产登记, the category of every real-estate item."""
    assert set(ids(search, "bdcdj", 4)) == {"service:property-first", "service:property-transfer",
                                            "service:mortgage-registration", "service:property-records"}


def test_search_window_number_also_finds_what_is_handled_there(search: DestinationSearch) -> None:
    found = ids(search, "9", 10)
    assert found[0] == "window:9" and {"service:marriage", "service:divorce"} <= set(found)


def test_search_nothing_and_everything(search: DestinationSearch, demo: tuple[SiteConfig, Built, Destinations]) -> None:
    assert search.search("量子计算机", 5) == []
    assert search.search("xqzv", 5) == []
    everything = search.search("", 1000)
    assert len(everything) == len(demo[2].items)
    assert everything[0].destination.kind == "service"
    only = search.search("", 1000, frozenset({"toilet"}))
    assert {h.destination.id for h in only} == {"zone:1f-wc", "zone:2f-wc"}


class _Alarm:
    def __init__(self, alarm_class: str, zone: str | None, spaces: list[str], active: bool = True,
                 latched: bool = False, out_of_service: bool = False, drill: bool = False, raised_at: float = 10.0):
        self.id, self.alarm_class, self.zone, self.space_guids = 1, alarm_class, zone, spaces
        self.active, self.latched, self.out_of_service, self.drill, self.raised_at = (
            active, latched, out_of_service, drill, raised_at)


def test_danger_counts_active_or_latched_fire_and_smoke_in_service(
        demo: tuple[SiteConfig, Built, Destinations]) -> None:
    site = demo[0]
    entrance = site.zone("1f-ent").ifc_guid
    found = danger([_Alarm("smoke", "1f-ent", []), _Alarm("leak", "1f-wc", ["x"]),
                    _Alarm("fire", None, ["S1"], active=False, latched=True, raised_at=5.0),
                    _Alarm("fire", None, ["S2"], out_of_service=True)], site)
    assert found.active and found.spaces == {entrance, "S1"} and found.classes == ("fire", "smoke")
    assert found.since == 5.0 and found.zones == ("1f-ent",) and not found.drill
    by_space = danger([_Alarm("fire", None, [site.zone("1f-wait").ifc_guid, "S3"], drill=True)], site)
    assert by_space.zones == ("1f-wait",) and by_space.drill
    assert not danger([_Alarm("fire", None, ["S"], active=False)], site).active  # cleared and not latched


def _with_crowd_points(site: SiteConfig) -> SiteConfig:
    data: dict[str, Any] = site.model_dump(mode="json", exclude_none=True)
    data["devices"].append({
        "id": "crowd", "name": {"zh": "客流", "en": "Crowd"}, "kind": "camera", "zone": "1f-wait",
        "ifc_guid": site.zone("1f-wait").ifc_guid, "connection": {"type": "computed", "source": "crowding"},
        "points": [
            {"id": "crowd.wait.density", "name": {"zh": "密度", "en": "Density"}, "kind": "analog",
             "brick": "Occupancy_Count_Sensor", "address": {"type": "computed", "measure": "density", "ref": "1f-ent"}},
            {"id": "crowd.win.people", "name": {"zh": "人数", "en": "People"}, "kind": "analog",
             "brick": "Occupancy_Count_Sensor", "address": {"type": "computed", "measure": "people", "ref": "2f-win"}},
            {"id": "crowd.fund.waiting", "name": {"zh": "等候", "en": "Waiting"}, "kind": "analog",
             "brick": "Occupancy_Count_Sensor", "address": {"type": "computed", "measure": "waiting", "ref": "fund"}},
        ],
    })  # fmt: skip
    return SiteConfig.model_validate(data, strict=False)


def test_crowd_density_from_computed_points(demo: tuple[SiteConfig, Built, Destinations]) -> None:
    site = _with_crowd_points(demo[0])
    areas = {s.guid: s.area for s in demo[1].index.spaces}
    latest = {
        "crowd.wait.density": PointUpdate("crowd.wait.density", 1.5, Quality.GOOD, 0, 0),
        "crowd.win.people": PointUpdate("crowd.win.people", 144, Quality.GOOD, 0, 0),
        "crowd.fund.waiting": PointUpdate("crowd.fund.waiting", 36, Quality.STALE, 0, 0),
    }
    density = crowd_density(site, latest, areas)
    window_zone = site.zone("2f-win").ifc_guid
    assert density[site.zone("1f-ent").ifc_guid] == 1.5
    assert density[window_zone] == pytest.approx(144 / areas[window_zone], rel=0.01)
    assert site.zone("2f-wait").ifc_guid not in density  # a STALE figure is not a crowd
    latest["crowd.fund.waiting"] = PointUpdate("crowd.fund.waiting", 36, Quality.GOOD, 0, 0)
    waiting = site.zone("2f-wait").ifc_guid
    assert crowd_density(site, latest, areas)[waiting] == pytest.approx(36 / areas[waiting], rel=0.01)


def test_checks_name_every_dangling_reference(tmp_path: Path) -> None:
    """One broken copy of the demo site, checked against its model: every problem named with its place."""
    from twin.site.loader import ifc_guid_index

    data = yaml.safe_load(SITE_PATH.read_text(encoding="utf-8"))
    data["site"]["ifc"] = str(SITE_PATH.parent / data["site"]["ifc"])
    services = data["services"]
    services[0]["category"] = "houshold"
    services[1]["windows"] = ["99"]
    services[10] = {**services[10], "window_group": "fundd"}
    services[11]["ticket_service"] = "nosuch"
    services[12] = {k: v for k, v in services[12].items() if k not in ("window_group", "windows")}
    services[12]["zone"] = "1f-nowhere"
    services[13]["zone"] = "1f-ent"
    services.append(dict(services[2]))
    data["kiosks"][0]["zone"] = "1f-lobby"
    data["kiosks"][0]["point"]["storey"] = "9F"
    data["kiosks"][1]["device"] = "kiosk-9"
    data["windows"][1]["number"] = "1"
    data["windows"][0]["ifc_guid"] = "0000000000000000000000"
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _, problems = site_problems(path, ifc_guid_index)
    found = [f"{p.path}: {p.message}" for p in problems if not p.is_warning]
    expected = [
        "services[0].category: category 'houshold' is not defined under service_categories: (did you mean "
        "'household'?)",
        "services[1].windows[0]: window 99 is neither under windows: nor in a window group",
        "services[10].window_group: window group 'fundd' is not defined under queues.groups: (did you mean 'fund'?)",
        "services[11].ticket_service: ticket service 'nosuch' is not defined under queues.services:",
        "services[12].zone: zone '1f-nowhere' is not defined under zones:",
        "exactly one of window_group:, windows: or zone: (given: window_group, zone)",
        "duplicate service id",
        "kiosks[0].zone: zone '1f-lobby' is not defined under zones:",
        "kiosks[0].point.storey: no storey '9F'",
        "kiosks[1].device: device 'kiosk-9' is not defined under devices:",
        "windows[1].number: window 1 is listed twice",
        "windows[0].ifc_guid: GlobalId 0000000000000000000000 is not in",
    ]
    for text in expected:
        assert any(text in problem for problem in found), (text, found)
