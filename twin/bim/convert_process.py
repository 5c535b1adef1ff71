"""convert_cached in a child process, for servers: the geometry kernel then never holds the server's GIL.

A worker thread is not enough: ifcopenshell keeps the GIL for long stretches, and a 3 s conversion stalled the
demo's event loop so badly that its pollers timed out on every device (bench/bench_model_serving.py measures it).
The child runs ``python -m twin.bim.convert_process IFC CACHE_DIR`` and prints one JSON line with the result or the
error; cancelling the caller ends the child (SIGTERM, so that it removes its temporary files; SIGKILL if it hangs).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from twin.bim.errors import IfcLoadError
from twin.bim.glb_export import ConversionResult, convert_cached

TERMINATE_GRACE_S = 5.0


class ConversionFailed(Exception):
    """The child could not convert the IFC; the message says why (from IfcLoadError, or the child's crash)."""


async def convert_cached_in_process(ifc_path: Path, cache_dir: Path) -> ConversionResult:
    """convert_cached(ifc_path, cache_dir) in a child process; ConversionFailed with the reason on failure."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "twin.bim.convert_process", str(ifc_path), str(cache_dir),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await child.communicate()
    except BaseException:  # cancelled (shutdown, or the IFC changed): the child's work is no longer wanted
        await _end(child)
        raise
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        answer = {}
    if child.returncode == 0 and answer.get("ok"):
        return ConversionResult(
            Path(answer["glb_path"]), Path(answer["elements_path"]), answer["glb_bytes"], answer["elements"],
            answer["seconds"], answer["cached"], answer["pid"],
        )  # fmt: skip
    reason = answer.get("error") or _last_line(err) or f"the converter exited with code {child.returncode}"
    raise ConversionFailed(reason)


async def _end(child: asyncio.subprocess.Process) -> None:
    """SIGTERM, so that the child removes its half-written files; SIGKILL if it does not end soon."""
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


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m twin.bim.convert_process IFC CACHE_DIR", file=sys.stderr)
        return 2
    # SIGTERM ends the conversion like Ctrl-C: convert() then removes its temporary files on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = convert_cached(argv[0], argv[1])
    except (IfcLoadError, OSError) as exc:
        print(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False), flush=True)
        return 1
    answer = {
        "ok": True, "glb_path": str(result.glb_path), "elements_path": str(result.elements_path),
        "glb_bytes": result.glb_bytes, "elements": result.elements, "seconds": result.seconds,
        "cached": result.cached, "pid": result.converter_pid,
    }  # fmt: skip
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
