"""`halltwin demo` / `serve` (and `make demo`) on a web port that is taken: one line naming the port and how to
choose another, a non-zero exit, nothing started (no simulator bind warnings, no traceback)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import REPO_ROOT, free_port

HALLTWIN = [sys.executable, "-m", "api.cli"]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port with a listening socket on it (as a first demo would have)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        yield sock.getsockname()[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HALLTWIN, *args], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


def test_demo_on_a_taken_port_says_so_in_one_line(taken_port: int, tmp_path: Path) -> None:
    result = run("demo", "--port", str(taken_port), "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"halltwin demo: port {taken_port} on 127.0.0.1 is already in use (another HallTwin?): choose another with "
        "`halltwin demo --port 8001` or `make demo PORT=8001`"
    ]
    assert result.stdout == ""
    assert not any(tmp_path.iterdir())  # nothing was started or written


def test_serve_on_a_taken_port_says_so_in_one_line(
    taken_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    site = str(REPO_ROOT / "bim_models" / "site.yaml")
    assert main(["serve", site, "--port", str(taken_port), "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"halltwin serve: port {taken_port} on 127.0.0.1 is already in use (another HallTwin?): choose another with "
        "`halltwin serve --port 8001`"
    ]
    assert not any(tmp_path.iterdir())


def test_a_host_that_cannot_be_listened_on() -> None:
    from api.cli import _port_taken

    message = _port_taken("demo", "203.0.113.7", 8000)  # TEST-NET-3: on no interface of this machine
    assert message == "halltwin demo: cannot listen on 203.0.113.7:8000: Cannot assign requested address"
    assert _port_taken("serve", "127.0.0.1", free_port()) is None


def test_make_demo_passes_port() -> None:
    dry = subprocess.run(["make", "-n", "demo", "PORT=8123"], capture_output=True, text=True, cwd=REPO_ROOT,
                         timeout=60)  # fmt: skip
    assert "halltwin demo --port 8123" in dry.stdout
    default = subprocess.run(["make", "-n", "demo"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert "halltwin demo --port 8000" in default.stdout
