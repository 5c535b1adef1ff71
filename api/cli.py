"""The `halltwin` command line: demo, serve, check, convert, schema, simulate."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def _check(args: argparse.Namespace) -> int:
    from twin.site import SiteFileError, load_site

    try:
        site = load_site(args.site)
    except SiteFileError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} problem(s) in {args.site}", file=sys.stderr)
        return 1
    points = sum(len(d.points) for d in site.devices)
    print(f"{args.site}: OK ({len(site.zones)} zones, {len(site.devices)} devices, {points} points)")
    return 0


def _schema(_args: argparse.Namespace) -> int:
    from twin.site.model import SiteConfig

    print(json.dumps(SiteConfig.model_json_schema(), indent=2, ensure_ascii=False))
    return 0


def _convert(args: argparse.Namespace) -> int:
    from twin.bim import IfcLoadError, convert

    output: Path = args.output or args.ifc.with_suffix(".glb")
    try:
        result = convert(args.ifc, output, progress=sys.stderr.isatty())
    except (IfcLoadError, OSError) as exc:
        print(f"halltwin convert: {exc}", file=sys.stderr)
        return 1
    print(f"{result.glb_path}: {result.glb_bytes / 1e6:.2f} MB, {result.elements} elements, {result.seconds:.1f} s")
    print(f"{result.elements_path}: element metadata")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="halltwin", description="HallTwin: digital twin of a service hall")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate a site file and print every problem with file:line")
    check.add_argument("site", type=Path)
    check.set_defaults(func=_check)

    convert = sub.add_parser("convert", help="convert an IFC model to GLB (+ <name>.elements.json beside it)")
    convert.add_argument("ifc", type=Path, help="IFC2X3 or IFC4 file")
    convert.add_argument("-o", "--output", type=Path, help="GLB to write (default: the IFC name with .glb)")
    convert.set_defaults(func=_convert)

    from api import cli_simulate

    cli_simulate.add_parser(sub)

    schema = sub.add_parser("schema", help="print the JSON schema of site.yaml")
    schema.set_defaults(func=_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
