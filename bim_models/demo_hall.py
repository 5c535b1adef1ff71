"""Build the demo service hall as IFC4 (``python -m bim_models.demo_hall [-o PATH]``) and keep a cached copy fresh.

The file is generated, never committed: ``ensure_demo_hall()`` rebuilds bim_models/generated/demo_hall.ifc when
it is missing or when the generator's sources changed (a sidecar holds their hash). The output is
deterministic: stable GlobalIds (uuid5 of element names), a fixed header time stamp, ordered relations.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections import Counter
from pathlib import Path

import ifcopenshell

from bim_models.building import (
    build_furniture,
    build_slabs,
    build_structure,
    build_vertical_circulation,
    build_walls_and_doors,
    glazing,
)
from bim_models.devices import DEVICE_ELEMENTS, PA_ZONES
from bim_models.equipment import build_devices, build_zones
from bim_models.hall_model import HallModel
from bim_models.layout import DOORS, FURNITURE, SPACES, STAIRS, STOREYS, WINDOWS
from bim_models.plan import edges

PACKAGE_DIR = Path(__file__).resolve().parent
GENERATED_IFC = PACKAGE_DIR / "generated" / "demo_hall.ifc"
SITE_PATH = PACKAGE_DIR / "site.yaml"  # the demo hall's site file, bound to GENERATED_IFC
PROJECT_NAME = "HallTwin 演示政务服务中心 / HallTwin demo service hall"


def _expected() -> dict[str, int]:
    """The counts a reader of the IFC must find, derived from the layout the generator draws."""
    kinds = Counter(window.kind for window in WINDOWS)
    categories = Counter(device.category for device in DEVICE_ELEMENTS)
    counts = {
        "storeys": len(STOREYS),
        "spaces": len(SPACES),
        "doors": len(DOORS),
        "exits": sum(door.exit for door in DOORS),
        "access_doors": sum(door.access_no is not None for door in DOORS),
        "stairs": len(STAIRS),
        "elevators": 1,
        "ramps": 1,
        "open_boundaries": sum(edge.open for edge in edges()),
        "windows": len(WINDOWS),  # service windows (counters); the glass in the outer walls is "glazing"
        "glazing": len(glazing()),
        "furniture": len(FURNITURE),
        "pa_zones": len(PA_ZONES),
        "fire_zones": len({pa.fire_zone for pa in PA_ZONES}),
    }
    counts |= {f"windows.{kind}": kinds[kind] for kind in ("integrated", "domain", "cross_province", "pickup")}
    counts |= {f"devices.{category}": n for category, n in sorted(categories.items())}
    return counts


EXPECTED: dict[str, int] = _expected()


def build_demo_hall(path: Path) -> Path:
    """Write the demo hall to ``path`` atomically (a reader never sees half a file) and return ``path``."""
    hall = HallModel(PROJECT_NAME)
    parts = build_structure(hall)
    build_walls_and_doors(hall, parts)
    build_slabs(hall, parts)
    build_vertical_circulation(hall, parts)
    build_furniture(hall, parts)
    build_devices(hall, parts)
    build_zones(hall, parts)
    model: ifcopenshell.file = hall.finish()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        model.write(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def source_hash() -> str:
    """Hash of every generator module (and the ifcopenshell version, which writes the file)."""
    digest = hashlib.sha256(ifcopenshell.version.encode())
    for source in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".source-hash")


def ensure_demo_hall(force: bool = False, *, path: Path | None = None) -> Path:
    """bim_models/generated/demo_hall.ifc (or ``path``), rebuilt first when missing, stale or ``force``d."""
    path = Path(path) if path is not None else GENERATED_IFC
    sidecar = _sidecar(path)
    wanted = source_hash()
    if not force and path.is_file() and sidecar.is_file() and sidecar.read_text().strip() == wanted:
        return path
    build_demo_hall(path)
    tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    tmp.write_text(wanted + "\n")
    os.replace(tmp, sidecar)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bim_models.demo_hall", description=__doc__)
    parser.add_argument("-o", "--output", type=Path, help=f"where to write the IFC (default: {GENERATED_IFC})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    path = build_demo_hall(args.output) if args.output else ensure_demo_hall(force=True)
    elapsed = time.perf_counter() - started
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB in {elapsed:.2f} s")
    for name, count in EXPECTED.items():
        print(f"  {name}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
