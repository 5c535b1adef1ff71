"""build_cached in a child process, for servers: ifcopenshell and shapely then never hold the server's GIL.

The child runs ``python -m twin.nav.build_process IFC CACHE_DIR``, writes the pickled graph to the cache and
prints one JSON line with the cache file or the error; the parent reads the pickle (milliseconds). Cancelling the
caller ends the child (as twin/bim/convert_process.py does for the GLB).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from twin.bim.convert_process import _end, _last_line
from twin.bim.errors import IfcLoadError
from twin.nav.builder import Built
from twin.nav.cache import build_cached, load_cached


class NavBuildFailed(Exception):
    """The child could not build the graph; the message says why."""


async def build_in_process(ifc_path: Path, cache_dir: Path) -> Built:
    """The navigation graph of ``ifc_path``, built (or taken from the cache) in a child process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "twin.nav.build_process", str(ifc_path), str(cache_dir),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await child.communicate()
    except BaseException:
        await _end(child)
        raise
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        answer = {}
    if child.returncode == 0 and answer.get("ok"):
        built = await asyncio.to_thread(load_cached, Path(answer["cache"]))
        if built is not None:
            return built
        raise NavBuildFailed(f"the graph cache {answer['cache']} could not be read back")
    raise NavBuildFailed(answer.get("error") or _last_line(err) or f"the builder exited with code {child.returncode}")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m twin.nav.build_process IFC CACHE_DIR", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        built, path, cached = build_cached(argv[0], argv[1])
    except (IfcLoadError, OSError) as exc:
        print(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False), flush=True)
        return 1
    print(json.dumps({"ok": True, "cache": str(path), "cached": cached, "seconds": built.seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
