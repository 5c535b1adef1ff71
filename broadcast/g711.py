"""G.711 (ITU-T) mu-law and A-law for 16-bit PCM, table-driven with numpy (the stdlib audioop left in 3.13)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Codec = Literal["pcmu", "pcma"]
PAYLOAD_TYPE: dict[Codec, int] = {"pcmu": 0, "pcma": 8}  # RFC 3551 static payload types
CODEC_OF_PAYLOAD: dict[int, Codec] = {pt: codec for codec, pt in PAYLOAD_TYPE.items()}
Pcm = npt.NDArray[np.int16]

_BIAS = 0x84


def _ulaw_decode_one(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = ((((byte & 0x0F) << 3) + _BIAS) << ((byte >> 4) & 0x07)) - _BIAS
    return -magnitude if byte & 0x80 else magnitude


def _alaw_decode_one(byte: int) -> int:
    byte ^= 0x55
    exponent, mantissa = (byte >> 4) & 0x07, byte & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if byte & 0x80 else -magnitude


_MASK: dict[Codec, int] = {"pcmu": 0xFF, "pcma": 0xD5}
_DECODE_ONE = {"pcmu": _ulaw_decode_one, "pcma": _alaw_decode_one}


def _encode_table(codec: Codec) -> npt.NDArray[np.uint8]:
    """Code of every 14-bit input: each input takes the code whose level is nearest, the decision thresholds half
    way between neighbouring levels (G.711's quantiser; the same table as ffmpeg's pcm_tablegen, so every sample
    encodes as ffmpeg encodes it)."""
    mask, decode_one = _MASK[codec], _DECODE_ONE[codec]
    table = np.zeros(16384, dtype=np.uint8)
    j = 1
    table[8192] = mask
    for i in range(127):
        low, high = decode_one(i ^ mask), decode_one((i + 1) ^ mask)
        threshold = (low + high + 4) >> 3  # the mid-point, on the 14-bit scale
        while j < threshold:
            table[8192 - j] = i ^ (mask ^ 0x80)
            table[8192 + j] = i ^ mask
            j += 1
    while j < 8192:
        table[8192 - j] = 127 ^ (mask ^ 0x80)
        table[8192 + j] = 127 ^ mask
        j += 1
    table[0] = table[1]
    return table


# 16 K encode entries per law (index: the sample's top 14 bits), 256 decode entries: every call is one numpy take.
_ENCODE: dict[Codec, npt.NDArray[np.uint8]] = {codec: _encode_table(codec) for codec in ("pcmu", "pcma")}
_DECODE: dict[Codec, Pcm] = {
    "pcmu": np.array([_ulaw_decode_one(b) for b in range(256)], dtype=np.int16),
    "pcma": np.array([_alaw_decode_one(b) for b in range(256)], dtype=np.int16),
}


def encode(pcm: Pcm, codec: Codec) -> bytes:
    """16-bit linear samples to G.711 bytes (one per sample)."""
    index = (pcm.astype(np.int32) + 32768) >> 2
    return _ENCODE[codec][index].tobytes()


def decode(payload: bytes, codec: Codec) -> Pcm:
    """G.711 bytes to 16-bit linear samples."""
    return _DECODE[codec][np.frombuffer(payload, dtype=np.uint8)]
