"""Fixtures for monitoring tests: VictoriaMetrics processes started from the Debian binary, ended by PID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitoring.vm_server import VictoriaMetricsServer


def _require_binary() -> None:
    if not VictoriaMetricsServer.available():
        pytest.skip("VictoriaMetrics binary /usr/bin/victoria-metrics is not installed")


@pytest.fixture(scope="session")
def _shared_victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsServer]:
    """One VM for every test that only writes and reads; tests isolate their data by a unique site tag."""
    _require_binary()
    server = VictoriaMetricsServer(tmp_path_factory.mktemp("victoria-metrics") / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def victoria_metrics(_shared_victoria_metrics: VictoriaMetricsServer) -> str:
    """Base URL of a running VictoriaMetrics (shared by the session)."""
    return _shared_victoria_metrics.url


@pytest.fixture
def vm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsServer]:
    """A VictoriaMetrics of this test alone, not started yet: outage tests stop and restart it freely."""
    _require_binary()
    server = VictoriaMetricsServer(tmp_path_factory.mktemp("vm-own") / "data")
    try:
        yield server
    finally:
        server.stop()
