"""Bench: /ws delivery latency and server CPU with 1, 200 and 500 WebSocket clients (an operations room).

The server (the real app and runtime under uvicorn, in this process) publishes a steady 2,000 point updates/s on
its bus, as pollers would; each update's ts is the time it was due, so a publisher held up by a busy event loop
counts as latency too. The clients are real WebSocket connections opened by CLIENT_PROCESSES separate processes.
Latency = arrival on a client - the update's ts, over every update every client received. Server CPU = this
process's CPU time (all its threads: uvicorn, the bus, the history recorder) over the measured seconds; client CPU
is the client processes' together.

Baseline in the same run: the fan-out as it was before shared encoders (api/live_fanout.py at BASELINE_COMMIT,
read with ``git show`` and loaded as a module of its own), plugged into the same server, with the same ws.py:
each client had its own bus subscription and its own encoding of every frame, and every frame went through ASGI
(its feeds have no shared-frame writer).

The client process would be the bottleneck if it parsed every update's JSON (500 clients x 2,000 updates/s =
1 million per second), so it reads only the first and the last "ts" of a frame: the updates of a frame are
consecutive (one filter: all points) and their ts are spaced exactly 1/RATE apart, so every update's latency
follows from those two; a frame whose two ends do not fit its count is parsed in full.
"""

from __future__ import annotations

import asyncio
import importlib.util
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.bench_latency import bench_site, serve, staff_ws_url

RATE = 2_000  # point updates per second
TICK_S = 0.005
CLIENT_COUNTS = (1, 200, 500)
WARMUP_S = 1.5
DURATION_S = 5.0
CONNECT_DEADLINE_S = 60.0
CONNECT_CONCURRENCY = 10  # logins share the store's connection pool
# The clients are the instrument: one process of 500 clients took 90 % of a core with 50 frames/s each and added
# latency of its own, so they are spread over two.
CLIENT_PROCESSES = 2
GOAL_P99_MS = 50.0
# The fan-out before shared encoders (one subscription and one encoding per client).
BASELINE_COMMIT = "3747d8d"
REPO = Path(__file__).resolve().parent.parent
TS_RE = re.compile(rb'"ts":([-0-9.eE+]+)')


# --- the client process ---------------------------------------------------------------------------------------


class FrameLatencies:
    """Per frame: (first latency, last latency, number of updates), read from the raw frame bytes."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, int]] = []
        self.window = (float("inf"), float("-inf"))
        self.frames = self.updates = self.dropped = 0

    def add(self, data: bytes, now: float) -> None:
        if not self.window[0] <= now <= self.window[1]:
            return
        if data.startswith(b'{"type":"dropped"'):
            self.dropped += int(re.search(rb'"count":(\d+)', data).group(1))  # type: ignore[union-attr]
            return
        if not data.startswith(b'{"type":"updates"'):
            return
        first, last = data.find(b'"ts":'), data.rfind(b'"ts":')
        if first < 0:
            return
        count = data.count(b'"id":')
        ts_first = float(data[first + 5 : data.index(b",", first)])
        ts_last = float(data[last + 5 : data.index(b",", last)])
        self.frames += 1
        self.updates += count
        if count > 1 and abs((ts_last - ts_first) * RATE - (count - 1)) > 0.5:  # not evenly spaced: every ts
            self.rows.extend((now - float(ts), now - float(ts), 1) for ts in TS_RE.findall(data))
        else:
            self.rows.append((now - ts_first, now - ts_last, count))


class WsClient(asyncio.Protocol):
    """One WebSocket client: websockets' sans-I/O protocol (handshake, framing, pings) on an asyncio Protocol.
    No task and no queue per message, so that one process can keep up with 500 connections."""

    def __init__(self, url: str, sink: FrameLatencies) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.protocol = ClientProtocol(parse_uri(url), max_size=None)
        self.sink = sink
        self.transport: asyncio.Transport | None = None
        self.snapshot = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        from websockets.frames import Frame, Opcode

        now = time.time()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if not isinstance(event, Frame) or event.opcode is not Opcode.TEXT:
                continue
            if not self.snapshot.done():
                self.snapshot.set_result(None)  # the first frame
            else:
                self.sink.add(bytes(event.data), now)
        self._flush()

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            if chunk and self.transport is not None:
                self.transport.write(chunk)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError(f"closed before the snapshot: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def close(self) -> None:
        if self.transport is None:
            return
        self.protocol.send_close(1000)
        self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 5)
        except TimeoutError:
            self.transport.abort()


async def _connect(url: str, sink: FrameLatencies, gate: asyncio.Semaphore) -> WsClient | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    async with gate:
        try:
            _, client = await asyncio.get_running_loop().create_connection(
                lambda: WsClient(url, sink), parts.hostname or "127.0.0.1", parts.port or 80
            )
            await asyncio.wait_for(client.snapshot, 60)
        except (OSError, TimeoutError, ConnectionError):
            return None
    return client


async def _client_main(url: str, clients: int, ready: Any, go: Any) -> dict[str, Any]:
    import numpy as np

    sink = FrameLatencies()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    attempts = [asyncio.create_task(_connect(url, sink, gate)) for _ in range(clients)]
    done, late = await asyncio.wait(attempts, timeout=CONNECT_DEADLINE_S)
    for task in late:  # a server too busy to take them all in time: measured with those it took
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    connected = [client for task in done if (client := task.result()) is not None]
    ready.put(len(connected))
    begin: float = await asyncio.to_thread(go.get, True, 300)  # when every client process has connected
    sink.window = (begin, begin + DURATION_S)
    await asyncio.sleep(max(0.0, begin - time.time()))
    cpu0 = time.process_time()
    await asyncio.sleep(DURATION_S)
    cpu = (time.process_time() - cpu0) / DURATION_S
    await asyncio.sleep(0.2)
    await asyncio.gather(*(client.close() for client in connected))
    return {
        "latencies": np.array(sink.rows, dtype=np.float64).reshape(-1, 3),
        "connected": len(connected),
        "frame_count": sink.frames,
        "updates": sink.updates,
        "dropped": sink.dropped,
        "client_cpu": cpu,
    }


def _client_process(url: str, clients: int, ready: Any, go: Any, results: Any) -> None:
    results.put(asyncio.run(_client_main(url, clients, ready, go)))


# --- this process: the server, its load, the baseline ---------------------------------------------------------


def baseline_module() -> ModuleType | None:
    """api/live_fanout.py as of BASELINE_COMMIT, loaded as ``baseline_live_fanout``; None without git history."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:api/live_fanout.py"], cwd=REPO, check=True, capture_output=True,
            text=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    folder = Path(tempfile.mkdtemp(prefix="halltwin-baseline-"))
    path = folder / "baseline_live_fanout.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_live_fanout", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_live_fanout"] = module
    spec.loader.exec_module(module)
    # ws.py names a feed's tasks after feed.name; the old feed had only its subscription's name. It passes the
    # client's role too, which only filters frames of other types (alarms, pages): the old fan-out had none.
    module.LiveFeed.name = property(lambda feed: feed.subscription.name)
    open_feed = module.LiveFanout.open
    module.LiveFanout.open = lambda fanout, points, role=None, **options: open_feed(fanout, points, **options)
    return module


async def publish_load(bus: Any, point_ids: list[str]) -> None:
    """RATE updates/s on the bus, each stamped with the time it was due (lateness counts as latency)."""
    from twin.points import PointUpdate, Quality

    begin = time.time()
    sent = 0
    while True:
        due = int((time.time() - begin) * RATE)
        if due > sent:
            batch = []
            for k in range(sent, due):
                ts = begin + k / RATE
                batch.append(PointUpdate(point_ids[k % len(point_ids)], float(k % 1000), Quality.GOOD, ts, ts))
            bus.publish_many(batch)
            sent = due
        await asyncio.sleep(TICK_S)


def _spread(frames: Any) -> Any:
    """Every update's latency in ms, from each frame's first and last latency (evenly spaced between): an
    (n, 3) array of (first, last, count) rows in, one latency per update out."""
    import numpy as np

    if len(frames) == 0:
        return np.zeros(0)
    first, last, count = frames[:, 0], frames[:, 1], frames[:, 2].astype(np.int64)
    starts = np.repeat(np.cumsum(count) - count, count)
    index = np.arange(int(count.sum())) - starts  # position of each update inside its frame
    span = np.repeat(np.maximum(count - 1, 1), count)
    return (np.repeat(first, count) + np.repeat(last - first, count) * index / span) * 1000.0


async def _run(runtime: Any, url: str, fanout_class: Any, clients: int) -> dict[str, Any]:
    old = runtime.live
    old.close()
    if hasattr(old, "wait_closed"):
        await old.wait_closed()
    runtime.live = fanout_class(runtime.bus)
    import numpy as np

    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Queue(), context.Queue(), context.Queue()
    shares = [clients // CLIENT_PROCESSES + (k < clients % CLIENT_PROCESSES) for k in range(CLIENT_PROCESSES)]
    processes = [
        context.Process(target=_client_process, args=(url, share, ready, go, results), daemon=True)
        for share in shares
        if share
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            await asyncio.to_thread(ready.get, True, 180)
        begin = time.time() + WARMUP_S
        for _ in processes:
            go.put(begin)
        await asyncio.sleep(max(0.0, begin - time.time()))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(DURATION_S)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        parts: list[dict[str, Any]] = [await asyncio.to_thread(results.get, True, 120) for _ in processes]
    finally:
        for process in processes:
            await asyncio.to_thread(process.join, 30)
            if process.is_alive():
                process.kill()
    result: dict[str, Any] = {key: sum(part[key] for part in parts) for key in parts[0] if key != "latencies"}
    result["latencies"] = np.concatenate([part["latencies"] for part in parts])
    result["cpu"] = cpu
    return result


def _line(name: str, clients: int, result: dict[str, Any]) -> tuple[float, float]:
    import numpy as np

    latencies = _spread(result["latencies"])
    p50 = float(np.percentile(latencies, 50)) if latencies.size else float("nan")
    p99 = float(np.percentile(latencies, 99)) if latencies.size else float("nan")
    rate = result["updates"] / DURATION_S / max(result["connected"], 1)
    frames = result["frame_count"] / DURATION_S / max(result["connected"], 1)
    print(
        f"{name:<8} {clients:>4} clients  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  {rate:6,.0f} updates/s and "
        f"{frames:5.0f} frames/s per client  dropped {result['dropped']:>6}  server CPU {result['cpu']:4.0%}  "
        f"client CPU {result['client_cpu']:4.0%}  load {os.getloadavg()[0]:.1f}"
        + (
            ""
            if result["connected"] == clients
            else f"  ({clients - result['connected']} not connected in {CONNECT_DEADLINE_S:g} s)"
        ),
        flush=True,
    )
    return p50, p99


async def _main() -> None:
    from api.live_fanout import LiveFanout
    from api.runtime import HallRuntime

    baseline = baseline_module()
    variants: list[tuple[str, Any]] = [("shared", LiveFanout)]
    if baseline is not None:
        variants.append(("old", baseline.LiveFanout))
    else:
        print(f"baseline: git show {BASELINE_COMMIT} failed (no git history?): the new code only")
    with tempfile.TemporaryDirectory(prefix="halltwin-bench-ws-") as tmp:
        folder = Path(tmp)
        site = bench_site(1883)  # 100 MQTT points; nothing is polled, the load is published on the bus here
        runtime = HallRuntime(site, folder / "site.yaml", folder / "data", poll_devices=False)
        async with serve(runtime) as url:
            ws_url = await staff_ws_url(runtime, url)
            point_ids = [p.id for d in site.devices for p in d.points]
            load = asyncio.create_task(publish_load(runtime.bus, point_ids), name="bench-load")
            print(f"{RATE:,} updates/s over {len(point_ids)} points, {DURATION_S:g} s measured per run after "
                  f"{WARMUP_S:g} s; clients in {CLIENT_PROCESSES} separate processes; latency = arrival - update "
                  "ts")  # fmt: skip
            figures: dict[tuple[str, int], tuple[float, float]] = {}
            try:
                for clients in CLIENT_COUNTS:
                    for name, fanout_class in variants:
                        result = await _run(runtime, ws_url, fanout_class, clients)
                        figures[(name, clients)] = _line(name, clients, result)
            finally:
                load.cancel()
                await asyncio.gather(load, return_exceptions=True)
                runtime.live.close()  # the runtime stops its own kind of fan-out, not the baseline's
                runtime.live = LiveFanout(runtime.bus)
    if baseline is not None:
        for clients in CLIENT_COUNTS:
            new, old = figures[("shared", clients)], figures[("old", clients)]
            print(f"ratio old/shared at {clients:>3} clients: p50 {old[0] / new[0]:5.2f}x, p99 {old[1] / new[1]:5.2f}x")
    p99 = figures[("shared", CLIENT_COUNTS[-1])][1]
    verdict = "met" if p99 <= GOAL_P99_MS else "NOT met"
    print(f"goal: p99 <= {GOAL_P99_MS:g} ms with {CLIENT_COUNTS[-1]} clients: {verdict} ({p99:.1f} ms)")


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
