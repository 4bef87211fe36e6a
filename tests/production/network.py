"""Separate hosts on one machine: network namespaces joined to this one by veth pairs, and TCP
forwarders that publish loopback-only services (PostgreSQL, Redis, the S3 stand-in) on this
host's side of each pair, as a real network would carry them.

Addresses come from 198.18.0.0/15, the range set aside for network tests (RFC 2544): only
the namespaces made here answer on them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from contextlib import suppress
from dataclasses import dataclass, field

import pytest


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


def require_netns() -> None:
    """Skip (or, under CI, fail) where this machine will not let the test make namespaces."""
    reason = None
    if shutil.which("ip") is None:
        reason = "the `ip` command (iproute2) is not installed"
    elif os.geteuid() != 0:
        reason = "making network namespaces needs root"
    else:
        probe = f"axprobe{os.getpid()}"
        try:
            _ip("netns", "add", probe)
            _ip("netns", "del", probe)
        except subprocess.CalledProcessError as exc:
            reason = f"`ip netns add` is not permitted here: {exc.stderr.strip()}"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (required under CI)")
        pytest.skip(reason)


@dataclass
class Host:
    """A namespace with one veth link to this machine: it reaches us at ``gateway``."""

    name: str
    address: str
    gateway: str
    host_link: str

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def kill_everything(self) -> None:
        """The host dies: every process in the namespace at once (pool processes included,
        which sit in process groups of their own), none with a chance to hand anything back."""
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True, timeout=30,
                              check=True).stdout.split()
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        with suppress(subprocess.CalledProcessError):
            _ip("netns", "del", self.name)  # takes its end of the veth pair, and so the pair
        with suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.host_link)


def make_host(index: int) -> Host:
    tag = f"{os.getpid() % 100000}{index}"
    # One /24 per host: indexes 0 and 1 share the third octet, 2 and 3 the next one, ...
    subnet = f"198.{18 + index % 2}.{(os.getpid() + index // 2) % 250}"
    host = Host(name=f"artnex-w{tag}", address=f"{subnet}.2", gateway=f"{subnet}.1", host_link=f"axh{tag}")
    inner = f"axn{tag}"
    try:
        _ip("netns", "add", host.name)
        _ip("link", "add", host.host_link, "type", "veth", "peer", "name", inner, "netns", host.name)
        _ip("addr", "add", f"{host.gateway}/24", "dev", host.host_link)
        _ip("link", "set", host.host_link, "up")
        _ip("-n", host.name, "addr", "add", f"{host.address}/24", "dev", inner)
        _ip("-n", host.name, "link", "set", inner, "up")
        _ip("-n", host.name, "link", "set", "lo", "up")
    except BaseException:
        host.remove()
        raise
    return host


@dataclass
class Forwarder:
    """Accepts on ``listen`` and pipes each connection to ``target``; ``stop`` cuts them all,
    as an outage of the service would."""

    listen: tuple[str, int]
    target: tuple[str, int]
    _server: socket.socket = field(init=False)
    _open: set[socket.socket] = field(default_factory=set, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def start(self) -> Forwarder:
        self._server = socket.create_server(self.listen)
        self.listen = self._server.getsockname()[:2]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return int(self.listen[1])

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        # shutdown() first: a bare close() would leave the socket listening while accept()
        # still blocks on it in the other thread.
        with suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        with suppress(OSError):
            self._server.close()
        with self._lock:
            for end in self._open:
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                with suppress(OSError):
                    end.close()
            self._open.clear()

    def restart(self) -> None:
        self._server = socket.create_server(self.listen)
        threading.Thread(target=self._accept, daemon=True).start()
