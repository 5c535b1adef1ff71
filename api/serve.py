"""Serve a FastAPI app with uvicorn inside the running event loop."""

from __future__ import annotations

from fastapi import FastAPI


async def serve_app(app: FastAPI, host: str, port: int) -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM and runs the app's lifespan)."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="info", ws="websockets-sansio")
    await uvicorn.Server(config).serve()
