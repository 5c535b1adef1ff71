"""/ws: the live point stream, a snapshot first and then batched updates (optionally ?points=a,b); frames of
other types (alarms, work orders, pages) come through LiveFanout.broadcast, some only to the roles they concern
(the feed knows its client's role)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from api.auth import ROLE_CHANGED, Principal, until_session_ends
from api.live_fanout import Frame, LiveFanout, LiveFeed
from api.ws_protocol import write_shared_of

log = logging.getLogger(__name__)
router = APIRouter()

GOING_AWAY = 1001  # RFC 6455: the server is shutting down
POLICY_VIOLATION = 1008
SESSION_CLOSED = 4401  # as the access guard refuses a connection without a valid session
ROLE_CHANGED_CLOSE = 4205  # 4000 + HTTP 205 Reset Content: the session lives on, the page reloads for its new role
SEND_TIMEOUT_S = 10.0  # a client that accepts nothing for this long is cut off


def _encode(frame: Frame) -> str:
    return frame if isinstance(frame, str) else json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def fanout_of(websocket: WebSocket) -> LiveFanout:
    """The runtime's fan-out, created on first use so the app also works with a runtime that predates it."""
    runtime = websocket.app.state.runtime
    fanout: LiveFanout | None = getattr(runtime, "live", None)
    if fanout is None:
        fanout = LiveFanout(runtime.bus)
        runtime.live = fanout
    return fanout


def parse_filter(raw: str | None, known: set[str]) -> tuple[set[str] | None, list[str]]:
    """The requested point ids (None: all) and those that are not points of this site."""
    if raw is None or not raw.strip():
        return None, []
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    return wanted, sorted(wanted - known)


@router.websocket("/ws")
async def live_stream(websocket: WebSocket, points: str | None = None) -> None:
    runtime = websocket.app.state.runtime
    catalog = getattr(runtime, "point_catalog", None)
    known = set(catalog) if catalog is not None else set(runtime.bus.latest)
    wanted, unknown = parse_filter(points, known)
    await websocket.accept()
    if unknown:
        message = f"unknown point id(s) in ?points=: {', '.join(unknown[:20])}"
        await websocket.send_text(_encode({"type": "error", "message": message}))
        await websocket.close(POLICY_VIOLATION, "unknown point ids")
        return
    fanout = fanout_of(websocket)
    if fanout.closing:
        await websocket.close(GOING_AWAY, "server shutting down")
        return
    principal = getattr(websocket.state, "principal", None)  # set by the access guard (api/auth_guard.py)
    role = principal.role if isinstance(principal, Principal) else None
    feed = fanout.open(wanted, role=role)
    sender = asyncio.create_task(_send(websocket, feed), name=f"{feed.name}:send")
    receiver = asyncio.create_task(_receive(websocket), name=f"{feed.name}:receive")
    # The session is watched while the stream is open: expiry, logout or a disabled account close it (4401), a
    # change of the user's role too (4205), since what the stream carries depends on the role.
    watcher = asyncio.create_task(
        until_session_ends(runtime.store, websocket.scope, runtime.clock, role), name=f"{feed.name}:session"
    )
    try:
        await asyncio.wait({sender, receiver, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        fanout.release(feed)
        for task in (sender, receiver, watcher):
            task.cancel()
        await asyncio.gather(sender, receiver, watcher, return_exceptions=True)
    if watcher.done() and not watcher.cancelled() and watcher.exception() is None:
        if websocket.application_state is WebSocketState.CONNECTED:
            try:
                problem = watcher.result()
                code = ROLE_CHANGED_CLOSE if problem.code == ROLE_CHANGED else SESSION_CLOSED
                await websocket.close(code, problem.detail.encode()[:120].decode("utf-8", "ignore"))
            except (RuntimeError, OSError):
                pass
        return
    if sender.done() and not sender.cancelled() and sender.exception() is None and sender.result() == "closed":
        # The feed was closed by shutdown: say so, instead of just dropping the TCP connection.
        if websocket.application_state is WebSocketState.CONNECTED:
            try:
                await websocket.close(GOING_AWAY, "server shutting down")
            except (RuntimeError, OSError):
                pass


def _alarm_list(websocket: WebSocket) -> Frame | None:
    """{"type": "alarms", "alarms": [...]}: the open alarms, sent once after the snapshot (then "alarm" frames
    follow every transition through LiveFanout.broadcast). Taken after the feed opened: nothing falls between."""
    engine = getattr(websocket.app.state.runtime, "alarms", None)
    if engine is None:
        return None
    from alarms.wire import alarm_json

    return {"type": "alarms", "alarms": [alarm_json(alarm) for alarm in engine.active()]}


async def _send(websocket: WebSocket, feed: LiveFeed) -> str:
    """Send the snapshot (and the open alarms), then frames until the feed closes ("closed") or the client goes
    ("gone")."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await websocket.send_text(_encode(feed.snapshot()))
            alarms = _alarm_list(websocket)
            if alarms is not None:
                await websocket.send_text(_encode(alarms))
        feed.write_now = write_shared_of(websocket.scope)  # from here on frames may be written without this task
        while True:
            frames = await feed.next_frames()
            if not frames:
                return "closed"
            # One deadline for what is sent at once (a timer per frame was a noticeable cost with 500 clients).
            async with asyncio.timeout(SEND_TIMEOUT_S):
                for frame in frames:
                    await websocket.send_text(_encode(frame))
    except TimeoutError:
        log.warning("websocket client %s accepted nothing for %.0f s: closing", feed.name, SEND_TIMEOUT_S)
        return "gone"
    except (WebSocketDisconnect, RuntimeError, OSError):
        return "gone"


async def _receive(websocket: WebSocket) -> Any:
    """Read (and ignore) client messages until it disconnects: that is how a vanished client is noticed."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
    except (WebSocketDisconnect, RuntimeError, OSError):
        return None
