"""HallRuntime: owns the site, the PointBus, the clock and every background task of one running hall."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from api.auth import AuthSettings
from api.live_fanout import LiveFanout

if TYPE_CHECKING:
    from alarms import AlarmEngine
    from alarms.drills import ScenarioRunner
    from alarms.outputs import AlarmOutputs
    from api import routes_model
    from api.broadcast_runtime import BroadcastNode
    from api.command_router import CommandRouter
    from api.doors import DoorService
    from api.followup import Followup
    from api.heatmap_runtime import HeatmapNode
    from api.queues_runtime import QueueNode
    from api.wayfinding import WayfindingService
from iot_gateway.gateway import Gateway, PointInfo, point_catalog
from iot_gateway.mqtt_bridge import MqttBridge
from monitoring.history.base import HistoryStore
from monitoring.history.recorder import HistoryRecorder
from store import Store, default_url
from twin.bus import PointBus
from twin.clock import Clock, SystemClock
from twin.site.model import SiteConfig
from twin.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryConfig:
    """Where history goes: SQLite in the data folder (default), or VictoriaMetrics behind a local spool."""

    backend: Literal["sqlite", "victoriametrics"] = "sqlite"
    vm_url: str | None = None

    def __post_init__(self) -> None:
        if self.backend == "victoriametrics" and not self.vm_url:
            raise ValueError("history backend victoriametrics needs a URL (--vm-url)")


class HallRuntime:
    """Everything one hall needs at run time. Every background task is named and owned here, so that stop()
    cancels and awaits all of them (house rule 2)."""

    def __init__(
        self,
        site: SiteConfig,
        site_path: Path,
        data_dir: Path,
        clock: Clock | None = None,
        poll_devices: bool = True,
        history: HistoryConfig | None = None,
        mqtt_bridge: bool = False,
        db_url: str | None = None,
        auth: AuthSettings | None = None,
    ) -> None:
        self.site = site
        self.site_path = site_path
        self.ifc_path = (site_path.parent / site.site.ifc).resolve()
        self.data_dir = data_dir
        self.cache_dir = data_dir / "cache"
        self.clock: Clock = clock or SystemClock()
        self.bus = PointBus()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Points and live data: poll_devices=False serves the API without talking to any device.
        self.poll_devices = poll_devices
        self.point_catalog: dict[str, PointInfo] = point_catalog(site)
        self.live = LiveFanout(self.bus)
        self.gateway: Gateway | None = None
        self.history_config = history or HistoryConfig()
        self.history: HistoryStore | None = None
        self.recorder: HistoryRecorder | None = None
        self.use_mqtt_bridge = mqtt_bridge
        self.mqtt_bridge: MqttBridge | None = None
        # Users, sessions and the audit log: the SQLite file of the data folder unless a URL is given.
        self.db_url = db_url or default_url(data_dir)
        self.auth = auth or AuthSettings()
        self._store: Store | None = None
        self.broadcast: BroadcastNode | None = None  # PA zones, speakers and the fire evacuation broadcast
        # The alarm engine and where its transitions go (/ws, MQTT): started with the points, before the gateway.
        self.alarms: AlarmEngine | None = None
        self.alarm_outputs: AlarmOutputs | None = None
        # Linkage, work orders, plans, drills, rounds (api/followup.py); ``scenarios``: the demo's simulated hall.
        self.followup: Followup | None = None
        self.queues: QueueNode | None = None  # ticket events -> queue analytics, queue calls, queue alarms
        self.queue_clock: Clock | None = None  # the demo's simulated time of day for queue figures (else ``clock``)
        self.heatmap: HeatmapNode | None = None  # crowd grids per storey and crowding alarms
        self.model_service: routes_model.ModelService | None = None  # set by the app (the heatmap reads the plan)
        self.scenarios: ScenarioRunner | None = None
        # Destinations and routes for visitors (api/wayfinding.py): the graph is built at prepare() or first use.
        self.wayfinding: WayfindingService | None = None
        # Every device write and door command goes through these (api/command_router.py, api/doors.py).
        self.commands: CommandRouter | None = None
        self.doors: DoorService | None = None

    @property
    def node_id(self) -> str:
        """This node, stable across its restarts and distinct from the other nodes of the site: the site, the host
        and the data directory (``HALLTWIN_NODE_ID`` overrides the last two, e.g. in containers)."""
        node = os.environ.get("HALLTWIN_NODE_ID")
        if not node:
            where = f"{socket.gethostname()}:{self.data_dir.resolve()}"
            node = f"{socket.gethostname()}-{hashlib.sha256(where.encode()).hexdigest()[:10]}"
        return f"{self.site.site.id}-{node}"

    @property
    def store(self) -> Store:
        """The durable store (users, sessions, audit), open between start() and stop()."""
        if self._store is None:
            raise RuntimeError("the runtime's store is not open: start() the runtime first")
        return self._store

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start a named background task owned by this runtime; its crash is logged, never silent."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("task %s died", name, exc_info=finished.exception())

        task.add_done_callback(done)
        return task

    def task_names(self) -> list[str]:
        return [task.get_name() for task in self._tasks]

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        await self._open_store()
        try:
            await self._start_points()
            await self._start_commands()  # after the gateway: the router writes through its pollers
            await self._start_broadcast()
            await self._start_followup()  # after the engine, the doors and the broadcast it links
            if self.broadcast is not None and self.followup is not None:  # evacuation requests of the linkage
                self.broadcast.link(self.followup.bus)
            self._start_wayfinding()  # reads the alarm engine per route; builds its graph off the event loop
            await self._start_queues()  # after the engine (queue alarms) and the broadcast (queue calls)
        except BaseException:
            await self.stop()  # what did start is stopped (the lifespan never calls stop after a failed start)
            raise
        # What exists now (site, catalogue, drivers, libraries) lives as long as the runtime: out of the cyclic
        # collector's way. Its full passes walked all of it while the pollers waited: p99 poll lateness of a
        # 10,000-point hall was 176 ms with them and 37 ms without (bench_big_hall). stop() unfreezes.
        gc.collect()
        gc.freeze()

    async def _open_store(self) -> None:
        """Before the gateway: every login and command is audited, so nothing may run without the store."""
        self._store = await Store.open(self.db_url, clock=self.clock)
        log.info("store: %s", self._store.display_url)
        await self._store.sessions.purge()  # sessions that ended more than a week ago
        if not await self._store.users.list():
            log.warning(
                "no user accounts yet: add the first admin with `halltwin user add NAME --role admin --db %s`",
                self._store.display_url,
            )

    async def _start_commands(self) -> None:
        """The CommandRouter over the gateway, audited in the store; doors left unlocked by a restart re-lock."""
        store = self.store
        from api.command_router import CommandRouter
        from api.doors import DoorService

        self.commands = CommandRouter(self.site, self.gateway, store.audit, self.clock)
        self.doors = DoorService(self.site, self.commands, self.bus, self.clock, self.spawn, store.audit)
        await self.doors.recover()

    async def _start_broadcast(self) -> None:
        """The broadcast service (RTP/SIP to the speakers), its /ws frames and the fire evacuation linkage."""
        from api.broadcast_runtime import BroadcastNode

        self.broadcast = BroadcastNode(self)
        await self.broadcast.start()

    def _start_wayfinding(self) -> None:
        from api.wayfinding import WayfindingService

        self.wayfinding = WayfindingService(self)

    async def _start_followup(self) -> None:
        from api.followup import Followup

        self.followup = Followup.build(self, self.scenarios)
        await self.followup.start(self)

    async def _start_queues(self) -> None:
        from api.heatmap_runtime import HeatmapNode
        from api.queues_runtime import QueueNode

        self.queues = QueueNode(self)
        await self.queues.start()
        self.heatmap = HeatmapNode(self)
        await self.heatmap.start()

    async def _start_points(self) -> None:
        """History and the MQTT bridge first (so the first values are kept), then the gateway's pollers."""
        self.live = LiveFanout(self.bus)  # fresh: a stopped runtime's fan-out refuses new clients
        self.history = await self._open_history()
        self.recorder = HistoryRecorder(self.bus, self.history, self.clock)
        self.recorder.start()
        if self.use_mqtt_bridge:
            from iot_gateway.mqtt_settings import settings_from_site

            settings = settings_from_site(self.site.mqtt, base_dir=self.site_path.parent)
            self.mqtt_bridge = MqttBridge(self.bus, self.site.site.id, settings)
            await self.mqtt_bridge.start()
        await self._start_alarms()
        if self.poll_devices:
            self.gateway = Gateway(self.site, self.bus, self.clock, site_dir=self.site_path.parent)
            await self.gateway.start(self.spawn)

    async def _start_alarms(self) -> None:
        """Before the first poll: stored alarms come back, and the first values bring them up to date."""
        from alarms import AlarmEngine
        from alarms.outputs import AlarmOutputs

        self.alarms = AlarmEngine(self.site, self.bus, self.store, self.clock, ifc_path=self.ifc_path)
        await self.alarms.start()
        client = self.mqtt_bridge.client if self.mqtt_bridge is not None else None
        self.alarm_outputs = AlarmOutputs(self.alarms, self.live, client, self.site.site.id)
        self.alarm_outputs.start()

    async def _stop_alarms(self) -> None:
        if self.alarm_outputs is not None:
            await self.alarm_outputs.stop()
            self.alarm_outputs = None
        if self.alarms is not None:
            await self.alarms.stop()
            self.alarms = None

    async def _open_history(self) -> HistoryStore:
        from monitoring.history.sqlite_store import SQLiteHistoryStore

        config = self.history_config
        if config.backend == "victoriametrics" and config.vm_url:
            from monitoring.history.store_forward import StoreAndForward
            from monitoring.history.victoria_store import VictoriaMetricsStore

            remote = VictoriaMetricsStore(config.vm_url, site=self.site.site.id)
            return await StoreAndForward.open(remote, self.data_dir / "history-spool.sqlite")
        return await SQLiteHistoryStore.open(self.data_dir / "history.sqlite", clock=self.clock)

    async def _stop_points(self) -> None:
        """Live clients first, then the pollers, then the recorder writes what it holds and the store closes."""
        self.live.close()
        await self.live.wait_closed()  # the shared encoders of the filters end with their subscriptions
        if self.gateway is not None:
            await self.gateway.stop()
            self.gateway = None
        await self._stop_alarms()  # after the pollers (their last values are judged), before the MQTT link goes
        if self.mqtt_bridge is not None:
            await self.mqtt_bridge.stop()
            self.mqtt_bridge = None
        if self.recorder is not None:
            await self.recorder.stop()
            self.recorder = None
        if self.history is not None:
            await self.history.close()
            self.history = None

    async def stop(self) -> None:
        gc.unfreeze()  # what start() froze may become garbage now (tests start many runtimes in one process)
        if self.heatmap is not None:
            await self.heatmap.stop()
            self.heatmap = None
        if self.queues is not None:
            await self.queues.stop()
            self.queues = None
        if self.doors is not None:
            await self.doors.stop()  # re-lock timers end first: the audit row of the unlock brings them back
        if self.broadcast is not None:  # its last rows (broadcasts cut short) go to the store before it closes
            await self.broadcast.stop()
            self.broadcast = None
        self.wayfinding = None  # its build task, if any, is one of the tasks cancelled below
        await self._stop_points()
        await cancel_and_wait(*self._tasks)
        self._tasks.clear()
        if self._store is not None:  # last: stopping doors and pollers may still audit
            await self._store.close()
            self._store = None

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()
