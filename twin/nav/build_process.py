"""build_cached in a child process, for servers: ifcopenshell and shapely then never hold the server's GIL.

The child runs ``python -m twin.nav.build_process IFC CACHE_DIR``, writes the pickled graph to the cache and
answers with the cache file or the error (twin/child_job.py); the parent reads the pickle (milliseconds).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from twin.bim.errors import IfcLoadError
from twin.child_job import answer_as_child, run_child
from twin.nav.builder import Built
from twin.nav.cache import build_cached, load_cached


class NavBuildFailed(Exception):
    """The child could not build the graph; the message says why."""


async def build_in_process(ifc_path: Path, cache_dir: Path) -> Built:
    """The navigation graph of ``ifc_path``, built (or taken from the cache) in a child process."""
    child = await run_child("twin.nav.build_process", str(ifc_path), str(cache_dir))
    if not child.ok:
        raise NavBuildFailed(child.failure("builder"))
    built = await asyncio.to_thread(load_cached, Path(child.answer["cache"]))
    if built is None:
        raise NavBuildFailed(f"the graph cache {child.answer['cache']} could not be read back")
    return built


def _build(ifc_path: str, cache_dir: str) -> dict[str, Any]:
    built, path, cached = build_cached(ifc_path, cache_dir)
    return {"cache": str(path), "cached": cached, "seconds": built.seconds}


if __name__ == "__main__":
    usage = "python -m twin.nav.build_process IFC CACHE_DIR"
    sys.exit(answer_as_child(sys.argv[1:], usage, _build, (IfcLoadError, OSError)))
