"""`halltwin demo`: a broker, the simulated hall on real protocols, the full runtime, and a tour of the scenarios."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi import Path as PathParam

from api.errors import error_responses
from broadcast.demo_speakers import start_speaker_simulators, stop_speaker_simulators
from broadcast.simulator import SpeakerSimulator
from iot_gateway.simulators.hall import HallSimulator
from iot_gateway.simulators.scenario_names import SCENARIO_NAMES
from iot_gateway.simulators.scenarios import ScenarioError
from twin.ports import free_port, port_free
from twin.site.model import SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)
# Scenario names are listed in the schema; the handler still names a wrong one in its 422 (clients may not validate).
ScenarioName = Annotated[str, PathParam(json_schema_extra={"enum": list(SCENARIO_NAMES)})]


def scenario_router(hall: HallSimulator) -> APIRouter:
    """/api/demo/scenarios: list, start and clear the simulated incidents (demo mode only)."""
    router = APIRouter(prefix="/api/demo/scenarios", tags=["demo"])

    @router.get("")
    async def scenarios() -> dict[str, object]:
        active = {n: {"zh": s.title.zh, "en": s.title.en} for n, s in hall.active.items()}
        return {"available": list(SCENARIO_NAMES), "active": active}

    @router.post("/{name}/start", responses=error_responses(404, 409, 422))
    async def start(name: ScenarioName, target: str | None = None) -> dict[str, str]:
        """Start a scenario; ``target`` picks its zone, door or button (a default of the site otherwise)."""
        if name not in SCENARIO_NAMES:
            raise HTTPException(422, detail=f"unknown scenario {name!r}: choose one of {', '.join(SCENARIO_NAMES)}")
        try:
            scenario = hall.start_scenario(name, target)
        except ScenarioError as exc:
            # A target the site does not have (for this scenario) is not found; no default target is a conflict.
            raise HTTPException(404 if target is not None else 409, detail=str(exc)) from exc
        return {"started": scenario.description}

    @router.post("/{name}/clear", responses=error_responses(404))
    async def clear(name: ScenarioName) -> dict[str, str]:
        if name not in hall.active:
            raise HTTPException(status_code=404, detail=f"scenario {name!r} is not active")
        hall.clear_scenario(name)
        return {"cleared": name}

    return router


async def scenario_tour(hall: HallSimulator, interval_s: float, duration_s: float) -> None:
    """Play every scenario in turn, so that a demo left running shows each incident and its recovery."""
    while True:
        for name in SCENARIO_NAMES:
            await asyncio.sleep(interval_s)
            hall.start_scenario(name)
            await asyncio.sleep(duration_s)
            hall.clear_scenario(name)


DEMO_PASSWORD_ENV = "HALLTWIN_DEMO_PASSWORD"


async def ensure_demo_users(db_url: str, password: str) -> list[str]:
    """One account per role, named after it, with ``password``: created, or reset (role, password, enabled)."""
    from store import Role, Store

    store = await Store.open(db_url)
    try:
        for role in Role:
            await store.users.reset(role.value, role, password)
            await store.audit.append(
                action="user.reset", actor="demo", role=None, client="demo", target=role.value,
                arguments={"role": role.value}, result="ok",
            )  # fmt: skip
    finally:
        await store.close()
    return [role.value for role in Role]


async def run_demo(
    site: SiteConfig,
    site_path: Path,
    host: str,
    port: int,
    data_dir: Path,
    tour_interval_s: float,
    db_url: str | None = None,
) -> None:
    """Start a broker of our own, every device simulated (with the hall dynamics), then serve until stopped."""
    from api.app import create_app
    from api.runtime import HallRuntime
    from api.serve import serve_app
    from iot_gateway.broker import MqttBrokerLauncher
    from iot_gateway.simulators.hall import read_layout

    mqtt_port = site.mqtt.port if port_free(site.mqtt.host, site.mqtt.port) else free_port(host=site.mqtt.host)
    if mqtt_port != site.mqtt.port:
        # Another broker (a system mosquitto) owns the site's port: the demo keeps to a broker of its own.
        site = site.model_copy(update={"mqtt": site.mqtt.model_copy(update={"port": mqtt_port})})
    broker = MqttBrokerLauncher(site.mqtt.host, mqtt_port)
    from api.demo_cameras import with_demo_video

    site, camera_note = with_demo_video(site)  # the real entrance video when it is beside the project
    layout = await asyncio.to_thread(read_layout, site_path.parent / site.site.ifc, site)
    # Ten simulated seconds per real second: visitor numbers and queues move visibly while you watch.
    hall = HallSimulator(site, layout, time_scale=10.0)
    from store import default_url

    db_url = db_url or default_url(data_dir)
    password = os.environ.get(DEMO_PASSWORD_ENV) or "demo"
    names = await ensure_demo_users(db_url, password)
    runtime = HallRuntime(site, site_path, data_dir, mqtt_bridge=True, db_url=db_url)
    runtime.scenarios = hall  # drills (POST /api/drills/start) play the simulated incidents
    from api.demo_queues import QueueDemo

    queues = QueueDemo(site, hall, data_dir)
    runtime.queue_clock = queues.clock  # queue figures on the hall's simulated time of day
    app: FastAPI = create_app(runtime, extra_routers=[scenario_router(hall)], prepare_model=True)
    app.state.demo = True  # the login page shows its "demo accounts" notice
    await broker.start()
    tour: asyncio.Task[None] | None = None
    speakers: list[SpeakerSimulator] = []
    try:
        await hall.start()
        speakers = await start_speaker_simulators(site)  # the IP speakers, receiving RTP and SIP pages
        await queues.start()
        if tour_interval_s > 0:
            tour = asyncio.create_task(scenario_tour(hall, tour_interval_s, tour_interval_s / 2), name="scenario-tour")
        print(f"HallTwin demo on http://{host}:{port} (MQTT broker: {broker.kind} on {broker.host}:{broker.port})")
        shown = "demo" if password == "demo" else f"from {DEMO_PASSWORD_ENV}"
        print(f"entrance camera 入口摄像机: {camera_note}")
        print(f"demo accounts 演示账号 (password {shown}): {', '.join(names)}")
        await serve_app(app, host, port)
    finally:
        await cancel_and_wait(tour)
        await queues.stop()
        await stop_speaker_simulators(speakers)
        await hall.stop()
        await broker.stop()
