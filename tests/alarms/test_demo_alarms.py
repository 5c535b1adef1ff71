"""The demo hall end to end on real protocols: scenarios raise stored alarms, seen on /api/alarms, /ws and MQTT;
emergency buttons latch and only security resets them once released; a fire zone names every space of its IfcZone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiomqtt
from websockets.asyncio.client import connect

from store import Role
from tests.api.auth_helpers import create_user, login_headers
from tests.api.demo_fixtures import running_demo

DEADLINE_S = 8.0


async def _wait_alarm(client: Any, rule: str, **want: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while True:
        alarms = (await client.get("/api/alarms")).json()
        found = [a for a in alarms if a["rule"] == rule and all(a[k] == v for k, v in want.items())]
        if found:
            return found[0]
        assert loop.time() < end, f"no alarm {rule} {want}: {[a['rule'] for a in alarms]}"
        await asyncio.sleep(0.2)


async def test_scenarios_raise_real_alarms_on_every_channel(tmp_path: Path) -> None:
    async with running_demo(tmp_path) as demo:
        store = demo.runtime.store
        await create_user(store, "sam", Role.SECURITY)
        security = await login_headers(demo.client, "sam")
        ws_url = demo.url.replace("http", "ws", 1) + "/ws"
        auth = {"Authorization": demo.client.headers["authorization"]}
        async with (
            connect(ws_url, additional_headers=auth, max_size=None) as ws,
            aiomqtt.Client("127.0.0.1", demo.broker.port) as mqtt,
        ):
            await mqtt.subscribe(f"halltwin/{demo.site.site.id}/alarm/#", qos=1)
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "snapshot"
            listed = json.loads(await ws.recv())
            assert listed["type"] == "alarms"

            # Two buttons at once: two latched critical alarms, both shown.
            for button in ("security-ctl.ebtn_1", "security-ctl.ebtn_2"):
                demo.hall.state.pressed_buttons.add(button)
            first = await _wait_alarm(demo.client, "emergency_button.security-ctl.ebtn_1", active=True)
            second = await _wait_alarm(demo.client, "emergency_button.security-ctl.ebtn_2", active=True)
            assert first["id"] != second["id"] and first["priority"] == "critical" and first["latched"]
            assert first["camera"] and first["space_guids"] and first["ifc_guid"]
            refused = await demo.client.post(f"/api/alarms/{first['id']}/reset", json={})
            assert refused.status_code == 403  # facility may not reset an emergency button
            pressed = await demo.client.post(f"/api/alarms/{first['id']}/reset", headers=security, json={})
            assert pressed.status_code == 409 and pressed.json()["error"] == "still_active"
            demo.hall.state.pressed_buttons.discard("security-ctl.ebtn_1")
            await _wait_alarm(demo.client, "emergency_button.security-ctl.ebtn_1", active=False, state="unack")
            reset = await demo.client.post(f"/api/alarms/{first['id']}/reset", headers=security, json={})
            assert reset.status_code == 200 and reset.json()["state"] == "normal", reset.text
            detail = (await demo.client.get(f"/api/alarms/{first['id']}")).json()
            # "updated" events record what the follow-up linked (the work order): not lifecycle transitions
            lifecycle = [e["kind"] for e in detail["events"] if e["kind"] != "updated"]
            assert lifecycle == ["raised", "rtn", "reset"], detail["events"]

            # Fire in the waiting zone: the panel's fire zone (an IfcZone) and the two-detector confirmation.
            await demo.client.post("/api/demo/scenarios/fire/start", params={"target": "1f-wait"})
            zone = await _wait_alarm(demo.client, "fire_zone.fire-panel.zone_1.fire")
            fire_zone_spaces = demo.layout.group_zones
            assert zone["ifc_guid"] is None and len(zone["space_guids"]) == 5 and zone["priority"] == "critical"
            assert set(zone["space_guids"]) == {z.ifc_guid for z in demo.site.zones
                                                if z.id in next(iter(v for k, v in fire_zone_spaces.items()
                                                                     if len(v) == 5))}  # fmt: skip
            confirmed = await _wait_alarm(demo.client, "fire_confirmed.1f-wait")
            assert confirmed["alarm_class"] == "fire" and confirmed["zone"] == "1f-wait"

            # The same transitions reached /ws and MQTT (retained while open).
            seen_ws: set[int] = set()
            async with asyncio.timeout(DEADLINE_S):
                while confirmed["id"] not in seen_ws:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "alarm":
                        seen_ws.add(frame["alarm"]["id"])
            assert {first["id"], second["id"], zone["id"]} <= seen_ws
            seen_mqtt: dict[int, bytes] = {}
            async with asyncio.timeout(DEADLINE_S):
                async for message in mqtt.messages:
                    seen_mqtt[int(str(message.topic).rsplit("/", 1)[1])] = bytes(message.payload)
                    if confirmed["id"] in seen_mqtt and first["id"] in seen_mqtt and not seen_mqtt[first["id"]]:
                        break
            assert json.loads(seen_mqtt[confirmed["id"]])["rule"] == "fire_confirmed.1f-wait"
            assert seen_mqtt[first["id"]] == b""  # over: the retained message is deleted

            kpis = (await demo.client.get("/api/alarms/kpis", params={"window_min": 10})).json()
            assert kpis["total"] >= 4 and kpis["priority_mix"]["critical"]["count"] >= 4
            audit = await store.audit.query(action="alarm.reset")
            assert [(e.actor, e.result) for e in reversed(audit)] == [("facility", "refused"), ("sam", "refused"),
                                                                       ("sam", "ok")]  # fmt: skip
