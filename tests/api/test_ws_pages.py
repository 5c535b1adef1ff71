"""Alarm pages on /ws, on the demo hall through real protocols: an emergency button pressed on the simulated
security controller (polled by the gateway) raises its alarm, the linkage pages security, and the page reaches a
security client as a ``page`` frame with the alarm's room and camera, while a maintenance client, which hears of the
alarm's work order opened just after the page, hears of no page. Acknowledged over HTTP, the page comes again with
who and when (other desks drop it), and GET /api/pages keeps them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from store import Role
from tests.api.auth_helpers import create_user, login_headers
from tests.api.demo_fixtures import running_demo

BUTTON = "security-ctl.ebtn_4"  # a button no scenario presses: its alarm is this test's own
FRAME_DEADLINE_S = 30.0  # the next poll reads the button; room for a loaded machine
Frame = dict[str, Any]


async def frames_until(ws: ClientConnection, done: Callable[[list[Frame]], bool]) -> list[Frame]:
    """Frames other than point values and the alarm list until ``done(frames)`` holds."""
    frames: list[Frame] = []
    async with asyncio.timeout(FRAME_DEADLINE_S):
        while not done(frames):
            frame = json.loads(await ws.recv())
            if frame["type"] not in ("snapshot", "updates", "alarms"):
                frames.append(frame)
    return frames


def page_of(alarm_id: int) -> Callable[[list[Frame]], bool]:
    return lambda frames: any(f["type"] == "page" and f["page"]["alarm_id"] == alarm_id for f in frames)


async def test_alarm_page_frame_to_security_not_to_maintenance(tmp_path: Path) -> None:
    async with running_demo(tmp_path) as demo:
        heads: dict[Role, dict[str, str]] = {}
        for role in (Role.SECURITY, Role.MAINTENANCE):
            await create_user(demo.runtime.store, role.value, role)
            heads[role] = await login_headers(demo.client, role.value)

        def ws_url(role: Role) -> str:
            token = heads[role]["Authorization"].removeprefix("Bearer ")
            return demo.url.replace("http://", "ws://") + f"/ws?token={token}"

        async with connect(ws_url(Role.SECURITY)) as desk, connect(ws_url(Role.MAINTENANCE)) as crew:
            demo.hall.state.pressed_buttons.add(BUTTON)
            try:
                rule = f"emergency_button.{BUTTON}"
                raised = await frames_until(desk, lambda fs: any(f["type"] == "alarm" and f["alarm"]["rule"] == rule
                                                                 for f in fs))  # fmt: skip
                alarm = next(f["alarm"] for f in raised if f["type"] == "alarm")
                got = await frames_until(desk, page_of(alarm["id"]))
                page = next(f["page"] for f in got if f["type"] == "page")
                assert (page["role"], page["zone"], page["camera"]) == ("security", alarm["zone"], alarm["camera"])
                assert page["camera"] and page["zone"] and page["acked_at"] is None
                assert page["title"] == alarm["title"]

                # The crew hears of the alarm's work order, which the linkage opens after the page; frames keep
                # their order per client, so a page frame for the crew would have come before it.
                heard = await frames_until(crew, lambda fs: any(
                    f["type"] == "workorder" and f["source"] == "alarm" and f["device"] == alarm["device"]
                    for f in fs))  # fmt: skip
                assert [f for f in heard if f["type"] == "page"] == []

                acked = await demo.client.post(f"/api/pages/{page['id']}/ack", headers=heads[Role.SECURITY])
                assert acked.status_code == 200, acked.text
                again = await frames_until(desk, lambda fs: any(f["type"] == "page" for f in fs))
                seen = next(f["page"] for f in again if f["type"] == "page")
                assert (seen["id"], seen["acked_by"]) == (page["id"], "security") and seen["acked_at"] is not None
                listed = (await demo.client.get("/api/pages", headers=heads[Role.SECURITY])).json()
                stored = next(p for p in listed if p["id"] == page["id"])
                assert (stored["acked_by"], stored["acked_at"]) == ("security", seen["acked_at"])
                crew_pages = (await demo.client.get("/api/pages", headers=heads[Role.MAINTENANCE])).json()
                assert all(p["alarm_id"] != alarm["id"] for p in crew_pages)
            finally:
                demo.hall.state.pressed_buttons.discard(BUTTON)
