"""/api/broadcast over HTTP: zone states, pages by message, text and uploaded audio (kept and played back for the
security desk only), stop rules, queue calls (spoken and silent), bad input, and the live "broadcast" /ws frames."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import websockets

from api.runtime import HallRuntime
from broadcast.simulator import SpeakerSimulator
from tests.api.auth_helpers import staff_headers
from tests.api.server import running_app
from tests.broadcast.conftest import needs
from tests.broadcast.helpers import wait_until, write_site
from twin.site.loader import load_site


def _wav(seconds: float = 1.0) -> bytes:
    """A 16 kHz WAV of a 440 Hz tone, as a user would upload (resampled to 8 kHz by the node)."""
    t = np.arange(int(16000 * seconds)) / 16000
    samples = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


@needs("espeak-ng")
@needs("ffmpeg")
async def test_broadcast_api_end_to_end(tmp_path: Path) -> None:
    sims = {name: SpeakerSimulator(name) for name in ("spk-1", "spk-2")}
    for sim in sims.values():
        await sim.start()
    rtp = {n: {"type": "rtp", "host": "127.0.0.1", "port": s.rtp_port} for n, s in sims.items()}
    site_path = write_site(tmp_path, {"pa-a": [("spk-1", rtp["spk-1"])], "pa-b": [("spk-2", rtp["spk-2"])]})
    # pa-b calls silently (display only), pa-a speaks the calls.
    raw = site_path.read_text().replace("broadcast:\n", "broadcast:\n  queue_calls: {silent_zones: [pa-b]}\n", 1)
    site_path.write_text(raw)
    runtime = HallRuntime(load_site(site_path, guid_index=None), site_path, tmp_path / "data", poll_devices=False)
    try:
        async with running_app(runtime) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
            facility = await staff_headers(runtime, client, "facility")
            security = await staff_headers(runtime, client, "security")
            admin = await staff_headers(runtime, client, "admin")
            cookie = facility["Authorization"].split()[1]
            async with websockets.connect(f"ws://{base[7:]}/ws", additional_headers={"Authorization":
                                          f"Bearer {cookie}"}) as ws:  # fmt: skip
                state = (await client.get("/api/broadcast", headers=admin)).json()
                assert [z["zone"] for z in state["zones"]] == ["pa-a", "pa-b"]
                assert {"evacuation", "music", "closing"} <= {m["id"] for m in state["messages"]}

                # A page by stored message to pa-a only (manual zone selection).
                body = {"kind": "page", "zones": ["pa-a"], "message": "closing"}
                started = await client.post("/api/broadcast", json=body, headers=facility)
                assert started.status_code == 201, started.text
                page_id = started.json()["id"]
                await wait_until(lambda: sims["spk-1"].playing(), 5, "the page at spk-1")
                assert not sims["spk-2"].playing()
                zones = {z["zone"]: z for z in (await client.get("/api/broadcast", headers=facility)).json()["zones"]}
                assert zones["pa-a"]["playing"]["broadcast"] == page_id and zones["pa-a"]["playing"]["by"] == "facility"
                assert zones["pa-b"]["playing"] is None
                frame = await _frame(ws, lambda f: f["type"] == "broadcast" and f["zones"][0]["playing"])
                assert frame["zones"][0]["playing"]["kind"] == "page"

                # Emergency: security only, and only security stops it.
                emergency = {"kind": "emergency", "message": "emergency"}
                refused = await client.post("/api/broadcast", json=emergency, headers=facility)
                assert refused.status_code == 403 and refused.json()["error"] == "forbidden_role"
                started = await client.post("/api/broadcast", json=emergency, headers=security)
                emergency_id = started.json()["id"]
                stop = await client.post(f"/api/broadcast/{emergency_id}/stop", json={"reason": "x"}, headers=admin)
                assert stop.status_code == 403 and "security desk only" in stop.json()["detail"]
                stop = await client.post(f"/api/broadcast/{emergency_id}/stop", json={}, headers=security)
                assert stop.status_code == 200
                again = await client.post(f"/api/broadcast/{emergency_id}/stop", json={}, headers=security)
                assert again.status_code == 404

                # A page from an uploaded recording (as the browser's MediaRecorder sends it: multipart).
                files = {"audio": ("mic.wav", _wav(), "audio/wav")}
                uploaded = await client.post("/api/broadcast/audio", files=files, data={"zones": "pa-b"},
                                             headers=facility)  # fmt: skip
                assert uploaded.status_code == 201, uploaded.text
                audio_id = uploaded.json()["id"]
                await wait_until(lambda: sims["spk-2"].playing(), 5, "the uploaded page at spk-2")
                nonsense = {"audio": ("x.wav", b"RIFFnonsense", "audio/wav")}
                bad = await client.post("/api/broadcast/audio", files=nonsense, headers=facility)
                assert bad.status_code == 422 and "not audio" in bad.json()["detail"]

                # Queue calls: spoken in pa-a, shown only in the silent pa-b.
                call = await client.post("/api/broadcast/queue-call", json={"ticket": "a023", "window": "5",
                                         "zone": "z-pa-a"}, headers=facility)  # fmt: skip
                assert call.status_code == 200, call.text
                assert call.json()["spoken"] and call.json()["text"]["zh"] == "请 A023 号到 5 号窗口办理"
                silent = await client.post("/api/broadcast/queue-call", json={"ticket": "B7", "window": "12",
                                           "zone": "pa-b"}, headers=facility)  # fmt: skip
                assert silent.json()["spoken"] is False and "silent" in silent.json()["reason"]
                unknown = await client.post("/api/broadcast/queue-call", json={"ticket": "B7", "window": "12",
                                            "zone": "nowhere"}, headers=facility)  # fmt: skip
                assert unknown.status_code == 404

                # The log: security desk; the page audio is played back by security only.
                assert (await client.get("/api/broadcast/recordings", headers=facility)).status_code == 403
                log = (await client.get("/api/broadcast/recordings", headers=security)).json()["recordings"]
                by_id = {r["id"]: r for r in log}
                assert by_id[emergency_id]["ended_by"] == "security" and by_id[page_id]["zones"] == ["pa-a"]
                assert by_id[audio_id]["audio"] and by_id[audio_id]["audio_expires_at"] > by_id[audio_id]["started_at"]
                assert by_id[audio_id]["audio_expires_at"] - by_id[audio_id]["started_at"] == pytest.approx(1800)
                url = by_id[audio_id]["audio_url"]
                assert (await client.get(url, headers=admin)).status_code == 403
                played = await client.get(url, headers=security)
                assert played.status_code == 200 and played.content == _wav()
                assert played.headers["content-type"] == "audio/wav"
                missing = await client.get(f"/api/broadcast/recordings/{page_id}/audio", headers=security)
                assert missing.status_code == 404
                audit = (await client.get("/api/audit?action=broadcast.playback", headers=admin)).json()
                assert audit["entries"][0]["actor"] == "security"
    finally:
        for sim in sims.values():
            await sim.stop()


async def _frame(ws: Any, accept: Any) -> dict[str, Any]:
    while True:
        raw = await ws.recv()
        frame = json.loads(raw)
        if accept(frame):
            return frame
