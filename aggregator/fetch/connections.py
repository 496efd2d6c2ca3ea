"""The address rule for connections a library opens itself (Apprise's HTTP client, its SMTP session).

Such a library picks its own transport, so no connection of ours can vet the peer as ``guard`` does for
``fetch()``. Python's ``socket.connect`` audit event (PEP 578, a public hook) fires in the connecting thread
with the address actually connected, before a byte is sent, whatever the library: inside
``guarded_connections()`` an internal peer (the same ``is_internal`` rule and ``CHORUS_FETCH_ALLOW_PRIVATE``
setting as every fetch), a local socket, or a connect after the deadline is refused there. That also defeats
DNS that answers public when a URL is checked and private when the library connects.

The hook is installed once per process and costs one thread-local lookup per connect outside a guard.
"""

import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aggregator.fetch.urls import describe_address, is_internal, private_allowed

_local = threading.local()
_install_lock = threading.Lock()
_installed = False


class RefusedConnection(ConnectionRefusedError):
    """An ``OSError``: libraries report it as the failed connection it is (and carry on with their cleanup)."""


@dataclass
class ConnectionGuard:
    allow_private: bool
    ends: float
    refused: list[str] = field(default_factory=list)  # why each refused connect was refused, for the person

    def vet(self, address) -> None:
        if time.monotonic() >= self.ends:
            self._refuse("timed out")
        if not isinstance(address, tuple):  # AF_UNIX and other local families name no internet peer
            self._refuse("refused: a local socket is not a destination")
        try:
            ip = ipaddress.ip_address(address[0].split("%", 1)[0])
        except ValueError:
            self._refuse(f"refused: {address[0]!r} is not an address")
        if not self.allow_private and is_internal(ip):
            self._refuse(f"refused: {describe_address(ip)} is a private address")

    def _refuse(self, reason: str):
        self.refused.append(reason)
        raise RefusedConnection(reason)


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    guard = getattr(_local, "guard", None)
    if guard is not None and args[0].family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
        guard.vet(args[1])


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_audit)
            _installed = True


@contextmanager
def guarded_connections(*, seconds: float, allow_private: bool | None = None) -> Iterator[ConnectionGuard]:
    """While inside, every connect this thread makes goes to a public address, within ``seconds``."""
    _install()
    guard = ConnectionGuard(allow_private=private_allowed(allow_private), ends=time.monotonic() + seconds)
    outer, _local.guard = getattr(_local, "guard", None), guard
    try:
        yield guard
    finally:
        _local.guard = outer
