"""Speaker drivers, one file per ``type:`` of site.yaml ``broadcast.speakers`` (like the gateway's drivers)."""

from __future__ import annotations

from broadcast.speakers.base import DriverContext, SpeakerDriver
from broadcast.speakers.http import HttpSpeakerDriver
from broadcast.speakers.multicast import MulticastSpeakerDriver
from broadcast.speakers.rtp import RtpSpeakerDriver
from broadcast.speakers.sip import SipSpeakerDriver
from twin.site.broadcast_model import HttpSpeaker, MulticastSpeaker, RtpSpeaker, SipSpeaker, SpeakerEndpoint

__all__ = ["DriverContext", "SpeakerDriver", "make_driver"]


def make_driver(endpoint: SpeakerEndpoint, zone: str, context: DriverContext) -> SpeakerDriver:
    """The driver of one configured speaker endpoint in PA zone ``zone``."""
    if isinstance(endpoint, RtpSpeaker):
        return RtpSpeakerDriver(endpoint, zone)
    if isinstance(endpoint, MulticastSpeaker):
        return MulticastSpeakerDriver(endpoint, zone)
    if isinstance(endpoint, SipSpeaker):
        return SipSpeakerDriver(endpoint, zone, context)
    if isinstance(endpoint, HttpSpeaker):
        return HttpSpeakerDriver(endpoint, zone, context)
    raise TypeError(f"no driver for speaker type {type(endpoint).__name__}")
