"""Speaker simulators: on "any port" they never share one, two sources at once keep them bounded, and the demo's
speakers move to free ports with the devices (parallel demos never send to each other's speakers)."""

from __future__ import annotations

import asyncio
import resource
import socket

import pytest

from broadcast.rtp import RtpPacket
from broadcast.simulator import KEEP_STREAMS, SpeakerSimulator
from tests.peers import wait_until

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


async def test_two_sources_at_once_keep_the_simulator_bounded() -> None:
    """Two senders' streams interleaved at one speaker (two nodes paging the same speaker) start a new Reception
    at every switch: their number stays bounded, and every packet costs the same (a sum over all of them per
    packet once stalled a whole test worker)."""
    sim = SpeakerSimulator("spk-shared")
    await sim.start()
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    try:
        for sequence in range(3 * KEEP_STREAMS):
            ssrc = 1000 + sequence % 2
            packet = RtpPacket(0, sequence & 0xFFFF, sequence * 160, ssrc, b"\xff" * 160, False).to_bytes()
            senders[sequence % 2].sendto(packet, ("127.0.0.1", sim.rtp_port))
            if sequence % 100 == 99:
                await asyncio.sleep(0.005)  # let the simulator read: the socket buffer holds a few hundred
        await wait_until(lambda: sum(r.packets for r in sim.receptions) > 0 and not sim.playing(), 10.0, "quiet")
        assert 1 < len(sim.receptions) <= KEEP_STREAMS
        assert {r.ssrc for r in sim.receptions} == {1000, 1001}
    finally:
        for sender in senders:
            sender.close()
        await sim.stop()


def test_demo_speakers_move_to_free_ports_with_the_devices() -> None:
    from bim_models.demo_hall import SITE_PATH, ensure_demo_hall
    from iot_gateway.simulators.site_ports import with_free_ports
    from twin.site.broadcast_model import RtpSpeaker, SipSpeaker
    from twin.site.loader import load_site

    ensure_demo_hall()
    site = load_site(SITE_PATH)
    moved = with_free_ports(site)
    for before, after in zip(site.broadcast.speakers, moved.broadcast.speakers, strict=True):
        assert before.device == after.device
        if isinstance(after, RtpSpeaker):
            assert isinstance(before, RtpSpeaker) and after.port != before.port and after.port % 2 == 0
        if isinstance(after, SipSpeaker):
            assert isinstance(before, SipSpeaker) and after.uri != before.uri and after.uri.startswith("sip:spk-")
