"""Bench: concurrent write transactions on the SQLite store, taking turns in the process or meeting SQLite's
busy handler. Baseline in the same run: the same work on a plain engine (every connection for itself).

Each of 8 writers runs 150 transactions of the shape the store's writers have (insert a row, read, update it: an
audit append, an alarm transition), as an alarm flood, an acknowledgement and the work orders it opens would at
once. Measured per transaction from asking to commit; rounds alternate the two engines on fresh files.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from store.engine import create_engine
from store.url import async_url

WRITERS = 8
EACH = 150
ROUNDS = 4
PAD = "x" * 200  # about an audit row's size


async def _run(engine: AsyncEngine) -> tuple[list[float], float]:
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, writer INT, pad TEXT)"))
    latencies: list[float] = []

    async def writer(number: int) -> None:
        for _ in range(EACH):
            asked = time.perf_counter()
            async with engine.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t (writer, pad) VALUES (:w, :p)"), {"w": number, "p": PAD})
                await conn.execute(sa.text("SELECT count(*) FROM t WHERE writer = :w"), {"w": number})
                await conn.execute(sa.text("UPDATE t SET pad = 'y' WHERE id = (SELECT max(id) FROM t)"))
            latencies.append(time.perf_counter() - asked)

    started = time.perf_counter()
    await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    return latencies, time.perf_counter() - started


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))] * 1000


async def _bench() -> None:
    results: dict[str, list[tuple[list[float], float]]] = {"taking turns": [], "busy handler": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(ROUNDS):
            for kind in results:
                url = async_url(f"sqlite:///{Path(folder) / f'{kind[0]}{round_number}.sqlite'}")
                engine = create_engine(url)
                if kind == "busy handler":  # the same pool and pragmas (the same sync engine), without the turns
                    engine = AsyncEngine(engine.sync_engine)
                try:
                    results[kind].append(await _run(engine))
                finally:
                    await engine.dispose()
    print(f"{WRITERS} writers x {EACH} transactions, {ROUNDS} rounds each, engines alternating")
    p99s: dict[str, float] = {}
    for kind, runs in results.items():
        latencies = [latency for run, _ in runs for latency in run]
        rate = statistics.median(len(run) / wall for run, wall in runs)
        p99s[kind] = _quantile(latencies, 0.99)
        print(f"  {kind:13}: {rate:5.0f} tx/s median; per transaction p50 {_quantile(latencies, 0.5):6.1f} ms, "
              f"p99 {p99s[kind]:6.1f} ms, worst {_quantile(latencies, 1.0):7.1f} ms")  # fmt: skip
    print(f"  p99 busy handler / taking turns: {p99s['busy handler'] / p99s['taking turns']:.1f}x")


def main() -> None:
    asyncio.run(_bench())


if __name__ == "__main__":
    main()
