"""How pytest-xdist shares the suite out: a module per worker, and the demo halls under Chromium one at a time.

The tests in DEMO_BROWSERS each run the demo hall, whose simulated devices answer from the test's own process,
beside a software-WebGL Chromium. Two or three of them at once on two cores starved those simulators past their
1 s answers (devices lost, a door's read-back failed) in fresh-clone runs; one at a time they pass.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# Modules, or single tests, by node id. (xdist_group marks would say this in the tests themselves, but xdist 3.8
# groups by rewriting Node._nodeid, which pytest 9 no longer reads.)
DEMO_BROWSERS = (
    "tests/api/test_bigscreen_browser.py",
    "tests/api/test_demo_browser.py",
    "tests/api/test_security_page.py",
    "tests/api/test_viewer_browser.py::test_demo_scenario_panel_alarm_list_and_markers_behind_floors",
)


def scope_of(nodeid: str) -> str:
    """The unit one worker runs as a whole: "demo-browsers" for the tests above, else the test's module."""
    if any(nodeid == node or nodeid.startswith((f"{node}::", f"{node}[")) for node in DEMO_BROWSERS):
        return "demo-browsers"
    return nodeid.split("::", 1)[0]


class ModulesAndDemoBrowsers(LoadScopeScheduling):
    """``--dist loadfile``, with the DEMO_BROWSERS tests as one more unit (they run one after another)."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)
