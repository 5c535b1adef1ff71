"""Start an MQTT broker for the demo and tests: a mosquitto process when the binary exists, else amqtt in-process."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from twin.ports import free_port, port_free

log = logging.getLogger(__name__)

BrokerKind = Literal["auto", "mosquitto", "amqtt"]
_MOSQUITTO_PLACES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


class BrokerStartError(RuntimeError):
    """The broker did not start or did not accept connections in time."""


def find_mosquitto() -> str | None:
    """The mosquitto binary: on PATH, or in the sbin folders that a non-root PATH often lacks."""
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((place for place in _MOSQUITTO_PLACES if os.access(place, os.X_OK)), None)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the kernel SIGTERM the broker when we die, even by SIGKILL: no orphaned brokers
    holding ports after a crashed test run. Elsewhere the PID-based stop() is all there is."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_parent_death_signal() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM))

    return set_parent_death_signal


class MqttBrokerLauncher:
    """One broker on ``host:port`` (a free port when none is given). ``start()`` returns once the port accepts
    connections; ``stop()`` ends it (mosquitto by PID: SIGTERM, then SIGKILL) and ``start()`` may be called
    again on the same port, which is how tests simulate a broker restart. ``kill()`` ends it abruptly."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        kind: BrokerKind = "auto",
        workdir: Path | None = None,
        start_timeout_s: float = 10.0,
        extra_config: Sequence[str] = (),
    ) -> None:
        """``extra_config``: more mosquitto.conf lines for the listener (TLS files, password_file,
        ``allow_anonymous false``); only mosquitto understands them."""
        self.host = host
        self.port = port if port is not None else free_port(host=host)
        self.start_timeout_s = start_timeout_s
        mosquitto = find_mosquitto() if kind in ("auto", "mosquitto") else None
        if kind == "mosquitto" and mosquitto is None:
            raise BrokerStartError("mosquitto was asked for but no mosquitto binary was found (apt install mosquitto)")
        self._mosquitto = mosquitto
        self.kind: Literal["mosquitto", "amqtt"] = "mosquitto" if mosquitto else "amqtt"
        if extra_config and self.kind != "mosquitto":
            raise BrokerStartError("extra_config needs mosquitto; the amqtt fallback takes no mosquitto.conf lines")
        self.extra_config = tuple(extra_config)
        self._workdir = workdir
        self._own_tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._amqtt: object | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        if self.kind == "amqtt":
            return self._amqtt is not None
        return self._process is not None and self._process.returncode is None

    @property
    def log_path(self) -> Path:
        return self._dir() / "mosquitto.log"

    async def start(self) -> None:
        if self.running:
            return
        if not port_free(self.host, self.port):
            # Checked first: otherwise the wait below would happily connect to whoever holds the port.
            raise BrokerStartError(f"cannot start the MQTT broker: {self.host}:{self.port} is already in use")
        if self.kind == "mosquitto":
            await self._start_mosquitto()
        else:
            await self._start_amqtt()
        log.info("MQTT broker (%s) listening on %s:%d", self.kind, self.host, self.port)

    async def stop(self) -> None:
        if self.kind == "amqtt":
            await self._stop_amqtt()
        else:
            await self._end_process(signal.SIGTERM)
        if self._own_tempdir is not None and not self.running:
            self._own_tempdir.cleanup()
            self._own_tempdir = None

    async def kill(self) -> None:
        """End the broker without a goodbye to its clients (SIGKILL for mosquitto)."""
        if self.kind == "amqtt":
            await self._stop_amqtt()
        else:
            await self._end_process(signal.SIGKILL)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # --- mosquitto -----------------------------------------------------------------------------------------

    def _dir(self) -> Path:
        if self._workdir is None:
            if self._own_tempdir is None:
                self._own_tempdir = tempfile.TemporaryDirectory(prefix="halltwin-mosquitto-")
            return Path(self._own_tempdir.name)
        return self._workdir

    def _config_text(self) -> str:
        lines = [
            f"listener {self.port} {self.host}",
            *self.extra_config,
            "persistence false",
            # Nagle's algorithm delays mosquitto's PUBACKs behind the client's delayed ACKs: measured 2,700 vs
            # 19,000 QoS 1 publishes/s on loopback (bench_mqtt).
            "set_tcp_nodelay true",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # Started as root, mosquitto 2 switches to the "mosquitto" user, which cannot write our temp dir.
            lines.append("user root")
        if not any(line.split()[:1] == ["allow_anonymous"] for line in self.extra_config):
            lines.append("allow_anonymous true")  # mosquitto 2 refuses anonymous clients unless told
        return "\n".join(lines) + "\n"

    async def _start_mosquitto(self) -> None:
        assert self._mosquitto is not None
        directory = self._dir()
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "mosquitto.conf"
        config.write_text(self._config_text(), encoding="utf-8")
        # A configuration error is printed before the log file is opened: keep it for the start error.
        early_errors = await asyncio.to_thread(self._early_errors_path.open, "wb")
        with early_errors:
            self._process = await asyncio.create_subprocess_exec(
                self._mosquitto,
                "-c",
                str(config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=early_errors,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to handle, not the broker's
                preexec_fn=_die_with_parent(),
            )
        try:
            await self._wait_accepting()
        except BrokerStartError:
            await self._end_process(signal.SIGKILL)
            raise

    async def _wait_accepting(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout_s
        while True:
            process = self._process
            if process is not None and process.returncode is not None:
                raise BrokerStartError(
                    f"mosquitto on port {self.port} exited with code {process.returncode}: {self._log_tail()}"
                )
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout=1.0)
            except (OSError, TimeoutError):
                if loop.time() >= deadline:
                    raise BrokerStartError(
                        f"mosquitto did not accept connections on {self.host}:{self.port} within "
                        f"{self.start_timeout_s} s: {self._log_tail()}"
                    ) from None
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    @property
    def _early_errors_path(self) -> Path:
        return self._dir() / "mosquitto.stderr"

    def _log_tail(self) -> str:
        lines: list[str] = []
        for path in (self._early_errors_path, self.log_path):
            with contextlib.suppress(OSError):
                lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
        return " | ".join(lines[-5:]) or "(no log)"

    async def _end_process(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), timeout=5.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                await asyncio.wait_for(process.wait(), timeout=5.0)

    # --- amqtt ---------------------------------------------------------------------------------------------

    async def _start_amqtt(self) -> None:
        from amqtt.broker import Broker  # imported here: only the fallback path pays for it

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        broker = Broker(config)
        try:
            await asyncio.wait_for(broker.start(), timeout=self.start_timeout_s)
        except Exception as error:
            raise BrokerStartError(f"amqtt could not listen on {self.host}:{self.port}: {error}") from error
        self._amqtt = broker

    async def _stop_amqtt(self) -> None:
        broker, self._amqtt = self._amqtt, None
        if broker is not None:
            from amqtt.broker import Broker

            assert isinstance(broker, Broker)
            await asyncio.wait_for(broker.shutdown(), timeout=10.0)
