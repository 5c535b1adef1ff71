"""Bench (b): latency from a device value change to its update on a /ws client, at 2,000 point updates/s.

Set-up, chosen to be what a hall runs: 50 MQTT temperature/humidity sensors (2 points each) publish JSON with
their own "ts" through a mosquitto started here, 1,000 messages/s = 2,000 point updates/s. The HallTwin runtime
(gateway, SQLite history recorder, API) runs in this process; the sensors and the /ws client run in a second
process, so each side has a core. Latency = arrival of the update on the /ws client - the sensor's "ts".
Push (MQTT) rather than polled Modbus: with polling the figure is dominated by half the poll period, by design.

Baseline in the same run: the same sensors, the same broker, a plain MQTT subscriber in the client process
(sensor -> broker -> subscriber). The ratio shows what the gateway + bus + WebSocket path adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

SENSORS = 50
MESSAGES_PER_S = 1_000  # two points each: 2,000 point updates/s
DURATION_S = 8.0
WARMUP_S = 1.0
TICK_S = 0.01
GOAL_P99_MS = 10.0
TOPIC = "hall/bench/env"
GUID = "3" * 22


def bench_site(broker_port: int) -> Any:
    from twin.site.model import SiteConfig

    def point(device: str, name: str) -> dict[str, Any]:
        return {
            "id": f"{device}.{name}", "name": {"zh": name, "en": name}, "kind": "analog", "unit": "",
            "brick": "Point", "address": {"type": "mqtt", "json_path": name},
        }  # fmt: skip

    devices = [
        {
            "id": f"env-{i:02d}", "name": {"zh": f"温湿度 {i}", "en": f"Sensor {i}"}, "kind": "temp_humidity",
            "zone": "hall", "ifc_guid": GUID,
            "connection": {"type": "mqtt", "topic": f"{TOPIC}/env-{i:02d}"},
            "points": [point(f"env-{i:02d}", "temperature"), point(f"env-{i:02d}", "humidity")],
        }
        for i in range(SENSORS)
    ]  # fmt: skip
    return SiteConfig.model_validate(
        {
            "site": {"id": "bench", "name": {"zh": "基准", "en": "Bench"}, "ifc": "none.ifc"},
            "mqtt": {"host": "127.0.0.1", "port": broker_port},
            "zones": [{"id": "hall", "name": {"zh": "大厅", "en": "Hall"}, "zone_type": "waiting", "ifc_guid": GUID}],
            "devices": devices,
        }
    )


@contextlib.asynccontextmanager
async def serve(runtime: Any) -> AsyncIterator[str]:
    """The real app under uvicorn on a free loopback port, in this loop; yields the base URL."""
    import uvicorn

    from api.app import create_app
    from api.serve import uvicorn_config

    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it
    # every keep-alive response waited ~40 ms for a delayed ACK (headers and body are two writes).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn_config(create_app(runtime), log_level="warning", ws_ping_interval=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="bench-uvicorn")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10.0)
        sock.close()


async def staff_ws_url(runtime: Any, url: str) -> str:
    """The /ws URL with a session token: the stream is for staff only. The session is made in the store (one
    Argon2 hash for the user, none per connection): this bench measures the stream, not the login."""
    import secrets

    from store import Role

    user = await runtime.store.users.reset("bench", Role.FACILITY, secrets.token_urlsafe())
    token, _ = await runtime.store.sessions.create(user, None, 3600)
    return url.replace("http://", "ws://") + f"/ws?token={token}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the second process: sensors plus a receiver ------------------------------------------------------------


async def _sensors(port: int, duration: float) -> int:
    import aiomqtt

    sent = 0
    per_tick = max(1, round(MESSAGES_PER_S * TICK_S))
    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-sensors", max_queued_outgoing_messages=0) as client:
        started = time.perf_counter()
        tick = 0
        while time.perf_counter() - started < duration:
            for _ in range(per_tick):
                device = f"env-{sent % SENSORS:02d}"
                value = round(20.0 + (sent % 1000) / 100.0, 2)
                payload = json.dumps({"temperature": value, "humidity": value + 30.0, "ts": time.time()})
                await client.publish(f"{TOPIC}/{device}", payload, qos=0)
                sent += 1
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * TICK_S - time.perf_counter()))
    return sent


async def _receive_ws(url: str, stop: asyncio.Event, latencies: list[float], warm_until: float) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_size=None) as ws:  # url: staff_ws_url
        await ws.recv()  # the snapshot
        stop_wait = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            recv = asyncio.ensure_future(ws.recv())
            done, _ = await asyncio.wait({recv, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if recv not in done:
                recv.cancel()
                break
            now = time.time()
            frame = json.loads(recv.result())
            if frame["type"] == "updates" and now > warm_until:
                latencies.extend(now - p["sts"] for p in frame["points"] if p["id"].startswith("env-"))


async def _receive_mqtt(port: int, stop: asyncio.Event, latencies: list[float], warm_until: float) -> None:
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, identifier="bench-baseline") as client:
        await client.subscribe(f"{TOPIC}/#", qos=1)
        messages = aiomqtt_messages(client)
        stop_wait = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            nxt = asyncio.ensure_future(anext(messages))
            done, _ = await asyncio.wait({nxt, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if nxt not in done:
                nxt.cancel()
                break
            now = time.time()
            payload = json.loads(nxt.result().payload)
            if now > warm_until:
                latencies.extend([now - payload["ts"]] * 2)  # one message carries two point changes


async def aiomqtt_messages(client: Any) -> AsyncIterator[Any]:
    async for message in client.messages:
        yield message


async def _client_main(mode: str, url: str, port: int, duration: float) -> dict[str, Any]:
    stop = asyncio.Event()
    latencies: list[float] = []
    warm_until = time.time() + WARMUP_S
    receive = (
        _receive_ws(url, stop, latencies, warm_until)
        if mode == "ws"
        else _receive_mqtt(port, stop, latencies, warm_until)
    )
    receiver = asyncio.create_task(receive)
    await asyncio.sleep(0.3)  # subscribed before the first value changes
    sent = await _sensors(port, duration)
    await asyncio.sleep(0.5)  # the last updates arrive
    stop.set()
    await receiver
    return {"sent": sent, "latencies": latencies}


def _client_process(mode: str, url: str, port: int, duration: float, results: Any) -> None:
    results.put(asyncio.run(_client_main(mode, url, port, duration)))


# --- this process: broker and runtime -----------------------------------------------------------------------


def _run_client(mode: str, url: str, port: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_client_process, args=(mode, url, port, DURATION_S, results), daemon=True)
    process.start()
    return {"process": process, "results": results}


async def _wait_result(handle: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.to_thread(handle["results"].get, True, DURATION_S + 60)
    await asyncio.to_thread(handle["process"].join, 10)
    return result


def _summary(name: str, result: dict[str, Any]) -> tuple[float, float]:
    latencies = [x * 1000 for x in result["latencies"]]
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    rate = len(latencies) / (DURATION_S - WARMUP_S)
    print(f"{name:<34} {len(latencies):>7} updates ({rate:,.0f}/s)  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    return p50, p99


async def _main() -> None:
    from api.runtime import HallRuntime
    from iot_gateway.broker import MqttBrokerLauncher

    with tempfile.TemporaryDirectory(prefix="halltwin-bench-") as tmp:
        folder = Path(tmp)
        broker = MqttBrokerLauncher(workdir=folder / "broker")
        await broker.start()
        try:
            site = bench_site(broker.port)
            runtime = HallRuntime(site, folder / "site.yaml", folder / "data")
            async with serve(runtime) as url:
                print(f"{SENSORS} MQTT sensors, {MESSAGES_PER_S} msg/s = {2 * MESSAGES_PER_S} point updates/s, "
                      f"{DURATION_S:g} s ({broker.kind}); latency = /ws arrival - sensor ts")  # fmt: skip
                base = _summary(
                    "baseline: sensor->broker->subscriber", await _wait_result(_run_client("mqtt", url, broker.port))
                )
                full = _summary(
                    "halltwin: sensor->gateway->/ws",
                    await _wait_result(_run_client("ws", await staff_ws_url(runtime, url), broker.port)),
                )
                recorder = runtime.recorder
                if recorder is not None:
                    print(f"history recorder: {recorder.written} updates written, {recorder.dropped} dropped")
        finally:
            await broker.stop()
    print(f"ratio halltwin/baseline: p50 {full[0] / base[0]:.1f}x, p99 {full[1] / base[1]:.1f}x")
    verdict = "met" if full[1] <= GOAL_P99_MS else "NOT met"
    print(f"goal: p99 <= {GOAL_P99_MS:g} ms at {2 * MESSAGES_PER_S:,} updates/s: {verdict} ({full[1]:.1f} ms)")


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
