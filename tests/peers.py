"""Helpers for tests that talk to real peers on loopback: free ports and the shared data folder."""

from __future__ import annotations

import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port that is free for TCP (default) or UDP (socket.SOCK_DGRAM) on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
