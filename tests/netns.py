"""Test hosts in Linux network namespaces: a lab of bridges, hosts and routers on private test subnets.

Broadcast discovery cannot be tested on one loopback host, so tests build their own small network: one "switch"
namespace holding the bridges, and one namespace per host, joined to a bridge by a veth pair. Every name carries a
per-run tag, and the test subnets (10.213.x.0/24) exist only inside these namespaces, so nothing reaches any other
network. ``NetLab.close()`` ends every process it started (by PID) and deletes every namespace, also after a failure.
Without root or ``ip`` (or where namespaces cannot be made) ``netlab`` skips the test, saying why.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.peers import REPO_ROOT

PYTHON = str(Path(sys.executable))
IP_TIMEOUT_S = 10.0


def _ip(*args: str, netns: str | None = None) -> None:
    command = ["ip", *(["-n", netns] if netns else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


def cannot_make_namespaces() -> str | None:
    """Why this machine cannot run namespace tests, or None."""
    if os.geteuid() != 0:
        return "network-namespace tests need root (ip netns add)"
    if shutil.which("ip") is None:
        return "network-namespace tests need iproute2's `ip`"
    probe = f"htprobe-{secrets.token_hex(3)}"
    try:
        _ip("netns", "add", probe)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot create a network namespace here: {exc}"
    _ip("netns", "delete", probe)
    return None


@dataclass
class Peer:
    """A process running inside a namespace: its stdin for commands, its stdout JSON lines as they come."""

    process: subprocess.Popen[str]
    stderr_path: Path
    seen: list[dict[str, Any]] = field(default_factory=list)
    _lines: queue.Queue[dict[str, Any] | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, name="netns-peer-stdout", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("{"):
                self._lines.put(json.loads(line))
        self._lines.put(None)  # the process ended

    def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def expect(self, wanted: Callable[[dict[str, Any]], bool], within_s: float, what: str) -> dict[str, Any]:
        """The first new message that ``wanted`` accepts; AssertionError naming ``what`` (and the peer's log)
        when none comes within ``within_s`` (a functional deadline, not a speed assertion) or the peer ends."""
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if message is None:
                self._lines.put(None)
                raise AssertionError(f"{what}: the peer ended (rc {self.process.wait()}):\n{self.stderr()[-3000:]}")
            self.seen.append(message)
            if wanted(message):
                return message
        raise AssertionError(f"not within {within_s:g} s: {what}\n{self.stderr()[-3000:]}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class NetLab:
    """Namespaces, bridges and veth pairs of one test; ``close`` removes them all."""

    tmp: Path
    tag: str = field(default_factory=lambda: f"ht{os.getpid() % 100000}{secrets.token_hex(2)}")
    namespaces: list[str] = field(default_factory=list)
    peers: list[Peer] = field(default_factory=list)
    _switch: str | None = None
    _ports: int = 0

    def _namespace(self, name: str) -> str:
        full = f"{self.tag}-{name}"
        _ip("netns", "add", full)
        self.namespaces.append(full)
        _ip("link", "set", "lo", "up", netns=full)
        return full

    def bridge(self, name: str) -> str:
        """A bridge (a switch) in the lab's switch namespace."""
        if self._switch is None:
            self._switch = self._namespace("switch")
        _ip("link", "add", name, "type", "bridge", netns=self._switch)
        _ip("link", "set", name, "up", netns=self._switch)
        return name

    def host(self, name: str, links: Sequence[tuple[str, Sequence[str]]], route_via: str | None = None,
             forward: bool = False) -> str:  # fmt: skip
        """A namespace with one interface ethN per (bridge, addresses) link; a default route; routing if asked."""
        assert self._switch is not None, "make the bridges first"
        ns = self._namespace(name)
        for index, (bridge, addresses) in enumerate(links):
            self._ports += 1
            inside, outside = f"eth{index}", f"p{self._ports}"
            _ip("link", "add", inside, "netns", ns, "type", "veth", "peer", "name", outside, "netns", self._switch)
            _ip("link", "set", outside, "master", bridge, "up", netns=self._switch)
            for address in addresses:
                _ip("addr", "add", address, "dev", inside, netns=ns)
            _ip("link", "set", inside, "up", netns=ns)
        if route_via:
            _ip("route", "add", "default", "via", route_via, netns=ns)
        if forward:
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
                           check=True, timeout=IP_TIMEOUT_S)  # fmt: skip
        return ns

    def add_address(self, ns: str, address: str, device: str = "eth0") -> None:
        _ip("addr", "add", address, "dev", device, netns=ns)

    def start(self, ns: str, *args: str, name: str) -> Peer:
        """``python args...`` in namespace ``ns`` (cwd: the repository), stdin and stdout piped as text."""
        stderr_path = self.tmp / f"{name}.stderr"
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, PYTHON, *args],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_path.open("w", encoding="utf-8"),
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        peer = Peer(process, stderr_path)
        self.peers.append(peer)
        return peer

    def run(self, ns: str, *args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
        """``python args...`` in ``ns`` to completion."""
        return subprocess.run(["ip", "netns", "exec", ns, PYTHON, *args], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=timeout_s, check=False)  # fmt: skip

    def close(self) -> None:
        for peer in self.peers:
            if peer.process.poll() is None:
                peer.process.send_signal(signal.SIGTERM)  # ip netns exec execs the python: this is its PID
        for peer in self.peers:
            try:
                peer.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                peer.process.kill()
                peer.process.wait(timeout=5)
            for stream in (peer.process.stdin, peer.process.stdout):
                if stream is not None:
                    stream.close()
        self.peers.clear()
        for ns in reversed(self.namespaces):
            try:
                _ip("netns", "delete", ns)  # its interfaces (and the veth peers) go with it
            except RuntimeError:
                pass
        self.namespaces.clear()


@pytest.fixture
def netlab(tmp_path: Path) -> Iterator[NetLab]:
    """A fresh NetLab, removed after the test whatever happens; skips where namespaces cannot be made."""
    why = cannot_make_namespaces()
    if why:
        pytest.skip(why)
    lab = NetLab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()
