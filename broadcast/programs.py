"""What a zone plays, as a source of 20 ms frames: a clip (once or looped) or the evacuation cycle."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from broadcast.audio import FRAME_SAMPLES, RATE, silence
from broadcast.g711 import Pcm
from broadcast.sounder import sounder


class Program(Protocol):
    """A frame source. ``next_frame`` gives 160 samples, or None once it has ended; ``phase`` names the part
    playing now (the evacuation cycle's "sounder" or "voice"; "audio" otherwise)."""

    @property
    def phase(self) -> str: ...

    def next_frame(self) -> Pcm | None: ...


def _frames(pcm: Pcm) -> Pcm:
    """``pcm`` padded with silence to whole frames."""
    short = -len(pcm) % FRAME_SAMPLES
    return np.concatenate([pcm, np.zeros(short, dtype=np.int16)]) if short else pcm


class ClipProgram:
    """A clip played ``repeat`` times (None: loop until stopped) with ``gap_s`` of silence between plays."""

    phase = "audio"

    def __init__(self, pcm: Pcm, repeat: int | None = 1, gap_s: float = 0.0) -> None:
        self.pcm = _frames(np.concatenate([pcm, silence(gap_s)]) if gap_s else pcm)
        self.repeat = repeat
        self.position = 0
        self.plays = 0

    def next_frame(self) -> Pcm | None:
        if self.position >= len(self.pcm):
            self.plays += 1
            if self.repeat is not None and self.plays >= self.repeat:
                return None
            self.position = 0
        frame = self.pcm[self.position : self.position + FRAME_SAMPLES]
        self.position += FRAME_SAMPLES
        return frame

    def rewind(self) -> None:
        self.position = 0
        self.plays = 0


def voice_segment(voice: Pcm, min_s: float, max_s: float, gap_s: float = 1.0) -> Pcm:
    """The voice part of one evacuation cycle: the message repeated (with gaps) until it lasts at least ``min_s``,
    cut at ``max_s`` (GB 50116 4.8.9: one voice message lasts 10-30 s)."""
    if len(voice) == 0:
        raise ValueError("the evacuation voice message is empty")
    pieces: list[Pcm] = [voice]
    while sum(len(p) for p in pieces) < min_s * RATE:
        pieces += [silence(gap_s), voice]
    joined = np.concatenate(pieces)[: int(max_s * RATE)]
    return _frames(joined)


class EvacuationProgram:
    """Sounder for ``sounder_s``, then the voice segment, again and again until stopped (GB 50116 4.8.6)."""

    def __init__(self, voice: Pcm, sounder_s: float, voice_min_s: float, voice_max_s: float) -> None:
        self.parts: list[tuple[str, Pcm]] = [
            ("sounder", _frames(sounder(sounder_s))),
            ("voice", voice_segment(voice, voice_min_s, voice_max_s)),
        ]
        self.index = 0
        self.position = 0

    @property
    def phase(self) -> str:
        return self.parts[self.index][0]

    def part_seconds(self, name: str) -> float:
        return next(len(pcm) for part, pcm in self.parts if part == name) / RATE

    def next_frame(self) -> Pcm:
        pcm = self.parts[self.index][1]
        frame = pcm[self.position : self.position + FRAME_SAMPLES]
        self.position += FRAME_SAMPLES
        if self.position >= len(pcm):  # move on now, so ``phase`` names the part of the next frame
            self.index = (self.index + 1) % len(self.parts)
            self.position = 0
        return frame

    def rewind(self) -> None:
        self.index = 0
        self.position = 0
