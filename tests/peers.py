"""Helpers for tests that talk to real peers on loopback: free ports, the shared data folder, deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from twin.ports import free_port, port_free

__all__ = ["REPO_ROOT", "SHARED", "free_port", "port_free", "wait_until"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


async def wait_until(condition: Callable[[], object], within_s: float, what: str, interval_s: float = 0.005) -> float:
    """Poll ``condition`` until it is true and return the seconds that took; AssertionError naming ``what``
    after ``within_s`` (a functional deadline the issue sets, not a speed assertion)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        if loop.time() - started > within_s:
            raise AssertionError(f"not within {within_s:.2f} s: {what}")
        await asyncio.sleep(interval_s)
    return loop.time() - started
