"""The message library: built-in announcements, the site's stored WAVs and texts, spoken zh then en (cached)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from broadcast import texts
from broadcast.audio import RATE, AudioError, normalise, silence, to_pcm
from broadcast.g711 import Pcm
from broadcast.tts import SpeechSynthesizer
from twin.site.broadcast_model import BroadcastSettings

BUILT_IN = {"evacuation": "emergency", "emergency": "emergency", "closing": "notice", "music": "music"}
PAUSE_BETWEEN_LANGUAGES_S = 0.6
MAX_STORED_S = 600.0


class UnknownMessage(LookupError):
    """No message with this id; the message lists the known ones."""


@dataclass(frozen=True)
class MessageInfo:
    id: str
    name: dict[str, str]
    kind: str  # page, emergency, notice, music
    source: str  # builtin, file, text


class MessageLibrary:
    """``await clip(id)``: the message as 8 kHz PCM. Texts are spoken by the offline TTS, Chinese then English."""

    def __init__(self, settings: BroadcastSettings, site_dir: Path, speech: SpeechSynthesizer) -> None:
        self.settings = settings
        self.site_dir = site_dir
        self.speech = speech
        self._clips: dict[str, Pcm] = {}

    def list(self) -> list[MessageInfo]:
        found = [MessageInfo(key, texts.both(f"message.{key}.name"), kind, "builtin") for key, kind in BUILT_IN.items()]
        for stored in self.settings.messages:
            source = "file" if stored.file is not None else "text"
            found.append(MessageInfo(stored.id, {"zh": stored.name.zh, "en": stored.name.en}, stored.kind, source))
        return found

    def info(self, message_id: str) -> MessageInfo:
        for message in reversed(self.list()):  # a site message of the same id overrides the built-in
            if message.id == message_id:
                return message
        known = ", ".join(message.id for message in self.list())
        raise UnknownMessage(f"no message {message_id!r}: known messages are {known}")

    async def clip(self, message_id: str) -> Pcm:
        if message_id not in self._clips:
            self._clips[message_id] = await self._load(message_id)
        return self._clips[message_id]

    async def _load(self, message_id: str) -> Pcm:
        info = self.info(message_id)
        stored = next((m for m in self.settings.messages if m.id == message_id), None)
        if stored is not None and stored.file is not None:
            path = (self.site_dir / stored.file).resolve()
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise AudioError(f"message {message_id}: cannot read {path}: {exc.strerror}") from exc
            return normalise(await to_pcm(data, max_seconds=MAX_STORED_S, what=f"message {message_id} ({path.name})"))
        if stored is not None and stored.text is not None:
            return await self.bilingual(stored.text.zh, stored.text.en)
        if info.id == "music":
            return background_music()
        return await self.bilingual(
            texts.text(f"message.{info.id}.text", "zh"), texts.text(f"message.{info.id}.text", "en")
        )

    async def bilingual(self, zh: str, en: str) -> Pcm:
        """Chinese, a short pause, English (house rule 11 for the ear)."""
        first = await self.speech.speak(zh, "zh")
        second = await self.speech.speak(en, "en")
        return np.concatenate([first, silence(PAUSE_BETWEEN_LANGUAGES_S), second])


def background_music(seconds: float = 16.0) -> Pcm:
    """A quiet, generated arpeggio (no licensed recording ships with the product): C-major chords, soft attack."""
    notes = [261.63, 329.63, 392.0, 523.25, 392.0, 329.63, 293.66, 349.23, 440.0, 587.33, 440.0, 349.23]
    per_note = seconds / (len(notes) * 2)
    pieces = []
    for frequency in notes * 2:
        t = np.arange(int(per_note * RATE)) / RATE
        envelope = np.minimum(1.0, t / 0.03) * np.exp(-t * 2.5)
        pieces.append(np.sin(2 * np.pi * frequency * t) * envelope * 0.25 * 32767)
    return np.concatenate(pieces).astype(np.int16)
