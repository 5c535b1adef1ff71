"""Run the real HallTwin app with uvicorn on a random loopback port inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
import yaml
from fastapi import FastAPI

from api.app import create_app
from api.runtime import HallRuntime
from api.serve import uvicorn_config
from tests.peers import SHARED
from twin.site.loader import load_site

STARTUP_TIMEOUT_S = 60.0  # the runtime starts the alarm engine, broadcast and queues first: slow on a busy machine
SHUTDOWN_TIMEOUT_S = 10.0

# FZK-Haus (KIT, IFC4): two storeys, seven rooms. Its 'Buero' and 'Wohnen' rooms stand in for hall zones.
FZK_IFC = SHARED / "ifc" / "AC20-FZK-Haus.ifc"
FZK_OFFICE_SPACE = "2RSCzLOBz4FAK$_wE8VckM"  # '2' Buero, ground floor
FZK_LIVING_SPACE = "0Lt8gR_E9ESeGH5uY_g9e9"  # '5' Wohnen, ground floor

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
# Software WebGL2 (SwiftShader) in new headless mode, with nothing phoning home (DESIGN.md, measured facts).
CHROMIUM_ARGS = [
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--no-sandbox",
    "--headless=new",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def write_fzk_site(folder: Path, ifc: Path = FZK_IFC, devices: list[dict[str, object]] | None = None) -> Path:
    """A minimal site.yaml on FZK-Haus with two zones and the given devices (none by default)."""
    site: dict[str, object] = {
        "site": {"id": "fzk-test", "name": {"zh": "FZK 测试楼", "en": "FZK test house"}, "ifc": str(ifc)},
        "zones": [
            {
                "id": "office",
                "name": {"zh": "办公区", "en": "Office"},
                "zone_type": "office",
                "ifc_guid": FZK_OFFICE_SPACE,
            },
            {
                "id": "waiting",
                "name": {"zh": "等候区", "en": "Waiting area"},
                "zone_type": "waiting",
                "ifc_guid": FZK_LIVING_SPACE,
            },
        ],
        "pa_zones": [
            {"id": "ground", "name": {"zh": "一层", "en": "Ground floor"}, "zones": ["office", "waiting"]},
        ],
    }
    if devices:
        site["devices"] = devices
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_runtime(
    site_path: Path,
    data_dir: Path,
    check_guids: bool = True,
    poll_devices: bool = False,
    cache_dir: Path | None = None,
) -> HallRuntime:
    """A runtime for ``site_path``. ``check_guids=False`` skips reading the IFC (broken-model tests);
    devices are not polled unless asked: tests publish on ``runtime.bus`` or start their own simulators.
    ``cache_dir`` lets tests share converted models (the cache is keyed by the IFC's content)."""
    site = load_site(site_path) if check_guids else load_site(site_path, guid_index=None)
    runtime = HallRuntime(site, site_path, data_dir, poll_devices=poll_devices)
    if cache_dir is not None:
        runtime.cache_dir = cache_dir
    return runtime


@contextlib.asynccontextmanager
async def running_app(runtime: HallRuntime, app: FastAPI | None = None) -> AsyncIterator[str]:
    """Serve ``app`` (default: create_app(runtime)) and yield its base URL, e.g. http://127.0.0.1:41234.

    The listening socket is bound before uvicorn starts, so there is no window in which another process
    can take the port. The server runs as a named task of this loop; leaving the block stops it (the app's
    lifespan then stops the runtime) and awaits it, also when the test failed.
    """
    app = app if app is not None else create_app(runtime)
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it
    # every keep-alive response waited ~40 ms for a delayed ACK (headers and body are two writes).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn_config(app, lifespan="on", log_level="warning", timeout_graceful_shutdown=2, ws_ping_interval=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"uvicorn-test-{port}")
    try:
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("uvicorn stopped during start-up (the app's lifespan failed? see the log)")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"uvicorn did not start within {STARTUP_TIMEOUT_S} s")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, SHUTDOWN_TIMEOUT_S)
        finally:
            sock.close()


def chromium_executable() -> str | None:
    override = os.environ.get("HALLTWIN_CHROMIUM")
    if override:
        return override
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


def keep_screenshot(path: Path) -> None:
    """Copy a screenshot into $HALLTWIN_SCREENSHOTS (created if needed), for humans to look at."""
    target = os.environ.get("HALLTWIN_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(target) / path.name)
