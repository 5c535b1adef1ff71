"""The alarm follow-up on the demo hall, end to end through real protocols: the simulated BACnet fire panel reports
two detectors in a zone; the alarm is stored; the evacuation doors are released by BACnet writes and report unlocked
(read back from the simulated controller and polled again); the work order, the page and the evacuation request
exist; the audit log has every action; the doors stay unlocked until the last fire is reset, then lock again.
Emergency buttons page security and open work orders (their latching is the engine's tests); a drill marks its
alarm and what followed, and its report times them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from alarms.linkage_bus import EvacuationEnded, EvacuationRequested
from store import Role
from tests.api.auth_helpers import create_user, login_headers
from tests.api.demo_fixtures import DemoHall, running_demo

DEADLINE_S = 30.0  # returns as soon as the state is seen; room for a loaded CI machine
EVACUATION_DOORS = ("door-1", "door-2")  # site.yaml linkage.evacuation of fire zone 1 (the 1F hall)


async def until(why: str, probe: Callable[[], Any], deadline_s: float = DEADLINE_S) -> Any:
    """Await ``probe()`` until it returns something truthy; fail naming ``why`` after the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        found = await probe()
        if found:
            return found
        assert loop.time() < end, f"{why}: not within {deadline_s:g} s"
        await asyncio.sleep(0.2)


async def alarm(client: httpx.AsyncClient, rule: str, **want: Any) -> dict[str, Any] | None:
    alarms = (await client.get("/api/alarms")).json()
    return next((a for a in alarms if a["rule"] == rule and all(a[k] == v for k, v in want.items())), None)


async def doors(demo: DemoHall) -> dict[str, dict[str, Any]]:
    return {door["id"]: door for door in (await demo.client.get("/api/doors")).json()}


def lock_value(demo: DemoHall, door_id: str) -> Any:
    """What the simulated BACnet controller holds in the door's lock object (written by the gateway)."""
    point = next(d.lock_point for d in demo.site.doors if d.id == door_id)
    return demo.hall.simulator_of(point).get_value(point)


async def test_fire_releases_evacuation_doors_opens_a_work_order_and_audits_each_action(tmp_path: Path) -> None:
    async with running_demo(tmp_path) as demo:
        store, client = demo.runtime.store, demo.client
        await create_user(store, "sam", Role.SECURITY)
        security = await login_headers(client, "sam")
        followup = demo.runtime.followup
        assert followup is not None
        before = await until("doors polled", lambda: _all_locked(demo))
        assert all(before[d]["locked"] for d in EVACUATION_DOORS)

        # Two detectors in the waiting zone (fire zone 1): the panel's zone input and the engine's confirmation.
        assert (await client.post("/api/demo/scenarios/fire/start", params={"target": "1f-wait"})).status_code == 200
        fire = await until("fire confirmed", lambda: alarm(client, "fire_confirmed.1f-wait", active=True))
        stored = await store.alarms.get(fire["id"])
        assert stored is not None and stored.alarm_class == "fire" and stored.zone == "1f-wait"

        # The evacuation doors report unlocked: the controller holds the write, and the next polls read it back.
        released = await until("doors unlocked", lambda: _unlocked(demo, EVACUATION_DOORS))
        assert all(released[d]["locked"] is False and released[d]["unlocked_until"] is None for d in EVACUATION_DOORS)
        assert all(lock_value(demo, d) is False for d in EVACUATION_DOORS)
        assert released["door-3"]["locked"] is True  # another fire zone's door stays locked

        order = await until("work order", lambda: _orders(client, fire["id"]))
        assert (order["source"], order["priority"], order["zone"], order["status"]) == ("alarm", "critical",
                                                                                        "1f-wait", "open")  # fmt: skip
        assert order["space_guid"] == next(z.ifc_guid for z in demo.site.zones if z.id == "1f-wait")
        assert (await until("alarm links its order", lambda: alarm(client, "fire_confirmed.1f-wait",
                                                                   work_order=order["id"])))  # fmt: skip
        # The panel's fire-zone input and the confirmation are both fires: the first to arrive released the doors.
        fires = [a for a in (await client.get("/api/alarms")).json() if a["alarm_class"] == "fire"]
        assert {a["rule"] for a in fires} == {"fire_zone.fire-panel.zone_1.fire", "fire_confirmed.1f-wait"}
        kinds = set()
        for each in fires:
            actions = (await client.get(f"/api/alarms/{each['id']}/linkage")).json()["actions"]
            kinds |= {(a["kind"], a["target"], a["status"]) for a in actions}
        released_by = [a for a in kinds if a[0] == "doors_released"]
        assert sorted(released_by) == [("doors_released", d, "done") for d in EVACUATION_DOORS]  # once each
        assert ("evacuation_requested", None, "done") in kinds and ("work_order", None, "done") in kinds
        linkage = (await client.get(f"/api/alarms/{fire['id']}/linkage")).json()
        assert fire["camera"] in linkage["cameras"] and "cam-3" in linkage["cameras"]  # cam-3 watches 1F-WAIT
        requests = [r for r in followup.bus.history if isinstance(r, EvacuationRequested)]
        assert any("1f-wait" in r.zones and not r.drill for r in requests)
        pages = (await client.get("/api/pages", headers=security)).json()
        assert any(p["alarm_id"] == fire["id"] and p["role"] == "security" for p in pages)

        audit = await store.audit.query(limit=1000, newest_first=False)
        released_rows = [(e.target, e.actor, e.result) for e in audit if e.action == "door.release"]
        assert {("door-1", "system", "ok"), ("door-2", "system", "ok")} <= set(released_rows)
        linkage_rows = {e.action for e in audit if e.target in {f"alarm:{a['id']}" for a in fires}}
        assert {"linkage.cameras", "linkage.evacuation_requested", "linkage.page"} <= linkage_rows
        assert any(e.action == "workorder.create" and e.target == f"workorder:{order['id']}" for e in audit)
        assert (await store.audit.verify()).ok

        # The plan at the security desk: security records a step; facility may not.
        plan = (await client.get(f"/api/alarms/{fire['id']}/plan")).json()
        assert plan["plan"] == "fire" and plan["total"] == 6 and plan["done"] == 0
        refused = await client.post(f"/api/alarms/{fire['id']}/plan/steps/1/done", json={})
        assert refused.status_code == 403
        done = await client.post(f"/api/alarms/{fire['id']}/plan/steps/1/done", headers=security,
                                 json={"note": "seen on cam-3"})  # fmt: skip
        assert done.status_code == 200 and done.json()["steps"][0]["done_by"] == "sam"
        again = await client.post(f"/api/alarms/{fire['id']}/plan/steps/1/done", headers=security, json={})
        assert again.status_code == 409 and again.json()["error"] == "step_done"

        # The detectors clear, but the confirmed fire is latched: the doors stay released until it is reset.
        await client.post("/api/demo/scenarios/fire/clear")
        await until("detectors clear", lambda: alarm(client, "fire_confirmed.1f-wait", active=False))
        await asyncio.sleep(1.5)  # more polls: nothing re-locks a door during a fire
        during = await doors(demo)
        assert all(during[d]["locked"] is False for d in EVACUATION_DOORS)
        for latched in [a for a in (await client.get("/api/alarms")).json() if a["alarm_class"] == "fire"]:
            response = await client.post(f"/api/alarms/{latched['id']}/reset", headers=security, json={})
            assert response.status_code in (200, 409), response.text
        relocked = await until("doors locked again", lambda: _all_locked(demo))
        assert all(relocked[d]["locked"] for d in EVACUATION_DOORS)
        # The linkage locks the doors, records each revert, then ends the evacuation: the end may come a moment later.

        async def evacuation_ended() -> bool:
            return any(isinstance(r, EvacuationEnded) for r in followup.bus.history)

        await until("evacuation ended", evacuation_ended)
        lock_rows = [e for e in await store.audit.query(action="door.lock", limit=100) if e.actor == "system"]
        assert {e.target for e in lock_rows} >= set(EVACUATION_DOORS)

        # Two emergency buttons at once: two pages to security, two work orders (latching: the engine's tests).
        for button in ("security-ctl.ebtn_3", "security-ctl.ebtn_4"):
            demo.hall.state.pressed_buttons.add(button)
        presses = [await until(f"{b} alarm", partial(alarm, client, f"emergency_button.{b}", active=True))
                   for b in ("security-ctl.ebtn_3", "security-ctl.ebtn_4")]  # fmt: skip
        assert presses[0]["id"] != presses[1]["id"]
        for press in presses:
            page = await until("page", partial(_page, client, security, press["id"]))
            assert page["zone"] == press["zone"] and page["camera"] == press["camera"] and page["camera"]
            assert await until("work order", partial(_orders, client, press["id"]))
        ack = await client.post(f"/api/pages/{page['id']}/ack", headers=security)
        assert ack.status_code == 200 and ack.json()["acked_by"] == "sam"

        # A drill: the water-leak scenario; its alarm, work order and linkage are marked drill; the report times it.
        followup.drills.scenarios = demo.hall
        started = await client.post("/api/drills/start", json={"scenario": "water_leak"})
        assert started.status_code == 201, started.text
        assert (await client.post("/api/drills/start", json={})).status_code == 409  # one drill at a time
        leak = await until("drill alarm", lambda: _drill_alarm(client))
        ack_leak = await client.post(f"/api/alarms/{leak['id']}/ack", headers=security, json={})
        assert ack_leak.status_code == 200
        await client.post(f"/api/alarms/{leak['id']}/plan/steps/1/done", headers=security, json={})
        leak_order = await until("drill work order", lambda: _orders(client, leak["id"]))
        assert leak_order["drill"] is True
        ended = await client.post(f"/api/drills/{started.json()['id']}/end")
        assert ended.status_code == 200 and ended.json()["active"] is False
        report = (await client.get(f"/api/drills/{started.json()['id']}/report")).json()
        entry = next(e for e in report["alarms"] if e["alarm_id"] == leak["id"])
        assert entry["to_ack_s"] is not None and entry["to_ack_s"] >= 0
        assert entry["plan"]["steps"][0]["after_s"] >= entry["to_ack_s"] - 1
        assert entry["work_order"]["id"] == leak_order["id"]
        assert report["summary"]["acknowledged"] >= 1 and report["summary"]["plan_steps_done"] >= 1
        assert not any(a["drill"] for a in (await client.get("/api/alarms")).json() if a["id"] == fire["id"])


async def _all_locked(demo: DemoHall) -> dict[str, dict[str, Any]] | None:
    """The doors when the evacuation doors and door-3 (another fire zone's) all report locked."""
    found = await doors(demo)
    return found if all(found[d]["locked"] is True for d in (*EVACUATION_DOORS, "door-3")) else None


async def _unlocked(demo: DemoHall, wanted: tuple[str, ...]) -> dict[str, dict[str, Any]] | None:
    found = await doors(demo)
    return found if all(found[d]["locked"] is False for d in wanted) else None


async def _orders(client: httpx.AsyncClient, alarm_id: int) -> dict[str, Any] | None:
    found = (await client.get("/api/workorders", params={"alarm_id": alarm_id})).json()
    return found[0] if found else None


async def _page(client: httpx.AsyncClient, headers: dict[str, str], alarm_id: int) -> dict[str, Any] | None:
    pages = (await client.get("/api/pages", headers=headers)).json()
    return next((p for p in pages if p["alarm_id"] == alarm_id), None)


async def _drill_alarm(client: httpx.AsyncClient) -> dict[str, Any] | None:
    alarms = (await client.get("/api/alarms")).json()
    return next((a for a in alarms if a["alarm_class"] == "leak" and a["drill"] and a["active"]), None)
