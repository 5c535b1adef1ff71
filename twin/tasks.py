"""Ending owned background tasks (house rule 2): cancel, wait until they have really ended, and honour cancels."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel the given tasks (None entries are skipped) and wait until every one has ended.

    A task that ended with an error other than the cancel is logged, not raised: one faulty task must not stop
    the shutdown of the others. A cancel of the caller itself still propagates (gather, not a suppress).
    """
    owned = [task for task in tasks if task is not None]
    for task in owned:
        task.cancel()
    if not owned:
        return
    outcomes = await asyncio.gather(*owned, return_exceptions=True)
    for task, outcome in zip(owned, outcomes, strict=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            log.error("task %s ended with an error: %r", task.get_name(), outcome, exc_info=outcome)


def raise_if_cancelled() -> None:
    """Honour a cancel that library code swallowed. On Python 3.11 ``asyncio.wait_for`` (used inside aiomqtt and
    pymodbus) returns the result when the awaited call finishes just as its task is cancelled; the loop of that
    task would then run on and its owner's shutdown would wait forever. Call this after such library awaits."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
