"""/api/queues end to end: the simulated queue system's ticket events over a real MQTT broker, the signed webhook
(HMAC), the public summary and the staff detail, /ws queue frames, and a wait alarm with its advice in the engine."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.runtime import HallRuntime
from iot_gateway.broker import MqttBrokerLauncher
from iot_gateway.simulators.hall_state import HallState
from iot_gateway.simulators.queue_sim import QueueSystemSimulator
from tests.api.auth_helpers import staff_headers
from tests.api.server import running_app
from tests.monitoring.queue_site import queue_site
from tests.peers import wait_until
from twin.clock import SystemClock
from twin.site.model import SiteConfig

SECRET = "test-webhook-secret"
TOPIC = "hall/qsite/queue/events"


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-HallTwin-Signature": f"sha256={digest}", "Content-Type": "application/json"}


@pytest.fixture
async def hall(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, HallRuntime, SiteConfig]]:
    monkeypatch.setenv("HALLTWIN_TEST_QUEUE_SECRET", SECRET)
    broker = MqttBrokerLauncher(workdir=tmp_path / "broker")
    await broker.start()
    try:
        site = queue_site(events_topic=TOPIC, webhook_secret_env="HALLTWIN_TEST_QUEUE_SECRET")
        site = site.model_copy(update={"mqtt": site.mqtt.model_copy(update={"port": broker.port})})
        site_path = tmp_path / "site.yaml"
        site_path.write_text("# the test builds the site in code\n")
        runtime = HallRuntime(site, site_path, tmp_path / "data", poll_devices=False)
        async with running_app(runtime) as url:
            yield url, runtime, site
    finally:
        await broker.stop()


async def test_events_over_mqtt_and_webhook_public_and_staff_views(hall: tuple[str, HallRuntime, SiteConfig]) -> None:
    url, runtime, site = hall
    assert runtime.queues is not None
    service = runtime.queues.service
    # The simulated queue system at a morning peak, sending what it does over the real broker.
    state = HallState(hour=9.6, daily_visitors=4000)
    simulator = QueueSystemSimulator(site, state, SystemClock(), tick_s=0.2)
    await simulator.start()
    try:
        t = runtime.clock.time()
        events = simulator.backfill(t - 1200, t)  # twenty minutes of a busy morning, stamped up to now
        assert simulator.client is not None
        assert await simulator.client.wait_connected(5.0)
        # The node subscribes once its broker link is up: what is published before that is not delivered to it.
        assert await runtime.queues.wait_listening(10.0)
        await simulator.client.publish(TOPIC, json.dumps(events), qos=1)
        await wait_until(lambda: service.analytics.applied >= len(events), 10.0, "the simulator's events applied")
    finally:
        await simulator.stop()
    assert service.journal.refused == 0 and service.analytics.anomaly_count == 0
    issued = sum(1 for e in events if e["type"] == "issued")
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        public = (await client.get("/api/queues")).json()
        assert public["configured"] is True
        by_id = {s["id"]: s for s in public["services"]}
        assert set(by_id) == {"integrated", "domain", "pickup"}
        assert set(by_id["integrated"]) == {"id", "name", "prefix", "waiting", "expected_wait_min", "windows_open",
                                            "zone"}  # fmt: skip
        assert all(c["ticket"] for c in public["calls"])
        assert (await client.get("/api/queues/detail")).status_code == 401  # staff only
        headers = await staff_headers(runtime, client, "manager")
        detail = (await client.get("/api/queues/detail", headers=headers)).json()
        assert sum(s["issued_today"] for s in detail["services"]) == issued
        assert detail["events"]["applied"] == len(events)
        g1 = next(g for g in detail["groups"] if g["id"] == "g1")
        assert g1["windows_total"] == 4 and g1["advice"]["zh"] and g1["advice"]["en"]

        # The webhook: refused without the right signature, events with the signature counted once.
        body = json.dumps([{"id": "w1", "type": "issued", "ticket": "D901"},
                           {"id": "w2", "type": "called", "ticket": "D901", "window": "9"}]).encode()  # fmt: skip
        assert (await client.post("/api/queues/events", content=body)).status_code == 401
        bad_sig = await client.post("/api/queues/events", content=body, headers=signed(body, "wrong"))
        assert bad_sig.status_code == 401 and "does not match" in bad_sig.json()["detail"]
        ok = await client.post("/api/queues/events", content=body, headers=signed(body))
        assert ok.status_code == 200 and ok.json() == {"accepted": 2, "duplicates": 0, "refused": []}
        again = await client.post("/api/queues/events", content=body, headers=signed(body))
        assert again.json() == {"accepted": 0, "duplicates": 2, "refused": []}
        broken = b'{"type": "called", "ticket": "D902", "window": "99"}'
        refused = await client.post("/api/queues/events", content=broken, headers=signed(broken))
        assert refused.status_code == 422 and "window: 99 is in no window group" in refused.json()["detail"]
        calls = (await client.get("/api/queues")).json()["calls"]
        assert {"window": "9", "ticket": "D901"}.items() <= calls[0].items()


async def test_long_waits_raise_a_queue_alarm_with_the_advice(hall: tuple[str, HallRuntime, SiteConfig]) -> None:
    url, runtime, _site = hall
    assert runtime.queues is not None and runtime.alarms is not None
    now = runtime.clock.time()
    # Twelve tickets waiting for 40 minutes with one window open: over the 30-minute limit of group g1.
    body = json.dumps([{"type": "window_opened", "window": "1", "at": now - 2400}] + [
        {"type": "issued", "ticket": f"A{n:03d}", "at": now - 2400 + n} for n in range(12)]).encode()  # fmt: skip
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        answer = await client.post("/api/queues/events", content=body, headers=signed(body))
        assert answer.json()["accepted"] == 13
        # The runtime's watch raises after a one-minute on-delay; the same watch without it raises at once.
        from monitoring.queues.alarm_watch import AlarmWatch
        from monitoring.queues.service import wait_findings

        findings = wait_findings(runtime.queues.service, runtime.clock.time())
        finding = next(f for f in findings if f.key == "queue:g1")
        assert finding.value > 30 and finding.evidence["action"] == "open"
        await AlarmWatch(runtime.alarms, on_delay_s=0).review(findings, runtime.clock.time())
        alarm = next(a for a in runtime.alarms.active() if a.rule == "queue:g1")
        headers = await staff_headers(runtime, client, "manager")
        listed = (await client.get("/api/alarms", headers=headers)).json()
        shown = next(a for a in (listed if isinstance(listed, list) else listed["alarms"]) if a["id"] == alarm.id)
        assert shown["alarm_class"] == "queue" and shown["zone"] == "win"
        assert "建议增开" in shown["message"]["zh"] and "Open" in shown["message"]["en"]


async def test_events_published_while_the_node_restarts_reach_it_afterwards(tmp_path: Path) -> None:
    """The node's ticket-event subscription is a persistent MQTT session: what the queue system publishes (QoS 1)
    while the node is down waits at the broker, and the node takes it when it is back, counted once."""
    broker = MqttBrokerLauncher(workdir=tmp_path / "broker")
    await broker.start()
    simulator: QueueSystemSimulator | None = None
    try:
        site = queue_site(events_topic=TOPIC)
        site = site.model_copy(update={"mqtt": site.mqtt.model_copy(update={"port": broker.port})})
        site_path = tmp_path / "site.yaml"
        site_path.write_text("# the test builds the site in code\n")
        first = HallRuntime(site, site_path, tmp_path / "data", poll_devices=False)
        async with running_app(first):
            assert first.queues is not None and await first.queues.wait_listening(10.0)
        state = HallState(hour=9.6, daily_visitors=4000)
        simulator = QueueSystemSimulator(site, state, SystemClock(), tick_s=3600)  # sends only what the test gives
        await simulator.start()
        assert simulator.client is not None and await simulator.client.wait_connected(5.0)
        t = first.clock.time()
        events = simulator.backfill(t - 600, t)  # ten minutes of the morning, while the node is down
        await simulator.client.publish(TOPIC, json.dumps(events), qos=1)
        again = HallRuntime(site, site_path, tmp_path / "data", poll_devices=False)  # the same node, restarted
        assert again.node_id == first.node_id
        async with running_app(again):
            assert again.queues is not None
            service = again.queues.service
            await wait_until(lambda: service.analytics.applied >= len(events), 10.0, "the events kept for the node")
            assert service.analytics.applied == len(events) and service.journal.refused == 0
    finally:
        if simulator is not None:
            await simulator.stop()
        await broker.stop()
