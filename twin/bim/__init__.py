"""BIM: the IfcIndex of storeys, spaces, doors, stairs and devices, and GLB export."""

from twin.bim.entities import Device, Door, Space, Storey, VerticalConnector
from twin.bim.errors import IfcLoadError
from twin.bim.glb_export import ConversionResult, convert, convert_cached, elements_path_for
from twin.bim.ifc_index import IfcIndex

__all__ = [
    "ConversionResult",
    "Device",
    "Door",
    "IfcIndex",
    "IfcLoadError",
    "Space",
    "Storey",
    "VerticalConnector",
    "convert",
    "convert_cached",
    "elements_path_for",
]
