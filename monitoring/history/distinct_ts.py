"""DistinctTimestamps: gives each sample of a point its own integer timestamp, so two updates in one tick are both kept.

Stores key a point's samples by (point, integer time): SQLite by microsecond, VictoriaMetrics by millisecond
(its dedup keeps one sample per series and millisecond). Two updates of one point in the same tick (a burst of
MQTT messages, a COV notification and a poll read together) would collide and only one would be kept. This
moves such a sample forward by one tick past the point's newest one: a shift far below any poll period that
keeps the updates in the order they were published. Samples older than the point's newest original time (late
data) are not moved here: the caller decides (SQLite probes for a free slot, the spool leaves them as they are).
"""

from __future__ import annotations


class DistinctTimestamps:
    """Per point: ``newest`` assigned tick and ``newest_original`` tick seen. Not thread-safe: one owner."""

    __slots__ = ("_newest",)

    def __init__(self) -> None:
        self._newest: dict[object, tuple[int, int]] = {}  # point -> (newest assigned, newest original)

    @property
    def newest(self) -> dict[object, tuple[int, int]]:
        """The state itself, for a hot loop that handles the common case (a tick past the newest) inline."""
        return self._newest

    def known(self, point: object) -> bool:
        return point in self._newest

    def seed(self, point: object, newest: int) -> None:
        """What a previous run stored last for ``point`` (so a restart does not reuse its tick)."""
        self._newest[point] = (newest, newest)

    def assign(self, point: object, tick: int) -> int | None:
        """The tick to store a sample at, or None for a late sample (older than the point's newest original)."""
        state = self._newest.get(point)
        if state is None or tick > state[0]:
            self._newest[point] = (tick, tick)
            return tick
        newest, newest_original = state
        if tick < newest_original:
            return None
        # Same tick as the previous update (or inside a burst already moved forward): one tick after the newest.
        self._newest[point] = (newest + 1, tick)
        return newest + 1

    def stored_late(self, point: object, tick: int) -> None:
        """A late sample was stored at ``tick``: remember it if it became the newest."""
        state = self._newest.get(point)
        if state is None or tick > state[0]:
            self._newest[point] = (tick, tick if state is None else state[1])
