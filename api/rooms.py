"""Which IfcSpaces a room filter names: a space GlobalId, a site zone (id or name), or the building model's room
name or number (IfcSpace Name / LongName, from the converted model's elements document)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi import Request

from api.routes_model import ModelUnavailable, model_service

GUID = re.compile(r"^[0-9A-Za-z_$]{22}$")


class UnknownRoom(ValueError):
    """No zone or room of the site is named so; the message says what was looked at."""


async def spaces_of(request: Request, room: str) -> list[str]:
    """The GlobalIds of the spaces ``room`` names (raises UnknownRoom). A GlobalId is taken as it is (an order may
    name a space the current model lacks); names compare without case or surrounding blanks."""
    wanted = room.strip()
    if GUID.match(wanted):
        return [wanted]
    key = wanted.casefold()
    site = request.app.state.runtime.site
    zones = [z.ifc_guid for z in site.zones if key in (z.id.casefold(), z.name.zh.casefold(), z.name.en.casefold())]
    if zones:
        return zones
    try:
        spaces = await _model_spaces(request)
    except (ModelUnavailable, OSError, ValueError) as exc:
        raise UnknownRoom(f"no zone named {wanted!r}, and rooms cannot be looked up by name: {exc}") from exc
    found = [guid for guid, names in spaces.items() if key in names]
    if not found:
        raise UnknownRoom(f"no zone or room named {wanted!r} (give a space GlobalId, a zone, or a room's name or "
                          "number as the building model has it)")  # fmt: skip
    return found


async def _model_spaces(request: Request) -> dict[str, set[str]]:
    """Each space's GlobalId -> its names in lower case, read once per converted model."""
    files = await model_service(request.app).files()
    cache: tuple[Path, dict[str, set[str]]] | None = getattr(request.app.state, "room_names", None)
    if cache is None or cache[0] != files.elements_path:
        cache = (files.elements_path, _read_spaces(files.elements_path))
        request.app.state.room_names = cache
    return cache[1]


def _read_spaces(path: Path) -> dict[str, set[str]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    spaces: dict[str, set[str]] = {}
    for space in document.get("spaces", []):
        names = {str(space[key]).strip().casefold() for key in ("name", "long_name") if space.get(key)}
        spaces[str(space["guid"])] = names
    return spaces
