"""Page audio (browser microphone or uploaded file) kept as received for at least the norm's 30 minutes."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from broadcast.audio import normalise, to_pcm
from broadcast.g711 import Pcm

MAX_UPLOAD_BYTES = 20_000_000


class PageAudio:
    """``keep`` decodes an upload (refusing what is not audio) and stores the original bytes under a random name;
    ``path`` gives the file back for playback; ``delete`` when its keep time ran out (GB 50116 4.8.10)."""

    def __init__(self, folder: Path, keep_minutes: float) -> None:
        self.folder = folder
        self.keep_minutes = keep_minutes

    async def keep(self, data: bytes, max_seconds: float, now: float) -> tuple[Pcm, str]:
        if len(data) > MAX_UPLOAD_BYTES:
            from broadcast.audio import AudioError

            raise AudioError(f"page audio is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB")
        pcm = normalise(await to_pcm(data, max_seconds=max_seconds, what="page audio"))
        name = f"{int(now)}-{secrets.token_hex(6)}.{_extension(data)}"
        await asyncio.to_thread(self._write, name, data)
        return pcm, name

    def _write(self, name: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f"{name}.partial"
        partial.write_bytes(data)
        partial.replace(self.folder / name)

    def path(self, name: str) -> Path | None:
        candidate = (self.folder / name).resolve()
        if candidate.parent != self.folder.resolve() or not candidate.is_file():
            return None
        return candidate

    def delete(self, name: str) -> None:
        found = self.path(name)
        if found is not None:
            found.unlink(missing_ok=True)


def _extension(data: bytes) -> str:
    """The container by its magic bytes (the browser sends WebM/Ogg, files are WAV or MP3)."""
    if data[:4] == b"RIFF":
        return "wav"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return "mp3"
    return "bin"


MEDIA_TYPES = {"wav": "audio/wav", "webm": "audio/webm", "ogg": "audio/ogg", "mp3": "audio/mpeg",
               "bin": "application/octet-stream"}  # fmt: skip
