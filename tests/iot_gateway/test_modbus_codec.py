"""Pure Modbus codec and block planner: known register images, round trips of every type/order, bad values."""

from __future__ import annotations

import itertools
import math
import random
import struct
from typing import Any

import pytest

from iot_gateway.drivers.modbus_blocks import PlanError, plan_blocks
from iot_gateway.drivers.modbus_codec import EncodeError, PointCodec, RegisterCodec, shortest_float32
from twin.site.model import ModbusAddress, Point

ORDERS = list(itertools.product(("big", "little"), ("big", "little")))  # (word_order, byte_order)


def address(**fields: Any) -> ModbusAddress:
    return ModbusAddress.model_validate({"type": "modbus", "table": "holding", "offset": 0, **fields})


def point(point_id: str, **fields: Any) -> Point:
    return Point.model_validate(
        {
            "id": point_id,
            "name": {"zh": point_id, "en": point_id},
            "kind": "analog",
            "brick": "Point",
            "address": {"type": "modbus", **fields},
        }
    )


# Register images computed by hand from the IEEE-754 / two's-complement bytes, independent of the codec.
KNOWN = [
    ("float32", "big", "big", 230.1, [0x4366, 0x199A]),
    ("float32", "little", "big", 230.1, [0x199A, 0x4366]),
    ("float32", "big", "little", 230.1, [0x6643, 0x9A19]),
    ("float32", "little", "little", 230.1, [0x9A19, 0x6643]),
    ("uint32", "big", "big", 0x12345678, [0x1234, 0x5678]),
    ("uint32", "little", "big", 0x12345678, [0x5678, 0x1234]),
    ("uint32", "big", "little", 0x12345678, [0x3412, 0x7856]),
    ("uint32", "little", "little", 0x12345678, [0x7856, 0x3412]),
    ("int32", "big", "big", -2, [0xFFFF, 0xFFFE]),
    ("int32", "little", "big", -2, [0xFFFE, 0xFFFF]),
    ("int16", "big", "big", -2, [0xFFFE]),
    ("int16", "big", "little", -2, [0xFEFF]),
    ("uint16", "big", "big", 0xABCD, [0xABCD]),
    ("uint16", "little", "little", 0xABCD, [0xCDAB]),  # word order means nothing for one register
    ("float64", "big", "big", 1.0, [0x3FF0, 0, 0, 0]),
    ("float64", "little", "big", 1.0, [0, 0, 0, 0x3FF0]),
    ("float64", "big", "little", -2.0, [0x00C0, 0, 0, 0]),
    ("float64", "little", "little", -2.0, [0, 0, 0, 0x00C0]),
]


@pytest.mark.parametrize(("data_type", "word", "byte", "value", "registers"), KNOWN)
def test_known_register_images(data_type: str, word: str, byte: str, value: float, registers: list[int]) -> None:
    codec = RegisterCodec(data_type, word, byte)
    assert codec.encode(value) == registers
    assert codec.decode(registers) == value
    # A value inside a longer block decodes from its own index.
    assert codec.decode([7, 7, *registers, 7], 2) == value


SAMPLES: dict[str, list[float]] = {
    "int16": [-0x8000, -1, 0, 1, 0x7FFF],
    "uint16": [0, 1, 0x8000, 0xFFFF],
    "int32": [-0x8000_0000, -70_000, -1, 0, 65_536, 0x7FFF_FFFF],
    "uint32": [0, 1, 65_535, 65_536, 0xFFFF_FFFF],
    "float32": [0.0, -0.5, 230.1, 1e-7, -3.4028235e38, 16_777_216.0],  # float32 decodes to its shortest decimal
    "float64": [0.0, -0.1, 230.1, 1e300, -5e-324, math.pi],
}


@pytest.mark.parametrize(("word", "byte"), ORDERS)
@pytest.mark.parametrize("data_type", list(SAMPLES))
def test_round_trip_every_type_and_order(data_type: str, word: str, byte: str) -> None:
    codec = RegisterCodec(data_type, word, byte)
    for value in SAMPLES[data_type]:
        registers = codec.encode(value)
        assert len(registers) == codec.width
        assert all(0 <= r <= 0xFFFF for r in registers)
        assert codec.decode(registers) == value, (data_type, word, byte, value)
        assert codec.encode(codec.decode(registers)) == registers


@pytest.mark.parametrize(("word", "byte"), ORDERS)
def test_orders_differ_for_multi_register_values(word: str, byte: str) -> None:
    big = RegisterCodec("uint32").encode(0x01020304)
    other = RegisterCodec("uint32", word, byte).encode(0x01020304)
    assert (other == big) == (word == "big" and byte == "big")


def test_float_specials_survive() -> None:
    for data_type in ("float32", "float64"):
        codec = RegisterCodec(data_type, "little", "little")
        assert math.isnan(codec.decode(codec.encode(math.nan)))
        assert codec.decode(codec.encode(-math.inf)) == -math.inf


def test_shortest_float32() -> None:
    assert shortest_float32(230.10000610351562) == 230.1
    assert shortest_float32(0.10000000149011612) == 0.1
    assert shortest_float32(3.4028234663852886e38) == 3.4028235e38  # the largest float32 needs 8 digits
    assert shortest_float32(16_777_217.0) == 16_777_217.0  # not a float32: no shorter decimal packs the same
    assert math.isnan(shortest_float32(math.nan))


def test_decode_needs_enough_registers() -> None:
    with pytest.raises(ValueError, match="float64 needs 4 registers from index 1, have 3"):
        RegisterCodec("float64").decode([0, 0, 0], 1)


@pytest.mark.parametrize(
    ("fields", "registers", "value"),
    [
        ({"data_type": "int16", "scale": 0.1}, [235], 23.5),
        ({"data_type": "int16", "scale": 0.1}, [0xFF85], -12.3),
        ({"data_type": "uint32", "scale": 0.1}, [0x0001, 0xE240], 12345.6),
        ({"data_type": "uint16", "scale": 0.1, "value_offset": -40.0}, [500], 10.0),
        ({"data_type": "uint16", "scale": 2.5, "value_offset": 1.0}, [4], 11.0),
        ({"data_type": "float32", "scale": 1000.0}, [0x3F80, 0], 1000.0),
        ({"data_type": "uint16"}, [3], 3),
        ({"data_type": "uint16", "bit": 0}, [0b101], True),
        ({"data_type": "uint16", "bit": 1}, [0b101], False),
        ({"data_type": "bool", "bit": 15}, [0x8000], True),
        ({"data_type": "int16", "bit": 15}, [0x8000], True),
        ({"data_type": "uint32", "bit": 17}, [0x0002, 0x0000], True),
        ({"data_type": "uint32", "bit": 17, "word_order": "little"}, [0x0000, 0x0002], True),
        ({"data_type": "int32", "bit": 3, "byte_order": "little"}, [0, 0x0800], True),
    ],
)
def test_point_values(fields: dict[str, Any], registers: list[int], value: Any) -> None:
    codec = PointCodec(address(**fields))
    decoded = codec.decode(registers)
    assert decoded == pytest.approx(value) and type(decoded) is type(value)
    if "bit" not in fields:
        assert codec.encode(value) == registers


def test_unscaled_integers_stay_integers() -> None:
    assert isinstance(PointCodec(address(data_type="uint32")).decode([1, 2]), int)
    assert isinstance(PointCodec(address(data_type="uint16", scale=0.5)).decode([3]), float)


def test_bit_field_encode_is_read_modify_write() -> None:
    codec = PointCodec(address(data_type="uint16", bit=1))
    assert codec.encode(True, [0b101]) == [0b111]
    assert codec.encode(False, [0b111]) == [0b101]
    assert PointCodec(address(data_type="uint16", bit=0)).encode(0, [0xFFFF]) == [0xFFFE]
    wide = PointCodec(address(data_type="uint32", bit=16, word_order="little"))
    assert wide.encode(True, [0x1234, 0x0000]) == [0x1234, 0x0001]
    with pytest.raises(EncodeError, match="current value"):
        codec.encode(True)


def test_site_model_rejects_a_zero_scale() -> None:
    # A zero scale could never be inverted for a write, so the site file refuses it before any codec sees it.
    with pytest.raises(ValueError, match="scale cannot be 0"):
        address(data_type="uint16", scale=0.0)


@pytest.mark.parametrize(
    ("fields", "value", "message"),
    [
        ({"data_type": "uint16"}, 70_000, r"outside uint16 \[0, 65535\]"),
        ({"data_type": "uint16"}, -1, "outside uint16"),
        ({"data_type": "int16", "scale": 0.1}, 3276.8, r"raw 32768\) is outside int16"),
        ({"data_type": "int32"}, math.nan, "not a finite number"),
        ({"data_type": "uint16"}, "12", "expected a number"),
        ({"data_type": "uint16"}, True, "expected a number"),
        ({"data_type": "uint16"}, None, "expected a number"),
        ({"data_type": "float32"}, 1e40, "does not fit float32"),
    ],
)
def test_encode_rejects_bad_values(fields: dict[str, Any], value: Any, message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        PointCodec(address(**fields)).encode(value)


def test_coil_values() -> None:
    codec = PointCodec(address(table="coil", data_type="bool"))
    assert codec.width == 1 and codec.is_bit_table
    assert codec.encode_bit(True) is True and codec.encode_bit(0) is False
    with pytest.raises(EncodeError, match="expected a bool"):
        codec.encode_bit(2)
    with pytest.raises(EncodeError, match="single bit"):
        codec.encode(True)
    bit_field = PointCodec(address(data_type="uint16", bit=2))
    with pytest.raises(EncodeError, match="expected a bool"):
        bit_field.encode("on", [0])


# --- block planning ----------------------------------------------------------------------------------------


def test_adjacent_points_make_one_block() -> None:
    points = [point(f"m.p{i}", table="holding", offset=2 * i, data_type="float32") for i in range(6)]
    [block] = plan_blocks(points, max_block=125, max_gap=8)
    assert (block.table, block.start, block.count) == ("holding", 0, 12)
    assert [p.index for p in block.points] == [0, 2, 4, 6, 8, 10]


def test_gaps_up_to_max_gap_are_spanned() -> None:
    points = [point("m.a", table="input", offset=10), point("m.b", table="input", offset=19)]
    assert [(b.start, b.count) for b in plan_blocks(points, 125, max_gap=8)] == [(10, 10)]
    assert [(b.start, b.count) for b in plan_blocks(points, 125, max_gap=7)] == [(10, 1), (19, 1)]


def test_blocks_respect_max_block() -> None:
    points = [point(f"m.p{i}", table="holding", offset=2 * i, data_type="float32") for i in range(70)]
    blocks = plan_blocks(points, max_block=125, max_gap=0)
    assert [(b.start, b.count) for b in blocks] == [(0, 124), (124, 16)]
    assert sum(len(b.points) for b in blocks) == 70
    small = plan_blocks(points[:3], max_block=4, max_gap=8)
    assert [(b.start, b.count) for b in small] == [(0, 4), (4, 2)]


def test_tables_are_planned_apart_and_bit_fields_share_a_register() -> None:
    points = [
        point("m.c", table="coil", offset=1, data_type="bool"),
        point("m.s0", table="holding", offset=5, data_type="uint16", bit=0),
        point("m.s1", table="holding", offset=5, data_type="uint16", bit=1),
        point("m.d", table="discrete", offset=0, data_type="bool"),
        point("m.i", table="input", offset=0),
        point("m.c2", table="coil", offset=40, data_type="bool"),
    ]
    blocks = plan_blocks(points, max_block=125, max_gap=8)
    assert [(b.table, b.start, b.count) for b in blocks] == [
        ("holding", 5, 1), ("input", 0, 1), ("coil", 1, 1), ("coil", 40, 1), ("discrete", 0, 1),
    ]  # fmt: skip
    assert [p.point_id for p in blocks[0].points] == ["m.s0", "m.s1"]


def test_overlapping_wide_points_extend_the_block_end() -> None:
    points = [
        point("m.wide", table="holding", offset=0, data_type="float64"),
        point("m.low", table="holding", offset=1, data_type="uint16"),
    ]
    [block] = plan_blocks(points, 125, 0)
    assert (block.start, block.count) == (0, 4)


def test_block_decode_matches_point_by_point_decoding() -> None:
    """The block's one-pack, one-unpack-per-view path gives exactly what each point's own decode gives."""
    points = [
        point("m.f32", table="holding", offset=0, data_type="float32"),
        point("m.f32_swapped", table="holding", offset=2, data_type="float32", byte_order="little"),
        point("m.f32_words", table="holding", offset=4, data_type="float32", word_order="little"),
        point("m.f64", table="holding", offset=6, data_type="float64", scale=0.5),
        point("m.u32", table="holding", offset=10, data_type="uint32", scale=0.1, value_offset=-3.0),
        point("m.s0", table="holding", offset=12, data_type="uint16", bit=0),
        point("m.s3", table="holding", offset=12, data_type="uint16", bit=3),
        point("m.i16", table="holding", offset=13, data_type="int16"),
        point("m.overlap", table="holding", offset=7, data_type="uint16"),  # inside the float64
        point("m.i32", table="holding", offset=16, data_type="int32", byte_order="little", word_order="little"),
        point("m.nan", table="holding", offset=18, data_type="float32"),
    ]
    [block] = plan_blocks(points, max_block=125, max_gap=8)
    assert {p.point_id for p in block.others} == {"m.f32_words", "m.overlap", "m.i32"}
    assert sorted(planned.point_id for view in block.views for planned, _ in view.members) == sorted(
        ["m.f32", "m.f32_swapped", "m.f64", "m.u32", "m.s0", "m.s3", "m.i16", "m.nan"]
    )
    registers = [(7919 * i + 104729) % 65536 for i in range(block.count)]
    registers[18:20] = [0x7FC0, 0x0000]  # a float32 NaN
    decoded, bad = block.decode(registers)
    assert bad == 1 and len(decoded) == len(points)
    for point_id, value, quality in decoded:
        planned = next(p for p in block.points if p.point_id == point_id)
        expected = planned.codec.decode(registers, planned.index)
        if point_id == "m.nan":
            assert math.isnan(expected) and value is None and quality == "BAD"  # type: ignore[arg-type]
        else:
            assert value == expected and type(value) is type(expected) and quality == "GOOD", point_id


def test_block_float32_decimals_are_those_of_shortest_float32() -> None:
    """A block finds most float32 decimals by arithmetic, not shortest_float32's formatting: the same float (and
    sign of zero) for decimals of every length and magnitude, their float32 neighbours, values next to every
    power of ten, zeros, subnormals, the extremes, NaN/inf (BAD) and random bit patterns."""
    points = [point(f"m.f{i}", table="holding", offset=2 * i, data_type="float32") for i in range(4)]
    [block] = plan_blocks(points, max_block=125, max_gap=0)
    rng = random.Random(20261206)

    def f32(bits: int) -> float:
        value: float = struct.unpack(">f", struct.pack(">I", bits & 0xFFFFFFFF))[0]
        return value

    def bits_of(value: float) -> int:
        bits: int = struct.unpack(">I", struct.pack(">f", value))[0]
        return bits

    values = [0.0, -0.0, math.inf, -math.inf, math.nan, f32(1), f32(0x7F7FFFFF), -f32(0x7F7FFFFF), 1e-38]
    for exponent in range(-45, 39):  # around each power of ten a float32 holds
        if 1e-45 <= 10.0**exponent <= 3e38:
            center = bits_of(10.0**exponent)
            values += [f32(center + step) for step in range(-40, 41)]
    for _ in range(3000):  # short decimals (230.1, 49.98) of all magnitudes, and the float32s next to them
        decimal = float(f"{rng.randrange(1, 10 ** rng.randrange(1, 9))}e{rng.randrange(-45, 31)}")
        center = bits_of(decimal) if decimal < 3e38 else 0
        values += [f32(center), f32(center + 1), f32(center - 1), -f32(center)]
    values += [f32(rng.getrandbits(32)) for _ in range(3000)]
    values += [0.0] * (-len(values) % 4)
    for start in range(0, len(values), 4):
        chunk = values[start : start + 4]
        registers = [word for value in chunk for word in struct.unpack(">2H", struct.pack(">f", value))]
        decoded, _ = block.decode_values(registers)
        for value, got in zip(chunk, decoded, strict=True):
            want = shortest_float32(value)
            if math.isfinite(want):
                assert got == want and math.copysign(1, got) == math.copysign(1, want), (value, got, want)
            else:
                assert got is None, value


def test_plan_errors_name_the_point() -> None:
    with pytest.raises(PlanError, match="point m.big: 4 registers do not fit max_block 2"):
        plan_blocks([point("m.big", table="holding", offset=0, data_type="float64")], max_block=2, max_gap=0)
    bacnet = Point.model_validate(
        {
            "id": "m.b",
            "name": {"zh": "b", "en": "b"},
            "kind": "analog",
            "brick": "Point",
            "address": {"type": "bacnet", "object": "analog-input:1"},
        }
    )
    with pytest.raises(PlanError, match="point m.b: address type 'bacnet' is not modbus"):
        plan_blocks([bacnet], 125, 8)
