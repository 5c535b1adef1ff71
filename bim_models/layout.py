"""The floor plans of the demo hall as plain data: storeys, spaces, doors, open boundaries, stairs, counters.

Coordinates are metres in the building's frame: x east (0-60), y north (0-40), the main entrance on the south
side (y = 0). Every space is a rectangle; its edges run along wall centre lines, so neighbouring spaces share
edges exactly and a door centred on a shared edge overlaps both of the spaces it joins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from twin.site.model import ZoneType

Side = Literal["S", "N", "W", "E"]
WindowKind = Literal["integrated", "domain", "cross_province", "pickup"]

BUILDING_X = 60.0
BUILDING_Y = 40.0
SLAB = 0.2  # floor slab thickness: walls stop under the next slab
EXTERIOR_WALL = 0.3
INTERIOR_WALL = 0.2
DOOR_HEIGHT = 2.4

# Exterior glazing (IfcWindow in the outer walls): (sill, head) heights above the storey's floor. The 5 m hall
# storey gets tall windows, the 4.5 m office storey ordinary ones; toilets and the mother-and-baby room get
# high strip windows for privacy; equipment rooms get none (security, solar gain on the racks).
GLAZING_HEIGHTS = {"1F": (0.9, 3.3), "2F": (0.9, 2.7)}
GLAZING_HIGH_STRIP = (1.8, 2.4)
GLAZING_NONE_ZONES = frozenset({ZoneType.SERVER_ROOM, ZoneType.POWER_ROOM, ZoneType.WEAK_CURRENT})
GLAZING_PRIVATE_ZONES = frozenset({ZoneType.TOILET, ZoneType.MOTHER_BABY})
GLAZING_WIDTH = 1.8
GLAZING_PIER = 1.2  # solid wall between two windows of one room
GLAZING_MARGIN = 0.6  # solid wall kept to a corner, an inner wall or a doorway


@dataclass(frozen=True, slots=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def point(self, fx: float, fy: float, inset: float = 0.4) -> tuple[float, float]:
        """The point at fractions (fx, fy) of the rectangle, kept ``inset`` away from its edges (the walls)."""
        x = min(max(self.x0 + fx * (self.x1 - self.x0), self.x0 + inset), self.x1 - inset)
        y = min(max(self.y0 + fy * (self.y1 - self.y0), self.y0 + inset), self.y1 - inset)
        return round(x, 3), round(y, 3)


@dataclass(frozen=True, slots=True)
class Storey:
    code: str
    name_zh: str
    name_en: str
    elevation: float
    height: float  # floor to floor

    @property
    def clear_height(self) -> float:
        return self.height - SLAB


@dataclass(frozen=True, slots=True)
class Space:
    code: str
    rect: Rect
    zone_type: ZoneType
    name_zh: str
    name_en: str

    @property
    def storey(self) -> str:
        return self.code.split("-", 1)[0]

    @property
    def zone_id(self) -> str:
        """The zone id in site.yaml (ids there are lower case)."""
        return self.code.lower()

    @property
    def long_name(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


@dataclass(frozen=True, slots=True)
class Door:
    """A door in the wall between ``space`` and ``other`` (None: the outside, on ``side`` of ``space``)."""

    key: str
    space: str
    other: str | None
    at: float  # centre, as a coordinate along the wall (x for a wall running east-west, y otherwise)
    width: float
    height: float = DOOR_HEIGHT
    side: Side | None = None  # only for doors to the outside or to a shaft
    exit: bool = False
    access_no: int | None = None  # n of security-ctl.door_<n>: an access-controlled door

    @property
    def storey(self) -> str:
        return self.space.split("-", 1)[0]


@dataclass(frozen=True, slots=True)
class Gap:
    """A doorway without a door leaf, e.g. the lift landing opening."""

    key: str
    space: str
    side: Side
    at: float
    width: float
    height: float = DOOR_HEIGHT


@dataclass(frozen=True, slots=True)
class Stair:
    """A dog-leg stair from 1F to 2F: flight 1 runs north from (x, y), the landing, flight 2 runs back south."""

    key: str
    name_zh: str
    name_en: str
    lower_space: str
    upper_space: str
    x: float
    y: float
    flight_width: float = 1.5
    risers_per_flight: int = 14
    going: float = 0.28
    landing_depth: float = 1.6

    @property
    def footprint(self) -> Rect:
        length = self.risers_per_flight * self.going + self.landing_depth
        return Rect(self.x, self.y, self.x + 2 * self.flight_width + 0.2, self.y + length)


@dataclass(frozen=True, slots=True)
class ServiceWindow:
    number: int
    kind: WindowKind
    space: str
    x: float
    y: float
    domain_zh: str = ""
    domain_en: str = ""


@dataclass(frozen=True, slots=True)
class Furniture:
    key: str
    object_type: str
    name_zh: str
    name_en: str
    space: str
    rect: Rect  # footprint
    height: float


STOREYS = (
    Storey("1F", "一层", "Ground floor", 0.0, 5.0),
    Storey("2F", "二层", "First floor", 5.0, 4.5),
)
STOREY_BY_CODE = {storey.code: storey for storey in STOREYS}

Z = ZoneType
SPACES = (
    # 1F: the public hall in the south and centre, service rooms around it, back-of-house in the north.
    Space("1F-24H", Rect(0, 0, 12, 10), Z.SELF_SERVICE_24H, "24小时自助服务区", "24-hour self-service zone"),
    Space("1F-SELF", Rect(12, 0, 24, 10), Z.SELF_SERVICE, "自助服务区", "Self-service zone"),
    Space("1F-ENT", Rect(24, 0, 36, 10), Z.GUIDANCE, "咨询导办区", "Consultation and guidance zone"),
    Space("1F-CONV", Rect(36, 0, 48, 10), Z.CONVENIENCE, "便民服务区", "Convenience zone"),
    Space("1F-WC", Rect(48, 0, 60, 10), Z.TOILET, "一层卫生间", "1F toilets"),
    Space("1F-WAIT", Rect(12, 10, 48, 20), Z.WAITING, "一层等候区", "1F waiting zone"),
    Space("1F-WIN", Rect(12, 20, 48, 28), Z.WINDOW_SERVICE, "一层窗口服务区", "1F window service zone"),
    Space("1F-LOBBY-W", Rect(6, 10, 12, 28), Z.CIRCULATION, "一层西电梯厅", "1F west lift lobby"),
    Space("1F-STAIR-W", Rect(0, 14, 6, 24), Z.CIRCULATION, "西楼梯间（一层）", "West stairwell, 1F"),
    Space("1F-WEAK", Rect(0, 24, 6, 28), Z.WEAK_CURRENT, "一层弱电间", "1F weak-current room"),
    Space("1F-CORR-N", Rect(0, 28, 60, 31), Z.CIRCULATION, "一层北走廊", "1F north corridor"),
    Space("1F-OFF-1", Rect(0, 31, 12, 40), Z.OFFICE, "综合办公室", "General office"),
    Space("1F-OFF-2", Rect(12, 31, 24, 40), Z.OFFICE, "窗口后台办公室", "Window back office"),
    Space("1F-SERVER", Rect(24, 31, 32, 40), Z.SERVER_ROOM, "信息机房", "Server room"),
    Space("1F-POWER", Rect(32, 31, 42, 40), Z.POWER_ROOM, "动力环境机房", "Power and environment room"),
    Space("1F-SEC", Rect(42, 31, 52, 40), Z.OFFICE, "安防消防控制室", "Security and fire control room"),
    Space("1F-OFF-3", Rect(52, 31, 60, 40), Z.OFFICE, "值班室", "Duty office"),
    Space("1F-MB", Rect(48, 10, 54, 16), Z.MOTHER_BABY, "母婴室", "Mother-and-baby room"),
    Space("1F-LOBBY-E", Rect(48, 16, 54, 28), Z.CIRCULATION, "一层东门厅", "1F east lobby"),
    Space("1F-STAIR-E", Rect(54, 10, 60, 20), Z.CIRCULATION, "东楼梯间（一层）", "East stairwell, 1F"),
    Space("1F-CLEAN", Rect(54, 20, 60, 28), Z.OTHER, "保洁间", "Cleaners' room"),
    # 2F: per-domain windows and their waiting zone over the 1F hall, offices around them.
    Space("2F-OFF-A", Rect(0, 0, 12, 10), Z.OFFICE, "部门联络办公室", "Liaison office"),
    Space("2F-OFF-B", Rect(12, 0, 24, 10), Z.OFFICE, "审批办公室", "Approval office"),
    Space("2F-MEET", Rect(24, 0, 36, 10), Z.OFFICE, "会议室", "Meeting room"),
    Space("2F-CONV", Rect(36, 0, 48, 10), Z.CONVENIENCE, "二层便民服务区", "2F convenience zone"),
    Space("2F-WC", Rect(48, 0, 60, 10), Z.TOILET, "二层卫生间", "2F toilets"),
    Space("2F-WAIT", Rect(12, 10, 48, 20), Z.WAITING, "二层等候区", "2F waiting zone"),
    Space("2F-WIN", Rect(12, 20, 48, 28), Z.WINDOW_SERVICE, "二层窗口服务区", "2F window service zone"),
    Space("2F-LOBBY-W", Rect(6, 10, 12, 28), Z.CIRCULATION, "二层西电梯厅", "2F west lift lobby"),
    Space("2F-STAIR-W", Rect(0, 14, 6, 24), Z.CIRCULATION, "西楼梯间（二层）", "West stairwell, 2F"),
    Space("2F-WEAK", Rect(0, 24, 6, 28), Z.WEAK_CURRENT, "二层弱电间", "2F weak-current room"),
    Space("2F-CORR-N", Rect(0, 28, 60, 31), Z.CIRCULATION, "二层北走廊", "2F north corridor"),
    Space("2F-PANTRY", Rect(48, 10, 54, 16), Z.OTHER, "茶水间", "Pantry"),
    Space("2F-LOBBY-E", Rect(48, 16, 54, 28), Z.CIRCULATION, "二层东门厅", "2F east lobby"),
    Space("2F-STAIR-E", Rect(54, 10, 60, 20), Z.CIRCULATION, "东楼梯间（二层）", "East stairwell, 2F"),
    Space("2F-STORE", Rect(54, 20, 60, 28), Z.OTHER, "储藏室", "Storage room"),
    Space("2F-OFF-C", Rect(0, 31, 12, 40), Z.OFFICE, "政务公开办公室", "Public information office"),
    Space("2F-OFF-D", Rect(12, 31, 24, 40), Z.OFFICE, "中心管理办公室", "Centre management office"),
    Space("2F-OFF-E", Rect(24, 31, 36, 40), Z.OFFICE, "督查考评办公室", "Supervision office"),
    Space("2F-ARCH", Rect(36, 31, 48, 40), Z.OTHER, "档案室", "Records room"),
    Space("2F-OFF-F", Rect(48, 31, 60, 40), Z.OFFICE, "培训室", "Training room"),
)
SPACE_BY_CODE = {space.code: space for space in SPACES}

# Zones of one open hall: no wall between them, only a virtual boundary.
OPEN_BOUNDARIES = (
    ("1F-ENT", "1F-SELF"),
    ("1F-ENT", "1F-CONV"),
    ("1F-ENT", "1F-WAIT"),
    ("1F-SELF", "1F-WAIT"),
    ("1F-CONV", "1F-WAIT"),
    ("1F-WAIT", "1F-WIN"),
    ("2F-CONV", "2F-WAIT"),
    ("2F-WAIT", "2F-WIN"),
)


def _floor_doors(f: str) -> tuple[Door, ...]:
    """The doors both storeys have in the same places (lobbies, stairs, corridor, staff doors)."""
    return (
        Door(f"{f}-LOBBY-W>WAIT", f"{f}-LOBBY-W", f"{f}-WAIT", 15, 2.4),
        Door(f"{f}-STAIR-W>LOBBY-W", f"{f}-STAIR-W", f"{f}-LOBBY-W", 19, 1.5),
        Door(f"{f}-LOBBY-W>CORR-N", f"{f}-LOBBY-W", f"{f}-CORR-N", 9, 1.8),
        Door(f"{f}-WIN>CORR-N-1", f"{f}-WIN", f"{f}-CORR-N", 20, 1.0),
        Door(f"{f}-WIN>CORR-N-2", f"{f}-WIN", f"{f}-CORR-N", 40, 1.0),
        Door(f"{f}-LOBBY-E>WAIT", f"{f}-LOBBY-E", f"{f}-WAIT", 18, 1.8),
        Door(f"{f}-LOBBY-E>STAIR-E", f"{f}-LOBBY-E", f"{f}-STAIR-E", 18, 1.5),
        Door(f"{f}-LOBBY-E>CORR-N", f"{f}-LOBBY-E", f"{f}-CORR-N", 51, 1.8),
        Door(f"{f}-WC>CONV", f"{f}-WC", f"{f}-CONV", 5, 1.5),
    )


DOORS = (
    # Exits (Pset_DoorCommon.FireExit): the main entrance, the 24-hour street door, both stairs, the corridor end.
    Door("1F-ENT>OUT", "1F-ENT", None, 30, 3.6, height=3.0, side="S", exit=True),
    Door("1F-24H>OUT", "1F-24H", None, 6, 2.0, side="S", exit=True, access_no=2),
    Door("1F-STAIR-W>OUT", "1F-STAIR-W", None, 22, 1.5, side="W", exit=True),
    Door("1F-STAIR-E>OUT", "1F-STAIR-E", None, 18.5, 1.5, side="E", exit=True),
    Door("1F-CORR-N>OUT", "1F-CORR-N", None, 29.5, 1.5, side="E", exit=True),
    Door("1F-24H>SELF", "1F-24H", "1F-SELF", 5, 1.8, access_no=1),
    *_floor_doors("1F"),
    Door("1F-WEAK>LOBBY-W", "1F-WEAK", "1F-LOBBY-W", 26, 1.0, access_no=6),
    Door("1F-MB>WAIT", "1F-MB", "1F-WAIT", 13, 1.2),
    Door("1F-CLEAN>LOBBY-E", "1F-CLEAN", "1F-LOBBY-E", 24, 1.0),
    Door("1F-OFF-1>CORR-N", "1F-OFF-1", "1F-CORR-N", 6, 1.0),
    Door("1F-OFF-2>CORR-N", "1F-OFF-2", "1F-CORR-N", 18, 1.0),
    Door("1F-SERVER>CORR-N", "1F-SERVER", "1F-CORR-N", 28, 1.2, access_no=3),
    Door("1F-POWER>CORR-N", "1F-POWER", "1F-CORR-N", 37, 1.5, access_no=4),
    Door("1F-SEC>CORR-N", "1F-SEC", "1F-CORR-N", 47, 1.2, access_no=5),
    Door("1F-OFF-3>CORR-N", "1F-OFF-3", "1F-CORR-N", 56, 1.0),
    *_floor_doors("2F"),
    Door("2F-WEAK>LOBBY-W", "2F-WEAK", "2F-LOBBY-W", 26, 1.0),
    Door("2F-OFF-A>LOBBY-W", "2F-OFF-A", "2F-LOBBY-W", 9, 1.0),
    Door("2F-OFF-B>WAIT", "2F-OFF-B", "2F-WAIT", 18, 1.0),
    Door("2F-MEET>WAIT", "2F-MEET", "2F-WAIT", 30, 1.5),
    Door("2F-PANTRY>LOBBY-E", "2F-PANTRY", "2F-LOBBY-E", 51, 1.0),
    Door("2F-STORE>LOBBY-E", "2F-STORE", "2F-LOBBY-E", 24, 1.0),
    Door("2F-OFF-C>CORR-N", "2F-OFF-C", "2F-CORR-N", 6, 1.0),
    Door("2F-OFF-D>CORR-N", "2F-OFF-D", "2F-CORR-N", 18, 1.0),
    Door("2F-OFF-E>CORR-N", "2F-OFF-E", "2F-CORR-N", 30, 1.0),
    Door("2F-ARCH>CORR-N", "2F-ARCH", "2F-CORR-N", 42, 1.0),
    Door("2F-OFF-F>CORR-N", "2F-OFF-F", "2F-CORR-N", 54, 1.0),
)

# The lift shaft (x 0-6, y 10-14) opens to the west lift lobby on both floors.
LIFT_SHAFT = Rect(0, 10, 6, 14)
LIFT_CAR = Rect(3.2, 10.7, 5.6, 13.3)
GAPS = tuple(Gap(f"{f}-LIFT", f"{f}-LOBBY-W", "W", 12, 1.2) for f in ("1F", "2F"))

STAIRS = (
    Stair("STAIR-W", "西楼梯", "West stair", "1F-STAIR-W", "2F-STAIR-W", 0.4, 15.0),
    Stair("STAIR-E", "东楼梯", "East stair", "1F-STAIR-E", "2F-STAIR-E", 56.4, 11.0),
)

# The accessible ramp at the main entrance: 0.3 m over 3.6 m (1:12) from the forecourt up to 1F.
RAMP = Rect(28.0, -3.75, 32.0, -0.15)
RAMP_RISE = 0.3

_DOMAINS = (
    ("市场监管", "Market regulation"),
    ("社保医保", "Social and medical insurance"),
    ("公积金", "Housing provident fund"),
    ("税务", "Taxation"),
    ("不动产登记", "Real estate registration"),
)


def _windows() -> tuple[ServiceWindow, ...]:
    """Windows 1-20 on 1F (integrated, cross-province, pick-up), 21-32 on 2F (per domain)."""
    windows: list[ServiceWindow] = []
    for i in range(20):
        number = i + 1
        kind: WindowKind = "integrated" if number <= 12 else "cross_province" if number <= 16 else "pickup"
        windows.append(ServiceWindow(number, kind, "1F-WIN", round(13.85 + 1.7 * i, 3), 25.0))
    for i in range(12):
        zh, en = _DOMAINS[min(i * len(_DOMAINS) // 12, len(_DOMAINS) - 1)]
        windows.append(ServiceWindow(21 + i, "domain", "2F-WIN", round(14.6 + 2.8 * i, 3), 25.0, zh, en))
    return tuple(windows)


WINDOWS = _windows()
COUNTER_SIZE = (1.5, 0.7, 1.1)


def _furniture() -> tuple[Furniture, ...]:
    items = [
        Furniture("GUIDE-DESK", "GuidanceDesk", "导办台", "Guidance desk", "1F-ENT", Rect(28.5, 5.5, 31.5, 6.5), 1.1),
    ]
    for i in range(6):
        x = 13.5 + 1.6 * i
        items.append(
            Furniture(f"SELF-TERM-{i + 1}", "SelfServiceTerminal", "自助服务终端", "Self-service terminal",
                      "1F-SELF", Rect(x, 0.6, x + 0.6, 1.1), 1.6)
        )  # fmt: skip
    for i in range(2):
        y = 2.0 + 4.0 * i
        items.append(
            Furniture(f"LOCKER-{i + 1}", "PickupLocker", "智能取件柜", "Pick-up lockers", "1F-24H",
                      Rect(0.5, y, 1.1, y + 3.0), 2.0)
        )  # fmt: skip
    for i in range(3):
        x = 4.0 + 2.0 * i
        items.append(
            Furniture(f"24H-TERM-{i + 1}", "SelfServiceTerminal", "24小时自助终端", "24-hour terminal", "1F-24H",
                      Rect(x, 9.0, x + 0.6, 9.5), 1.6)
        )  # fmt: skip
    for i in range(3):
        x = 38.0 + 3.2 * i
        items.append(
            Furniture(f"WRITING-DESK-{i + 1}", "WritingDesk", "填表台", "Form-filling desk", "1F-CONV",
                      Rect(x, 4.0, x + 2.0, 4.8), 0.9)
        )  # fmt: skip
    for floor in ("1F", "2F"):
        for row in range(3):
            for block in range(2):
                x = 16.0 + 16.0 * block
                y = 12.5 + 2.0 * row
                items.append(
                    Furniture(f"{floor}-SEATS-{row + 1}-{block + 1}", "WaitingSeats", "候位座椅", "Waiting seats",
                              f"{floor}-WAIT", Rect(x, y, x + 10.0, y + 0.6), 0.45)
                )  # fmt: skip
    return tuple(items)


FURNITURE = _furniture()
