"""Broadcast test fixtures: a BroadcastService over a real store, with speaker simulators on loopback."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from broadcast.service import BroadcastService
from broadcast.simulator import SpeakerSimulator
from store import Store
from tests.broadcast.helpers import write_site
from twin.clock import SystemClock
from twin.site.loader import load_site


def needs(binary: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(binary) is None, reason=f"{binary} is not installed (make system)")


class Hall:
    """A BroadcastService with its store, speaker simulators by id, and its background tasks."""

    def __init__(self, service: BroadcastService, store: Store, sims: dict[str, SpeakerSimulator]) -> None:
        self.service = service
        self.store = store
        self.sims = sims


@pytest.fixture
async def make_hall(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await make_hall({"pa-a": ["spk-1"], ...}, sip={...}, extra={...})``: RTP speaker simulators per PA zone
    (``sip``: PA zone -> [(speaker id, uri)] of SIP speakers), the service started on a fresh SQLite store."""
    made: list[tuple[BroadcastService, Store, list[SpeakerSimulator], set[asyncio.Task[Any]]]] = []

    async def make(zones: dict[str, list[str]], sip: dict[str, list[tuple[str, str]]] | None = None,
                   extra: dict[str, Any] | None = None,
                   multicast: dict[str, tuple[tuple[str, int], list[str]]] | None = None) -> Hall:  # fmt: skip
        sims: dict[str, SpeakerSimulator] = {}
        layout: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for pa, speakers in zones.items():
            layout[pa] = []
            for speaker in speakers:
                sim = SpeakerSimulator(speaker)
                await sim.start()
                sims[speaker] = sim
                layout[pa].append((speaker, {"type": "rtp", "host": "127.0.0.1", "port": sim.rtp_port}))
        for pa, (group, members) in (multicast or {}).items():
            layout[pa] = []
            for speaker in members:
                sim = SpeakerSimulator(speaker, group=group)
                await sim.start()
                sims[speaker] = sim
                layout[pa].append((speaker, {"type": "multicast"}))
        for pa, endpoints in (sip or {}).items():
            layout.setdefault(pa, []).extend(
                (speaker, {"type": "sip", "uri": uri, "answer_within_s": 1.0}) for speaker, uri in endpoints
            )
        folder = tmp_path / f"hall{len(made)}"
        folder.mkdir()
        groups = {pa: f"{group[0]}:{group[1]}" for pa, (group, _) in (multicast or {}).items()}
        site = load_site(write_site(folder, layout, extra=extra, multicast=groups), guid_index=None)
        store = await Store.open(f"sqlite:///{folder}/halltwin.sqlite")
        tasks: set[asyncio.Task[Any]] = set()

        def spawn(name: str, coro: Any) -> asyncio.Task[Any]:
            task = asyncio.create_task(coro, name=name)
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            return task

        service = BroadcastService(site, folder, folder, store.engine, store.audit, SystemClock(), spawn)
        await service.start()
        made.append((service, store, list(sims.values()), tasks))
        return Hall(service, store, sims)

    yield make
    for service, store, sims, tasks in made:
        await service.stop()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.close()
        for sim in sims:
            await sim.stop()


from tests.api.conftest import browser  # noqa: E402, F401  (headless Chromium for the panel test)
