"""site.yaml ``broadcast:``: how the hall's IP speakers are reached, the evacuation programme and recording rules.

Speakers are ``ip_speaker`` devices of the site (their PA zone comes from ``pa_zones``); this section says how
each is reached, a discriminated union on ``type`` like the drivers' connections: ``rtp`` (G.711 unicast),
``multicast`` (the zone's group, see PaZone.multicast), ``sip`` (paging call with auto-answer, then RTP),
``http`` (a vendor API that plays stored messages by id).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from twin.site.base_model import Ident, Names, Strict

BUILT_IN_MESSAGES = ("evacuation", "emergency", "closing", "music")  # broadcast/messages.py speaks them



class RtpSpeaker(Strict):
    """A speaker that plays G.711 RTP sent to its own address (and reports reception by RTCP)."""

    type: Literal["rtp"]
    device: Ident
    host: str = Field(min_length=1)
    port: int = Field(ge=1024, le=65534, description="Even UDP port of its RTP receiver (RTCP: port + 1)")


class MulticastSpeaker(Strict):
    """A speaker listening to its PA zone's multicast group (pa_zones[].multicast); reports by RTCP with its CNAME."""

    type: Literal["multicast"]
    device: Ident


class SipSpeaker(Strict):
    """A speaker (or paging gateway) called by SIP with auto-answer; the audio follows as RTP to its SDP answer."""

    type: Literal["sip"]
    device: Ident
    uri: str = Field(pattern=r"^sips?:[^@\s]+@[^\s:;]+(:\d{1,5})?$", description="e.g. sip:spk-3@10.20.0.43:5060")
    answer_within_s: float = Field(default=4.0, gt=0, le=30, description="A page not answered this soon failed")


class HttpSpeaker(Strict):
    """A speaker with a vendor HTTP API that plays a stored message by id (no live audio)."""

    type: Literal["http"]
    device: Ident
    url: str = Field(pattern=r"^https?://", description="POSTed {message, zone, priority, text}; 2xx confirms")
    timeout_s: float = Field(default=2.0, gt=0, le=30)


SpeakerEndpoint = Annotated[RtpSpeaker | MulticastSpeaker | SipSpeaker | HttpSpeaker, Field(discriminator="type")]


class EvacuationSettings(Strict):
    """The fire-evacuation programme: sounder and voice alternate (GB 50116 4.8.6/4.8.9: 8-20 s and 10-30 s)."""

    sounder_s: float = Field(default=10.0, ge=8, le=20, description="Sounder part of each cycle")
    voice_min_s: float = Field(default=10.0, ge=10, le=30, description="The voice part lasts at least this long")
    voice_max_s: float = Field(default=30.0, ge=10, le=30)
    stop_on_fire_clear: bool = Field(
        default=False, description="true: the system ends the evacuation when every fire input is normal again"
    )
    supervise_within_s: float = Field(default=10.0, gt=0, le=10, description="GB 16806: every zone within 10 s")
    door_unlock_within_s: float = Field(default=3.0, gt=0, le=3, description="GB 50166: modules act within 3 s")

    @model_validator(mode="after")
    def _voice_range(self) -> EvacuationSettings:
        if self.voice_min_s > self.voice_max_s:
            raise ValueError(f"voice_min_s ({self.voice_min_s:g}) is above voice_max_s ({self.voice_max_s:g})")
        return self


class StoredMessage(Strict):
    """A message of the library: a WAV file (relative to the site file) or a text spoken by the offline TTS."""

    id: Ident
    name: Names
    file: str | None = None
    text: Names | None = None
    kind: Literal["page", "emergency", "notice", "music"] = "notice"

    @model_validator(mode="after")
    def _one_source(self) -> StoredMessage:
        if (self.file is None) == (self.text is None):
            raise ValueError("a stored message has exactly one of file: or text:")
        return self


class QueueCallSettings(Strict):
    """Spoken queue calls (T/ZAS 4012 7.1.3.4): 'please ticket A023 to window 5' in the window's PA zone."""

    silent: bool = Field(default=False, description="true: calls are shown on the displays only, never spoken")
    silent_zones: list[Ident] = Field(default_factory=list, description="PA zones where calls are display-only")
    repeat: int = Field(default=1, ge=1, le=3, description="How many times a call is spoken")


class BroadcastSettings(Strict):
    """How this node broadcasts: its RTP source, the codec, speakers, messages, evacuation and recording."""

    source_host: str = Field(default="127.0.0.1", description="Local address the RTP/RTCP/SIP sockets bind to")
    rtp_port: int = Field(default=0, ge=0, le=65534, description="Even RTP source port (RTCP: +1); 0: any free")
    sip_port: int = Field(default=0, ge=0, le=65535, description="The paging SIP user agent's port; 0: any free")
    codec: Literal["pcmu", "pcma"] = "pcmu"
    multicast_ttl: int = Field(default=1, ge=0, le=32)
    speakers: list[SpeakerEndpoint] = Field(default_factory=list)
    messages: list[StoredMessage] = Field(default_factory=list)
    evacuation: EvacuationSettings = Field(default_factory=EvacuationSettings)
    queue_calls: QueueCallSettings = Field(default_factory=QueueCallSettings)
    confirm_within_s: float = Field(default=5.0, gt=0, le=60, description="A speaker reports reception this soon")
    sip_retry_s: float = Field(
        default=30.0, gt=0, le=600, description="A SIP speaker that did not answer is called again this often while "
        "its zone plays"
    )
    keep_page_audio_min: float = Field(
        default=30.0, ge=30, le=525_600, description="Page audio kept this long (GB 50116 4.8.10: >= 30 min)"
    )
    max_page_audio_s: float = Field(default=300.0, gt=0, le=3600, description="Longest uploaded page")
    background_music: str | None = Field(default=None, description="Stored message id played in idle zones")

    @field_validator("source_host")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"source_host must be an IP address, got {value!r}") from None
        return value

    @model_validator(mode="after")
    def _unique(self) -> BroadcastSettings:
        seen: set[str] = set()
        for speaker in self.speakers:
            if speaker.device in seen:
                raise ValueError(f"speaker {speaker.device!r} is listed twice under broadcast.speakers")
            seen.add(speaker.device)
        ids = [message.id for message in self.messages]
        duplicate = {i for i in ids if ids.count(i) > 1}
        if duplicate:
            raise ValueError(f"duplicate message id(s): {', '.join(sorted(duplicate))}")
        if self.background_music is not None and self.background_music not in (*ids, *BUILT_IN_MESSAGES):
            known = ", ".join((*BUILT_IN_MESSAGES, *ids))
            raise ValueError(f"background_music {self.background_music!r} is not a message ({known})")
        return self


def multicast_group(value: str) -> tuple[str, int]:
    """``239.1.1.1:5004`` as (group, port), refusing what is not a multicast address with an even port."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"multicast must be group:port, got {value!r}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"multicast group {host!r} is not an IP address") from None
    if not address.is_multicast:
        raise ValueError(f"{host} is not a multicast address (224.0.0.0/4)")
    number = int(port)
    if not 1024 <= number <= 65534 or number % 2:
        raise ValueError(f"multicast port must be even, 1024-65534 (RTCP takes port + 1), got {number}")
    return host, number
