"""Speaker simulators on "any port" never share one: each receives only the streams sent to it."""

from __future__ import annotations

import resource

import pytest

from broadcast.simulator import SpeakerSimulator

SIMULATORS = 800  # two sockets each


async def test_simulators_on_any_port_each_get_a_port_of_their_own() -> None:
    # Linux hands the same port 0 to UDP sockets that all set SO_REUSEADDR (among 800 such sockets about 11 pairs
    # share a port, so this fails but once in 10^5 runs if they do), and unicast then reaches only the later one:
    # a unicast speaker must not set it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * SIMULATORS + 256
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"{wanted} open files needed, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    sims = [SpeakerSimulator(f"spk-{n}") for n in range(SIMULATORS)]
    try:
        for sim in sims:
            await sim.start()
        ports = [sim.rtp_port for sim in sims]
        assert len(set(ports)) == len(ports), "two speaker simulators share an RTP port"
    finally:
        for sim in sims:
            await sim.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
