"""Where alarms are: each IFC element's site zone, and the site zones (hence IfcSpaces) each IfcZone groups."""

from __future__ import annotations

import logging
from pathlib import Path

from iot_gateway.simulators.hall import HallLayout, read_layout
from twin.site.model import SiteConfig

log = logging.getLogger(__name__)


def load_layout(ifc_path: Path, site: SiteConfig) -> HallLayout:
    """The layout read from the IFC (blocking: run it in a thread). Without a readable IFC alarms still work,
    placed by their devices' zones, and a fire-zone alarm then names no spaces."""
    if not ifc_path.is_file():
        log.warning("alarms: no building model at %s: alarms are placed by their devices' zones only", ifc_path)
        return HallLayout()
    try:
        return read_layout(ifc_path, site)
    except Exception as exc:  # ifcopenshell raises plain RuntimeErrors for unreadable files
        log.warning("alarms: cannot read zones from %s (%s): alarms are placed by their devices' zones", ifc_path, exc)
        return HallLayout()
