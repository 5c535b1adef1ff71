"""/api/model (GLB), /api/model/elements (metadata) and /api/zones: the building as the viewer loads it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from api.errors import error_responses
from api.runtime import HallRuntime
from twin.bim.convert_process import convert_cached_in_process
from twin.bim.glb_export import ConversionResult

log = logging.getLogger(__name__)
router = APIRouter()

GLB_MEDIA_TYPE = "model/gltf-binary"
# The model can change under the same URL (a new IFC): browsers keep it but revalidate with the ETag.
CACHE_CONTROL = "no-cache"
HASH_CHUNK = 1 << 20

# The IFC file as last seen: (mtime in ns, size). A new signature means the model must be converted again.
Signature = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """The converted model of one version of the IFC file, with strong ETags of both files."""

    glb_path: Path
    elements_path: Path
    glb_etag: str
    elements_etag: str
    source: Signature
    converter_pid: int


class ModelUnavailable(Exception):
    """The model cannot be served now; the message says why and names the file."""


class ModelService:
    """Converts the site's IFC once and serves the result until the IFC file changes.

    Concurrent first requests share one conversion: the first one starts a runtime-owned task and every
    request awaits it through ``asyncio.shield``, so a browser that disconnects mid-conversion cancels neither
    the work nor the other waiters. Checking for and spawning that task has no ``await`` in between, which
    makes it atomic on the event loop: no further lock is needed. A failure is remembered for that version of
    the file, so a broken IFC is not re-converted on every request; fixing (touching) the file retries.
    """

    def __init__(self, runtime: HallRuntime) -> None:
        self.runtime = runtime
        self.conversions = 0  # how many times the converter ran; tests check concurrent requests share one
        self._files: ModelFiles | None = None
        self._failure: tuple[Signature, str] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def ifc_path(self) -> Path:
        return self.runtime.ifc_path

    async def files(self) -> ModelFiles:
        while True:
            signature = _signature(self.ifc_path)
            if signature is None:
                where = f"site.ifc in {self.runtime.site_path}"
                raise ModelUnavailable(f"the building model {self.ifc_path} does not exist ({where})")
            if self._files is not None and self._files.source == signature:
                return self._files
            if self._failure is not None and self._failure[0] == signature:
                raise ModelUnavailable(self._failure[1])
            if self._task is None:
                self._task = self.runtime.spawn("model-conversion", self._convert(signature))
            await asyncio.shield(self._task)

    def converted(self) -> ModelFiles | None:
        """The files of the last finished conversion, without starting one (the heatmap waits for the viewer's)."""
        return self._files

    def prepare(self) -> None:
        """Start converting now (at server start), so that the first visitor does not wait for it."""
        signature = _signature(self.ifc_path)
        if signature is not None and self._files is None and self._task is None:
            self._task = self.runtime.spawn("model-conversion", self._convert(signature))

    async def _convert(self, signature: Signature) -> None:
        """Run the converter in a child process (house rule 1: in a thread it still stalls the event loop) and
        record its result or its failure."""
        self.conversions += 1
        try:
            result = await convert_cached_in_process(self.ifc_path, self.runtime.cache_dir)
            self._files = await asyncio.to_thread(_hashed, self.ifc_path, result, signature)
            self._failure = None
        except Exception as exc:  # any converter failure is reported to the client, never a 500
            message = f"cannot convert the building model {self.ifc_path}: {exc or type(exc).__name__}"
            if self._failure is None or self._failure[1] != message:
                log.error("%s", message)
            self._failure = (signature, message)
        finally:
            self._task = None


def _signature(path: Path) -> Signature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def _hashed(ifc_path: Path, result: ConversionResult, signature: Signature) -> ModelFiles:
    log.info("model %s ready: %s (%d bytes, %.1f s)", ifc_path, result.glb_path, result.glb_bytes, result.seconds)
    return ModelFiles(
        glb_path=Path(result.glb_path),
        elements_path=Path(result.elements_path),
        glb_etag=_etag(Path(result.glb_path)),
        elements_etag=_etag(Path(result.elements_path)),
        source=signature,
        converter_pid=result.converter_pid,
    )


def _etag(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return f'"{digest.hexdigest()[:32]}"'


def model_service(app: FastAPI) -> ModelService:
    """The app's ModelService, created on first use (no await in between, so one per app)."""
    service: ModelService | None = getattr(app.state, "model_service", None)
    if service is None:
        service = ModelService(app.state.runtime)
        app.state.model_service = service
    return service


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


def _serve(request: Request, path: Path, etag: str, media_type: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    if not path.is_file():
        # The cache was cleaned under us: report it rather than a bare 500; the next restart converts again.
        return _unavailable(f"the converted model file {path} has disappeared from the cache")
    return FileResponse(path, media_type=media_type, headers=headers)


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"error": "model_unavailable", "detail": message},
        headers={"Retry-After": "5", "Cache-Control": "no-store"},
    )


# 304: the browser's copy (If-None-Match) is current; 503: the model is converting or cannot be converted.
MODEL_RESPONSES: dict[int | str, dict[str, object]] = {304: {"description": "Not modified"}, **error_responses(503)}


@router.get(
    "/api/model", response_class=Response, responses={200: {"content": {GLB_MEDIA_TYPE: {}}}, **MODEL_RESPONSES}
)
async def get_model(request: Request) -> Response:
    """The site's building as binary glTF; node names are IFC GlobalIds."""
    try:
        files = await model_service(request.app).files()
    except ModelUnavailable as exc:
        return _unavailable(str(exc))
    return _serve(request, files.glb_path, files.glb_etag, GLB_MEDIA_TYPE)


@router.get(
    "/api/model/elements",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}, **MODEL_RESPONSES},
)
async def get_model_elements(request: Request) -> Response:
    """Storeys, spaces and elements of the building (GlobalId, class, name, storey, space, position)."""
    try:
        files = await model_service(request.app).files()
    except ModelUnavailable as exc:
        return _unavailable(str(exc))
    return _serve(request, files.elements_path, files.elements_etag, "application/json")


@router.get("/api/zones")
async def get_zones(request: Request) -> dict[str, object]:
    """The site's functional zones (each bound to an IfcSpace) and its public-address zones."""
    site = request.app.state.runtime.site
    return {
        "zones": [zone.model_dump(mode="json") for zone in site.zones],
        "pa_zones": [pa_zone.model_dump(mode="json") for pa_zone in site.pa_zones],
    }


__all__ = ["ModelFiles", "ModelService", "ModelUnavailable", "model_service", "router"]
