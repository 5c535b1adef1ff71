"""The evacuation sounder: a two-tone warble (800 / 970 Hz, 4 changes a second), generated as 8 kHz PCM."""

from __future__ import annotations

import numpy as np

from broadcast.g711 import Pcm

RATE = 8000
TONES_HZ = (800.0, 970.0)
TONE_S = 0.25
LEVEL = 0.5  # of full scale: loud but clear of G.711 clipping
# Band that holds the sounder's energy: tests and supervision tell sounder from voice by it.
BAND_HZ = (740.0, 1030.0)


def sounder(seconds: float) -> Pcm:
    """``seconds`` of the warble, phase-continuous across tone changes (no clicks)."""
    samples = int(round(seconds * RATE))
    per_tone = int(TONE_S * RATE)
    index = np.arange(samples)
    frequency = np.where((index // per_tone) % 2 == 0, TONES_HZ[0], TONES_HZ[1])
    phase = 2 * np.pi * np.cumsum(frequency) / RATE
    return (np.sin(phase) * LEVEL * 32767).astype(np.int16)


def band_fraction(pcm: Pcm, band: tuple[float, float] = BAND_HZ) -> float:
    """The share of ``pcm``'s energy inside ``band`` (0 for silence)."""
    if len(pcm) == 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm)))) ** 2
    total = float(spectrum.sum())
    if total <= 0:
        return 0.0
    frequencies = np.fft.rfftfreq(len(pcm), 1 / RATE)
    inside = (frequencies >= band[0]) & (frequencies <= band[1])
    return float(spectrum[inside].sum()) / total


def rms(pcm: Pcm) -> float:
    """Root-mean-square level in 16-bit units."""
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if len(pcm) else 0.0
