"""End to end through real protocols: the simulated BACnet fire panel reports fire -> every speaker simulator gets
the evacuation message as RTP (decoded by ffmpeg: not silent, sounder then voice), background music stopped in
those zones, the broadcast recorded and audited; one stopped speaker -> a critical 'linkage' alarm naming it while
the others still play; the evacuation is stopped by the security desk only, and the music resumes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from api.runtime import HallRuntime
from broadcast import g711
from broadcast.model import BroadcastRefused
from broadcast.simulator import SpeakerSimulator
from broadcast.sounder import rms
from iot_gateway.simulators.bacnet_sim import BacnetDeviceSimulator
from store.audit import SYSTEM, PlainActor
from tests.broadcast.helpers import ffmpeg_decode, sounder_windows, udp_port, wait_until, write_site
from twin.site.loader import load_site

pytestmark = pytest.mark.timeout(90)


async def test_fire_panel_to_every_speaker_supervised(tmp_path: Path) -> None:
    sims = {name: SpeakerSimulator(name) for name in ("spk-1", "spk-2", "spk-3")}
    for sim in sims.values():
        await sim.start()
    rtp = {name: {"type": "rtp", "host": "127.0.0.1", "port": sim.rtp_port} for name, sim in sims.items()}
    site_path = write_site(tmp_path, {"pa-a": [("spk-1", rtp["spk-1"]), ("spk-2", rtp["spk-2"])],
                                      "pa-b": [("spk-3", rtp["spk-3"])]}, fire_panel_port=udp_port())  # fmt: skip
    site = load_site(site_path, guid_index=None)
    panel = BacnetDeviceSimulator(site.device("panel"))
    await panel.start()
    runtime = HallRuntime(site, site_path, tmp_path / "data", poll_devices=True)
    await runtime.start()
    try:
        assert runtime.broadcast is not None and runtime.alarms is not None
        service = runtime.broadcast.service
        await wait_until(lambda: service.evacuation_voice is not None, 30, "the evacuation message (TTS)")
        await wait_until(lambda: "panel.zone_1.fire" in runtime.bus.latest, 10, "the fire panel's first value")
        music = await service.start_broadcast(SYSTEM, "music", None, message="music")
        await wait_until(lambda: all(sim.playing() for sim in sims.values()), 5, "background music at every speaker")
        music_ssrc = sims["spk-1"].receptions[-1].ssrc

        await sims["spk-3"].stop()  # a failed speaker
        fire_at = time.time()
        panel.set_value("panel.zone_1.fire", True)
        await wait_until(lambda: sims["spk-1"].receptions[-1].ssrc != music_ssrc, 10, "the evacuation at spk-1")
        first_packet_s = sims["spk-1"].receptions[-1].first_at - fire_at
        evacuation_id = runtime.broadcast.fire.evacuation
        assert evacuation_id is not None
        states = {state["zone"]: state for state in service.zone_states()}
        assert {z: s["playing"]["kind"] for z, s in states.items()} == {"pa-a": "evacuation", "pa-b": "evacuation"}
        assert states["pa-a"]["waiting"] == [music.id]  # the music waits, it does not mix in
        # Music stopped at once at the working speakers: no music packet after the first evacuation packet.
        for name in ("spk-1", "spk-2"):
            evacuation = sims[name].receptions[-1]
            previous = [r for r in sims[name].receptions if r.ssrc == music_ssrc]
            assert previous and previous[-1].last_at <= evacuation.first_at + 0.05

        # Supervision runs 10 s after the fire: spk-3 never confirmed.
        def linkage_alarm() -> object:
            return runtime.alarms.open.get("external:broadcast.speakers") if runtime.alarms else None

        await wait_until(lambda: linkage_alarm() is not None, 20, "the linkage failure alarm")
        alarm = linkage_alarm()
        assert alarm.alarm_class == "linkage" and alarm.priority == "critical"  # type: ignore[attr-defined]
        assert "spk-3" in alarm.message["en"] and "spk-3" in alarm.message["zh"]  # type: ignore[attr-defined]
        assert alarm.device == "spk-3"  # type: ignore[attr-defined]
        failures = alarm.value["failures"]  # type: ignore[attr-defined]
        assert [f["speaker"] for f in failures] == ["spk-3"] and failures[0]["confirmed_after_s"] is None

        # The others still play the evacuation; decoded by ffmpeg it is loud, sounder first (8 s), then voice.
        assert sims["spk-1"].playing() and sims["spk-2"].playing()
        for name in ("spk-1", "spk-2"):
            evacuation = sims[name].receptions[-1]
            received = bytes(evacuation.payload)
            pcm = await ffmpeg_decode(received, "pcmu")
            assert np.array_equal(pcm, g711.decode(received, "pcmu")), "our G.711 decoder disagrees with ffmpeg"
            assert len(pcm) >= 9.5 * 8000 and rms(pcm) > 1000
            windows = sounder_windows(pcm)
            sounder_run = next((i for i, is_sounder in enumerate(windows) if not is_sounder), len(windows)) / 2
            assert 7.5 <= sounder_run <= 8.5, f"{name}: sounder lasted {sounder_run} s, expected 8"
            voice = pcm[int(8.5 * 8000) :]
            assert rms(voice) > 500 and not any(sounder_windows(voice)), f"{name}: no voice after the sounder"

        record = await service.log.get(evacuation_id)
        assert record is not None and record.kind == "evacuation" and record.started_by == "system"
        assert set(record.zones) == {"pa-a", "pa-b"}
        assert set(record.confirmed) == {"spk-1", "spk-2"}
        checks = {check["check"]: check for check in record.supervision or []}
        assert checks["zones"]["ok"] and not checks["speakers"]["ok"]
        starts = await runtime.store.audit.query(action="broadcast.start", target=f"broadcast:{evacuation_id}")
        assert [(e.actor, e.result) for e in starts] == [("system", "ok")]
        failed = await runtime.store.audit.query(action="broadcast.linkage_check", target=f"broadcast:{evacuation_id}")
        assert any(e.result == "failed" and "spk-3" in str(e.arguments) for e in failed)

        # Only the security desk stops it; then the music comes back.
        with pytest.raises(BroadcastRefused) as refused:
            await service.stop_broadcast(PlainActor("fac", "facility", "127.0.0.1"), evacuation_id)
        assert refused.value.code == "forbidden_role"
        await service.stop_broadcast(PlainActor("sec", "security", "127.0.0.1"), evacuation_id, "fire out")
        spk1 = sims["spk-1"]
        await wait_until(lambda: spk1.receptions[-1].ssrc not in (music_ssrc, evacuation.ssrc), 5, "music again")
        assert service.zone_states()[0]["playing"]["kind"] == "music"
        print(f"fire -> first evacuation packet at the speaker: {first_packet_s * 1000:.0f} ms")
    finally:
        await runtime.stop()
        await panel.stop()
        for sim in sims.values():
            await sim.stop()
