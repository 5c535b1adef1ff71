"""Shared pieces of the broadcast tests: a small site with speakers and a BACnet fire panel, ffmpeg decoding."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from broadcast.g711 import Codec, Pcm
from broadcast.sounder import band_fraction
from twin.ports import free_port

GUIDS = ["0" * 21 + c for c in "ABCDEFGHIJ"]


def write_site(folder: Path, speakers: dict[str, list[tuple[str, dict[str, Any]]]], *,
               fire_panel_port: int | None = None, evacuation: dict[str, Any] | None = None,
               extra: dict[str, Any] | None = None, multicast: dict[str, str] | None = None) -> Path:  # fmt: skip
    """site.yaml with one site zone per PA zone, the given speakers (PA zone -> [(id, endpoint)]) and optionally a
    BACnet fire panel with one confirmed-fire input (panel.zone_1.fire, binary-input:1)."""
    zones: list[dict[str, Any]] = []
    pa_zones: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    endpoints: list[dict[str, Any]] = []
    for index, (pa, members) in enumerate(speakers.items()):
        zones.append({"id": f"z-{pa}", "name": {"zh": f"区{index}", "en": f"Zone {index}"}, "zone_type": "waiting",
                      "ifc_guid": GUIDS[index]})  # fmt: skip
        pa_zones.append({"id": pa, "name": {"zh": f"广播区{index}", "en": f"PA zone {index}"}, "zones": [f"z-{pa}"],
                         "speakers": [m[0] for m in members]})  # fmt: skip
        if multicast and pa in multicast:
            pa_zones[-1]["multicast"] = multicast[pa]
        for speaker, endpoint in members:
            devices.append({"id": speaker, "name": {"zh": speaker, "en": speaker}, "kind": "ip_speaker",
                            "zone": f"z-{pa}", "ifc_guid": GUIDS[9]})  # fmt: skip
            endpoints.append({"device": speaker, **endpoint})
    if fire_panel_port is not None:
        devices.append({
            "id": "panel", "name": {"zh": "火灾报警控制器", "en": "Fire panel"}, "kind": "fire_panel",
            "zone": zones[0]["id"], "ifc_guid": GUIDS[8],
            "connection": {"type": "bacnet_ip", "address": f"127.0.0.1:{fire_panel_port}", "device_instance": 1001,
                           "poll_interval_s": 0.5},
            "points": [{"id": "panel.zone_1.fire", "name": {"zh": "1号防火分区火警", "en": "Fire zone 1"},
                        "kind": "binary", "brick": "Fire_Alarm",
                        "address": {"type": "bacnet", "object": "binary-input:1"}}],
        })  # fmt: skip
    site: dict[str, Any] = {
        "site": {"id": "pa-test", "name": {"zh": "广播测试", "en": "PA test"}, "ifc": "none.ifc"},
        "bacnet": {"interface": "127.0.0.1/8", "port": 0},
        "zones": zones, "pa_zones": pa_zones, "devices": devices,
        "broadcast": {"speakers": endpoints, "evacuation": evacuation or {"sounder_s": 8, "voice_min_s": 10},
                      **(extra or {}).get("broadcast", {})},
        **{key: value for key, value in (extra or {}).items() if key != "broadcast"},
    }  # fmt: skip
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def wait_until(predicate: Callable[[], object], within_s: float, what: str) -> None:
    """Poll ``predicate`` every 10 ms until it holds; fail naming ``what`` after ``within_s``."""
    end = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.01)


def udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)


async def ffmpeg_decode(data: bytes, codec: Codec) -> Pcm:
    """G.711 bytes as a speaker received them, decoded by ffmpeg (an independent decoder) to 8 kHz PCM."""
    binary = shutil.which("ffmpeg")
    assert binary is not None, "ffmpeg is needed (make system)"
    process = await asyncio.create_subprocess_exec(
        binary, "-hide_banner", "-loglevel", "error", "-f", "mulaw" if codec == "pcmu" else "alaw", "-ar", "8000",
        "-ac", "1", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "pipe:1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(data), 30)
    assert process.returncode == 0, err.decode()
    return np.frombuffer(out, dtype=np.int16)


def sounder_windows(pcm: Pcm, window_s: float = 0.5) -> list[bool]:
    """Per window: is it the sounder (its energy inside the sounder's band) rather than voice or silence?"""
    size = int(window_s * 8000)
    return [band_fraction(pcm[i : i + size]) > 0.85 for i in range(0, len(pcm) - size + 1, size)]
