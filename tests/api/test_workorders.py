"""Work orders, inspection rounds, plans and QR labels over HTTP, on a served app with a real store: every role
rule, every refusal with its reason, photo uploads checked, escalation by the runtime's task, all audited."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
import segno
import yaml
from websockets.asyncio.client import connect

from alarms.qr_codes import target_url
from api.runtime import HallRuntime
from store import Role
from tests.alarms.test_linkage_demo import until
from tests.api.auth_helpers import create_user, login_headers
from tests.api.server import make_runtime, running_app

PNG = b"\x89PNG\r\n\x1a\n" + bytes(300)
JPEG = b"\xff\xd8\xff\xe0" + bytes(300)
GUIDS = {"hall": "1" * 22, "server": "2" * 22}


def write_site(folder: Path) -> Path:
    site = {
        "site": {"id": "wo-test", "name": {"zh": "工单测试", "en": "Work order test"}, "ifc": "none.ifc"},
        "zones": [{"id": z, "name": {"zh": z, "en": z}, "zone_type": "server_room" if z == "server" else "waiting",
                   "ifc_guid": g} for z, g in GUIDS.items()],
        "devices": [{"id": "ups", "name": {"zh": "UPS", "en": "UPS"}, "kind": "ups", "zone": "server",
                     "ifc_guid": "3" * 22}],
        "plans": [{"id": "leak", "name": {"zh": "漏水预案", "en": "Leak plan"}, "alarm_classes": ["leak"],
                   "steps": [{"zh": "关阀", "en": "Close the valve"}]}],
        "workorders": {"due_minutes": {"critical": 0.005}, "escalate_every_s": 0.2, "photo_max_bytes": 10_000},
        "rounds": [{"id": "hall", "name": {"zh": "大厅巡检", "en": "Hall round"}, "order": "reverse",
                    "schedule": {"times": ["00:00"], "window_minutes": 1440},
                    "stops": [{"zone": "hall", "items": [{"zh": "地面干燥", "en": "Floor dry"}]},
                              {"device": "ups", "items": [{"zh": "无告警", "en": "No alarms"}]}]}],
    }  # fmt: skip
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Served:
    client: httpx.AsyncClient
    runtime: HallRuntime
    headers: dict[Role | str, dict[str, str]]  # by role, and 'mia' (a second maintenance user)


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """One served app for the module (users are hashed with Argon2: slow by design); each test its own orders."""
    tmp_path = tmp_path_factory.mktemp("workorders")
    runtime = make_runtime(write_site(tmp_path), tmp_path / "data", check_guids=False)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        headers: dict[Role | str, dict[str, str]] = {}
        for role in Role:
            await create_user(runtime.store, role.value, role)
            headers[role] = await login_headers(client, role.value)
        await create_user(runtime.store, "mia", Role.MAINTENANCE)
        headers_mia = await login_headers(client, "mia")
        headers["mia"] = headers_mia
        yield Served(client, runtime, headers)


async def post(s: Served, who: Any, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**s.headers[who], **kwargs.pop("headers", {})}
    return await s.client.post(path, headers=headers, **kwargs)


async def test_work_order_lifecycle_role_rules_and_audit(served: Served) -> None:
    s = served
    body = {"title": {"zh": "UPS告警", "en": "UPS alarm"}, "priority": "high", "device": "ups", "zone": "server"}
    assert (await post(s, Role.MANAGER, "/api/workorders", json=body)).status_code == 403
    bad = await post(s, Role.FACILITY, "/api/workorders", json={**body, "device": "nope"})
    assert bad.status_code == 404 and "no device 'nope'" in bad.json()["detail"]
    nobody = await post(s, Role.FACILITY, "/api/workorders", json={**body, "assignee": "nobody"})
    assert nobody.status_code == 404 and nobody.json()["error"] == "unknown_reference"
    created = await post(s, Role.SECURITY, "/api/workorders", json=body)
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["status"], order["source"], order["created_by"]) == ("open", "manual", "security")
    assert order["due_at"] == pytest.approx(order["created_at"] + 240 * 60)  # high: the default 4 h
    oid = order["id"]

    self_assign = await post(s, Role.MAINTENANCE, f"/api/workorders/{oid}/assign", json={"assignee": "mia"})
    assert self_assign.status_code == 403
    unknown = await post(s, Role.FACILITY, f"/api/workorders/{oid}/assign", json={"assignee": "nobody"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_user"
    assigned = await post(s, Role.FACILITY, f"/api/workorders/{oid}/assign", json={"assignee": "mia"})
    assert assigned.json()["status"] == "assigned" and assigned.json()["assignee"] == "mia"
    other = await post(s, Role.MAINTENANCE, f"/api/workorders/{oid}/acknowledge")
    assert other.status_code == 403 and "assigned to mia" in other.json()["detail"]
    assert (await post(s, "mia", f"/api/workorders/{oid}/acknowledge")).json()["status"] == "acknowledged"
    early = await post(s, "mia", f"/api/workorders/{oid}/resolve", json={"note": "done"})
    assert early.status_code == 409 and "is acknowledged: resolve needs it in_progress" in early.json()["detail"]
    assert (await post(s, "mia", f"/api/workorders/{oid}/start")).json()["status"] == "in_progress"
    assert (await post(s, "mia", f"/api/workorders/{oid}/resolve", json={"note": " "})).status_code == 422
    mine = (await s.client.get("/api/workorders", params={"assignee": "me"}, headers=s.headers["mia"])).json()
    assert [o["id"] for o in mine if o["source"] == "manual"] == [oid]

    # The resolution photo: type by its first bytes, size limited, replaced by a new upload.
    path = f"/api/workorders/{oid}/photo"
    gif = await post(s, "mia", path, files={"photo": ("a.gif", b"GIF89a" + bytes(10), "image/gif")})
    assert gif.status_code == 415 and "JPEG, PNG or WebP" in gif.json()["detail"]
    fake = await post(s, "mia", path, files={"photo": ("a.png", b"not a png at all", "image/png")})
    assert fake.status_code == 415 and "first bytes" in fake.json()["detail"]
    big = await post(s, "mia", path, files={"photo": ("a.png", PNG + bytes(20_000), "image/png")})
    assert big.status_code == 413
    assert (await post(s, Role.SECURITY, path, files={"photo": ("a.jpg", JPEG, "image/jpeg")})).status_code == 403
    ok = await post(s, "mia", path, files={"photo": ("a.png", PNG, "image/png")})
    assert ok.status_code == 200 and ok.json()["photo"] is True
    photo = await s.client.get(path, headers=s.headers[Role.MANAGER])
    assert photo.content == PNG and photo.headers["content-type"] == "image/png"

    resolved = await post(s, "mia", f"/api/workorders/{oid}/resolve", json={"note": "battery replaced"})
    assert resolved.json()["status"] == "resolved" and resolved.json()["note"] == "battery replaced"
    assert (await post(s, "mia", f"/api/workorders/{oid}/close")).status_code == 403
    closed = (await post(s, Role.FACILITY, f"/api/workorders/{oid}/close")).json()
    assert closed["status"] == "closed"
    assert [e["kind"] for e in closed["events"]] == ["created", "assign", "acknowledge", "start", "photo",
                                                     "resolve", "close"]  # fmt: skip
    assert (await post(s, Role.MANAGER, f"/api/workorders/{oid}/comment", json={"note": "x"})).status_code == 403
    assert (await s.client.get("/api/workorders/999", headers=s.headers[Role.MANAGER])).status_code == 404
    raw = rb'{"note": "a\u0000c"}'  # NUL: valid JSON, refused by PostgreSQL as text
    odd = await post(s, Role.FACILITY, f"/api/workorders/{oid}/comment", content=raw,
                     headers={"Content-Type": "application/json"})  # fmt: skip
    assert odd.status_code == 200 and odd.json()["events"][-1]["note"] == "a\ufffdc"  # kept, not a 500
    options = await s.client.request("OPTIONS", "/api/workorders", headers=s.headers[Role.MANAGER])
    assert options.status_code == 405 and {"GET", "POST"} <= set(options.headers["allow"].split(", "))

    rows = await s.runtime.store.audit.query(target=f"workorder:{oid}", limit=100, newest_first=False)
    results = [(r.action, r.actor, r.result) for r in rows]
    assert ("workorder.acknowledge", "maintenance", "refused") in results
    assert ("workorder.photo", "mia", "refused") in results and ("workorder.photo", "mia", "ok") in results
    assert results[-2:] == [("workorder.close", "facility", "ok"), ("workorder.comment", "facility", "ok")]


def ws_of(s: Served, who: Any) -> str:
    token = s.headers[who]["Authorization"].removeprefix("Bearer ")
    return str(s.client.base_url).replace("http://", "ws://") + f"/ws?token={token}"


async def frames_until(ws: Any, done: Any) -> list[dict[str, Any]]:
    """Frames other than points (work orders, pages, alarms) until ``done(frames)`` holds (5 s at most)."""
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(5.0):
        while not done(frames):
            frame = json.loads(await ws.recv())
            if frame["type"] not in ("snapshot", "updates", "alarms"):
                frames.append(frame)
    return frames


async def test_overdue_orders_escalate_on_their_own(served: Served) -> None:
    """Escalation reaches a person: a page to workorders.escalate_to (facility by default), audited, on /ws to
    that role (and admins) only, while every role that may read work orders hears of the order's changes."""
    s = served
    body = {"title": {"zh": "火警", "en": "Fire"}, "priority": "critical", "zone": "hall"}
    async with connect(ws_of(s, Role.FACILITY)) as facility, connect(ws_of(s, Role.SECURITY)) as security:
        order = (await post(s, Role.FACILITY, "/api/workorders", json=body)).json()
        paged = await frames_until(facility, lambda got: any(f["type"] == "page" for f in got))
        heard = await frames_until(security, lambda got: any(f.get("event") == "escalated" for f in got))
    mine = [f for f in paged if f.get("id") == order["id"] or f["type"] == "page"]
    assert [(f["type"], f.get("event")) for f in mine] == [("workorder", "created"), ("workorder", "escalated"),
                                                          ("page", None)]  # fmt: skip
    created = mine[0]
    assert {k: created[k] for k in ("status", "assignee", "priority", "due_at", "escalated", "device", "room",
                                    "title")} == {"status": "open", "assignee": None, "priority": "critical",
                                                  "due_at": order["due_at"], "escalated": False, "device": None,
                                                  "room": GUIDS["hall"], "title": body["title"]}  # fmt: skip
    page = mine[2]["page"]
    assert (page["work_order_id"], page["alarm_id"], page["role"], page["title"], page["zone"]) == (
        order["id"], None, "facility", body["title"], "hall")
    assert not any(f["type"] == "page" for f in heard)  # the security desk is not paged for it
    assert [f["event"] for f in heard if f.get("id") == order["id"]] == ["created", "escalated"]
    listed = (await s.client.get("/api/pages", headers=s.headers[Role.FACILITY])).json()
    assert [p["id"] for p in listed if p["work_order_id"] == order["id"]] == [page["id"]]
    assert (await s.client.get("/api/pages", headers=s.headers[Role.SECURITY])).json() == []
    acked = await post(s, Role.FACILITY, f"/api/pages/{page['id']}/ack")
    assert acked.status_code == 200 and acked.json()["acked_by"] == "facility"
    rows = await s.runtime.store.audit.query(action="workorder.page", limit=10)
    assert [(r.target, r.actor, (r.arguments or {})["role"]) for r in rows] == [
        (f"workorder:{order['id']}", "system", "facility")]
    ack_rows = await s.runtime.store.audit.query(action="page.ack", limit=1)
    assert ack_rows[0].detail == f"page of work order {order['id']} acknowledged"

    async def escalated() -> dict[str, Any] | None:
        found = (await s.client.get(f"/api/workorders/{order['id']}", headers=s.headers[Role.MANAGER])).json()
        return found if found["escalated"] else None

    found = await until("escalated", escalated, 5.0)
    assert found["events"][-1]["kind"] == "escalated" and found["status"] == "open"
    overdue = (await s.client.get("/api/workorders", params={"overdue": True}, headers=s.headers[Role.MANAGER])).json()
    assert [o["id"] for o in overdue] == [order["id"]]
    rows = await s.runtime.store.audit.query(action="workorder.escalate", limit=10)
    assert [(r.target, r.actor) for r in rows] == [(f"workorder:{order['id']}", "system")]
    await s.runtime.followup.workorders.escalate()  # type: ignore[union-attr]  # again: nobody paged twice
    assert len(await s.runtime.store.audit.query(action="workorder.page", limit=10)) == 1


async def test_filters_by_room_device_and_element(served: Served) -> None:
    s = served
    reader = s.headers[Role.MANAGER]
    title = {"zh": "过滤", "en": "Filter"}
    made = {}
    for name, place in {"hall": {"space_guid": GUIDS["hall"]}, "ups": {"device": "ups", "ifc_guid": "3" * 22},
                        "server": {"space_guid": GUIDS["server"], "device": "ups"}}.items():  # fmt: skip
        made[name] = (await post(s, Role.FACILITY, "/api/workorders", json={"title": title, **place})).json()["id"]

    async def ids(**params: Any) -> list[int]:
        found = await s.client.get("/api/workorders", params=params, headers=reader)
        assert found.status_code == 200, found.text
        return [o["id"] for o in found.json() if o["id"] in made.values()]

    assert await ids(room=GUIDS["hall"]) == [made["hall"]]
    # By zone name too; the order on the UPS alone is the server room's, where the UPS stands (its zone).
    assert await ids(room="hall") == [made["hall"]] and await ids(room=" Server ") == [made["server"], made["ups"]]
    ups_order = (await s.client.get(f"/api/workorders/{made['ups']}", headers=reader)).json()
    assert ups_order["space_guid"] == GUIDS["server"]
    assert await ids(device="ups") == [made["server"], made["ups"]]
    assert await ids(device="ups", room="hall") == []
    assert await ids(ifc_guid="3" * 22) == [made["ups"]]
    assert await ids(room="4" * 22) == []  # a GlobalId is taken as it is
    for bad in ({"ifc_guid": "short"}, {"device": "UPS 1"}, {"room": ""}, {"ifc_guid": "3" * 23}):
        refused = await s.client.get("/api/workorders", params=bad, headers=reader)
        assert refused.status_code == 422, bad
    unknown = await s.client.get("/api/workorders", params={"room": "Lobby 9"}, headers=reader)
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_room"
    assert "'Lobby 9'" in unknown.json()["detail"] and "none.ifc" in unknown.json()["detail"]  # no model here
    schema = (await s.client.get("/openapi.json")).json()["paths"]["/api/workorders"]["get"]["parameters"]
    documented = {p["name"]: p.get("description", "") for p in schema}
    assert "IfcSpace GlobalId" in documented["room"] and "GlobalId" in documented["ifc_guid"] and documented["device"]


async def test_todays_round_its_work_order_results_and_repair_order(served: Served) -> None:
    s = served
    [run] = (await s.client.get("/api/rounds/today", headers=s.headers["mia"])).json()
    assert run["direction"] == "reverse" and [i["device"] for i in run["items"]] == ["ups", None]  # reversed

    async def with_order() -> dict[str, Any] | None:
        found = (await s.client.get(f"/api/rounds/{run['id']}", headers=s.headers[Role.MANAGER])).json()
        return found if found["work_order"] else None

    run = await until("round work order", with_order, 5.0)
    path = f"/api/rounds/{run['id']}/items"
    assert (await post(s, Role.MANAGER, f"{path}/1", json={"result": "ok"})).status_code == 403
    missing = await post(s, "mia", f"{path}/1", json={"result": "fail"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "note"
    assert (await post(s, "mia", f"{path}/9", json={"result": "ok"})).status_code == 404
    failed = (await post(s, "mia", f"{path}/1", json={"result": "fail", "note": "UPS beeps"})).json()
    repair = failed["items"][0]["work_order"]
    assert repair and failed["status"] == "open"
    repair_order = (await s.client.get(f"/api/workorders/{repair}", headers=s.headers["mia"])).json()
    assert (repair_order["source"], repair_order["device"]) == ("round", "ups")
    done = (await post(s, "mia", f"{path}/2", json={"result": "ok"})).json()
    assert done["status"] == "done" and done["checked"] == 2
    round_order = (await s.client.get(f"/api/workorders/{run['work_order']}", headers=s.headers["mia"])).json()
    assert round_order["status"] == "resolved" and round_order["assignee"] == "mia"
    assert "1 ok, 1 failed" in round_order["note"]
    assert (await post(s, "mia", f"{path}/2", json={"result": "fail", "note": "x"})).status_code == 409


async def test_plans_pages_drills_and_qr_labels(served: Served) -> None:
    s = served
    manager = s.headers[Role.MANAGER]
    plans = (await s.client.get("/api/plans", headers=manager)).json()
    assert plans[0]["id"] == "leak" and plans[0]["steps"][0]["text"]["en"] == "Close the valve"
    missing = await s.client.get("/api/alarms/12345/plan", headers=manager)
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_alarm"
    assert (await s.client.post("/api/pages/1/ack", headers=manager)).status_code == 404
    # Outside the demo there are no scenarios: a drill without one (tests of the real devices) runs.
    no_demo = await post(s, Role.FACILITY, "/api/drills/start", json={"scenario": "fire"})
    assert no_demo.status_code == 409 and no_demo.json()["error"] == "no_scenarios"
    drill = await post(s, Role.SECURITY, "/api/drills/start", json={"note": "button test"})
    assert drill.status_code == 201 and s.runtime.alarms is not None and s.runtime.alarms.drill is True
    ended = await post(s, Role.SECURITY, f"/api/drills/{drill.json()['id']}/end")
    assert ended.json()["active"] is False and s.runtime.alarms.drill is False
    report = (await s.client.get(f"/api/drills/{drill.json()['id']}/report", headers=manager)).json()
    assert report["summary"]["alarms"] == 0

    sheet = await s.client.get("/api/qr/sheet", headers=s.headers["mia"])
    assert sheet.status_code == 200 and sheet.text.count("<svg") == 3  # two rooms and one device
    assert 'data-id="ups"' in sheet.text and "服务" not in sheet.text
    svg = await s.client.get("/api/qr/device/ups", headers=manager)
    assert svg.headers["content-type"] == "image/svg+xml" and svg.text.startswith("<svg")
    assert (await s.client.get("/api/qr/device/nope", headers=manager)).status_code == 404
    # What the code holds, read back by an independent decoder (OpenCV) from a raster of the same symbol.
    url = target_url(str(s.client.base_url), "device", "ups")
    assert url.endswith("/maintenance?device=ups")
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=4)
    import cv2

    image = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    # OpenCV's classic detector misses ~2 % of valid symbols (4 of 200 ports of this URL; the served port is
    # random), which its ArUco-based detector reads: a miss of one is tried with the other.
    decoded = cv2.QRCodeDetector().detectAndDecode(image)[0] or cv2.QRCodeDetectorAruco().detectAndDecode(image)[0]
    assert decoded == url
