"""/api/cameras/{id}/snapshot: a still of a people-counting camera, for the security role, when the site allows it.

Privacy (T/ZAS 4012 7.2.6.3 counting cameras): frames are analysed in the camera's worker and never stored;
only counts and floor positions leave it. A still exists only on request, only for cameras whose site entry says
`snapshots: true`, only for security (and admin), and every request is audited with who asked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.auth import Principal, current_principal
from api.errors import error_responses
from iot_gateway.driver import DeviceUnavailable
from twin.site.camera_model import CameraConnection

router = APIRouter()
CameraId = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=96, description="camera device id")]


@router.get(
    "/api/cameras/{camera_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "A JPEG of the latest analysed frame"},
               **error_responses(401, 403, 404, 422, 503)},
)
async def camera_snapshot(
    request: Request, camera_id: CameraId, principal: Annotated[Principal, Depends(current_principal)]
) -> Response:
    """A JPEG of the camera's latest frame; 403 when the site keeps this camera's snapshots off (the default)."""
    runtime = request.app.state.runtime
    device = next((d for d in runtime.site.devices if d.id == camera_id), None)
    if device is None or not isinstance(device.connection, CameraConnection):
        raise HTTPException(404, f"no camera {camera_id}")
    audit = runtime.store.audit

    async def record(result: str, detail: str | None = None) -> None:
        await audit.append(action="camera.snapshot", actor=principal.name, role=str(principal.role),
                           client=principal.client, target=camera_id, result=result, detail=detail)

    if not device.connection.snapshots:
        await record("refused", "snapshots are disabled for this camera in site.yaml")
        raise HTTPException(403, f"snapshots are disabled for camera {camera_id} (site.yaml: snapshots: true)")
    gateway = runtime.gateway
    poller = gateway.pollers.get(camera_id) if gateway is not None else None
    if poller is None or not poller.connected:
        raise HTTPException(503, f"camera {camera_id} is not connected")
    try:
        jpeg = await poller.driver.snapshot()
    except DeviceUnavailable as exc:
        raise HTTPException(503, f"camera {camera_id}: {exc}") from None
    await record("ok")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
