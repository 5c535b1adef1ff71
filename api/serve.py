"""Serve a FastAPI app with uvicorn inside the running event loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

if TYPE_CHECKING:
    import uvicorn


def uvicorn_config(app: FastAPI, **options: Any) -> uvicorn.Config:
    """The server's uvicorn settings (the CLI, the tests and the benches run the same): WebSockets through
    SharedFrameProtocol, and no per-message compression. Compressed frames are each client's own bytes, so one
    frame for 500 clients would be compressed 500 times; the live frames are small and go over the hall's LAN."""
    import uvicorn

    from api.ws_protocol import SharedFrameProtocol

    return uvicorn.Config(app, ws=SharedFrameProtocol, ws_per_message_deflate=False, **options)


async def serve_app(app: FastAPI, host: str, port: int) -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM and runs the app's lifespan)."""
    import uvicorn

    await uvicorn.Server(uvicorn_config(app, host=host, port=port, log_level="info")).serve()
