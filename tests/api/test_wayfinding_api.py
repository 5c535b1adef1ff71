"""The public wayfinding API on the demo hall: destinations search, routes in every mode, the emergency signal, a
fire alarm raised through the real alarm engine that evacuation routes go around, bad input, 503 while building."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.app import create_app
from api.runtime import HallRuntime
from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
from tests.api.server import running_app
from twin.points import PointUpdate, Quality
from twin.site.loader import load_site

pytestmark = pytest.mark.asyncio(loop_scope="module")

READY_TIMEOUT_S = 90.0


@dataclass
class Served:
    url: str
    client: httpx.AsyncClient
    runtime: HallRuntime


@pytest.fixture(scope="module")
def nav_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's cache folder, shared with tests/twin/test_destinations.py: the demo graph is built once."""
    return tmp_path_factory.getbasetemp() / "halltwin-cache"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory, nav_cache: Path) -> AsyncIterator[Served]:
    """The demo hall's API without devices (the alarm engine runs; tests feed it smoke detector readings)."""
    await asyncio.to_thread(ensure_demo_hall)
    site = await asyncio.to_thread(load_site, SITE_PATH)
    runtime = HallRuntime(site, SITE_PATH, tmp_path_factory.mktemp("data"), poll_devices=False)
    runtime.cache_dir = nav_cache
    app = create_app(runtime, prepare_model=False)
    async with running_app(runtime, app) as url, httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        yield Served(url, client, runtime)


async def ready(served: Served) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        answer = await served.client.get("/api/destinations", params={"q": "x", "limit": 1})
        if answer.status_code == 200:
            return
        assert answer.status_code == 503, answer.text
        assert time.monotonic() < deadline, "the navigation graph was not built in time"
        await asyncio.sleep(0.2)


async def test_503_while_building_then_ready(served: Served) -> None:
    """The first request starts the build and is told to come back; later ones are answered."""
    answer = await served.client.get("/api/route", params={"from": "kiosk-1", "to": "window:5"})
    if answer.status_code == 503:  # the graph may be cached already when this test runs again
        assert int(answer.headers["retry-after"]) > 0
        assert "being built" in answer.json()["detail"]
    await ready(served)
    assert served.runtime.wayfinding is not None and served.runtime.wayfinding.builds == 1


async def search(served: Served, q: str, **params: Any) -> list[dict[str, Any]]:
    await ready(served)
    answer = await served.client.get("/api/destinations", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("户籍迁入", "service:hukou-move-in"),
        ("护照怎么办理", "service:passport"),
        ("营业执照", "service:company-setup"),
        ("hjqr", "service:hukou-move-in"),  # pinyin initials
        ("gongjijintiqu", "service:fund-withdrawal"),  # full pinyin
        ("passport", "service:passport"),
        ("business licence", "service:company-setup"),
        ("5号窗口", "window:5"),
        ("window 5", "window:5"),
        ("5", "window:5"),
        ("母婴室", "zone:1f-mb"),
        ("toilet", "zone:1f-wc"),
        ("会议室", "zone:2f-meet"),
    ],
)
async def test_search(served: Served, query: str, first: str) -> None:
    results = await search(served, query)
    assert results, f"nothing found for {query!r}"
    assert results[0]["id"] == first, [r["id"] for r in results[:5]]
    top = results[0]
    assert top["name"]["zh"] and top["name"]["en"]
    assert len(top["xyz"]) == 3


async def test_search_window_number_lists_services_handled_there(served: Served) -> None:
    ids = [r["id"] for r in await search(served, "5号窗口", limit=10)]
    assert ids[0] == "window:5"
    assert {"service:passport", "service:hk-macao-permit"} <= set(ids)


async def test_search_near_the_visitor(served: Served) -> None:
    """The same words from the 2F kiosk list the 2F toilets first; an unknown place is a 404."""
    assert [r["id"] for r in await search(served, "卫生间", near="kiosk-2")][:2] == ["zone:2f-wc", "zone:1f-wc"]
    assert [r["id"] for r in await search(served, "卫生间", near="kiosk-1")][:2] == ["zone:1f-wc", "zone:2f-wc"]
    answer = await served.client.get("/api/destinations", params={"q": "wc", "near": "kiosk-9"})
    assert answer.status_code == 404 and answer.json()["detail"].startswith("near:")


async def test_catalogue_and_categories(served: Served) -> None:
    await ready(served)
    answer = (await served.client.get("/api/destinations", params={"kind": "service", "limit": 500})).json()
    assert answer["count"] >= 40
    assert {r["kind"] for r in answer["results"]} == {"service"}
    assert {"household", "social", "tax", "real-estate"} <= {c["id"] for c in answer["categories"]}
    fund = next(r for r in answer["results"] if r["id"] == "service:fund-loan")
    assert fund["window_group"] == "fund" and fund["windows"] == ["26", "27", "28"] and fund["storey_name"] == "2F"
    unmatched = await search(served, "zzzz-nothing-like-this")
    assert unmatched == []


async def route(served: Served, **params: str) -> dict[str, Any]:
    await ready(served)
    answer = await served.client.get("/api/route", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_walk_route_across_storeys(served: Served) -> None:
    """From the 1F kiosk to a 2F window: both storeys, a polyline per storey, steps in both languages."""
    body = await route(served, **{"from": "kiosk-1", "to": "service:fund-loan", "lang": "en"})
    assert body["ok"] is True
    storeys = [s["name"] for s in body["storeys"]]
    assert storeys == ["1F", "2F"]
    legs = body["legs"]
    assert [leg["storey"] for leg in legs] == [s["guid"] for s in body["storeys"]]
    assert all(len(leg["points"]) >= 2 for leg in legs)
    assert {p[2] for p in legs[1]["points"]} == {5.0}
    steps = body["steps"]
    assert steps[-1]["kind"] == "arrive" and steps[-1]["say"] == "Arrive at Windows 26–28: Housing provident fund loan"
    assert all(s["text"]["zh"] and s["text"]["en"] for s in steps)
    assert body["length_m"] > 20 and body["walking_s"] > body["length_m"] / 1.5
    assert body["to"]["id"] == "service:fund-loan"
    assert body["from"]["id"] == "kiosk-1"


async def test_accessible_route_uses_the_lift(served: Served) -> None:
    body = await route(served, **{"from": "kiosk-1", "to": "window:30", "mode": "accessible"})
    assert body["ok"] is True
    assert body["uses_stairs"] is False and body["uses_elevator"] is True
    assert body["wheelchair_s"] >= body["walking_s"]
    assert any(s["kind"] == "elevator" for s in body["steps"])


async def test_route_from_a_point_and_a_space(served: Served) -> None:
    by_point = await route(served, **{"from": "30,12,1F", "to": "zone:1f-wc"})
    assert by_point["ok"] is True and by_point["storeys"][0]["name"] == "1F"
    space = served.runtime.site.zone("2f-wait").ifc_guid
    by_space = await route(served, **{"from": space, "to": "zone:1f-mb"})
    assert by_space["ok"] is True and [s["name"] for s in by_space["storeys"]] == ["2F", "1F"]


async def test_evacuation_needs_no_destination_and_never_uses_lifts(served: Served) -> None:
    body = await route(served, **{"from": "kiosk-2", "mode": "evacuation"})
    assert body["ok"] is True and body["to"] is None
    assert body["exit"]["kind"] == "exit"
    assert body["uses_elevator"] is False
    assert body["steps"][-1]["kind"] == "exit"


async def feed(served: Served, point_id: str, value: bool) -> None:
    now = time.time()
    served.runtime.bus.publish(PointUpdate(point_id, value, Quality.GOOD, now, now))


async def wait_emergency(served: Served, active: bool) -> dict[str, Any]:
    deadline = time.monotonic() + 10.0
    while True:
        body: dict[str, Any] = (await served.client.get("/api/emergency")).json()
        if body["active"] is active:
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def test_evacuation_goes_around_a_fire(served: Served) -> None:
    """A smoke detector in the entrance zone alarms (through the alarm engine): the route from the 1F waiting zone
    no longer leaves by the main entrance, and the emergency signal names the zone."""
    await ready(served)
    start = "30,15,1F"
    before = await route(served, **{"from": start, "mode": "evacuation"})
    entrance = served.runtime.site.zone("1f-ent").ifc_guid
    detector = next(p.id for d in served.runtime.site.devices for p in d.points
                    if p.id.startswith("fire-panel.smoke_") and "1F-ENT" in p.name.en)  # fmt: skip
    assert "咨询导办区" in before["exit"]["name"] or before["exit"] is not None
    await feed(served, detector, True)
    try:
        signal = await wait_emergency(served, True)
        assert "smoke" in signal["alarm_classes"] or "fire" in signal["alarm_classes"]
        assert entrance in signal["spaces"]
        assert signal["message"]["zh"]
        after = await route(served, **{"from": start, "mode": "evacuation"})
        assert after["ok"] is True and after["emergency"] is True
        assert entrance in after["avoided_spaces"]
        assert after["through_alarm"] == []
        xs_ys = [(p[0], p[1]) for p in after["points"]]
        assert not any(24.2 < x < 35.8 and y < 9.8 for x, y in xs_ys), "the route runs through the alarmed zone"
        walk = await route(served, **{"from": start, "to": "zone:1f-conv"})
        assert entrance in walk["avoided_spaces"]
    finally:
        await feed(served, detector, False)


async def test_no_safe_route_is_explained(served: Served) -> None:
    """Every exit's way passes a fire: ok false, the reason, a message for visitors (through the engine again)."""
    await ready(served)
    site = served.runtime.site
    spaces = {"1F-WAIT", "1F-CORR-N", "1F-LOBBY-W", "1F-LOBBY-E"}  # every way out of the 1F window zone
    detectors = [p.id for d in site.devices for p in d.points if p.id.startswith("fire-panel.smoke_")
                 and p.name.en.split("(")[-1].rstrip(")") in spaces]  # fmt: skip
    for detector in detectors:
        await feed(served, detector, True)
    try:
        await wait_emergency(served, True)
        deadline = time.monotonic() + 10.0
        while True:
            body = await route(served, **{"from": "window:5", "mode": "evacuation"})
            if body["ok"] is False or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert body["ok"] is False, body.get("exit")
        assert body["reason"] == "exits_blocked"
        assert "没有安全" in body["message"]["zh"] and "No safe route" in body["message"]["en"]
    finally:
        for detector in detectors:
            await feed(served, detector, False)


@pytest.mark.parametrize(
    ("params", "status", "says", "code"),
    [
        ({"from": "kiosk-9", "to": "window:5"}, 404, "from: 'kiosk-9'", None),
        ({"from": "kiosk-1", "to": "window:99"}, 404, "to: no destination 'window:99'", None),
        ({"from": "kiosk-1", "to": "window:5", "mode": "fly"}, 422, "mode", None),
        ({"from": "kiosk-1"}, 422, "to: a destination id is needed", "destination_required"),
        ({"from": "1,2,9F", "to": "window:5"}, 404, "no storey '9F'", None),
        ({"from": "500,500,1F", "to": "window:5"}, 422, "from any walkable floor", "not_walkable"),
        ({"to": "window:5"}, 422, "from", None),
        ({"from": "kiosk-1", "to": "window:5", "lang": "fr"}, 422, "lang", None),
    ],
)
async def test_bad_input(served: Served, params: dict[str, str], status: int, says: str, code: str | None) -> None:
    await ready(served)
    answer = await served.client.get("/api/route", params=params)
    assert answer.status_code == status, answer.text
    assert says in str(answer.json()["detail"])
    assert answer.json().get("error") == code


async def test_kiosks(served: Served) -> None:
    await ready(served)
    kiosks = (await served.client.get("/api/kiosks")).json()
    assert [k["id"] for k in kiosks] == ["kiosk-1", "kiosk-2"]
    assert kiosks[1]["storey_name"] == "2F" and kiosks[1]["xyz"][2] == 5.0


async def test_crowd_aware_route_counts_the_queue(served: Served) -> None:
    """600 people waiting for the integrated windows (the queue figure the analytics publishes) crowd the 1F
    waiting zone: the crowd-aware route takes longer than the plain one, the plain one ignores the crowd."""
    params = {"from": "kiosk-1", "to": "window:5"}
    plain = await route(served, **params)
    await feed_value(served, "queue.integrated.waiting", 600.0)
    crowded = await route(served, **params, crowd="true")
    assert plain["crowd_spaces"] == 0 and crowded["crowd_spaces"] >= 1
    assert crowded["cost_s"] > plain["cost_s"] * 1.2
    assert (await route(served, **params))["cost_s"] == plain["cost_s"]


async def feed_value(served: Served, point_id: str, value: float) -> None:
    now = time.time()
    served.runtime.bus.publish(PointUpdate(point_id, value, Quality.GOOD, now, now))


async def test_a_missing_model_is_explained_then_built_once_it_is_there(tmp_path: Path, nav_cache: Path) -> None:
    """No IFC: 503 naming the file; the file put in place: built (from the shared cache) and answered."""
    import shutil

    site = await asyncio.to_thread(load_site, SITE_PATH, None)
    model = tmp_path / "hall.ifc"
    moved = site.model_copy(update={"site": site.site.model_copy(update={"ifc": str(model)})})
    runtime = HallRuntime(moved, SITE_PATH, tmp_path / "data", poll_devices=False)
    runtime.cache_dir = nav_cache
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        first = await client.get("/api/destinations", params={"q": "wc"})
        assert first.status_code == 503 and "being built" in first.json()["detail"]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "does not exist" not in (answer := await client.get("/api/kiosks")).text:
            assert time.monotonic() < deadline, answer.text
            await asyncio.sleep(0.05)
        assert answer.status_code == 503 and str(model) in answer.json()["detail"]
        assert int(answer.headers["retry-after"]) >= 1
        await asyncio.to_thread(shutil.copyfile, SITE_PATH.parent / site.site.ifc, model)
        while (answer := await client.get("/api/kiosks")).status_code == 503:
            assert time.monotonic() < deadline, answer.text
            await asyncio.sleep(0.1)
        assert answer.status_code == 200 and len(answer.json()) == 2
