"""Pure Modbus value codec: registers <-> typed values (word/byte order, scale, offset, bit fields).

Shared by the Modbus TCP driver and the Modbus device simulator so that a value set on the simulator reads
back identically through the driver. Nothing here does I/O; every function is table-tested.

Conventions (those of most meters' register maps):
- A multi-register value is a big-endian byte string split into 16-bit words. ``word_order="little"`` puts the
  least significant word first (often called "word swap"); ``byte_order="little"`` swaps the two bytes inside
  every register ("byte swap"). Both together are fully little-endian.
- The engineering value is ``raw * scale + value_offset``; with scale 1 and offset 0 integers stay integers.
- ``bit`` takes one bit of the (unsigned) raw integer, bit 0 being the least significant; the value is a bool.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twin.points import Value
from twin.site.model import REGISTER_WIDTH, ModbusAddress

# struct codes of the raw value held in the register(s); bool-in-register is read as its 16-bit word.
_STRUCT_CODE = {
    "bool": "H", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "float64": "d",
}  # fmt: skip
_UNSIGNED_CODE = {1: "H", 2: "I", 4: "Q"}
_INT_RANGE = {
    "bool": (0, 0xFFFF), "int16": (-0x8000, 0x7FFF), "uint16": (0, 0xFFFF),
    "int32": (-0x8000_0000, 0x7FFF_FFFF), "uint32": (0, 0xFFFF_FFFF),
}  # fmt: skip
FLOAT_TYPES = frozenset({"float32", "float64"})
_FLOAT32 = struct.Struct(">f")


class EncodeError(ValueError):
    """A value cannot be represented in the point's registers (wrong type, out of range, not finite)."""


@dataclass(frozen=True, slots=True)
class RegisterCodec:
    """Converts between the raw number of one data type/order combination and its 16-bit registers."""

    data_type: str
    word_order: str = "big"
    byte_order: str = "big"
    width: int = field(init=False)
    _words: struct.Struct = field(init=False, repr=False)  # registers -> bytes, in the register byte order
    value_struct: struct.Struct = field(init=False, repr=False)  # the big-endian typed value over those bytes
    unsigned_struct: struct.Struct = field(init=False, repr=False)  # the same bytes as unsigned (bit fields)

    def __post_init__(self) -> None:
        if self.data_type not in _STRUCT_CODE:
            raise ValueError(f"unknown Modbus data type {self.data_type!r}")
        if self.word_order not in ("big", "little") or self.byte_order not in ("big", "little"):
            orders = f"{self.word_order}/{self.byte_order}"
            raise ValueError(f"word/byte order must be 'big' or 'little', got {orders}")
        width = REGISTER_WIDTH[self.data_type]
        object.__setattr__(self, "width", width)
        # Packing the words little-endian is exactly a byte swap inside every register.
        endian = "<" if self.byte_order == "little" else ">"
        object.__setattr__(self, "_words", struct.Struct(endian + "H" * width))
        object.__setattr__(self, "value_struct", struct.Struct(">" + _STRUCT_CODE[self.data_type]))
        object.__setattr__(self, "unsigned_struct", struct.Struct(">" + _UNSIGNED_CODE[width]))

    def _bytes(self, registers: Sequence[int], start: int) -> bytes:
        end = start + self.width
        if end > len(registers) or start < 0:
            have = len(registers)
            raise ValueError(f"{self.data_type} needs {self.width} registers from index {start}, have {have}")
        words = registers[start:end]
        if self.word_order == "little" and self.width > 1:
            words = words[::-1]
        return self._words.pack(*words)

    def decode(self, registers: Sequence[int], start: int = 0) -> int | float:
        """The raw number held in ``registers[start:start + width]`` (a float32 as its shortest decimal)."""
        raw: int | float = self.value_struct.unpack(self._bytes(registers, start))[0]
        if self.data_type == "float32":
            return shortest_float32(raw)
        return raw

    def decode_unsigned(self, registers: Sequence[int], start: int = 0) -> int:
        """The same registers as an unsigned integer, for bit fields."""
        raw: int = self.unsigned_struct.unpack(self._bytes(registers, start))[0]
        return raw

    def encode(self, raw: int | float) -> list[int]:
        """The registers holding ``raw`` (an int for integer types, any real for float types)."""
        try:
            data = self.value_struct.pack(raw)
        except (struct.error, OverflowError) as exc:
            raise EncodeError(f"{raw!r} does not fit {self.data_type}: {exc}") from None
        words = list(self._words.unpack(data))
        if self.word_order == "little":
            words.reverse()
        return words

    def encode_unsigned(self, raw: int) -> list[int]:
        """Registers holding an unsigned integer of the full width (bit-field read-modify-write)."""
        words = list(self._words.unpack(self.unsigned_struct.pack(raw)))
        if self.word_order == "little":
            words.reverse()
        return words


def shortest_float32(value: float, _pack: Any = _FLOAT32.pack, _isfinite: Any = math.isfinite) -> float:
    """The shortest decimal that is the same float32 as ``value``: a meter's 230.1 stays 230.1 for operators
    and for equality checks, rather than becoming the double 230.10000610351562. (Unrolled, with the helpers
    bound as defaults: this runs for every float32 of every poll.)"""
    if not _isfinite(value):
        return value
    bits = _pack(value)
    candidate = float(f"{value:.6g}")
    if _pack(candidate) == bits:
        return candidate
    candidate = float(f"{value:.7g}")
    if _pack(candidate) == bits:
        return candidate
    try:
        candidate = float(f"{value:.8g}")
        if _pack(candidate) == bits:
            return candidate
    except OverflowError:  # rounding up past the largest float32
        pass
    return value


def with_bit(word: int, bit: int, on: bool) -> int:
    """``word`` with one bit set or cleared."""
    return word | (1 << bit) if on else word & ~(1 << bit)


class PointCodec:
    """Engineering value <-> registers (or a coil bit) of one ModbusAddress; built once, used every poll."""

    __slots__ = (
        "address", "bit", "block_struct", "divisor", "is_bit_table", "is_float", "is_float32", "plain",
        "registers", "scale", "swap_bytes", "unscaled", "value_offset",
    )  # fmt: skip

    def __init__(self, address: ModbusAddress) -> None:
        self.address = address
        self.is_bit_table = address.table in ("coil", "discrete")
        self.registers = RegisterCodec(address.data_type, address.word_order, address.byte_order)
        self.bit = address.bit
        self.is_float = address.data_type in FLOAT_TYPES and address.bit is None
        self.scale = address.scale
        self.value_offset = address.value_offset
        # Integers stay integers (counters, multistate codes) unless the site file scales them.
        self.unscaled = address.scale == 1.0 and address.value_offset == 0.0
        # Scales like 0.1 are applied as a division by 10: 2301 / 10 is 230.1, while 2301 * 0.1 is
        # 230.10000000000002.
        inverse = 1.0 / address.scale if address.scale else 0.0
        self.divisor = round(inverse) if inverse >= 2 and abs(inverse - round(inverse)) < 1e-9 else None
        # Block decoding: a value whose words are in big word order (or that is one register) unpacks straight
        # from the block's bytes, packed once per poll (``swap_bytes``: from the byte-swapped copy); a
        # ``plain`` raw number is the value itself, other raw numbers go through finish().
        codec = self.registers
        direct = not self.is_bit_table and (address.word_order == "big" or codec.width == 1)
        unpacker = codec.unsigned_struct if address.bit is not None else codec.value_struct
        self.block_struct: struct.Struct | None = unpacker if direct else None
        self.swap_bytes = address.byte_order == "little"
        self.is_float32 = address.data_type == "float32" and address.bit is None
        self.plain = self.unscaled and address.bit is None and not self.is_float32

    @property
    def width(self) -> int:
        return 1 if self.is_bit_table else self.registers.width

    def decode(self, registers: Sequence[int], start: int = 0) -> Value:
        """The engineering value of the point's registers; NaN/inf floats come back as they are (the caller
        marks them BAD)."""
        if self.bit is not None:
            return bool((self.registers.decode_unsigned(registers, start) >> self.bit) & 1)
        return self.scaled(self.registers.decode(registers, start))

    def finish(self, raw: int | float) -> Value:
        """The engineering value of the raw number ``block_struct`` unpacked (bit, float32 decimal, scale)."""
        if self.bit is not None:
            return bool((raw >> self.bit) & 1)  # type: ignore[operator]
        if self.is_float32:
            raw = shortest_float32(raw)
        return self.scaled(raw)

    def scaled(self, raw: int | float) -> int | float:
        """The engineering value of a raw number."""
        if self.unscaled:
            return raw
        if self.divisor is not None:
            return raw / self.divisor + self.value_offset
        return raw * self.scale + self.value_offset

    def decode_bit(self, bits: Sequence[bool], index: int) -> bool:
        """A coil or discrete input."""
        return bool(bits[index])

    def encode(self, value: Value, current: Sequence[int] | None = None) -> list[int]:
        """The registers to write for ``value``; a bit field needs ``current`` registers (read-modify-write).

        Raises EncodeError naming the problem when the value has the wrong type or does not fit.
        """
        if self.is_bit_table:
            raise EncodeError(f"{self.address.table} {self.address.offset} is a single bit: use encode_bit")
        if self.bit is not None:
            on = _as_bool(value)
            if current is None:
                raise EncodeError("a bit field needs the register's current value")
            word = self.registers.decode_unsigned(current)
            return self.registers.encode_unsigned(with_bit(word, self.bit, on))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EncodeError(f"expected a number for {self.address.data_type}, got {value!r}")
        if self.unscaled:
            raw: float = value
        elif self.divisor is not None:
            raw = (value - self.value_offset) * self.divisor
        else:  # the site model refuses a zero scale
            raw = (value - self.value_offset) / self.scale
        if self.address.data_type in FLOAT_TYPES:
            return self.registers.encode(float(raw))
        if not math.isfinite(raw):
            raise EncodeError(f"{value!r} is not a finite number")
        integer = round(raw)
        low, high = _INT_RANGE[self.address.data_type]
        if not low <= integer <= high:
            kind = self.address.data_type
            raise EncodeError(f"{value!r} (raw {integer}) is outside {kind} [{low}, {high}]")
        return self.registers.encode(integer)

    def encode_bit(self, value: Value) -> bool:
        """The state to write to a coil."""
        return _as_bool(value)


def _as_bool(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise EncodeError(f"expected a bool (or 0/1), got {value!r}")
