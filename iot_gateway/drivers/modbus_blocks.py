"""Block planning: coalesce a device's Modbus points into as few read requests as its limits allow.

A meter answers one request for 12 adjacent registers about as fast as one for a single register, so the
driver reads runs of points per table in one request: at most ``max_block`` registers (``max_block * 16``
bits, capped at the protocol's 2000, for coils and discrete inputs) and spanning at most ``max_gap`` unused
addresses between two points. The plan is computed once per device, so a poll does no planning at all.
"""

from __future__ import annotations

import struct
from bisect import bisect as _bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import isfinite
from operator import itemgetter
from typing import Any

from iot_gateway.drivers.modbus_codec import PointCodec, shortest_float32
from twin.points import Quality, Value
from twin.site.model import ModbusAddress, ModbusTable, Point

_F32 = struct.Struct("<f")
# Shortest float32 decimals (BlockView.decode_into): the decade of |x| by bisection, then the power of ten that
# gives x 6 digits before the point; every power is exact (10**22 is the last), hence the range 1e-17..1e6.
# Below it 1.0 (0.0 is its own decimal; the rest fails the pack check), above it, NaN and inf: None.
_DECADES = tuple(10.0**e for e in range(-17, 7))
_SCALES: tuple[float | None, ...] = (1.0, *(10.0 ** (5 - e) for e in range(-17, 6)), None)
TABLES: tuple[ModbusTable, ...] = ("holding", "input", "coil", "discrete")
MAX_BITS_PER_READ = 2000  # Modbus application protocol limit for function codes 1 and 2


Decoded = tuple[str, Value, Quality]  # point id, value (None when BAD), quality


class PlanError(ValueError):
    """A point cannot be read under the connection's limits."""


@dataclass(frozen=True, slots=True)
class PlannedPoint:
    """A point inside a block: where its registers (or bit) start relative to the block start."""

    point_id: str
    codec: PointCodec
    index: int


@dataclass(frozen=True, slots=True)
class BlockView:
    """Points unpacked together by one struct from a block's bytes, as sent or with each register's bytes
    swapped; ``members`` pairs each point with its field in the unpacked tuple (bit fields share a field).

    Decoding is planned so that a poll runs little Python per point: the float32 fields get their shortest
    decimals by arithmetic (decode_into), values that need a function (bit, scale) are appended to the
    unpacked fields, and one itemgetter picks every member's value in order."""

    swapped: bool
    unpacker: struct.Struct
    members: tuple[tuple[PlannedPoint, int], ...]
    # The plan, from the members: the float32 fields shown as their shortest decimals (read with f32_get,
    # compared as packed by f32_struct), the (field, function, divisor, offset) of the values that need one
    # (function None: raw / divisor + offset), pick: every member's value from unpacked fields + shortest
    # decimals + function results, f32_checks / other_checks: positions in pick's result of floats that may
    # be NaN/inf (BAD).
    f32_get: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = field(init=False, repr=False)
    f32_struct: struct.Struct = field(init=False, repr=False)
    finishers: tuple[tuple[int, Callable[[Any], Value] | None, int, float], ...] = field(init=False, repr=False)
    pick: Callable[[Sequence[Any]], tuple[Any, ...]] = field(init=False, repr=False)
    f32_checks: tuple[int, ...] = field(init=False, repr=False)
    other_checks: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        fields_count = len(self.unpacker.unpack(bytes(self.unpacker.size)))
        f32_fields = sorted({i for p, i in self.members if p.codec.is_float32 and p.codec.unscaled})
        finishers: list[tuple[int, Callable[[Any], Value] | None, int, float]] = []
        sources: list[int] = []
        f32_checks: list[int] = []
        other_checks: list[int] = []
        for position, (planned, field_index) in enumerate(self.members):
            codec = planned.codec
            if field_index in f32_fields and codec.is_float32 and codec.unscaled:
                sources.append(fields_count + f32_fields.index(field_index))
                f32_checks.append(position)
                continue
            finish = _finisher(codec)
            if finish is None:
                sources.append(field_index)
            else:
                sources.append(fields_count + len(f32_fields) + len(finishers))
                if codec.divisor is not None and codec.bit is None and not codec.is_float32:
                    finishers.append((field_index, None, codec.divisor, codec.value_offset))
                else:
                    finishers.append((field_index, finish, 1, 0.0))
            if codec.is_float:
                other_checks.append(position)
        set_field = object.__setattr__  # frozen: the plan is computed once, here
        set_field(self, "f32_get", _getter(f32_fields) if f32_fields else None)
        set_field(self, "f32_struct", struct.Struct(f"<{len(f32_fields)}f"))
        set_field(self, "finishers", tuple(finishers))
        set_field(self, "pick", _getter(sources))
        set_field(self, "f32_checks", tuple(f32_checks))
        set_field(self, "other_checks", tuple(other_checks))

    def decode_into(self, data: bytes, values: list[Value]) -> int:
        """Append every member's value (None for a NaN/inf float) to ``values``; the number of those None.

        The float32 fields become their shortest decimals (shortest_float32) in a comprehension written out
        here: most meter values (230.1, 49.98, 0) have a decimal of at most 6 digits, and that decimal is
        m / 10**k with m = round(x * 10**k), k putting 6 digits before the point, found with arithmetic where
        shortest_float32 formats and parses text (this runs for every float of every poll that changed). It
        is the same float: the division of two exact floats is correctly rounded, and no two decimals of 6
        digits round to one float32 (their spacing is 8 times its precision), so the one that packs as x does
        is the one. k comes from bisecting the decades: no float32 lies between a power of ten and its double,
        so the decade is exact and m has at most 6 digits. Values that need more digits, |x| >= 1e6 or
        < 1e-17, -0.0, NaN and inf go through shortest_float32."""
        raws = self.unpacker.unpack(data)
        fields: Sequence[Any] = raws
        non_finite = False
        if self.f32_get is not None:
            f32 = self.f32_get(raws)
            decades, scales = _DECADES, _SCALES
            shorts: list[float | None] = []
            append = shorts.append
            for x in f32:  # a loop, not a comprehension: no frame of its own (Python 3.11)
                scale = scales[_bisect(decades, x if x > 0.0 else -x)]
                append(round(x * scale) / scale if scale else None)
            try:
                same = self.f32_struct.pack(*shorts) == self.f32_struct.pack(*f32)
            except (struct.error, OverflowError):  # a None
                same = False
            if not same:
                non_finite = True  # maybe: the NaN/inf checks below run
                pack = _F32.pack
                pairs = zip(shorts, f32, strict=True)
                shorts = [s if s is not None and pack(s) == pack(r) else shortest_float32(r) for s, r in pairs]
            fields = [*raws, *shorts]
        if self.finishers:
            if fields is raws:
                fields = list(raws)
            for field_index, finish, divisor, offset in self.finishers:  # a division inline: no call
                raw = raws[field_index]
                fields.append(raw / divisor + offset if finish is None else finish(raw))  # type: ignore[attr-defined]
        start = len(values)
        values.extend(self.pick(fields))
        bad = 0
        for checks in (self.f32_checks, self.other_checks) if non_finite else (self.other_checks,):
            for position in checks:
                if not isfinite(values[start + position]):  # type: ignore[arg-type]
                    values[start + position] = None
                    bad += 1
        return bad


def _getter(indices: Sequence[int]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function returning the items at ``indices`` as a tuple (itemgetter returns a bare item for one)."""
    if len(indices) == 1:
        index = indices[0]
        return lambda items: (items[index],)
    return itemgetter(*indices)


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers or bits of ``table`` from ``start``, and the points in them."""

    table: ModbusTable
    start: int
    count: int
    points: tuple[PlannedPoint, ...]
    is_bits: bool = field(init=False, repr=False)  # coils or discrete inputs (a field, not a property: per poll)
    # Decoding plan, so that a poll packs the registers once and unpacks each view with one call:
    pack_big: struct.Struct = field(init=False, repr=False)  # registers -> bytes as sent
    pack_swapped: struct.Struct = field(init=False, repr=False)  # registers -> bytes, each register swapped
    views: tuple[BlockView, ...] = field(init=False, repr=False)
    others: tuple[PlannedPoint, ...] = field(init=False, repr=False)  # little word order, overlaps: per point
    ids: tuple[str, ...] = field(init=False, repr=False)  # the point ids in decode_values() order
    only_view: BlockView | None = field(init=False, repr=False)  # the one view when it decodes every point

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_bits", self.table in ("coil", "discrete"))
        object.__setattr__(self, "pack_big", struct.Struct(f">{self.count}H"))
        object.__setattr__(self, "pack_swapped", struct.Struct(f"<{self.count}H"))
        views: list[BlockView] = []
        in_views: set[str] = set()
        if not self.is_bits:
            for swapped in (False, True):
                chosen = [p for p in self.points if p.codec.block_struct is not None and p.codec.swap_bytes == swapped]
                if chosen:
                    view = _view(chosen, self.count, swapped)
                    views.append(view)
                    in_views.update(planned.point_id for planned, _ in view.members)
        object.__setattr__(self, "views", tuple(views))
        others = () if self.is_bits else tuple(p for p in self.points if p.point_id not in in_views)
        object.__setattr__(self, "others", others)
        if self.is_bits:
            ids = tuple(p.point_id for p in self.points)
        else:
            ids = tuple(p.point_id for view in views for p, _ in view.members) + tuple(p.point_id for p in others)
        object.__setattr__(self, "ids", ids)
        only = views[0] if len(views) == 1 and not views[0].swapped and not others else None
        object.__setattr__(self, "only_view", only)

    def describe(self) -> str:
        return f"{self.table} {self.start}..{self.start + self.count - 1}"

    def decode_values(self, registers: Sequence[int]) -> tuple[list[Value], int]:
        """The value of every point of ``ids`` from the block's registers, None for a NaN/inf float (BAD),
        and how many are None. The registers are packed once and each view unpacked with one call."""
        values: list[Value] = []
        only = self.only_view
        if only is not None:  # most devices: one view of big-endian values, nothing decoded on its own
            return values, only.decode_into(self.pack_big.pack(*registers), values)
        bad = 0
        big = self.pack_big.pack(*registers)
        for view in self.views:
            bad += view.decode_into(self.pack_swapped.pack(*registers) if view.swapped else big, values)
        for planned in self.others:
            codec = planned.codec
            value = codec.decode(registers, planned.index)
            if codec.is_float and not isfinite(value):  # type: ignore[arg-type]
                value = None
                bad += 1
            values.append(value)
        return values, bad

    def decode(self, registers: Sequence[int]) -> tuple[list[Decoded], int]:
        """decode_values() as (point id, value, quality) per point: BAD (value None) for NaN/inf floats."""
        values, bad = self.decode_values(registers)
        good, bad_quality = Quality.GOOD, Quality.BAD
        decoded = [
            (point_id, value, bad_quality if value is None else good)
            for point_id, value in zip(self.ids, values, strict=True)
        ]
        return decoded, bad


def _finisher(codec: PointCodec) -> Callable[[Any], Value] | None:
    """The cheapest function from a view's raw number to the value (what ``codec.finish`` gives): none, the
    float32 decimal, a bit, a division or a scale."""
    if codec.plain:
        return None
    if codec.is_float32 and codec.unscaled:
        return shortest_float32
    if codec.bit is not None:
        bit = codec.bit
        return lambda raw: bool((raw >> bit) & 1)
    if codec.is_float32:
        return codec.finish
    offset, divisor, scale = codec.value_offset, codec.divisor, codec.scale
    if divisor is not None:
        return lambda raw: raw / divisor + offset
    return lambda raw: raw * scale + offset


def _view(points: list[PlannedPoint], count: int, swapped: bool) -> BlockView:
    """One struct over the block's bytes with a field per distinct value; a point overlapping a field
    differently is left out (the block decodes it on its own)."""
    fmt = ">"
    position = 0  # registers covered by the format so far
    fields: list[tuple[int, str]] = []
    members: list[tuple[PlannedPoint, int]] = []
    for planned in sorted(points, key=lambda p: p.index):
        unpacker = planned.codec.block_struct
        assert unpacker is not None
        code = unpacker.format[-1]
        if fields and fields[-1] == (planned.index, code):
            members.append((planned, len(fields) - 1))  # bit fields of one register share its field
            continue
        if planned.index < position:
            continue
        if planned.index > position:
            fmt += f"{2 * (planned.index - position)}x"
        fmt += code
        fields.append((planned.index, code))
        members.append((planned, len(fields) - 1))
        position = planned.index + planned.codec.width
    if position < count:
        fmt += f"{2 * (count - position)}x"
    return BlockView(swapped, struct.Struct(fmt), tuple(members))


def span_limit(table: ModbusTable, max_block: int) -> int:
    """Most addresses one read of ``table`` may cover."""
    return min(MAX_BITS_PER_READ, max_block * 16) if table in ("coil", "discrete") else max_block


def plan_blocks(points: Sequence[Point], max_block: int, max_gap: int) -> list[Block]:
    """Blocks covering every point, in table then address order.

    Raises PlanError when a point has no Modbus address or is wider than ``max_block``.
    """
    if max_block < 1 or max_gap < 0:
        raise PlanError(f"max_block must be >= 1 and max_gap >= 0, got {max_block} and {max_gap}")
    by_table: dict[ModbusTable, list[tuple[int, int, Point, PointCodec]]] = {table: [] for table in TABLES}
    for point in points:
        address = point.address
        if not isinstance(address, ModbusAddress):
            raise PlanError(f"point {point.id}: address type {address.type!r} is not modbus")
        codec = PointCodec(address)
        limit = span_limit(address.table, max_block)
        if codec.width > limit:
            raise PlanError(f"point {point.id}: {codec.width} registers do not fit max_block {max_block}")
        by_table[address.table].append((address.offset, codec.width, point, codec))

    blocks: list[Block] = []
    for table in TABLES:
        items = sorted(by_table[table], key=lambda item: (item[0], item[1]))
        limit = span_limit(table, max_block)
        members: list[tuple[int, Point, PointCodec]] = []
        start = end = 0
        for offset, width, point, codec in items:
            new_end = max(end, offset + width)
            if members and offset - end <= max_gap and new_end - start <= limit:
                members.append((offset, point, codec))
                end = new_end
                continue
            if members:
                blocks.append(_block(table, start, end, members))
            members = [(offset, point, codec)]
            start, end = offset, offset + width
        if members:
            blocks.append(_block(table, start, end, members))
    return blocks


def split_block(block: Block) -> list[Block]:
    """Two blocks with the first and the second half of ``block``'s points, each spanning only its own points
    (used when a device refuses an address somewhere in the block)."""
    if len(block.points) < 2:
        raise PlanError(f"{block.describe()}: a block of one point cannot be split")
    ordered = sorted(block.points, key=lambda p: p.index)
    middle = len(ordered) // 2
    halves: list[Block] = []
    for part in (ordered[:middle], ordered[middle:]):
        start = block.start + part[0].index
        end = block.start + max(p.index + p.codec.width for p in part)
        members = tuple(PlannedPoint(p.point_id, p.codec, block.start + p.index - start) for p in part)
        halves.append(Block(block.table, start, end - start, members))
    return halves


def _block(table: ModbusTable, start: int, end: int, members: list[tuple[int, Point, PointCodec]]) -> Block:
    planned = tuple(PlannedPoint(point.id, codec, offset - start) for offset, point, codec in members)
    return Block(table, start, end - start, planned)
