"""The demo's speaker simulators: one per RTP or SIP speaker of the site, on the addresses the site gives them."""

from __future__ import annotations

import logging
import re

from broadcast.simulator import SpeakerSimulator
from twin.site.broadcast_model import RtpSpeaker, SipSpeaker
from twin.site.model import SiteConfig

log = logging.getLogger(__name__)


async def start_speaker_simulators(site: SiteConfig) -> list[SpeakerSimulator]:
    """Start what can be started; a port another program holds is logged (that speaker then shows as silent)."""
    started: list[SpeakerSimulator] = []
    for endpoint in site.broadcast.speakers:
        if isinstance(endpoint, RtpSpeaker):
            simulator = SpeakerSimulator(endpoint.device, endpoint.host, endpoint.port)
        elif isinstance(endpoint, SipSpeaker):
            match = re.match(r"^sips?:[^@]+@([^:;]+)(?::(\d+))?", endpoint.uri)
            if match is None:
                continue
            simulator = SpeakerSimulator(endpoint.device, match.group(1), 0, sip_port=int(match.group(2) or 5060))
        else:
            continue
        try:
            await simulator.start()
        except OSError as exc:
            log.warning("speaker simulator %s not started: %s", endpoint.device, exc)
            continue
        started.append(simulator)
    log.info("%d speaker simulators listening", len(started))
    return started


async def stop_speaker_simulators(simulators: list[SpeakerSimulator]) -> None:
    for simulator in simulators:
        await simulator.stop()
