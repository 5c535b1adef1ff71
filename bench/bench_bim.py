"""BIM figures per model: IFC->GLB time and size, IfcIndex load time, against bare tessellation as baseline."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from twin.bim import IfcIndex, convert_cached
from twin.bim.geometry import geometry_settings, iterate_shapes
from twin.bim.ifc_file import open_ifc

SHARED_IFC = Path(__file__).resolve().parent.parent.parent / "shared" / "ifc"


def _models() -> list[Path]:
    models = sorted(SHARED_IFC.glob("*.ifc")) if SHARED_IFC.is_dir() else []
    if not models:
        print(f"note: {SHARED_IFC} is absent: shared models skipped")
    try:
        from bim_models.demo_hall import ensure_demo_hall
    except ImportError:
        print("note: bim_models.demo_hall is not available yet: demo hall skipped")
    else:
        models.append(ensure_demo_hall())
    return models


def _bare_tessellation(path: Path) -> tuple[float, int]:
    """Baseline: open + iterate every product's geometry (what any exporter must pay), no output."""
    started = time.perf_counter()
    model = open_ifc(path).file
    openings = model.by_type("IfcOpeningElement")
    count = len(list(iterate_shapes(model, geometry_settings(), exclude=openings or None)))
    return time.perf_counter() - started, count


def main() -> None:
    models = _models()
    header = (f"{'model':<26} {'schema':<7} {'nodes':>5} {'tess s':>7} {'GLB s':>7} {'GLB/tess':>8} "
              f"{'GLB MB':>7} {'index s':>8} {'hit ms':>7}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="bench_bim_") as scratch:
        for path in models:
            schema = open_ifc(path).file.schema
            tess_seconds, _ = _bare_tessellation(path)
            # The first cached call is a full conversion (plus hashing the file), the second a hit.
            result = convert_cached(path, Path(scratch))
            hit = convert_cached(path, Path(scratch))
            started = time.perf_counter()
            index = IfcIndex.load(path)
            index_seconds = time.perf_counter() - started
            print(f"{path.name[:26]:<26} {schema:<7} {result.elements:>5} {tess_seconds:>7.2f} "
                  f"{result.seconds:>7.2f} {result.seconds / tess_seconds:>8.2f} {result.glb_bytes / 1e6:>7.2f} "
                  f"{index_seconds:>8.2f} {hit.seconds * 1000:>7.1f}")
            print(f"{'':<26} storeys {len(index.storeys)}, spaces {len(index.spaces)}, doors {len(index.doors)}, "
                  f"stairs {len(index.stairs)}, devices {len(index.devices)}")


if __name__ == "__main__":
    main()
