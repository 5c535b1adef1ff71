"""Waiting-time model of a window group: M/M/c (Erlang C) plus the backlog already in the queue.

No maintained Python package offers Erlang C on its own (queueing libraries simulate); the formula is ten lines.
"""

from __future__ import annotations

import math


def erlang_c(arrivals_per_s: float, service_s: float, servers: int) -> float:
    """Probability that an arrival has to wait (Erlang C); 1.0 when the group cannot keep up."""
    if servers <= 0:
        return 1.0
    load = arrivals_per_s * service_s  # offered traffic in erlangs
    if load <= 0:
        return 0.0
    if load >= servers:
        return 1.0
    # Iterative Erlang B avoids the factorials' overflow, then C from B.
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    rho = load / servers
    return b / (1 - rho + rho * b)


def mean_wait_s(arrivals_per_s: float, service_s: float, servers: int, backlog: float, horizon_s: float) -> float:
    """Mean wait of a visitor arriving in the next ``horizon_s``: the backlog ahead of them drains at the
    group's spare rate (a fluid model: tickets already waiting are served first), then Erlang C's steady wait.
    Infinity when nobody serves, or the backlog cannot shrink and the horizon ends with a longer queue."""
    if servers <= 0:
        return math.inf if backlog > 0 or arrivals_per_s > 0 else 0.0
    capacity = servers / service_s  # tickets per second
    spare = capacity - arrivals_per_s
    steady = 0.0
    if spare > 0:
        steady = erlang_c(arrivals_per_s, service_s, servers) / (servers / service_s - arrivals_per_s)
    if backlog <= 0 and spare > 0:
        return steady
    # The queue grows or shrinks linearly over the horizon; arrivals spread evenly wait, on average, for the
    # backlog they find: the mean of the queue over the horizon divided by the service rate.
    end = max(0.0, backlog - spare * horizon_s)
    if spare > 0 and backlog > 0:
        drained_at = backlog / spare
        if drained_at < horizon_s:  # the backlog is gone before the horizon ends
            mean_queue = backlog * drained_at / 2 / horizon_s
            return mean_queue / capacity + steady
    mean_queue = (backlog + end) / 2
    return mean_queue / capacity + steady


def windows_needed(
    arrivals_per_s: float, service_s: float, backlog: float, target_s: float, horizon_s: float, most: int
) -> int:
    """The fewest windows (at most ``most``) that keep the mean wait of the next ``horizon_s`` under ``target_s``;
    ``most`` when even all of them cannot."""
    for servers in range(1, most + 1):
        if mean_wait_s(arrivals_per_s, service_s, servers, backlog, horizon_s) <= target_s:
            return servers
    return most
