"""Block planning: coalesce a device's Modbus points into as few read requests as its limits allow.

A meter answers one request for 12 adjacent registers about as fast as one for a single register, so the
driver reads runs of points per table in one request: at most ``max_block`` registers (``max_block * 16``
bits, capped at the protocol's 2000, for coils and discrete inputs) and spanning at most ``max_gap`` unused
addresses between two points. The plan is computed once per device, so a poll does no planning at all.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

from iot_gateway.drivers.modbus_codec import PointCodec, shortest_float32
from twin.points import Quality, Value
from twin.site.model import ModbusAddress, ModbusTable, Point

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
    swapped; ``members`` pairs each point with its field in the unpacked tuple (bit fields share a field)."""

    swapped: bool
    unpacker: struct.Struct
    members: tuple[tuple[PlannedPoint, int], ...]
    # The same, flattened for the poll loop: (point id, field, raw -> value or None for "as is", is a float).
    fields: tuple[tuple[str, int, Callable[[Any], Value] | None, bool], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "fields",
            tuple((p.point_id, i, _finisher(p.codec), p.codec.is_float) for p, i in self.members),
        )


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers or bits of ``table`` from ``start``, and the points in them."""

    table: ModbusTable
    start: int
    count: int
    points: tuple[PlannedPoint, ...]
    # Decoding plan, so that a poll packs the registers once and unpacks each view with one call:
    pack_big: struct.Struct = field(init=False, repr=False)  # registers -> bytes as sent
    pack_swapped: struct.Struct = field(init=False, repr=False)  # registers -> bytes, each register swapped
    views: tuple[BlockView, ...] = field(init=False, repr=False)
    others: tuple[PlannedPoint, ...] = field(init=False, repr=False)  # little word order, overlaps: per point

    def __post_init__(self) -> None:
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

    @property
    def is_bits(self) -> bool:
        return self.table in ("coil", "discrete")

    def describe(self) -> str:
        return f"{self.table} {self.start}..{self.start + self.count - 1}"

    def decode(self, registers: Sequence[int]) -> tuple[list[Decoded], int]:
        """Every point's value from the block's registers, BAD (value None) for NaN/inf floats, and how many
        were BAD. The registers are packed once and each view unpacked with one call."""
        decoded: list[Decoded] = []
        bad = 0
        big = self.pack_big.pack(*registers)
        for view in self.views:
            raws = view.unpacker.unpack(self.pack_swapped.pack(*registers) if view.swapped else big)
            for point_id, field_index, finish, check_finite in view.fields:
                value = raws[field_index] if finish is None else finish(raws[field_index])
                if check_finite and not isfinite(value):  # type: ignore[arg-type]
                    decoded.append((point_id, None, Quality.BAD))
                    bad += 1
                else:
                    decoded.append((point_id, value, Quality.GOOD))
        for planned in self.others:
            codec = planned.codec
            value = codec.decode(registers, planned.index)
            if codec.is_float and not isfinite(value):  # type: ignore[arg-type]
                decoded.append((planned.point_id, None, Quality.BAD))
                bad += 1
            else:
                decoded.append((planned.point_id, value, Quality.GOOD))
        return decoded, bad


def _finisher(codec: PointCodec) -> Callable[[Any], Value] | None:
    """The cheapest function from a view's raw number to the value: none, the float32 decimal, or the full
    finish (bit, scale)."""
    if codec.plain:
        return None
    if codec.is_float32 and codec.unscaled:
        return shortest_float32
    return codec.finish


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
