"""Vendor HTTP speakers: a stored message is POSTed to the device's API (a real HTTP server here) and its 2xx
answer confirms it; live audio (a spoken text) is refused by such a speaker with the reason shown."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from broadcast.speakers import DriverContext, make_driver
from store.audit import PlainActor
from tests.broadcast.helpers import wait_until
from twin.site.broadcast_model import HttpSpeaker

FACILITY = PlainActor("fac", "facility", "127.0.0.1")


async def test_http_speaker_plays_stored_messages_by_id(make_hall: Any) -> None:
    bodies: list[dict[str, Any]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
        bodies.append(json.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        hall = await make_hall({"pa-h": []}, extra={})
        service = hall.service
        # The zone's one speaker is reached by its vendor API (the driver the site's `type: http` makes).
        context = DriverContext("127.0.0.1", service.sender.port, 0, None)
        endpoint = HttpSpeaker(type="http", device="spk-h", url=f"http://127.0.0.1:{port}/play")
        driver = make_driver(endpoint, "pa-h", context)
        service.drivers["pa-h"] = [driver]
        page = await service.start_broadcast(FACILITY, "page", ["pa-h"], message="closing")
        await wait_until(lambda: "spk-h" in page.confirmed, 5, "the vendor API's answer")
        assert bodies == [{"broadcast": page.id, "kind": "page", "priority": 3, "message": "closing", "text": None,
                           "zone": "pa-h"}]  # fmt: skip
        await service.stop_broadcast(FACILITY, page.id)
        spoken = await service.start_broadcast(FACILITY, "page", ["pa-h"], text={"zh": "测试", "en": "Test"})
        await wait_until(lambda: getattr(driver, "last_error", None) is not None, 5, "the refusal")
        assert "live audio" in str(getattr(driver, "last_error", "")) and "spk-h" not in spoken.confirmed
    finally:
        server.close()
        await server.wait_closed()
