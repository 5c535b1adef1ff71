"""/ws fan-out to many clients: one encoder per filter, the same text for every client of it, a stalled client
that never holds up the others, extra frame types for every feed, and no update lost after the snapshot."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect

from api import ws_protocol
from api.live_fanout import BATCH_WINDOW_S, MAX_WINDOW_S, SENDS_PER_S, EncodedUpdates, LiveFanout
from api.runtime import HallRuntime
from api.ws_protocol import SharedFrameProtocol
from tests.api.server import running_app
from tests.api.test_ws import receive, staff_ws_url, update
from tests.iot_gateway.test_gateway_faults import make_site, modbus_device
from tests.peers import free_port, wait_until
from twin.bus import PointBus
from twin.points import PointUpdate, Quality

RECV_TIMEOUT = 5.0
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, HallRuntime]]:
    """One served hall that polls nothing, for the whole module: the tests publish on its bus."""
    tmp_path: Path = tmp_path_factory.mktemp("fanout")
    site = make_site(modbus_device("ac-1", free_port()))
    runtime = HallRuntime(site, tmp_path / "site.yaml", tmp_path / "data", poll_devices=False)
    async with running_app(runtime) as url:
        yield url, runtime


async def raw_frames(ws: ClientConnection, until: str) -> list[str]:
    """The text of every frame up to and including the first that contains ``until``."""
    frames: list[str] = []
    while True:
        text = await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
        assert isinstance(text, str)
        frames.append(text)
        if until in text:
            return frames


async def test_clients_of_one_filter_share_one_encoder_and_get_the_same_text(
    served: tuple[str, HallRuntime],
) -> None:
    url, runtime = served
    everything = await staff_ws_url(url, runtime)
    one_point = await staff_ws_url(url, runtime, "?points=ac-1.setpoint")
    async with connect(everything) as a, connect(everything) as b, connect(one_point) as c:
        for ws in (a, b, c):
            await receive(ws)  # the snapshot: the feed is open
        assert len(runtime.live.feeds) == 3
        assert set(runtime.live.encoders) == {None, frozenset({"ac-1.setpoint"})}
        assert len([s for s in runtime.bus.subscriptions if s.name.startswith("ws-")]) == 2  # not one per client
        runtime.bus.publish_many([update("ac-1.mode", 3), update("ac-1.setpoint", 22.5)])
        got_a = await raw_frames(a, '"v":22.5')
        got_b = await raw_frames(b, '"v":22.5')
        got_c = await raw_frames(c, '"v":22.5')
        assert got_a == got_b  # byte for byte: encoded once
        assert [p["id"] for p in json.loads(got_a[-1])["points"]] == ["ac-1.mode", "ac-1.setpoint"]
        assert [p["id"] for p in json.loads(got_c[-1])["points"]] == ["ac-1.setpoint"]
    await wait_until(lambda: not runtime.live.feeds and not runtime.live.encoders, 5.0, "feeds released")


async def test_clients_that_keep_up_get_one_framing_written_to_each_socket(served: tuple[str, HallRuntime]) -> None:
    """With the server's WebSocket protocol (api/ws_protocol.py) every feed has the shared-frame writer, and a frame
    for clients that keep up is framed once and written by the encoder, not by each client's sender."""
    url, runtime = served
    clients = [await connect(await staff_ws_url(url, runtime)) for _ in range(3)]
    try:
        for ws in clients:
            await receive(ws)
        await wait_until(lambda: len(runtime.live.feeds) == 3 and all(f._waiting for f in runtime.live.feeds), 5.0,
                         "three senders idle after their snapshots")  # fmt: skip
        assert all(isinstance(getattr(f.write_now, "__self__", None), SharedFrameProtocol) for f in runtime.live.feeds)
        runtime.bus.publish(update("ac-1.setpoint", 23.25))
        texts = [(await raw_frames(ws, '"v":23.25'))[-1] for ws in clients]
        assert texts[0] == texts[1] == texts[2] == ws_protocol._shared.text  # framed once, for all three
        assert all(not f._queue for f in runtime.live.feeds)
    finally:
        for ws in clients:
            await ws.close()
    await wait_until(lambda: not runtime.live.feeds, 5.0, "feeds released")


class StalledClient:
    """A WebSocket client that completes the handshake and then never reads: its socket buffers fill up."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sock: socket.socket | None = None

    async def open(self) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        sock.sendall(
            f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        sock.settimeout(5)
        head = await asyncio.to_thread(sock.recv, 1024)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


async def test_a_stalled_client_never_holds_up_the_others(served: tuple[str, HallRuntime]) -> None:
    url, runtime = served
    runtime.live.close()
    await runtime.live.wait_closed()
    runtime.live = LiveFanout(runtime.bus, client_queue=500)
    ws_url = await staff_ws_url(url, runtime)
    stalled = StalledClient(ws_url)
    await stalled.open()
    try:
        async with connect(ws_url) as reader:
            await receive(reader)
            await wait_until(lambda: len(runtime.live.feeds) == 2, 5.0, "both feeds open")
            # 20 bursts of 500 updates of 2 kB each: far more than the stalled socket and its kernel buffers hold.
            pad = "x" * 2000
            for burst in range(20):
                runtime.bus.publish_many(
                    [PointUpdate("ac-1.setpoint", f"{burst}-{i}-{pad}", Quality.GOOD, 1.0, 2.0) for i in range(500)]
                )
                frames = await raw_frames(reader, f'"v":"{burst}-499-')
                assert all('"dropped"' not in frame for frame in frames)  # the reading client loses nothing
            stalled_feed = next(feed for feed in runtime.live.feeds if feed.sent_updates < 10_000)
            assert stalled_feed.dropped > 0  # the stalled one lost its oldest, counted, and its queue stays bounded
            assert sum(item.count for item in stalled_feed._queue if isinstance(item, EncodedUpdates)) <= 500
    finally:
        stalled.close()


async def test_broadcast_reaches_every_feed_in_order_with_the_updates(served: tuple[str, HallRuntime]) -> None:
    url, runtime = served
    clients = [await connect(await staff_ws_url(url, runtime)) for _ in range(2)]
    try:
        for ws in clients:
            await receive(ws)
        runtime.bus.publish(update("ac-1.setpoint", 30.0))
        await asyncio.sleep(0.05)  # the encoder's window has passed: the update is queued before the alarm
        assert runtime.live.broadcast({"type": "alarm", "id": "a-1", "state": "UNACK_ACTIVE"}) == 2
        runtime.bus.publish(update("ac-1.setpoint", 31.0))
        for ws in clients:
            frames = [json.loads(text) for text in await raw_frames(ws, '"v":31.0')]
            frames = [f for f in frames if f["type"] in ("updates", "alarm")]
            kinds = [(f["type"], f.get("id") or [p["v"] for p in f["points"]]) for f in frames]
            assert ("alarm", "a-1") in kinds
            assert kinds.index(("updates", [30.0])) < kinds.index(("alarm", "a-1")) < len(kinds) - 1
    finally:
        for ws in clients:
            await ws.close()


async def test_no_update_is_lost_between_snapshot_and_stream(served: tuple[str, HallRuntime]) -> None:
    """Clients join while values change continuously: each ends with the last value published."""
    url, runtime = served
    ws_url = await staff_ws_url(url, runtime)
    stop = asyncio.Event()
    last: dict[str, float] = {}

    async def publisher() -> None:
        value = 0.0
        while not stop.is_set():
            value += 1.0
            runtime.bus.publish(update("ac-1.setpoint", value))
            last["v"] = value
            await asyncio.sleep(0)

    async def client() -> float:
        async with connect(ws_url) as ws:
            current: Any = None
            snapshot = await receive(ws)
            current = next((p["v"] for p in snapshot["points"] if p["id"] == "ac-1.setpoint"), None)
            await asyncio.sleep(0.2)
            stop.set()
            deadline = asyncio.get_running_loop().time() + RECV_TIMEOUT
            while current != last["v"] and asyncio.get_running_loop().time() < deadline:
                frame = await receive(ws)
                for point in frame.get("points", []):
                    if point["id"] == "ac-1.setpoint":
                        current = point["v"]
            return float(current)

    task = asyncio.create_task(publisher())
    ends = await asyncio.gather(*(client() for _ in range(5)))
    await task
    assert ends == [last["v"]] * 5


async def test_encoder_batches_and_cuts_a_shared_frame_for_a_client_that_fell_behind() -> None:
    bus = PointBus()
    fanout = LiveFanout(bus, client_queue=3, window=0)
    fast, slow = fanout.open(), fanout.open()
    bus.publish_many([update("p", float(i)) for i in range(5)])
    fast_frames = await fast.next_frames()
    await asyncio.sleep(0)
    slow_frames = await slow.next_frames()
    assert [json.loads(f)["type"] for f in fast_frames] == ["dropped", "updates"]
    assert json.loads(fast_frames[0]) == {"type": "dropped", "count": 2}
    assert [p["v"] for p in json.loads(fast_frames[1])["points"]] == [2.0, 3.0, 4.0]
    assert slow_frames == fast_frames  # both cut the same way: the newest three
    fanout.close()
    await fanout.wait_closed()
    assert await fast.next_frames() == []
    assert not bus.subscriptions


async def test_a_value_json_cannot_hold_costs_that_update_only() -> None:
    bus = PointBus()
    fanout = LiveFanout(bus, window=0)
    feed = fanout.open()
    not_json = PointUpdate("q", {1, 2}, Quality.GOOD, 1.0, 2.0)  # type: ignore[arg-type]
    bus.publish_many([update("p", 1.0), not_json, update("p", 2.0)])
    frames = [json.loads(text) for text in await feed.next_frames()]
    assert frames == [
        {"type": "dropped", "count": 1},
        {"type": "updates", "points": [{"id": "p", "v": 1.0, "q": "GOOD", "ts": 2.0, "sts": 1.0},
                                       {"id": "p", "v": 2.0, "q": "GOOD", "ts": 2.0, "sts": 1.0}]},
    ]  # fmt: skip
    bus.publish(update("p", 3.0))
    assert [p["v"] for p in json.loads((await feed.next_frames())[0])["points"]] == [3.0]  # the encoder lives on
    fanout.close()
    await fanout.wait_closed()


async def test_the_batching_window_grows_with_the_clients_of_a_filter() -> None:
    bus = PointBus()
    fanout = LiveFanout(bus, window=BATCH_WINDOW_S)
    feeds = [fanout.open() for _ in range(2000)]
    encoder = fanout.encoders[None]
    assert encoder.current_window() == MAX_WINDOW_S  # 2,000 clients: the cap
    for feed in feeds[500:]:
        fanout.release(feed)
    assert encoder.current_window() == pytest.approx(500 / SENDS_PER_S)  # at most ~SENDS_PER_S sends a second
    for feed in feeds[200:500]:
        fanout.release(feed)
    assert encoder.current_window() == pytest.approx(200 / SENDS_PER_S)
    for feed in feeds[1:200]:
        fanout.release(feed)
    assert encoder.current_window() == BATCH_WINDOW_S  # one client keeps the 2 ms window
    fanout.close()
    await fanout.wait_closed()
