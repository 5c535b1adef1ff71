"""IFC -> GLB (node names = GlobalIds, spaces kept, openings dropped) plus `<stem>.elements.json`, and a cache.

Blocking work: the server calls ``await asyncio.to_thread(convert_cached, ...)`` (house rule 1). Every call opens
its own ifcopenshell file and iterator, so concurrent threads share nothing but the cache directory, which a
per-key file lock guards (also between processes).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ifcopenshell
import ifcopenshell.geom
from tqdm import tqdm

from twin.bim.element_metadata import SCHEMA, ExportedElement, element_document
from twin.bim.errors import IfcLoadError
from twin.bim.geometry import MeshShape, geometry_settings, iterate_shapes, mesh_from_shape
from twin.bim.ifc_file import open_ifc
from twin.bim.ifc_index import IfcIndex
from twin.bim.index_builder import index_elements

log = logging.getLogger(__name__)

# Bump when the GLB settings or the metadata change, so cached conversions are redone.
EXPORT_REVISION = 2  # 2: openings and IfcZones in the metadata
EXPORTER_VERSION = f"{SCHEMA};ifcopenshell-{ifcopenshell.version};rev-{EXPORT_REVISION}"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ConversionResult:
    """Where the GLB and its metadata are, how big the GLB is, how many nodes it has, and what it cost."""

    glb_path: Path
    elements_path: Path
    glb_bytes: int
    elements: int
    seconds: float
    cached: bool
    converter_pid: int = field(default_factory=os.getpid)  # the process that converted (servers use a child)


def elements_path_for(glb_path: Path) -> Path:
    """``hall.glb`` -> ``hall.elements.json`` in the same folder."""
    return glb_path.with_name(f"{glb_path.stem}.elements.json")


def read_glb_json(glb_path: Path) -> dict[str, Any]:
    """The JSON chunk of a binary glTF file (raises ValueError if the file is not GLB)."""
    with open(glb_path, "rb") as handle:
        header = handle.read(20)
        if len(header) < 20:
            raise ValueError(f"{glb_path}: too short for a GLB")
        magic, version, _length, chunk_length, chunk_type = struct.unpack("<4sIII4s", header)
        if magic != b"glTF" or version != 2 or chunk_type != b"JSON":
            raise ValueError(f"{glb_path}: not a glTF 2.0 binary file")
        document: dict[str, Any] = json.loads(handle.read(chunk_length))
    return document


def _temp_sibling(target: Path) -> Path:
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    # mkstemp makes the file private (0600); the model is served to every viewer, so give it normal file rights.
    os.fchmod(descriptor, 0o644)
    os.close(descriptor)
    return Path(name)


def _write_glb(
    opened_file: ifcopenshell.file, tmp_glb: Path, progress: bool, label: str
) -> tuple[list[ExportedElement], dict[str, MeshShape]]:
    """Serialise every product except openings; keep the meshes the index needs and each node's centre."""
    settings = geometry_settings()
    index_guids = {e.GlobalId for e in index_elements(opened_file)}
    openings = opened_file.by_type("IfcOpeningElement")
    total = sum(1 for p in opened_file.by_type("IfcProduct") if p.Representation is not None) - len(openings)
    serializer = ifcopenshell.geom.serializers.glb(str(tmp_glb), settings)
    serializer.setFile(opened_file)
    serializer.setUnitNameAndMagnitude("METER", 1.0)  # the iterator already yields metres
    serializer.writeHeader()
    exported: list[ExportedElement] = []
    meshes: dict[str, MeshShape] = {}
    seen: set[str] = set()
    with tqdm(total=max(total, 0), unit="el", desc=label, disable=not progress, file=sys.stderr) as bar:
        for shape in iterate_shapes(opened_file, settings, exclude=openings or None):
            serializer.write(shape)
            bar.update(1)
            mesh = mesh_from_shape(shape)
            if mesh is None or mesh.guid in seen:
                continue
            seen.add(mesh.guid)
            exported.append(ExportedElement(mesh.guid, mesh.ifc_class, int(shape.id), mesh.centre))  # type: ignore[attr-defined]
            if mesh.guid in index_guids:
                meshes[mesh.guid] = mesh
    serializer.finalize()
    return exported, meshes


def convert(ifc_path: str | Path, glb_path: str | Path, progress: bool = True) -> ConversionResult:
    """Write ``glb_path`` and ``<stem>.elements.json`` beside it, atomically; IfcLoadError for unusable input."""
    started = time.perf_counter()
    source, target = Path(ifc_path), Path(glb_path)
    opened = open_ifc(source)
    elements_target = elements_path_for(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"{target.parent}: cannot create the output folder: {exc.strerror or exc}") from exc
    tmp_glb, tmp_json = _temp_sibling(target), _temp_sibling(elements_target)
    try:
        exported, meshes = _write_glb(opened.file, tmp_glb, progress, f"IFC->GLB {source.name}")
        if not exported:
            raise IfcLoadError(source, "no element has geometry to export")
        index = IfcIndex.build(opened, meshes)
        nodes = read_glb_json(tmp_glb).get("nodes", [])
        document = element_document(index, opened.file, exported, nodes[0].get("matrix") if nodes else None)
        tmp_json.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        # Metadata first: a reader that sees the new GLB always finds matching metadata beside it.
        os.replace(tmp_json, elements_target)
        os.replace(tmp_glb, target)
    except BaseException as exc:
        for leftover in (tmp_glb, tmp_json):
            leftover.unlink(missing_ok=True)
        if isinstance(exc, RuntimeError):  # ifcopenshell's geometry kernel rejected the file's content
            raise IfcLoadError(source, f"geometry conversion failed: {exc}") from exc
        raise
    seconds = time.perf_counter() - started
    log.info("converted %s -> %s (%d elements, %.1f s)", source, target, len(exported), seconds)
    return ConversionResult(target, elements_target, target.stat().st_size, len(exported), seconds, cached=False)


def cache_key(ifc_path: Path) -> str:
    """sha256 of the file's bytes and the exporter version: same model, same exporter -> same key."""
    digest = hashlib.sha256()
    try:
        with open(ifc_path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except FileNotFoundError as exc:
        raise IfcLoadError(ifc_path, "file not found") from exc
    except OSError as exc:
        raise IfcLoadError(ifc_path, f"cannot read the file: {exc.strerror or exc}") from exc
    digest.update(EXPORTER_VERSION.encode())
    return digest.hexdigest()


@contextlib.contextmanager
def _exclusive(lock_path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the key's lock (True); with ``wait=False`` yield False at once when another caller holds it."""
    # flock locks belong to the open file description: two threads opening the lock file exclude each other
    # just like two processes do.
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_unfinished(cache: Path, key: str) -> list[Path]:
    """Remove the key's temp files; only under the key's lock, where no one is writing them."""
    # A writer that was killed (SIGKILL, OOM, power loss) never reached its own clean-up.
    unfinished = [*cache.glob(f".{key}.glb.*.tmp"), *cache.glob(f".{key}.elements.json.*.tmp")]
    for path in unfinished:
        path.unlink(missing_ok=True)
    if unfinished:
        log.info("removed %d unfinished conversion file(s) of %s in %s", len(unfinished), key[:12], cache)
    return unfinished


def clear_interrupted(ifc_path: str | Path, cache_dir: str | Path) -> list[Path]:
    """After a converter of ``ifc_path`` was stopped: remove what it left half-written, unless another is at work."""
    cache = Path(cache_dir)
    try:
        key = cache_key(Path(ifc_path))
    except IfcLoadError:
        return []  # the model is gone or unreadable: no converter of it got as far as writing
    if not (cache / f"{key}.lock").exists():
        return []  # it never got as far as the lock, so it wrote nothing
    with _exclusive(cache / f"{key}.lock", wait=False) as held:
        # Not held: another converter of the same model is at work; it removed the leftovers when it took the lock.
        return _remove_unfinished(cache, key) if held else []


def _cached(glb: Path, elements: Path, started: float) -> ConversionResult | None:
    try:
        size = glb.stat().st_size
        count = len(json.loads(elements.read_text(encoding="utf-8"))["elements"])
    except (OSError, ValueError, KeyError):
        return None
    return ConversionResult(glb, elements, size, count, time.perf_counter() - started, cached=True)


def convert_cached(ifc_path: str | Path, cache_dir: str | Path, progress: bool = False) -> ConversionResult:
    """Convert once per (file content, exporter version); later and concurrent callers get the stored result."""
    started = time.perf_counter()
    source, cache = Path(ifc_path), Path(cache_dir)
    if not source.is_file():
        open_ifc(source)  # raises the precise IfcLoadError (missing, directory ...)
    key = cache_key(source)
    glb, elements = cache / f"{key}.glb", cache / f"{key}.elements.json"
    if (hit := _cached(glb, elements, started)) is not None:
        return hit
    cache.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache / f"{key}.lock"):
        if (hit := _cached(glb, elements, started)) is not None:
            return hit  # another caller converted it while we waited
        _remove_unfinished(cache, key)
        result = convert(source, glb, progress=progress)
    return ConversionResult(result.glb_path, result.elements_path, result.glb_bytes, result.elements,
                            time.perf_counter() - started, cached=False)
