"""`halltwin count VIDEO [--site SITE --camera ID] [--json]`: the camera pipeline on a file, for commissioning."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    count = sub.add_parser(
        "count",
        help="count people in a video file with a camera's pipeline (commissioning)",
        description="Run the camera pipeline (NanoDet, ByteTrack, counting lines, zones, homography) on a video "
        "file as fast as it decodes. With --site and --camera the camera's lines, zones, homography and detector "
        "settings are used. --json prints one JSON line per frame (frame 1-based, count, boxes [x1,y1,x2,y2,"
        "score,track], floor [[x,y]...] when a homography is configured), then one line of crossings.",
    )
    count.add_argument("video", type=Path, help="a video file (anything FFmpeg decodes)")
    count.add_argument("--site", type=Path, help="site.yaml holding the camera")
    count.add_argument("--camera", help="the camera's device id in --site")
    count.add_argument("--json", action="store_true", help="JSON lines (default: a short text line per frame)")
    count.add_argument("--frames", type=int, default=0, help="stop after this many frames (default: all)")
    count.set_defaults(func=run)


def _camera_config(args: argparse.Namespace) -> object:
    from twin.site.camera_model import CameraConnection

    if args.site is None:
        return CameraConnection(type="camera", source=str(args.video))
    from twin.site.errors import SiteFileError
    from twin.site.loader import load_site

    try:
        site = load_site(args.site, guid_index=None)
    except SiteFileError as exc:
        raise ValueError(str(exc)) from None
    cameras = {d.id: d for d in site.devices if isinstance(d.connection, CameraConnection)}
    if not cameras:
        raise ValueError(f"{args.site} has no camera devices")
    if args.camera is None:
        if len(cameras) > 1:
            raise ValueError(f"--camera is needed: {args.site} has cameras {', '.join(sorted(cameras))}")
        return next(iter(cameras.values())).connection
    if args.camera not in cameras:
        raise ValueError(f"no camera {args.camera!r} in {args.site} (cameras: {', '.join(sorted(cameras))})")
    return cameras[args.camera].connection


def run(args: argparse.Namespace) -> int:
    if args.camera and args.site is None:
        print("halltwin count: --camera needs --site", file=sys.stderr)
        return 2
    try:
        config = _camera_config(args)
    except (ValueError, OSError) as exc:
        print(f"halltwin count: {exc}", file=sys.stderr)
        return 1
    from iot_gateway.vision.nanodet import ModelMissing
    from iot_gateway.vision.pipeline import CameraPipeline
    from iot_gateway.vision.sources import FrameSource, SourceError

    try:
        source = FrameSource(str(args.video), max_fps=60.0)
        pipeline = CameraPipeline(config, frame_rate=source.fps)  # type: ignore[arg-type]
    except (SourceError, ModelMissing) as exc:
        print(f"halltwin count: {exc}", file=sys.stderr)
        return 1
    out = sys.stdout
    try:
        while not args.frames or pipeline.frame_no < args.frames:
            try:
                frame = source.read(paced=False)
            except SourceError as exc:
                print(f"halltwin count: {exc}", file=sys.stderr)
                return 1
            if frame is None:
                break
            result = pipeline.process(frame)
            if args.json:
                out.write(json.dumps(result.as_json(), separators=(",", ":")) + "\n")
            else:
                out.write(f"frame {result.frame}: {result.people} people\n")
    except BrokenPipeError:  # `| head`: the reader is gone, nothing more to say
        return 0
    finally:
        source.close()
    if pipeline.frame_no == 0:
        print(f"halltwin count: {args.video} has no decodable frame", file=sys.stderr)
        return 1
    crossings = {line: {"in": c_in, "out": c_out} for line, (c_in, c_out) in
                 ((c.line.id, (c.count_in, c.count_out)) for c in pipeline.lines)}
    if args.json:
        out.write(json.dumps({"frames": pipeline.frame_no, "crossings": crossings}, separators=(",", ":")) + "\n")
    else:
        for line, c in crossings.items():
            out.write(f"line {line}: {c['in']} in, {c['out']} out\n")
    return 0
