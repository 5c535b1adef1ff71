"""uvicorn's sans-I/O WebSocket protocol plus one ASGI extension: a synchronous write of a text frame that many
clients share, so that the live fan-out sends one frame to 500 clients in ~500 socket writes and no more.

Why: through ASGI, every frame to every client is a task wake-up, starlette's and uvicorn's send coroutines and
its own WebSocket framing (~40 us each; bench/bench_ws_clients.py). A server's frames are not masked, so without
per-message compression the bytes of a frame are the same for every client: they are framed once (the first
client that gets a text frames it, the others reuse it) and written straight to each transport.

The extension, ``scope["extensions"]["halltwin.websocket.write_shared"]["write"]``, is ``write(text) -> bool``:
True when the frame was written, False when it cannot be written now (the connection is closing or closed, or
its transport asked to stop writing): the caller then sends it the ASGI way, which waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

WRITE_SHARED = "halltwin.websocket.write_shared"


class SharedFrame:
    """The wire bytes of the text last framed: the fan-out writes one text to all its clients in a row, so one
    entry serves them all. Compared by identity (``is``), never by value: equal texts are rare and cheap."""

    __slots__ = ("text", "wire")

    def __init__(self) -> None:
        self.text: str | None = None
        self.wire = b""

    def of(self, text: str) -> bytes:
        if text is not self.text:
            self.wire = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
            self.text = text
        return self.wire


_shared = SharedFrame()


def write_shared_of(scope: Any) -> Callable[[str], bool] | None:
    """The connection's shared-frame writer, or None (another server, or a connection it does not apply to)."""
    extension = (scope.get("extensions") or {}).get(WRITE_SHARED)
    return extension.get("write") if extension else None


class SharedFrameProtocol(WebSocketsSansIOProtocol):
    """WebSocketsSansIOProtocol whose ASGI scope carries the ``write_shared`` extension."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # no scope: the handshake was refused
        if scope is not None:  # the app's task is created but has not run yet: it sees the extension
            scope["extensions"][WRITE_SHARED] = {"write": self.write_shared}

    def write_shared(self, text: str) -> bool:
        """Write ``text`` as one text frame now; False (nothing written) when that cannot be done at once."""
        if (
            self.disconnected
            or self.close_sent
            or not self.handshake_complete
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        if self.conn.extensions:  # compression negotiated: the bytes are this connection's own
            self.conn.send_text(text.encode())
            self.transport.write(b"".join(self.conn.data_to_send()))
        else:
            self.transport.write(_shared.of(text))
        return True
