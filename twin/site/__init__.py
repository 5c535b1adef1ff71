"""The site file (site.yaml): pydantic model, loader with file:line errors, and cross-reference checks."""

from twin.site.errors import SiteError, SiteFileError
from twin.site.loader import load_site
from twin.site.model import (
    Address,
    BacnetAddress,
    BacnetConnection,
    Connection,
    Device,
    DeviceKind,
    ModbusAddress,
    ModbusConnection,
    MqttAddress,
    MqttConnection,
    Names,
    PaZone,
    Point,
    PointKind,
    SiteConfig,
    Zone,
    ZoneType,
)

__all__ = [
    "Address",
    "BacnetAddress",
    "BacnetConnection",
    "Connection",
    "Device",
    "DeviceKind",
    "ModbusAddress",
    "ModbusConnection",
    "MqttAddress",
    "MqttConnection",
    "Names",
    "PaZone",
    "Point",
    "PointKind",
    "SiteConfig",
    "SiteError",
    "SiteFileError",
    "Zone",
    "ZoneType",
    "load_site",
]
