"""A job of ours in a child Python process that answers with one JSON line: a server's event loop keeps the GIL.

The parent runs ``python -m MODULE ARGS...`` and reads the last line of its output; cancelling the parent's call
ends the child (SIGTERM, so that it removes its half-written files; SIGKILL if it does not end soon). The child's
``main`` is ``answer_as_child``: SIGTERM ends its work like Ctrl-C, an expected error is answered as
``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TERMINATE_GRACE_S = 5.0


@dataclass(frozen=True)
class ChildAnswer:
    """What the child said (its JSON line, or {}), how it exited and the last line it wrote to stderr."""

    answer: dict[str, Any]
    returncode: int | None
    last_error_line: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.answer.get("ok"))

    def failure(self, program: str) -> str:
        """Why the job failed, in words: its own error, else its crash's last line, else its exit code."""
        error = self.answer.get("error")
        return str(error) if error else self.last_error_line or f"the {program} exited with code {self.returncode}"


async def run_child(module: str, *args: str) -> ChildAnswer:
    """Run ``python -m module args...`` and return its answer."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await child.communicate()
    except BaseException:  # cancelled (shutdown, or the input changed): the child's work is no longer wanted
        await _end(child)
        raise
    try:
        answer = json.loads(_last_line(out) or "{}")
    except json.JSONDecodeError:
        answer = {}
    return ChildAnswer(answer if isinstance(answer, dict) else {}, child.returncode, _last_line(err))


async def _end(child: asyncio.subprocess.Process) -> None:
    if child.returncode is not None:
        return
    child.terminate()
    try:
        async with asyncio.timeout(TERMINATE_GRACE_S):
            await child.wait()
    except TimeoutError:
        child.kill()
        await child.wait()


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def answer_as_child(
    argv: list[str], usage: str, work: Callable[..., dict[str, Any]], expected: tuple[type[Exception], ...]
) -> int:
    """The child's main: ``work(*argv)`` printed as ``{"ok": true, ...}``, an ``expected`` error as its message."""
    if len(argv) != len(inspect.signature(work).parameters):
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = work(*argv)
    except expected as exc:
        print(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False), flush=True)
        return 1
    print(json.dumps({"ok": True, **result}, ensure_ascii=False), flush=True)
    return 0
