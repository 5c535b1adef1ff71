"""Offline speech (Mandarin and English) with espeak-ng, cached on disk by voice and text."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from pathlib import Path

from broadcast.audio import AudioError, normalise, to_pcm
from broadcast.g711 import Pcm

VOICES = {"zh": "cmn", "en": "en"}
WORDS_PER_MINUTE = {"zh": 150, "en": 150}
SYNTH_TIMEOUT_S = 30.0
MAX_TEXT = 500  # characters: a announcement, not a book


def default_cache_dir() -> Path:
    """Speech is cached per user, not per data folder: the same texts (the evacuation message) are spoken by every
    node, test and demo, and espeak-ng costs a second of CPU per sentence. HALLTWIN_TTS_CACHE overrides it."""
    override = os.environ.get("HALLTWIN_TTS_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "halltwin" / "tts"


class SpeechSynthesizer:
    """``await speak(text, language)``: 8 kHz PCM of the spoken text; the WAV is kept in ``cache_dir`` by a hash of
    voice, speed and text, and decoded clips are held in memory, so a repeated call costs nothing."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._memory: dict[str, Pcm] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def available() -> bool:
        return shutil.which("espeak-ng") is not None

    async def speak(self, text: str, language: str) -> Pcm:
        text = text.strip()
        if language not in VOICES:
            raise AudioError(f"no voice for language {language!r}: use one of {', '.join(VOICES)}")
        if not text:
            raise AudioError("text to speak is empty")
        if len(text) > MAX_TEXT:
            raise AudioError(f"text to speak is longer than {MAX_TEXT} characters")
        key = hashlib.sha256(f"{VOICES[language]}|{WORDS_PER_MINUTE[language]}|{text}".encode()).hexdigest()[:32]
        if key in self._memory:
            return self._memory[key]
        async with self._locks.setdefault(key, asyncio.Lock()):
            if key not in self._memory:
                wav = self.cache_dir / f"{key}.wav"
                if not wav.exists():
                    await self._synthesize(text, language, wav)
                self._memory[key] = normalise(await to_pcm(wav.read_bytes(), max_seconds=120, what=f"speech {key}"))
        return self._memory[key]

    async def _synthesize(self, text: str, language: str, wav: Path) -> None:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise AudioError("espeak-ng is not installed (Debian package espeak-ng; make system installs it)")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = wav.with_suffix(".partial")
        process = await asyncio.create_subprocess_exec(
            binary, "-v", VOICES[language], "-s", str(WORDS_PER_MINUTE[language]), "-w", str(partial), "--stdin",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(SYNTH_TIMEOUT_S):
                _, err = await process.communicate(text.encode("utf-8"))
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        if process.returncode != 0 or not partial.exists():
            raise AudioError(f"espeak-ng failed ({process.returncode}): {err.decode('utf-8', 'replace').strip()}")
        partial.replace(wav)  # whole files only: a crash mid-synthesis leaves no half clip in the cache
