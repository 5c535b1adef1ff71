"""The demo hall's ``broadcast:`` section: every IP speaker on a loopback RTP port (the 24-hour zone's by SIP
paging), background music, the evacuation programme and silent queue calls in the office rooms."""

from __future__ import annotations

from typing import Any

from bim_models.devices import PA_ZONES, speakers_by_pa_zone
from bim_models.yaml_style import Flow, FlowList

RTP_BASE = 16000  # speaker n listens on RTP_BASE + 2n (RTCP: + 1)
SIP_BASE = 15160  # SIP speakers answer pages on SIP_BASE + n
SIP_ZONES = ("pa-24h",)


def broadcast_section() -> dict[str, Any]:
    speakers = speakers_by_pa_zone()
    endpoints: list[Flow] = []
    for pa in PA_ZONES:
        for speaker in speakers[pa.id]:
            n = int(speaker.rsplit("-", 1)[1])
            if pa.id in SIP_ZONES:
                endpoints.append(Flow(type="sip", device=speaker, uri=f"sip:{speaker}@127.0.0.1:{SIP_BASE + n}"))
            else:
                endpoints.append(Flow(type="rtp", device=speaker, host="127.0.0.1", port=RTP_BASE + 2 * n))
    return {
        "background_music": "music",
        "evacuation": Flow(sounder_s=10, voice_min_s=12, stop_on_fire_clear=True),
        "queue_calls": Flow(silent_zones=FlowList(["pa-1f-rooms"])),
        "speakers": endpoints,
    }
