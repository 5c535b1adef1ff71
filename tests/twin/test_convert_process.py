"""convert_cached in a child process: the result, a clear failure, and a cancel that ends the child."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.peers import SHARED, wait_until
from twin import child_job
from twin.bim.convert_process import ConversionFailed, convert_cached_in_process
from twin.bim.glb_export import convert_cached

FZK_IFC = SHARED / "ifc" / "AC20-FZK-Haus.ifc"


def converters_for(cache_dir: Path) -> list[int]:
    """PIDs of running converter children working for ``cache_dir``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"twin.bim.convert_process" in argv and str(cache_dir).encode() in argv and state != "Z":
            found.append(int(entry.name))
    return found


def glbs_in(folder: Path) -> list[Path]:
    return list(folder.glob("*.glb")) if folder.exists() else []


def suffixes_in(folder: Path) -> list[str]:
    return sorted(path.suffix for path in folder.iterdir())


@pytest.fixture
def fzk_ifc() -> Path:
    if not FZK_IFC.is_file():
        pytest.skip(f"{FZK_IFC} is not present (../shared)")
    return FZK_IFC


async def test_converts_in_another_process(fzk_ifc: Path, tmp_path: Path) -> None:
    result = await convert_cached_in_process(fzk_ifc, tmp_path)
    assert result.converter_pid != os.getpid()
    assert not result.cached and result.elements > 0
    assert result.glb_path.read_bytes()[:4] == b"glTF" and result.glb_path.stat().st_size == result.glb_bytes
    again = await convert_cached_in_process(fzk_ifc, tmp_path)
    assert again.cached and again.glb_path == result.glb_path


async def test_a_file_that_is_not_ifc_fails_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "hall.ifc"
    broken.write_text("this is not a STEP file\n", encoding="utf-8")
    with pytest.raises(ConversionFailed, match=str(broken)) as failure:
        await convert_cached_in_process(broken, tmp_path / "cache")
    assert "Traceback" not in str(failure.value)
    assert not glbs_in(tmp_path / "cache")


async def test_cancelling_ends_the_child(fzk_ifc: Path, tmp_path: Path) -> None:
    task = asyncio.create_task(convert_cached_in_process(fzk_ifc, tmp_path))
    await wait_until(lambda: ".tmp" in suffixes_in(tmp_path), 30.0, "the child writing the GLB", interval_s=0.02)
    assert converters_for(tmp_path)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert converters_for(tmp_path) == []
    # The child ended on SIGTERM and removed what it had half written: only the cache's lock file is left.
    assert suffixes_in(tmp_path) in ([], [".lock"])


async def test_a_child_that_has_to_be_killed_leaves_nothing_either(
    fzk_ifc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(child_job, "TERMINATE_GRACE_S", 0.5)
    task = asyncio.create_task(convert_cached_in_process(fzk_ifc, tmp_path))
    await wait_until(lambda: ".tmp" in suffixes_in(tmp_path), 30.0, "the child writing the GLB", interval_s=0.02)
    [child] = converters_for(tmp_path)
    os.kill(child, signal.SIGSTOP)  # a stopped child cannot act on SIGTERM: only SIGKILL ends it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert converters_for(tmp_path) == []
    assert suffixes_in(tmp_path) in ([], [".lock"])


def test_the_next_conversion_removes_what_a_killed_converter_left(fzk_ifc: Path, tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "twin.bim.convert_process", str(fzk_ifc), str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30.0
        while ".tmp" not in suffixes_in(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.01)
        child.kill()  # as SIGKILL, the OOM killer or a power cut would: no clean-up of its own
    finally:
        child.wait()
    assert ".tmp" in suffixes_in(tmp_path)
    result = convert_cached(fzk_ifc, tmp_path)
    assert not result.cached
    assert suffixes_in(tmp_path) == [".glb", ".json", ".lock"]
