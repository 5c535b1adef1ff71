"""Loopback port helpers shared by the broker launcher, VictoriaMetrics launcher, simulators, demo and tests."""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
DEFAULT_EPHEMERAL = (32768, 60999)  # Linux's default when the file cannot be read
LOWEST_PORT = 10000  # below this live well-known and common service ports (Modbus 502, PostgreSQL 5432, Redis 6379)
ATTEMPTS = 200

_handed_out: set[tuple[int, int]] = set()
_handed_out_lock = threading.Lock()


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections (inclusive)."""
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL
    return low, high


def _random_candidate(low: int, high: int) -> int:
    """A random port from the ranges below ``low`` and above ``high`` (the ephemeral range)."""
    below, above = max(0, low - LOWEST_PORT), max(0, 65535 - high)
    pick = random.randrange(below + above)
    return LOWEST_PORT + pick if pick < below else high + 1 + (pick - below)


def free_port(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> int:
    """A port free on ``host`` right now, for TCP (default) or UDP (``socket.SOCK_DGRAM``).

    Chosen outside the ephemeral range: a port handed out by the kernel for port 0 can be taken as the source port
    of any outgoing connection before our server listens on it (CI saw exactly that). Ports are also not handed out
    twice by one process, so a site moved to free ports never gets two devices on one port.
    """
    low, high = ephemeral_range()
    with _handed_out_lock:
        for _ in range(ATTEMPTS):
            port = _random_candidate(low, high)
            if (kind, port) in _handed_out:
                continue
            with socket.socket(socket.AF_INET, kind) as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
            _handed_out.add((kind, port))
            return port
    raise OSError(f"no free port outside the ephemeral range on {host} after {ATTEMPTS} attempts")


def port_free(host: str, port: int) -> bool:
    """True when a TCP server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: a port whose old connections linger in TIME_WAIT can be listened on again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
