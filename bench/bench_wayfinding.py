"""The public wayfinding API over HTTP on the demo hall: /api/route and /api/destinations p50/p99, against two
baselines measured in the same run: /api/health over the same HTTP path (what any request costs) and the same
routes asked of the Navigator in-process (what the graph search costs)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.bench_latency import serve

QUERIES = 300
SEARCHES = ("户籍", "hjqr", "5号窗口", "passport", "公积金提取", "toilet", "bdcdj", "营业执照怎么办理")


def _percentiles(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 99) * 1000)


def _timed(client: httpx.Client, path: str, params: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"{path} {params}: {answer.status_code} {answer.text[:200]}")
    return elapsed


def _client_run(url: str, queries: list[dict[str, str]]) -> dict[str, list[float]]:
    """Sequential requests from a thread of their own (a synchronous client, one request at a time)."""
    out: dict[str, list[float]] = {"health": [], "route": [], "search": []}
    with httpx.Client(base_url=url, timeout=30.0) as client:
        for params in queries[:20]:  # warm-up: imports, caches, connection
            _timed(client, "/api/route", params)
        for params in queries:
            out["health"].append(_timed(client, "/api/health"))
            out["route"].append(_timed(client, "/api/route", params))
        for _ in range(QUERIES // len(SEARCHES)):
            for q in SEARCHES:
                out["search"].append(_timed(client, "/api/destinations", {"q": q}))
    return out


async def _run() -> None:
    from api.runtime import HallRuntime
    from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
    from twin.nav.modes import Mode
    from twin.site.loader import load_site

    await asyncio.to_thread(ensure_demo_hall)
    site = await asyncio.to_thread(load_site, SITE_PATH, None)
    with tempfile.TemporaryDirectory() as folder:
        runtime = HallRuntime(site, SITE_PATH, Path(folder), poll_devices=False)
        async with serve(runtime) as url, httpx.AsyncClient(base_url=url, timeout=30.0) as client:
            started = time.perf_counter()
            while True:  # 503 + Retry-After until the child process has built the graph
                answer = await client.get("/api/destinations", params={"limit": 500})
                if answer.status_code != 503:
                    break
                await asyncio.sleep(0.1)
            print(f"graph ready {time.perf_counter() - started:.1f} s after the first request (child process)")
            ids = [d["id"] for d in answer.json()["results"]]
            rng = np.random.default_rng(7)
            queries: list[dict[str, str]] = []
            for _ in range(QUERIES):
                a, b = rng.choice(len(ids), 2, replace=False)
                roll = rng.random()
                mode = "walk" if roll < 0.6 else "accessible" if roll < 0.85 else "evacuation"
                params = {"from": ids[a], "mode": mode}
                if mode != "evacuation":
                    params["to"] = ids[b]
                queries.append(params)
            measured = await asyncio.to_thread(_client_run, url, queries)
            wayfinding = runtime.wayfinding
            assert wayfinding is not None
            ready = wayfinding.ready()
            direct: list[float] = []
            for params in queries:
                start = wayfinding.start_of(ready, params["from"]).place
                goal = wayfinding.goal_of(ready, params["to"]) if "to" in params else None
                goal_place = None if goal is None else _place(goal)
                t0 = time.perf_counter()
                ready.navigator.route(start, goal_place, Mode(params["mode"]), None)
                direct.append(time.perf_counter() - t0)
    rows: list[tuple[str, list[float]]] = [
        ("GET /api/health (baseline)", measured["health"]), ("Navigator.route in-process (baseline)", direct),
        ("GET /api/route", measured["route"]), ("GET /api/destinations?q=", measured["search"]),
    ]  # fmt: skip
    print(f"{'what':<40} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for name, times in rows:
        p50, p99 = _percentiles(times)
        print(f"{name:<40} {len(times):>5} {p50:>8.2f} {p99:>8.2f}")
    route_p50, route_p99 = _percentiles(measured["route"])
    health_p50, _ = _percentiles(measured["health"])
    direct_p50, _ = _percentiles(direct)
    print(f"route over HTTP / health: {route_p50 / health_p50:.1f}x at p50; route over HTTP / in-process: "
          f"{route_p50 / direct_p50:.1f}x at p50; p99 goal 20 ms {'met' if route_p99 <= 20 else 'not met'}")


def _place(destination: Any) -> Any:
    from twin.nav.router import Place

    return Place(destination.x, destination.y, destination.storey, destination.space)


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
