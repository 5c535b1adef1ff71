"""Start and stop a local VictoriaMetrics binary (tests, demo): own port, own data dir, ended by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import httpx

from twin.ports import free_port

DEFAULT_BINARY = Path("/usr/bin/victoria-metrics")


class VictoriaMetricsServer:
    """One VictoriaMetrics process on 127.0.0.1. stop() then start() restarts it on the same port and data
    dir (outage tests). Flags: -search.latencyOffset=0s so fresh samples are queryable at once, and
    -dedup.minScrapeInterval=1ms so a re-sent sample (at-least-once forwarding) is stored once."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        binary: Path = DEFAULT_BINARY,
        retention: str = "10y",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.binary = Path(binary)
        self.retention = retention
        self.extra_args = extra_args
        self.log_path = self.data_dir.with_name(self.data_dir.name + ".log")
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available(binary: Path = DEFAULT_BINARY) -> bool:
        return binary.is_file() and os.access(binary, os.X_OK)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, within_s: float = 20.0) -> None:
        """Start the process and return once /health answers OK (RuntimeError with the log tail if not)."""
        if self.running:
            return
        if not self.available(self.binary):
            raise FileNotFoundError(f"VictoriaMetrics binary not found or not executable: {self.binary}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.binary),
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.data_dir}",
            f"-retentionPeriod={self.retention}",
            "-search.latencyOffset=0s",
            "-dedup.minScrapeInterval=1ms",
            "-loggerLevel=WARN",
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + within_s
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"VictoriaMetrics exited with {self._process.returncode}: {self._log_tail()}")
                try:
                    if client.get(f"{self.url}/health").text.strip() == "OK":
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"VictoriaMetrics on port {self.port} not healthy within {within_s} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self, within_s: float = 15.0) -> None:
        """SIGTERM (VM flushes what it acknowledged), SIGKILL if it does not exit in time; our PID only."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(within_s)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(5)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: VM loses what it acknowledged but had not yet flushed."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)

    def force_flush(self) -> None:
        """Make everything written so far visible to queries (VM buffers recent samples for ~1 s)."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10.0).raise_for_status()

    def remove_data(self) -> None:
        if self.running:
            raise RuntimeError("stop VictoriaMetrics before removing its data")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> VictoriaMetricsServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
