"""Any audio file (WAV, browser WebM/Opus, MP3...) to 8 kHz mono 16-bit PCM, decoded by ffmpeg in a child process."""

from __future__ import annotations

import asyncio
import shutil

import numpy as np

from broadcast.g711 import Pcm

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz: one RTP packet
DECODE_TIMEOUT_S = 60.0


class AudioError(ValueError):
    """Audio that cannot be used; the message says why (ffmpeg's own words where it refused)."""


def ffmpeg_path() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise AudioError("ffmpeg is not installed (Debian package ffmpeg; make system installs it)")
    return found


async def to_pcm(data: bytes, *, max_seconds: float, what: str = "audio") -> Pcm:
    """Decode ``data`` (any container ffmpeg reads) to 8 kHz mono PCM; refuses empty, unreadable or too long audio."""
    if not data:
        raise AudioError(f"{what} is empty")
    process = await asyncio.create_subprocess_exec(
        ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-i", "pipe:0", "-t", f"{max_seconds + 1:.3f}",
        "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(RATE), "pipe:1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(DECODE_TIMEOUT_S):
            out, err = await process.communicate(data)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AudioError(f"{what}: decoding took longer than {DECODE_TIMEOUT_S:.0f} s") from None
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        reason = err.decode("utf-8", "replace").strip().splitlines()
        raise AudioError(f"{what} is not audio ffmpeg can read: {reason[-1] if reason else 'no reason given'}")
    pcm = np.frombuffer(out[: len(out) // 2 * 2], dtype=np.int16).copy()
    if len(pcm) == 0:
        raise AudioError(f"{what} holds no audio samples")
    if len(pcm) > max_seconds * RATE:
        raise AudioError(f"{what} lasts more than {max_seconds:g} s")
    return pcm


def silence(seconds: float) -> Pcm:
    return np.zeros(int(round(seconds * RATE)), dtype=np.int16)


def normalise(pcm: Pcm, peak: float = 0.7) -> Pcm:
    """Scale so the loudest sample is ``peak`` of full scale (quiet TTS and uploads play at a useful level)."""
    top = int(np.abs(pcm.astype(np.int32)).max()) if len(pcm) else 0
    if top == 0:
        return pcm
    return (pcm.astype(np.float64) * (peak * 32767 / top)).astype(np.int16)


def seconds(pcm: Pcm) -> float:
    return len(pcm) / RATE
