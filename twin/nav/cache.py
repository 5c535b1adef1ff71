"""Navigation graphs cached on disk by the IFC file's content hash (and the graph version): built once per model."""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path

from twin.bim.errors import IfcLoadError
from twin.nav.builder import Built, build, file_hash
from twin.nav.graph import GRAPH_VERSION

log = logging.getLogger(__name__)


def cache_path(ifc: Path, cache_dir: Path) -> Path:
    return cache_dir / f"nav-{file_hash(ifc)[:32]}-v{GRAPH_VERSION}.pickle"


def load_cached(path: Path) -> Built | None:
    """The cached build at ``path``, or None when it is missing or unreadable (then it is built again)."""
    try:
        with path.open("rb") as stream:
            built = pickle.load(stream)  # noqa: S301 - our own cache file, written by build_cached below
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or foreign file: rebuild rather than fail
        log.warning("navigation cache %s unreadable (%s): rebuilding", path, exc)
        return None
    return built if isinstance(built, Built) and built.graph.version == GRAPH_VERSION else None


def build_cached(ifc: str | Path, cache_dir: str | Path) -> tuple[Built, Path, bool]:
    """(build, its cache file, whether it came from the cache); blocking."""
    ifc, cache_dir = Path(ifc), Path(cache_dir)
    if not ifc.is_file():
        raise IfcLoadError(ifc, "file not found" if not ifc.exists() else "not a regular file")
    target = cache_path(ifc, cache_dir)
    cached = load_cached(target)
    if cached is not None:
        return cached, target, True
    built = build(ifc)
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".nav-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            pickle.dump(built, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)  # atomic: a reader never sees half a file
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return built, target, False
