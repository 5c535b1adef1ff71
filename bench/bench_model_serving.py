"""How much a model conversion stalls the server's event loop: in a worker thread (baseline) vs in a child process.

A ticker on the loop asks to run every 10 ms while the largest shared IFC converts (fresh cache each time); the
figure is how late it ran, as a device poll due at that moment would be. Pollers time out after 1-2 s.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from twin.bim import convert_cached
from twin.bim.convert_process import convert_cached_in_process

SHARED_IFC = Path(__file__).resolve().parent.parent.parent / "shared" / "ifc"
TICK_S = 0.010
ROUNDS = 3


async def _lateness_during(convert: Callable[[Path], Awaitable[object]]) -> tuple[float, list[float]]:
    """(conversion seconds, how late each tick ran in seconds) while ``convert`` runs."""
    late: list[float] = []
    done = False

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not done:
            due = loop.time() + TICK_S
            await asyncio.sleep(TICK_S)
            late.append(max(0.0, loop.time() - due))

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_serving_") as cache:
        await convert(Path(cache))
    seconds = time.perf_counter() - started
    done = True
    await ticking
    return seconds, late


def _model() -> Path | None:
    models = sorted(SHARED_IFC.glob("*.ifc"), key=lambda p: p.stat().st_size) if SHARED_IFC.is_dir() else []
    return models[-1] if models else None


async def _run(path: Path) -> None:
    ways: dict[str, Callable[[Path], Awaitable[object]]] = {
        "worker thread": lambda cache: asyncio.to_thread(convert_cached, path, cache),
        "child process": lambda cache: convert_cached_in_process(path, cache),
    }
    print(f"{path.name}: loop lateness while converting ({ROUNDS} rounds each, ticks every {TICK_S * 1000:.0f} ms)")
    worst: dict[str, float] = {}
    for _ in range(ROUNDS):
        for name, convert in ways.items():  # alternated, so that machine noise hits both alike
            seconds, late = await _lateness_during(convert)
            worst[name] = max(worst.get(name, 0.0), max(late, default=0.0))
            p50 = statistics.median(late) * 1000 if late else 0.0
            print(f"  {name:<14} conversion {seconds:5.2f} s  ticks {len(late):4d}  late p50 {p50:6.1f} ms  "
                  f"max {max(late, default=0.0) * 1000:7.1f} ms")
    thread, process = worst["worker thread"], worst["child process"]
    print(f"  worst stall: thread {thread * 1000:.0f} ms, process {process * 1000:.0f} ms "
          f"({thread / max(process, 1e-6):.0f}x less in a child process)")


def main() -> None:
    path = _model()
    if path is None:
        print(f"note: {SHARED_IFC} is absent: nothing to convert")
        return
    asyncio.run(_run(path))


if __name__ == "__main__":
    main()
