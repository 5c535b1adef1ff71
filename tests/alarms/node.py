"""A hall node as its own process for the SIGKILL tests: ``python -m tests.alarms.node SITE_YAML DATA_DIR DB_URL PORT``.

The real runtime and app (gateway, alarm engine, store, API) without the building model conversion, so that it
starts in a moment and can be killed at any point of its work. With ``--standby`` it imports everything, then
waits for a line on stdin before it opens the store: the test starts the next node while the current one works,
so a restart costs the runtime's start, not the interpreter's imports (the same start a supervisor's warm spare
would make)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from api.app import create_app
from api.runtime import HallRuntime
from api.serve import serve_app
from twin.site.model import SiteConfig


def main() -> None:
    site_path, data_dir, db_url, port = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    site = SiteConfig.model_validate(yaml.safe_load(site_path.read_text()), strict=False)
    if "--standby" in sys.argv[5:] and not sys.stdin.readline():
        return  # the test ended without needing this node
    runtime = HallRuntime(site, site_path, data_dir, db_url=db_url)
    asyncio.run(serve_app(create_app(runtime), "127.0.0.1", port))


if __name__ == "__main__":
    main()
