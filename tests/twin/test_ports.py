"""free_port: ports a server can listen on, never from the ephemeral range and never handed out twice."""

from __future__ import annotations

import socket

from twin.ports import ephemeral_range, free_port, port_free


def test_ports_are_outside_the_ephemeral_range_distinct_and_free() -> None:
    low, high = ephemeral_range()
    assert 1024 <= low <= high <= 65535
    tcp = [free_port() for _ in range(200)]
    udp = [free_port(socket.SOCK_DGRAM) for _ in range(50)]
    assert len(set(tcp)) == len(tcp) and len(set(udp)) == len(udp)
    assert not any(low <= port <= high for port in tcp + udp)
    assert all(port_free("127.0.0.1", port) for port in tcp[:20])


def test_a_port_taken_by_a_listener_is_not_free() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", free_port()))
        server.listen()
        assert not port_free("127.0.0.1", server.getsockname()[1])
