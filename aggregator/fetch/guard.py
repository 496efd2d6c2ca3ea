"""One fetch's guard: a deadline watchdog that shuts the fetch's sockets down when time is up (a per-read
timeout cannot stop a drip), and urllib3 connections and pools that hand every new socket to the guard, which
refuses a private peer right after connect, before a byte is sent.

The one urllib3 internal used is ``HTTPConnection._new_conn`` (the TCP connect, before any TLS): urllib3 has no
public hook between connect and the first byte, and ``connect()`` would already have sent a TLS hello to the
peer. Checked with urllib3 2.8.0 (pinned below 3 in pyproject.toml); if it disappears the import fails loudly
here rather than fetching unguarded, and tests/test_fetch.py's private-address tests fail.
"""

import ipaddress
import socket
import threading
import time
from contextlib import suppress

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from aggregator.fetch.errors import BlockedURL, FetchError
from aggregator.fetch.urls import describe_address, is_internal

if not callable(getattr(HTTPConnection, "_new_conn", None)):  # never fetch without the guard
    raise ImportError(f"urllib3 {urllib3.__version__} has no HTTPConnection._new_conn: aggregator/fetch/guard.py "
                      "cannot vet the connected address; pin urllib3 to a version it was checked with")  # fmt: skip


class Guard:
    """Per-fetch state its connections share: the address policy and the deadline.

    A per-read timeout cannot stop a server that sends one byte a second, so a watchdog thread shuts the
    fetch's connections down when the deadline passes; the blocked read then returns and the fetch fails.
    A read may wait for whatever is left of the deadline (a server that thinks for most of it before answering
    is slow, not dead); only a connect has its own, shorter limit (``connect_seconds``): a host that does not
    accept the connection is gone.
    """

    def __init__(self, seconds: float, *, allow_private: bool, connect_seconds: float) -> None:
        self.allow_private = allow_private
        self.connect_seconds = connect_seconds
        self.expired = False
        self._started = time.monotonic()
        self._ends = self._started + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []  # duplicates of every connected socket, for the watchdog
        self._watchdog = threading.Timer(seconds, self._expire)
        self._watchdog.daemon = True

    def __enter__(self) -> "Guard":
        self._watchdog.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._watchdog.cancel()
        with self._lock:  # the lock keeps the watchdog from using a descriptor as it is closed
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def timeout(self) -> urllib3.Timeout:
        self.check()
        left = self._ends - time.monotonic()
        return urllib3.Timeout(connect=min(self.connect_seconds, left), read=left)

    def check(self) -> None:
        if self.expired or time.monotonic() >= self._ends:
            raise self.timed_out()

    def timed_out(self) -> FetchError:
        return FetchError(f"timed out after {time.monotonic() - self._started:.1f}s")

    def connected(self, connection: HTTPConnection, sock: socket.socket) -> None:
        """Right after connect, before a byte (even a TLS hello) is sent: watch the socket and vet the peer.

        Checking the address actually connected defeats DNS that answers public first and private later.
        """
        with self._lock:
            if self.expired:
                sock.close()
                raise self.timed_out()
            # shutdown() acts on the connection, not the descriptor, so a duplicate still reaches it after
            # a TLS wrap or after http.client hands the socket over to a Connection: close response.
            self._sockets.append(sock.dup())
        if not self.allow_private:
            peer = ipaddress.ip_address(sock.getpeername()[0])
            if is_internal(peer):
                sock.close()
                message = f"refused: {connection.host} connected to private address {describe_address(peer)}"
                raise BlockedURL(message)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _GuardedConnection:
    def __init__(self, *args, fetch_guard: Guard, **kwargs) -> None:
        self.fetch_guard = fetch_guard
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.fetch_guard.connected(self, sock)
        return sock


class _HTTPConnection(_GuardedConnection, HTTPConnection):
    pass


class _HTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection
