"""Serve the web app (web_viewer/: the twin at /, /login, /visitor, /security, /maintenance) and the npm packages
the pages import (three.js, three-mesh-bvh, Apache ECharts) under /vendor/."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

WEB_VIEWER = Path(__file__).resolve().parent.parent / "web_viewer"
# Only what a browser needs of the npm packages: three's module build and addons (loaders, controls), the ES
# modules of three-mesh-bvh (BVH picking), ECharts' ES module build (the security desk's KPI charts) and
# qrcode-generator's ES module (the visitor page's QR code that opens a kiosk's route on a phone).
VENDOR_PARTS = (("three", "build"), ("three", "examples/jsm"), ("three-mesh-bvh", "src"), ("echarts", "dist"),
                ("qrcode-generator", "dist"))
# Tooling files of the viewer folder that are not part of the site.
PRIVATE_TOP_LEVEL = frozenset({"node_modules", "package.json", "package-lock.json"})
# Pages with a path of their own (no ".html" in the address bar); "/" is index.html, the twin. Whether a user may
# use a page is decided by the API it calls (api/access.py), not by who may download its HTML.
PAGES = {
    "/login": "login.html", "/visitor": "visitor.html", "/security": "security.html",
    "/maintenance": "maintenance.html", "/bigscreen": "bigscreen.html",
}


class ViewerFiles(StaticFiles):
    """StaticFiles that asks browsers to revalidate (ETag) every time, so a new deployment is never
    half-cached, and that hides the folder's npm tooling."""

    def __init__(self, directory: Path, hidden: frozenset[str] = frozenset()) -> None:
        super().__init__(directory=directory, html=True)
        self.hidden = hidden

    async def get_response(self, path: str, scope: Scope) -> Response:
        top = path.split(os.sep, 1)[0]  # "." is the folder itself (the index page)
        if top in self.hidden or (top.startswith(".") and top != "."):
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def _three_missing(three: Path) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={
            "error": "three_missing",
            "detail": f"{three} is missing: run `make setup` (npm ci in web_viewer/)",
        },
    )


def mount_viewer(app: FastAPI, viewer_dir: Path = WEB_VIEWER) -> None:
    """Mount /vendor/three/... and serve the viewer for every HTTP path that no route matched.

    The viewer is the router's fallback rather than a mount at "/": a root mount matches every path, so any
    /api or /ws route included after it would be shadowed. As the fallback it loses to every route, whenever
    that route was added."""
    for package, part in VENDOR_PARTS:
        folder = viewer_dir / "node_modules" / package / part
        prefix = f"/vendor/{package}/{part}"
        if folder.is_dir():
            app.mount(prefix, ViewerFiles(folder), name=f"{package}-{part.replace('/', '-')}")
        else:
            log.warning("%s is missing: the 3D viewer cannot load three.js (run `make setup`)", folder)

            async def missing(_request: Request, _path: str = "", folder: Path = folder) -> JSONResponse:
                return _three_missing(folder)

            app.add_api_route(prefix + "/{_path:path}", missing, methods=["GET"], include_in_schema=False)
    viewer = ViewerFiles(viewer_dir, hidden=PRIVATE_TOP_LEVEL)
    not_found = app.router.default

    async def viewer_or_not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            page = PAGES.get(scope["path"].rstrip("/") or "/")
            if page is not None:
                scope = {**scope, "path": "/" + page, "raw_path": ("/" + page).encode()}
            await viewer(scope, receive, send)
        else:  # an unknown websocket path: the router's own refusal
            await not_found(scope, receive, send)

    app.router.default = viewer_or_not_found
