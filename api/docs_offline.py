"""/docs: Swagger UI from the files of the installed fastapi-offline package, so the page works with no internet."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
# The package ships Swagger UI's dist build (bundle JS, CSS, favicon); we serve its folder as it is.
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
# Swagger UI asks validator.swagger.io for a badge unless told not to: a hall's network has no internet.
SWAGGER_UI_PARAMETERS: dict[str, object] = {"validatorUrl": None, "persistAuthorization": True}


def mount_docs(app: FastAPI) -> None:
    """Serve /docs and its assets. The app must be created with ``docs_url=None`` (FastAPI's own page loads
    Swagger UI from a CDN); /openapi.json stays FastAPI's."""
    if not (ASSETS_DIR / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"{ASSETS_DIR} has no swagger-ui-bundle.js: reinstall fastapi-offline")
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
