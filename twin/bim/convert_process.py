"""convert_cached in a child process, for servers: the geometry kernel then never holds the server's GIL.

A worker thread is not enough: ifcopenshell keeps the GIL for long stretches, and a 3 s conversion stalled the
demo's event loop so badly that its pollers timed out on every device (bench/bench_model_serving.py measures it).
The child runs ``python -m twin.bim.convert_process IFC CACHE_DIR`` (twin/child_job.py: one JSON line with the
result or the error; cancelling the caller ends the child).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from twin.bim.errors import IfcLoadError
from twin.bim.glb_export import ConversionResult, clear_interrupted, convert_cached
from twin.child_job import answer_as_child, run_child


class ConversionFailed(Exception):
    """The child could not convert the IFC; the message says why (from IfcLoadError, or the child's crash)."""


async def convert_cached_in_process(ifc_path: Path, cache_dir: Path) -> ConversionResult:
    """convert_cached(ifc_path, cache_dir) in a child process; ConversionFailed with the reason on failure."""
    try:
        child = await run_child("twin.bim.convert_process", str(ifc_path), str(cache_dir))
    except asyncio.CancelledError:
        # The child has ended; one that had to be killed (a busy machine, a long stretch in the geometry kernel)
        # could not remove its half-written files itself.
        await asyncio.to_thread(clear_interrupted, ifc_path, cache_dir)
        raise
    if not child.ok:
        raise ConversionFailed(child.failure("converter"))
    answer = child.answer
    return ConversionResult(
        Path(answer["glb_path"]), Path(answer["elements_path"]), answer["glb_bytes"], answer["elements"],
        answer["seconds"], answer["cached"], answer["pid"],
    )  # fmt: skip


def _convert(ifc_path: str, cache_dir: str) -> dict[str, Any]:
    result = convert_cached(ifc_path, cache_dir)
    return {
        "glb_path": str(result.glb_path), "elements_path": str(result.elements_path),
        "glb_bytes": result.glb_bytes, "elements": result.elements, "seconds": result.seconds,
        "cached": result.cached, "pid": result.converter_pid,
    }  # fmt: skip


if __name__ == "__main__":
    usage = "python -m twin.bim.convert_process IFC CACHE_DIR"
    sys.exit(answer_as_child(sys.argv[1:], usage, _convert, (IfcLoadError, OSError)))
