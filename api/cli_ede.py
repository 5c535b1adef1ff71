"""`halltwin import-ede FILE.csv`: a BACnet EDE file (and its state-text and unit companions) as a site.yaml
devices fragment, the same fragment `halltwin discover --objects` prints."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

PREFIX_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")  # what a site id may start with (twin.site.model.Ident)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ede = sub.add_parser(
        "import-ede",
        help="turn a BACnet EDE file into a site.yaml devices fragment",
        description="Read an EDE file (B.I.G.-EU Engineering Data Exchange, layout 2.x, semicolon-separated) and "
        "print a site.yaml devices fragment: one device per device instance, one point per object the twin "
        "reads, units as the site writes them (°C, %%RH, kW). X_StateTexts.csv and X_Units.csv beside X_EDE.csv "
        "are read too. Files in UTF-8 or GBK/GB18030 are recognised; --encoding forces one.",
    )
    ede.add_argument("file", type=Path, help="the EDE main file, e.g. project_EDE.csv")
    ede.add_argument("--state-texts", type=Path, help="the state-text file (default: X_StateTexts.csv beside it)")
    ede.add_argument("--units", type=Path, help="the unit-text file (default: X_Units.csv beside it)")
    ede.add_argument("--encoding", help="the files' text encoding (default: UTF-8, else GB18030)")
    ede.add_argument("--device-id-prefix", default="", help="put before every device id, e.g. b2- (ids: a-z 0-9 _.-)")
    ede.add_argument("-o", "--output", type=Path, help="write the fragment here (default: standard output)")
    ede.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iot_gateway.ede import EdeError, load_ede
    from iot_gateway.site_fragment import devices_fragment

    prefix: str = args.device_id_prefix
    if prefix and not PREFIX_PATTERN.match(prefix):
        print(f"halltwin import-ede: --device-id-prefix {prefix!r} must be lower-case a-z, 0-9, _ . -", file=sys.stderr)
        return 2
    try:
        project = load_ede(args.file, state_texts=args.state_texts, units=args.units, encoding=args.encoding)
    except EdeError as exc:
        print(f"halltwin import-ede: {exc}", file=sys.stderr)
        return 1
    objects = sum(len(device.objects) for device in project.devices)
    title = f"# from {args.file.name}"
    if project.name:
        title += f": project {project.name}"
    if project.layout_version:
        title += f", EDE layout {project.layout_version}"
    fragment = f"{title}; {len(project.devices)} device(s), {objects} object(s)\n"
    fragment += devices_fragment(project.devices, id_prefix=prefix)
    if args.output is None:
        sys.stdout.write(fragment)
    else:
        try:
            args.output.write_text(fragment, encoding="utf-8")
        except OSError as exc:
            print(f"halltwin import-ede: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"{args.output}: {len(project.devices)} device(s), {objects} object(s)", file=sys.stderr)
    return 0
