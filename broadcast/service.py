"""BroadcastService: starts and stops broadcasts through the arbiter, drives the zone streams and the speakers,
records every broadcast (store) and audits every start and stop; publishes zone states to listeners (/ws)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from broadcast import texts
from broadcast.arbiter import KIND_PRIORITY, Arbiter, ZoneChange
from broadcast.audio import AudioError
from broadcast.g711 import PAYLOAD_TYPE, Pcm
from broadcast.messages import MessageLibrary, UnknownMessage
from broadcast.model import KINDS, SECURITY_ONLY, Broadcast, BroadcastRefused
from broadcast.programs import ClipProgram, EvacuationProgram, Program
from broadcast.recordings import PageAudio
from broadcast.sender import RtpSender, ZoneStream
from broadcast.sip_ua import SipUserAgent
from broadcast.speakers import DriverContext, SpeakerDriver, make_driver
from broadcast.speakers.base import Announcement
from broadcast.tts import SpeechSynthesizer, default_cache_dir
from store.audit import SYSTEM, Actor, AuditLog
from store.broadcasts import BroadcastRepository
from twin.clock import Clock
from twin.site.broadcast_model import multicast_group
from twin.site.model import SiteConfig

log = logging.getLogger(__name__)
Spawn = Callable[[str, Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]
MAX_TEXT = 200  # characters per language: an announcement, and a bound on the speech synthesis it costs
PREPARE_AT_ONCE = 2
PREPARE_QUEUE = 6


class BroadcastService:
    """The one owner of what every PA zone plays. ``start``/``stop`` are the only ways in (API, fire linkage,
    queue calls); each is checked, recorded and audited; listeners get the zone states after every change."""

    def __init__(self, site: SiteConfig, site_dir: Path, data_dir: Path, engine: Any, audit: AuditLog,
                 clock: Clock, spawn: Spawn) -> None:  # fmt: skip
        self.site = site
        self.settings = site.broadcast
        self.clock = clock
        self.spawn = spawn
        self.audit = audit
        self.log = BroadcastRepository(engine)
        self.zones = {pa.id: pa for pa in site.pa_zones}
        space_of = {zone.id: zone.ifc_guid for zone in site.zones}
        self.spaces = {pa.id: [space_of[z] for z in pa.zones if z in space_of] for pa in site.pa_zones}  # floor plans
        self.arbiter = Arbiter(self.zones)
        self.speech = SpeechSynthesizer(default_cache_dir())
        self.messages = MessageLibrary(self.settings, site_dir, self.speech)
        self.recordings = PageAudio(data_dir / "broadcast-audio", self.settings.keep_page_audio_min)
        self.sender = RtpSender(self.settings.source_host, self.settings.rtp_port, self.settings.codec,
                                self.settings.multicast_ttl)  # fmt: skip
        self.sip = SipUserAgent(self.settings.source_host, self.settings.sip_port)
        self.active: dict[int, Broadcast] = {}
        self.drivers: dict[str, list[SpeakerDriver]] = {}
        self.open_zones: set[str] = set()  # zones whose speakers' sessions (SIP calls) are up
        self.destinations: dict[str, dict[str, tuple[str, int]]] = {zone: {} for zone in self.zones}
        self.heard: dict[str, float] = {}  # speaker -> its newest confirmation of anything
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self.bus: Any = None  # the PointBus (set by the runtime): door states for the fire supervision
        self.evacuation_voice: Pcm | None = None
        self.owner: dict[int, int] = {}  # SSRC -> broadcast id of every stream started (random 32-bit, unique)
        self._lock = asyncio.Lock()
        self._dirty: set[int] = set()  # broadcasts whose confirmations are not stored yet
        self._flusher: asyncio.Task[None] | None = None
        # Speech synthesis and audio decoding are child processes of a second's CPU each: two at a time, and a
        # short queue; beyond it a request is refused (503) rather than left to starve the node.
        self._preparing = asyncio.Semaphore(PREPARE_AT_ONCE)
        self._waiting_to_prepare = 0
        self._notify_pending = False
        self._calling: set[str] = set()  # SIP speakers being called now

    # --- life ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.sender.start()
        await self.sip.start()
        self.sender.on_report = self._on_report
        context = DriverContext(
            self.settings.source_host, self.sender.port, PAYLOAD_TYPE[self.settings.codec], self.sip
        )
        endpoints = {endpoint.device: endpoint for endpoint in self.settings.speakers}
        for zone, pa in self.zones.items():
            self.drivers[zone] = [make_driver(endpoints[s], zone, context) for s in pa.speakers if s in endpoints]
            for driver in self.drivers[zone]:
                if driver.transport == "rtp" and driver.address is not None:
                    self.destinations[zone][driver.speaker] = driver.address
            if pa.multicast:
                self.destinations[zone][f"group:{zone}"] = multicast_group(pa.multicast)
        for record in await self.log.unfinished():  # a broadcast cut short by a restart is closed, not resumed
            await self.log.finish(record.id, ended_at=self.clock.time(), ended_by="system",
                                  reason="node restarted", confirmed=record.confirmed)  # fmt: skip
        if self.settings.speakers:  # no speaker, no evacuation to prepare (most test sites)
            self.spawn("broadcast-prepare", self._prepare())
        self.spawn("broadcast-audio-purge", self._purge_loop())
        if any(d.transport == "sip" for drivers in self.drivers.values() for d in drivers):
            self.spawn("broadcast-sip-retry", self._call_unanswered_again())
        if self.settings.background_music:
            self.spawn("broadcast-music", self._start_music())

    async def _prepare(self) -> None:
        """Speak the evacuation message once at start: a fire must not wait for the TTS (latency budget)."""
        try:
            self.evacuation_voice = await self.messages.clip("evacuation")
        except AudioError as exc:
            log.error("evacuation message not ready (%s): evacuation plays the sounder alone", exc)

    async def _start_music(self) -> None:
        try:
            await self.start_broadcast(SYSTEM, "music", list(self.zones), message=self.settings.background_music)
        except BroadcastRefused as exc:
            log.warning("background music not started: %s", exc.message)

    async def stop(self) -> None:
        for broadcast in list(self.active.values()):
            await self._finish(broadcast, "system", "node stopping")
        self.active.clear()
        for zone in list(self.open_zones):
            await self._close_zone(zone)
        await self.sender.stop()
        await self.sip.stop()

    # --- start and stop ------------------------------------------------------------------------------------

    async def start_broadcast(self, caller: Actor, kind: str, zones: list[str] | None, *, message: str | None = None,
                              text: dict[str, str] | None = None, audio: bytes | None = None,
                              audio_name: str | None = None, repeat: int | None = 1,
                              title: dict[str, str] | None = None) -> Broadcast:  # fmt: skip
        """Start a broadcast of ``kind`` to ``zones`` (None: every zone) from a stored ``message``, a ``text``
        ({zh, en}, spoken) or uploaded ``audio``; evacuation plays the sounder/voice cycle until stopped."""
        try:
            return await self._start(caller, kind, zones, message, text, audio, audio_name, repeat, title)
        except BroadcastRefused as exc:
            await self.audit.append(action="broadcast.start", actor=caller.name, role=caller.role,
                                    client=caller.client, target=",".join(zones or [])[:255] or "all",
                                    arguments={"kind": kind, "message": message}, result="refused",
                                    detail=exc.message)  # fmt: skip
            raise

    async def _start(self, caller: Actor, kind: str, zones: list[str] | None, message: str | None,
                     text: dict[str, str] | None, audio: bytes | None, audio_name: str | None, repeat: int | None,
                     title: dict[str, str] | None) -> Broadcast:  # fmt: skip
        if kind not in KINDS:
            raise BroadcastRefused("invalid", f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        chosen = list(dict.fromkeys(zones)) if zones else list(self.zones)
        unknown = [zone for zone in chosen if zone not in self.zones]
        if unknown:
            raise BroadcastRefused(
                "unknown_zone", f"no PA zone {', '.join(unknown)}: known are {', '.join(self.zones)}"
            )
        priority = KIND_PRIORITY[kind]
        if priority >= SECURITY_ONLY and caller.role not in (None, "security"):
            raise BroadcastRefused("forbidden_role", f"only the security desk starts an {kind} broadcast")
        sources = sum(x is not None for x in (message, text, audio))
        if kind != "evacuation" and sources != 1:
            raise BroadcastRefused("invalid", "give exactly one of message, text or audio")
        if self._waiting_to_prepare >= PREPARE_QUEUE and kind != "evacuation":
            raise BroadcastRefused("unavailable", "speech synthesis and audio decoding are busy: retry in a moment")
        self._waiting_to_prepare += 1
        try:
            async with self._preparing:
                pcm, source, audio_file, title = await self._content(kind, message, text, audio, audio_name, title)
        finally:
            self._waiting_to_prepare -= 1
        title = title or texts.both(f"kind.{kind}")
        now = self.clock.time()
        seconds = len(pcm) / 8000 if audio_file and pcm is not None else None
        expires = now + self.settings.keep_page_audio_min * 60 if audio_file else None
        async with self._lock:
            broadcast_id = await self.log.create(kind=kind, priority=int(priority), zones=chosen, source=source,
                                                 title=title, started_at=now, started_by=caller.name,
                                                 role=caller.role, audio_file=audio_file, audio_seconds=seconds,
                                                 audio_expires_at=expires)  # fmt: skip
            broadcast = Broadcast(broadcast_id, kind, priority, tuple(chosen), title, source, now, caller.name,
                                  caller.role, pcm, None if kind in ("evacuation", "music") else repeat)  # fmt: skip
            self.active[broadcast_id] = broadcast
            await self.audit.append(action="broadcast.start", actor=caller.name, role=caller.role,
                                    client=caller.client, target=f"broadcast:{broadcast_id}",
                                    arguments={"kind": kind, "zones": chosen, "source": source,
                                               "priority": priority.name.lower()}, result="ok")  # fmt: skip
            self._apply(self.arbiter.claim(broadcast_id, priority, chosen))
        log.info("broadcast %d (%s) started by %s in %s", broadcast_id, kind, caller.name, ", ".join(chosen))
        return broadcast

    async def _content(self, kind: str, message: str | None, text: dict[str, str] | None, audio: bytes | None,
                       audio_name: str | None, title: dict[str, str] | None,
                       ) -> tuple[Pcm | None, dict[str, Any], str | None, dict[str, str] | None]:  # fmt: skip
        """The audio of a broadcast (None: the evacuation programme), its source and title, and a kept file."""
        pcm: Pcm | None = None
        source: dict[str, Any] = {}
        audio_file: str | None = None
        try:
            if kind == "evacuation":
                source = {"message": "evacuation"}
                if self.evacuation_voice is None:
                    await self._prepare()
            elif message is not None:
                info = self.messages.info(message)
                pcm = await self.messages.clip(message)
                source, title = {"message": message}, title or info.name
            elif text is not None:
                zh, en = (text.get("zh") or "").strip(), (text.get("en") or "").strip()
                if not zh or not en or len(zh) > MAX_TEXT or len(en) > MAX_TEXT:
                    raise BroadcastRefused("invalid", f"text needs zh and en, each 1-{MAX_TEXT} characters")
                pcm = await self.messages.bilingual(zh, en)
                source, title = {"text": {"zh": zh, "en": en}}, title or {"zh": zh[:200], "en": en[:200]}
            elif audio is not None:
                pcm, audio_file = await self.recordings.keep(audio, self.settings.max_page_audio_s, self.clock.time())
                source = {"audio": audio_name or "upload"}
        except UnknownMessage as exc:
            raise BroadcastRefused("unknown_message", str(exc)) from exc
        except AudioError as exc:
            raise BroadcastRefused("bad_audio", str(exc)) from exc
        return pcm, source, audio_file, title

    async def stop_broadcast(self, caller: Actor, broadcast_id: int, reason: str = "stopped") -> Broadcast:
        broadcast = self.active.get(broadcast_id)
        problem: BroadcastRefused | None = None
        if broadcast is None:
            problem = BroadcastRefused("unknown_broadcast", f"no running broadcast {broadcast_id}")
        elif broadcast.priority >= SECURITY_ONLY and caller.role not in (None, "security"):
            problem = BroadcastRefused(
                "forbidden_role", f"a {broadcast.kind} broadcast is stopped by the security desk only"
            )
        if problem is not None or broadcast is None:
            await self.audit.append(action="broadcast.stop", actor=caller.name, role=caller.role,
                                    client=caller.client, target=f"broadcast:{broadcast_id}",
                                    arguments={"reason": reason}, result="refused",
                                    detail=problem.message if problem else None)  # fmt: skip
            raise problem or BroadcastRefused("unknown_broadcast", f"no running broadcast {broadcast_id}")
        async with self._lock:
            self.active.pop(broadcast_id, None)
            self._apply(self.arbiter.release(broadcast_id))
            await self._finish(broadcast, caller.name, reason)
            await self.audit.append(action="broadcast.stop", actor=caller.name, role=caller.role,
                                    client=caller.client, target=f"broadcast:{broadcast_id}",
                                    arguments={"reason": reason, "kind": broadcast.kind}, result="ok")  # fmt: skip
        return broadcast

    async def _finish(self, broadcast: Broadcast, by: str, reason: str) -> None:
        await self.log.finish(broadcast.id, ended_at=self.clock.time(), ended_by=by, reason=reason,
                              confirmed=dict(broadcast.confirmed))  # fmt: skip

    def _finished_in_zone(self, stream: ZoneStream) -> None:
        """A clip ended in one zone: the zone goes to whatever waits; the broadcast ends with its last zone."""
        broadcast_id = self._broadcast_of(stream)
        if broadcast_id is None:
            return
        broadcast = self.active.get(broadcast_id)
        self._apply(self.arbiter.release(broadcast_id, [stream.zone]))
        if broadcast is not None:
            broadcast.done_zones.add(stream.zone)
            if not self.arbiter.claimed_zones(broadcast_id):
                self.active.pop(broadcast_id, None)
                self.spawn(f"broadcast-end:{broadcast_id}", self._ended(broadcast))

    async def _ended(self, broadcast: Broadcast) -> None:
        await self._finish(broadcast, "system", "played to the end")
        await self.audit.append(action="broadcast.end", actor="system", role=None, client=None,
                                target=f"broadcast:{broadcast.id}", arguments={"kind": broadcast.kind,
                                "confirmed": sorted(broadcast.confirmed)}, result="ok")  # fmt: skip

    # --- zones ---------------------------------------------------------------------------------------------

    def _apply(self, changes: list[ZoneChange]) -> None:
        for change in changes:
            if change.before is not None:
                self.sender.halt(change.zone)
            if change.after is None:
                self.sender.halt(change.zone)
                if change.zone in self.open_zones:
                    self.spawn(f"broadcast-close:{change.zone}", self._close_zone(change.zone))
                continue
            broadcast = self.active[change.after]
            program = self._program(broadcast, change.zone)
            stream = ZoneStream(change.zone, program, self.sender.new_ssrc(), self._finished_in_zone, self._on_phase,
                                self.destinations[change.zone])  # fmt: skip
            self.owner[stream.ssrc] = broadcast.id
            self.sender.play(stream, self.clock.time())
            self.spawn(f"broadcast-announce:{change.zone}:{broadcast.id}", self._announce(change.zone, broadcast))
        if changes:
            self._notify()

    def _program(self, broadcast: Broadcast, zone: str) -> Program:
        program = broadcast.programs.get(zone)
        if program is not None:
            if isinstance(program, ClipProgram) and program.repeat is not None:
                program.rewind()  # an interrupted announcement starts again: half a sentence helps nobody
            return program
        if broadcast.kind == "evacuation":
            import numpy as np

            evacuation = self.settings.evacuation
            voice = self.evacuation_voice if self.evacuation_voice is not None else np.zeros(8000, dtype=np.int16)
            program = EvacuationProgram(voice, evacuation.sounder_s, evacuation.voice_min_s, evacuation.voice_max_s)
        else:
            assert broadcast.pcm is not None
            program = ClipProgram(broadcast.pcm, broadcast.repeat, gap_s=1.0 if broadcast.repeat != 1 else 0.0)
        broadcast.programs[zone] = program
        return program

    async def _announce(self, zone: str, broadcast: Broadcast) -> None:
        """Call the zone's SIP speakers that have no call up, then tell the answer-confirmed speakers."""
        self.open_zones.add(zone)
        await self._call_unanswered(zone)
        await self._tell(zone, broadcast, self.drivers.get(zone, []))

    async def _call_unanswered(self, zone: str) -> list[SpeakerDriver]:
        """Call the zone's SIP speakers that have no call up (the zone was silent, or an earlier call went
        unanswered); returns those that answered."""
        answered = []
        for driver in self.drivers.get(zone, []):
            speaker = driver.speaker
            if driver.transport != "sip" or speaker in self.destinations[zone] or speaker in self._calling:
                continue  # not SIP, up already, or a call to it is on its way (another broadcast's announcement)
            self._calling.add(driver.speaker)
            try:
                address = await driver.open()
            finally:
                self._calling.discard(driver.speaker)
            if address is not None and zone in self.open_zones:
                self.destinations[zone][driver.speaker] = address
                answered.append(driver)
            elif address is not None:  # the zone fell quiet while the speaker answered
                await driver.close()
        return answered

    async def _tell(self, zone: str, broadcast: Broadcast, drivers: list[SpeakerDriver]) -> None:
        """The answer-confirmed ``drivers`` hear of ``broadcast``, if it still has the zone; each that takes it
        confirms it."""
        announcement = Announcement(broadcast.id, broadcast.kind, int(broadcast.priority),
                                    broadcast.source.get("message"), None)  # fmt: skip
        for driver in drivers:
            if driver.confirms == "answer" and self.arbiter.winner(zone) == broadcast.id:
                if await driver.announce(announcement):
                    self._confirm(broadcast, driver.speaker)

    async def _call_unanswered_again(self) -> None:
        """A SIP speaker that did not answer (down, rebooting) is called again while its zone plays: background
        music or a long evacuation would otherwise leave it silent until the zone next falls quiet. Only those are
        told of the broadcast (a vendor HTTP speaker would play its stored message again)."""
        while True:
            await self.clock.sleep(self.settings.sip_retry_s)
            for zone in list(self.open_zones):
                winner = self.arbiter.winner(zone)
                broadcast = self.active.get(winner) if winner is not None else None
                if broadcast is None:
                    continue
                try:
                    await self._tell(zone, broadcast, await self._call_unanswered(zone))
                except Exception:  # one zone's failure must not end the retries of the others
                    log.exception("calling the SIP speakers of %s again failed", zone)

    async def _close_zone(self, zone: str) -> None:
        self.open_zones.discard(zone)
        for driver in self.drivers.get(zone, []):
            if driver.transport == "sip":
                self.destinations[zone].pop(driver.speaker, None)
                await driver.close()

    # --- reception -----------------------------------------------------------------------------------------

    def _broadcast_of(self, stream: ZoneStream) -> int | None:
        return self.owner.get(stream.ssrc)

    def _on_phase(self, stream: ZoneStream, phase: str, at: float) -> None:
        broadcast = self.active.get(self._broadcast_of(stream) or -1)
        if broadcast is None:
            return
        if stream.zone not in broadcast.zone_started:
            broadcast.zone_started[stream.zone] = at
        broadcast.phases.setdefault(stream.zone, []).append((phase, at))

    def _on_report(self, stream: ZoneStream, cname: str | None, source: tuple[str, int], _sequence: int) -> None:
        broadcast = self.active.get(self._broadcast_of(stream) or -1)
        speaker = self._speaker_of(stream.zone, cname, source)
        if speaker is None:
            return
        self.heard[speaker] = self.clock.time()
        if broadcast is not None:
            self._confirm(broadcast, speaker)

    def _speaker_of(self, zone: str, cname: str | None, source: tuple[str, int]) -> str | None:
        drivers = self.drivers.get(zone, [])
        if cname is not None and any(d.speaker == cname for d in drivers):
            return cname
        for driver in drivers:  # no CNAME: the report comes from the speaker's RTP port + 1
            if (
                driver.address is not None
                and driver.address[0] == source[0]
                and source[1] in (driver.address[1], driver.address[1] + 1)
            ):
                return driver.speaker
        return None

    def _confirm(self, broadcast: Broadcast, speaker: str) -> None:
        if speaker not in broadcast.confirmed:
            broadcast.confirmed[speaker] = self.clock.time()
            self._dirty.add(broadcast.id)
            if self._flusher is None or self._flusher.done():
                self._flusher = self.spawn("broadcast-confirmations", self._flush_confirmations())
            self._notify()

    async def _flush_confirmations(self) -> None:
        """One writer stores the confirmations as they are now (writes of older snapshots never land last)."""
        while self._dirty:
            broadcast_id = self._dirty.pop()
            broadcast = self.active.get(broadcast_id)
            if broadcast is not None:  # an ended one was stored whole by _finish
                await self.log.set_confirmed(broadcast_id, dict(broadcast.confirmed))

    # --- state ---------------------------------------------------------------------------------------------

    def bus_latest(self, point_id: str) -> Any:
        """The newest update of a point (the door checks of the fire supervision read lock points)."""
        return self.bus.latest.get(point_id) if self.bus is not None else None

    def zone_states(self) -> list[dict[str, Any]]:
        states = []
        now = self.clock.time()
        for zone, pa in self.zones.items():
            winner = self.arbiter.winner(zone)
            broadcast = self.active.get(winner) if winner is not None else None
            stream = self.sender.streams.get(zone)
            speakers = []
            for speaker in pa.speakers:
                driver = next((d for d in self.drivers.get(zone, []) if d.speaker == speaker), None)
                heard = self.heard.get(speaker)
                speakers.append({
                    "id": speaker, "transport": driver.transport if driver else None,
                    "confirmed": broadcast is not None and speaker in broadcast.confirmed,
                    "last_report_at": heard, "error": getattr(driver, "last_error", None) if driver else
                    "no endpoint under broadcast.speakers",
                })  # fmt: skip
            playing = None
            if broadcast is not None:
                playing = {
                    "broadcast": broadcast.id, "kind": broadcast.kind, "priority": int(broadcast.priority),
                    "priority_name": broadcast.priority.name.lower(), "title": broadcast.title,
                    "since": stream.started_at if stream else broadcast.started_at, "by": broadcast.started_by,
                    "phase": stream.phase if stream else None,
                }  # fmt: skip
            states.append({
                "zone": zone, "name": {"zh": pa.name.zh, "en": pa.name.en}, "zones": list(pa.zones),
                "spaces": self.spaces[zone],
                "playing": playing, "waiting": self.arbiter.waiting(zone), "speakers": speakers, "at": now,
            })  # fmt: skip
        return states

    def _notify(self) -> None:
        """Zone states to the listeners, at most once per loop turn (a burst of changes is one frame)."""
        if self._notify_pending or not self.listeners:
            return
        self._notify_pending = True

        def send() -> None:
            self._notify_pending = False
            states = self.zone_states()
            for listener in list(self.listeners):
                try:
                    listener(states)
                except Exception:  # a listener's bug must not stop the broadcast
                    log.exception("broadcast state listener failed")

        asyncio.get_running_loop().call_soon(send)

    async def _purge_loop(self) -> None:
        while True:
            try:
                for record in await self.log.audio_expired(self.clock.time()):
                    if record.audio_file is not None:
                        self.recordings.delete(record.audio_file)
                    await self.log.drop_audio(record.id)
            except Exception:
                log.exception("purging expired page audio failed; retrying in a minute")
            await self.clock.sleep(60.0)
