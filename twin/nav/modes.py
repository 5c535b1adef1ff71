"""The route modes, apart from their costs so that the command line can offer them without loading the planner."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    WALK = "walk"
    ACCESSIBLE = "accessible"
    EVACUATION = "evacuation"
