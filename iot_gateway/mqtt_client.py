"""One self-reconnecting aiomqtt connection shared by its users, with per-topic routing of incoming messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import aiomqtt
from paho.mqtt.client import MQTT_ERR_SUCCESS

from iot_gateway.mqtt_settings import MqttSettings
from twin.backoff import RetryDelay
from twin.tasks import cancel_and_wait, raise_if_cancelled

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
StateListener = Callable[[bool], None]


class MqttDisconnected(ConnectionError):
    """The broker connection is down; the client is reconnecting by itself."""


class SharedMqttClient:
    """A broker connection that every MQTT device of a gateway (or one simulator, or the bridge) shares.

    Handlers are routed by exact topic, so N devices cost one TCP connection and one dict lookup per message.
    The connection is kept by one named background task that reconnects with exponential backoff and jitter
    and re-subscribes every routed topic after each reconnect. Users call ``attach``/``detach`` (reference
    counted) or ``start``/``stop`` directly.
    """

    def __init__(
        self,
        settings: MqttSettings,
        name: str = "mqtt",
        *,
        will: aiomqtt.Will | None = None,
        qos: int = 1,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 5.0,
        max_inflight: int = 100,
        session: str | None = None,
    ) -> None:
        self.settings = settings
        self.name = name
        # A persistent session (MQTT clean session off, this stable client id): the broker keeps the subscriptions
        # and queues QoS 1 messages while this client is away, e.g. during a node restart. None: a new id each time.
        self.session = session
        self.qos = qos
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.generation = 0  # counts successful connections: users detect a reconnect by comparing it
        self.received = 0
        self.handler_errors = 0
        self._will = will
        self._max_inflight = max_inflight
        self._routes: dict[str, list[MessageHandler]] = {}
        self._listeners: list[StateListener] = []
        self._client: aiomqtt.Client | None = None
        self._connected: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._users = 0

    # --- lifecycle -----------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected is not None and self._connected.is_set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        if self._connected is None:
            self._connected = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"mqtt-client:{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def attach(self) -> None:
        """Start the connection for one more user (the first one starts it)."""
        self._users += 1
        self.start()

    async def detach(self) -> None:
        """One user is done; the last one stops the connection."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.stop()

    async def wait_connected(self, timeout_s: float) -> bool:
        if self._connected is None:
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):  # not wait_for: it can swallow a cancel on Python 3.11
                await self._connected.wait()
        return self.connected

    def add_state_listener(self, listener: StateListener) -> None:
        """``listener(True)`` after each (re)connect and subscribe, ``listener(False)`` when the link drops."""
        self._listeners.append(listener)

    def remove_state_listener(self, listener: StateListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # --- routing and publishing ----------------------------------------------------------------------------

    async def subscribe(self, topic: str, handler: MessageHandler) -> None:
        """Route messages of ``topic`` (exact, no wildcards) to ``handler``; subscribes now if connected,
        and after every reconnect in any case."""
        if "+" in topic or "#" in topic:
            raise ValueError(f"topic {topic!r}: wildcards are not routed by exact topic")
        handlers = self._routes.setdefault(topic, [])
        handlers.append(handler)
        client = self._client
        if client is not None and len(handlers) == 1:
            try:
                await client.subscribe(topic, self.qos, timeout=self.settings.timeout_s)
            except aiomqtt.MqttError as error:
                # The run loop subscribes every routed topic again when it reconnects.
                log.debug("subscribe %s on %s failed (%s); will retry on reconnect", topic, self.name, error)

    async def unsubscribe(self, topic: str, handler: MessageHandler) -> None:
        handlers = self._routes.get(topic, [])
        if handler in handlers:
            handlers.remove(handler)
        if handlers:
            return
        self._routes.pop(topic, None)
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.unsubscribe(topic, timeout=self.settings.timeout_s)

    async def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        """Publish now; MqttDisconnected when the link is down or breaks before the broker acknowledges."""
        client = self._client
        if client is None or not self.connected:
            raise MqttDisconnected(f"{self.settings.label} is not connected")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=self.settings.timeout_s)
        except aiomqtt.MqttError as error:
            raise MqttDisconnected(f"publish to {topic} on {self.settings.label} failed: {error}") from error

    async def publish_many(
        self, messages: Sequence[tuple[str, bytes]], qos: int = 0, retain: bool = False, slice_size: int = 200
    ) -> None:
        """Publish a batch in order; MqttDisconnected when the link is down or breaks before the broker has
        acknowledged the last one. Every message but the last goes straight to paho, ``slice_size`` at a time
        with the event loop let through in between (a slice is a few ms of work). An aiomqtt publish per
        message costs a task, an event, a semaphore and a timeout each, which at 10,000 messages/s cost more CPU
        than the messages themselves. Only the last is awaited: a broker acknowledges QoS 1 publishes of one
        connection in the order it received them (MQTT 3.1.1 section 4.6), so its acknowledgement covers the
        batch. Give a client for batches max_inflight=0 (no limit): with a limit, paho scans its queue of
        unacknowledged messages on every acknowledgement."""
        client = self._client
        if client is None or not self.connected:
            raise MqttDisconnected(f"{self.settings.label} is not connected")
        if not messages:
            return
        paho = client._client  # aiomqtt has no batch publish; its own publish() calls this same method
        last = len(messages) - 1
        for start in range(0, last, slice_size):
            if start:
                await asyncio.sleep(0)
                if self._client is not client or not self.connected:
                    raise MqttDisconnected(f"{self.settings.label} went down during a batch")
            for topic, payload in messages[start : min(start + slice_size, last)]:
                if paho.publish(topic, payload, qos, retain).rc != MQTT_ERR_SUCCESS:
                    raise MqttDisconnected(f"publish to {topic} on {self.settings.label} failed: link down")
        topic, payload = messages[last]
        await self.publish(topic, payload, qos, retain)

    # --- the connection task -------------------------------------------------------------------------------

    def _new_client(self) -> aiomqtt.Client:
        kwargs: dict[str, Any] = self.settings.client_kwargs()
        client = aiomqtt.Client(
            **kwargs,
            identifier=self.session or f"halltwin-{self.name}-{secrets.token_hex(4)}",
            clean_session=self.session is None,
            will=self._will,
            max_inflight_messages=self._max_inflight,
        )
        # aiomqtt warns above 10 concurrent calls; concurrent QoS 1 publishes up to max_inflight are intended.
        client.pending_calls_threshold = (self._max_inflight or 1000) + 10
        return client

    async def _run(self) -> None:
        delay = RetryDelay(self.backoff_initial_s, self.backoff_max_s)
        down_since_logged = False
        while True:
            client = self._new_client()
            try:
                await self._enter(client)
                async with _Exiting(client):
                    # No await between publishing the client and taking the topic snapshot: a subscribe()
                    # running meanwhile either lands in the snapshot or sees the client and subscribes itself.
                    self._client = client
                    topics = [(topic, self.qos) for topic in self._routes]
                    if topics:
                        await client.subscribe(topics, timeout=self.settings.timeout_s)
                        raise_if_cancelled()  # aiomqtt waits with wait_for, which can swallow a cancel on 3.11
                    self.generation += 1
                    self._set_connected(True)
                    log.info("MQTT %s connected to %s (%d topics)", self.name, self.settings.label, len(topics))
                    down_since_logged = False
                    delay.reset()
                    async for message in client.messages:
                        self._dispatch(message)
            except aiomqtt.MqttError as error:
                if not down_since_logged:
                    log.warning("MQTT %s: %s unreachable (%s); reconnecting", self.name, self.settings.label, error)
                    down_since_logged = True
            except Exception:
                # Not a network error (a library surprise): still never give up the link for good.
                if not down_since_logged:
                    log.exception("MQTT %s: unexpected error on %s; reconnecting", self.name, self.settings.label)
                    down_since_logged = True
            finally:
                self._client = None
                self._set_connected(False)
                await _await_background(client)
            await asyncio.sleep(delay.next() * random.uniform(0.8, 1.2))  # jitter: restarted brokers get no herd

    async def _enter(self, client: aiomqtt.Client) -> None:
        """Connect. aiomqtt connects in a worker thread that a cancel cannot stop: cancelled mid-way, the
        thread would still open a socket (and a keepalive task) that nobody closes. So the attempt runs
        shielded; on cancel it is allowed to finish (it is bounded by the client timeout) and is then closed."""
        attempt = asyncio.create_task(client.__aenter__(), name=f"mqtt-connect:{self.name}")
        try:
            await asyncio.shield(attempt)
        except asyncio.CancelledError:
            await asyncio.wait({attempt}, timeout=self.settings.timeout_s + 1.0)
            if attempt.done() and not attempt.cancelled() and attempt.exception() is None:
                with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                    await client.__aexit__(None, None, None)
            elif not attempt.done():
                attempt.cancel()
            raise

    def _set_connected(self, connected: bool) -> None:
        assert self._connected is not None
        if connected == self._connected.is_set():
            return
        if connected:
            self._connected.set()
        else:
            self._connected.clear()
        for listener in list(self._listeners):
            try:
                listener(connected)
            except Exception:
                log.exception("MQTT %s: state listener failed", self.name)

    def _dispatch(self, message: aiomqtt.Message) -> None:
        self.received += 1
        topic = message.topic.value
        payload = message.payload
        if isinstance(payload, str):
            data = payload.encode()
        elif isinstance(payload, bytes | bytearray):
            data = bytes(payload)
        else:
            data = b"" if payload is None else str(payload).encode()
        for handler in list(self._routes.get(topic, ())):
            try:
                handler(topic, data)
            except Exception:
                # A handler bug must not take the shared connection (and every other device) down with it.
                self.handler_errors += 1
                if self.handler_errors == 1:
                    log.exception("MQTT %s: handler for %s failed", self.name, topic)


class _Exiting:
    """Disconnects an already connected aiomqtt client when the block ends (the other half of ``async with``)."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client

    async def __aenter__(self) -> aiomqtt.Client:
        return self.client

    async def __aexit__(self, *exc_info: object) -> None:
        # A failing goodbye must not replace the exception that ended the block (a cancel above all).
        with contextlib.suppress(aiomqtt.MqttError):
            await self.client.__aexit__(None, None, None)


async def _await_background(client: aiomqtt.Client) -> None:
    """aiomqtt cancels its keepalive task on socket close but does not await it; await it so that no task
    outlives its owner (house rule 2)."""
    misc: asyncio.Task[None] | None = getattr(client, "_misc_task", None)
    if misc is not None and not misc.done():
        misc.cancel()
        await asyncio.wait({misc}, timeout=1.0)
