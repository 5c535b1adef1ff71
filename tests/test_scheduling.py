"""The suite's xdist units: modules whole, and the demo-browser tests (tests/scheduling.py) together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.scheduling import DEMO_BROWSERS, scope_of

REPO = Path(__file__).resolve().parents[1]


def test_every_demo_browser_entry_names_tests_that_exist() -> None:
    # A renamed module or test would otherwise drop out of the group silently and overlap again.
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *DEMO_BROWSERS],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    collected = [line for line in listed.stdout.splitlines() if "::" in line]
    for node in DEMO_BROWSERS:
        assert any(line == node or line.startswith(f"{node}::") for line in collected), f"{node}: no such test"


def test_scopes() -> None:
    assert scope_of("tests/api/test_security_page.py::test_door_unlocked_after_confirmation_and_kpi_charts") == (
        "demo-browsers"
    )
    assert scope_of(f"{DEMO_BROWSERS[3]}[x]") == "demo-browsers"
    assert scope_of("tests/api/test_viewer_browser.py::test_demo_hall_in_the_viewer") == (
        "tests/api/test_viewer_browser.py"
    )
    assert scope_of("tests/store/test_cli.py::test_x[sqlite]") == "tests/store/test_cli.py"
