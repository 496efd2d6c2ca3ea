"""The one outbound HTTP helper: every server-side fetch in Chorus goes through ``fetch()``.

It enforces HOSTILE.md 1-10 in one place: only http(s), no credentials in URLs, no private or internal
addresses (checked before connecting, on every redirect hop, and again on the address actually connected),
at most five redirects, a cap on the body after decompression, and one deadline for the whole fetch.
"""

import http
import http.client
import ipaddress
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError, SSLError

try:
    import certifi
except ImportError:  # fall back to the system's trust store
    certifi = None

MAX_REDIRECTS = 5
MAX_ENCODINGS = 4  # "gzip, gzip" happens in the wild; a dozen stacked layers is an attack
OPERATION_TIMEOUT = 10.0  # one connect or read never waits longer, whatever is left of the deadline
CHUNK = 64 * 1024
DEFAULT_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/feed+json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, application/json;q=0.7, text/html;q=0.6, */*;q=0.1"
)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = {301, 302, 303, 307, 308}
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie"}
_HOST_NAME = re.compile(r"[a-z0-9_.-]+")
_PATH_SAFE = "/%:@!$&'()*+,;=~"  # reserved characters keep their meaning; everything else is percent-encoded
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GZIP_MAGIC = b"\x1f\x8b"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """A failed fetch; ``str(error)`` is a short message fit to show a person."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False,
                 retry_after: float | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.permanent = permanent  # retrying soon won't help: 4xx, refused, too big, redirect trouble
        self.retry_after = retry_after


class BlockedURL(FetchError):
    """Refused by policy (scheme, credentials, private address) before anything was sent to that address."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL, after redirects
    status: int  # 2xx or 304
    headers: dict[str, str]  # lower-case names
    body: bytes  # after Content-Encoding; b"" on 304
    permanent_redirect: str | None = None  # the final URL if there were hops and all were 301/308

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# --- URL policy


def normalize_url(url: str) -> str:
    """The canonical form of an http(s) URL; ``BlockedURL`` for other schemes, credentials or no host."""
    url = _unwrap_feed_scheme(url.strip())
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise BlockedURL(f"refused: malformed URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise BlockedURL(f"refused: only http and https URLs are fetched, not {scheme or 'relative'} URLs")
    if "@" in parts.netloc:
        raise BlockedURL("refused: URLs with a user name or password are not fetched")
    host = _canonical_host(parts.hostname or "")
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    return urlunsplit((scheme, netloc, path, quote(parts.query, safe=_PATH_SAFE + "?"), ""))


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise ``BlockedURL`` if ``url`` may not be fetched. Resolves the host (``FetchError`` if it can't)."""
    url = normalize_url(url)
    if not _private_allowed(allow_private):
        _check_host(url)


def _unwrap_feed_scheme(url: str) -> str:
    """``feed://x``, ``feed:https://x`` and ``feed:x`` (an old browser convention) name an http(s) URL."""
    if url[:5].lower() != "feed:":
        return url
    rest = url[5:]
    if rest.startswith("//"):
        return "http:" + rest
    return rest if "://" in rest else "http://" + rest


def _canonical_host(host: str) -> str:
    if not host:
        raise BlockedURL("refused: the URL has no host")
    if ":" in host:  # an IPv6 literal; urlsplit already dropped the brackets
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise BlockedURL(f"refused: invalid IPv6 address {host}") from None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise BlockedURL("refused: invalid host name") from None
    host = host.lower()
    if (ip := _loose_ipv4(host)) is not None:
        return str(ip)
    if not _HOST_NAME.fullmatch(host):
        raise BlockedURL(f"refused: invalid host name {host!r}")
    return host


def _loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse the spellings inet_aton accepts (``127.1``, ``0x7f000001``, ``2130706433``, ``017700000001``).

    Resolvers turn these into addresses, so they must be recognised (and written canonically) here too.
    """
    labels = host.removesuffix(".").split(".")
    if not 1 <= len(labels) <= 4:
        return None
    numbers = [_ipv4_number(label) for label in labels]
    if None in numbers:
        return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = sum(n << (8 * (3 - i)) for i, n in enumerate(head)) + last
    return ipaddress.IPv4Address(value)


def _ipv4_number(label: str) -> int | None:
    if re.fullmatch(r"0x[0-9a-f]*", label):
        return int(label[2:] or "0", 16)
    if re.fullmatch(r"0[0-7]+", label):
        return int(label, 8)
    if re.fullmatch(r"0|[1-9][0-9]*", label):
        return int(label)
    return None


def _is_internal(ip: IPAddress) -> bool:
    """Anything but a global unicast address, including IPv6 forms that carry an internal IPv4 address."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None and _is_internal(embedded):
        return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, 6to4, Teredo or NAT64 IPv6 address."""
    if ip.version == 4:
        return None
    embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo or (None, None))[1]
    if embedded is None and (ip in _NAT64 or 1 < int(ip) < 2**32):  # NAT64, IPv4-compatible ::a.b.c.d
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return embedded


def _describe(ip: IPAddress) -> str:
    embedded = _embedded_ipv4(ip)
    return f"{ip} ({embedded})" if embedded is not None else str(ip)


def _check_host(url: str) -> None:
    """Refuse a URL whose host is, or resolves to, an internal address. Runs before every hop connects."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if _is_internal(literal):
            raise BlockedURL(f"refused: {_describe(literal)} is a private address")
        return
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        raise BlockedURL(f"refused: {host} is a private address")
    for address in _resolve(host, parts.port or _DEFAULT_PORTS[parts.scheme]):
        if _is_internal(address):
            raise BlockedURL(f"refused: {host} resolves to private address {_describe(address)}")


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchError(f"could not resolve {host}") from error
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _private_allowed(allow_private: bool | None) -> bool:
    return settings.CHORUS_FETCH_ALLOW_PRIVATE if allow_private is None else allow_private


# --- One fetch: deadline watchdog and connections that vet their peer


class _Guard:
    """Per-fetch state its connections share: the address policy and the deadline.

    A per-read timeout cannot stop a server that sends one byte a second, so a watchdog thread shuts the
    fetch's connections down when the deadline passes; the blocked read then returns and the fetch fails.
    """

    def __init__(self, seconds: float, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.expired = False
        self._started = time.monotonic()
        self._ends = self._started + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []  # duplicates of every connected socket, for the watchdog
        self._watchdog = threading.Timer(seconds, self._expire)
        self._watchdog.daemon = True

    def __enter__(self) -> "_Guard":
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
        seconds = min(OPERATION_TIMEOUT, self._ends - time.monotonic())
        return urllib3.Timeout(connect=seconds, read=seconds)

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
            if _is_internal(peer):
                sock.close()
                message = f"refused: {connection.host} connected to private address {_describe(peer)}"
                raise BlockedURL(message)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _GuardedConnection:
    def __init__(self, *args, fetch_guard: _Guard, **kwargs) -> None:
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


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]


def fetch(url: str, *, etag: str = "", last_modified: str = "", accept: str = DEFAULT_ACCEPT,
          method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None,
          max_bytes: int | None = None, deadline: float | None = None,
          allow_private: bool | None = None) -> FetchResult:  # fmt: skip
    """Fetch ``url``, following up to five redirects, within ``deadline`` seconds overall.

    Returns a 2xx or 304 result with the decoded body; raises ``FetchError`` (``BlockedURL`` when refused by
    policy) for everything else. Unset limits come from settings, read at call time.
    """
    headers = _request_headers(accept=accept, etag=etag, last_modified=last_modified, extra=headers or {})
    request = _Request(method.upper(), normalize_url(url), data, headers)
    limit = settings.CHORUS_FETCH_MAX_BYTES if max_bytes is None else max_bytes
    seconds = settings.CHORUS_FETCH_DEADLINE if deadline is None else deadline
    with _Guard(seconds, allow_private=_private_allowed(allow_private)) as guard:
        try:
            return _follow(request, guard=guard, max_bytes=limit)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as error:
            raise _transport_error(error, guard) from error


def _request_headers(*, accept: str, etag: str, last_modified: str, extra: dict[str, str]) -> dict[str, str]:
    headers = {"User-Agent": settings.CHORUS_USER_AGENT, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for name, value in extra.items():  # the caller's headers win, whatever their case
        headers = {key: v for key, v in headers.items() if key.lower() != name.lower()}
        headers[name] = value
    return headers


def _follow(request: _Request, *, guard: _Guard, max_bytes: int) -> FetchResult:
    hops: list[int] = []
    seen = {request.url}
    while True:
        if not guard.allow_private:
            _check_host(request.url)
        with _open(request, guard) as response:
            status, location = response.status, response.headers.get("location", "")
            if status in _REDIRECTS and location:
                target = normalize_url(urljoin(request.url, location))
                if len(hops) == MAX_REDIRECTS:
                    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})", permanent=True)
                if target in seen:
                    raise FetchError(f"redirect loop at {target}", permanent=True)
                hops.append(status)
                seen.add(target)
                request = _redirected(request, status=status, url=target)
                continue
            if not (200 <= status < 300 or status == 304):
                raise _status_error(status, response.headers.get("retry-after", ""))
            no_body = status in (204, 304) or request.method == "HEAD"
            body = b"" if no_body else _read_body(response, guard=guard, max_bytes=max_bytes)
            moved = bool(hops) and all(hop in (301, 308) for hop in hops)
            headers = {name.lower(): value for name, value in response.headers.itermerged()}
            permanent_redirect = request.url if moved else None
            return FetchResult(request.url, status, headers, body, permanent_redirect=permanent_redirect)


@contextmanager
def _open(request: _Request, guard: _Guard) -> Iterator[urllib3.BaseHTTPResponse]:
    """One request on a fresh connection (no pooling across hops, no proxies from the environment)."""
    target = urllib3.util.parse_url(request.url)
    pool_class, tls = (_HTTPSPool, _tls_options()) if target.scheme == "https" else (_HTTPPool, {})
    timeout = guard.timeout()
    pool = pool_class(target.host, target.port, timeout=timeout, retries=False, fetch_guard=guard, **tls)
    try:
        response = pool.urlopen(
            request.method, target.request_uri, body=request.body, headers=request.headers, timeout=timeout,
            retries=False, redirect=False, assert_same_host=False, preload_content=False, decode_content=False
        )  # fmt: skip
        try:
            yield response
        finally:
            response.close()
    finally:
        pool.close()


def _tls_options() -> dict[str, str | None]:
    # Verification always on: certifi's bundle when installed (looked up per fetch), else the system's store.
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where() if certifi else None}


def _redirected(request: _Request, *, status: int, url: str) -> _Request:
    """The next hop: 303 (and 301/302 after POST) turn into GET; credentials stay with their host."""
    method, body, headers = request.method, request.body, request.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {n: v for n, v in headers.items() if n.lower() not in ("content-type", "content-length")}
    if not _keeps_credentials(request.url, url):
        headers = {n: v for n, v in headers.items() if n.lower() not in _CREDENTIAL_HEADERS}
    return _Request(method, url, body, headers)


def _keeps_credentials(old: str, new: str) -> bool:
    """Same origin, or the same host upgraded from http to https on default ports."""
    a, b = urlsplit(old), urlsplit(new)
    if a.hostname != b.hostname:
        return False
    if a.scheme == b.scheme:
        return a.port == b.port
    return (a.scheme, b.scheme, a.port, b.port) == ("http", "https", None, None)


def _status_error(status: int, retry_after: str) -> FetchError:
    try:
        message = f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        message = f"HTTP {status}"
    if status in (429, 503):
        return FetchError(message, status=status, retry_after=_parse_retry_after(retry_after))
    return FetchError(message, status=status, permanent=status < 500 and status != 408)


def _parse_retry_after(value: str) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date."""
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,10}", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _transport_error(error: Exception, guard: _Guard) -> FetchError:
    """A short, transient error for a failure below HTTP (the watchdog's shutdown counts as a timeout)."""
    if guard.expired:
        return guard.timed_out()
    if isinstance(error, NameResolutionError):
        return FetchError(f"could not resolve {error.conn.host}")
    if isinstance(error, NewConnectionError):
        reason = getattr(error.__cause__, "strerror", None) or "connection failed"
        return FetchError(f"could not connect to {error.conn.host}: {reason.lower()}")
    if isinstance(error, TimeoutError | urllib3.exceptions.TimeoutError):
        return guard.timed_out()
    if isinstance(error, SSLError):
        verify = "CERTIFICATE_VERIFY_FAILED" in str(error)
        return FetchError("TLS certificate verification failed" if verify else "TLS handshake failed")
    root = error
    while isinstance(root, urllib3.exceptions.ProtocolError) and len(root.args) > 1:
        root = root.args[1]
    return FetchError(f"connection failed ({type(root).__name__})")


# --- Body: capped, decoded by us in bounded steps


def _read_body(response: urllib3.BaseHTTPResponse, *, guard: _Guard, max_bytes: int) -> bytes:
    """The body after Content-Encoding; refused as soon as its raw or decoded size passes ``max_bytes``."""
    length = response.headers.get("content-length", "").strip()
    if length.isascii() and length.isdigit() and int(length) > max_bytes:
        raise _too_large(max_bytes)
    decoder = _BodyDecoder(response.headers.get("content-encoding", ""), max_bytes=max_bytes)
    received = 0
    for chunk in response.stream(CHUNK, decode_content=False):
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(max_bytes)
        decoder.feed(chunk)
        guard.check()
    body = decoder.finish()
    guard.check()  # the watchdog's shutdown looks like a clean end of body: never return it as complete
    return body


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(f"response larger than {max_bytes} bytes", permanent=True)


class _BodyDecoder:
    """Undo stacked Content-Encodings stage by stage; no stage ever holds more than CHUNK bytes of output."""

    def __init__(self, content_encoding: str, *, max_bytes: int) -> None:
        names = [name.strip().lower() for name in content_encoding.split(",")]
        names = [name for name in names if name not in ("", "identity")]
        if len(names) > MAX_ENCODINGS:
            raise FetchError(f"too many Content-Encodings ({len(names)})", permanent=True)
        self._stages = [_Inflater(name) for name in reversed(names)]  # the last one applied is undone first
        self._body = bytearray()
        self._max_bytes = max_bytes

    def feed(self, data: bytes) -> None:
        for piece in _through(self._stages, data):
            self._keep(piece)

    def finish(self) -> bytes:
        for index, stage in enumerate(self._stages):
            for piece in stage.flush():
                for output in _through(self._stages[index + 1 :], piece):
                    self._keep(output)
        return bytes(self._body)

    def _keep(self, piece: bytes) -> None:
        if len(self._body) + len(piece) > self._max_bytes:
            raise _too_large(self._max_bytes)
        self._body += piece


def _through(stages: list["_Inflater"], data: bytes) -> Iterator[bytes]:
    if not stages:
        yield data
        return
    for piece in stages[0].feed(data):
        yield from _through(stages[1:], piece)


class _Inflater:
    """One gzip or deflate layer, decoded lazily in pieces of at most CHUNK bytes."""

    def __init__(self, name: str) -> None:
        if name in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif name == "deflate":
            self._wbits = zlib.MAX_WBITS  # zlib-wrapped as the RFC says; raw deflate is tried if that fails
        else:
            raise FetchError(f"unsupported Content-Encoding {name!r}", permanent=True)
        self._name = name
        self._inflater = zlib.decompressobj(self._wbits)  # None between gzip members
        self._pending = b""
        self._started = False
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        data, self._pending = self._pending + data, b""
        while data and not self._done:
            if self._inflater is None:  # a gzip member ended; RFC 1952 lets another follow
                if len(data) < 2 and _GZIP_MAGIC.startswith(data):
                    self._pending = data
                    return
                if not data.startswith(_GZIP_MAGIC):
                    self._done = True  # trailing garbage after the last member, as browsers tolerate
                    return
                self._inflater = zlib.decompressobj(self._wbits)
            if not self._started and len(data) < 2:  # the zlib-or-raw guess needs the first two bytes
                self._pending = data
                return
            try:
                piece = self._inflater.decompress(data, CHUNK)
            except zlib.error:
                if self._started or self._wbits != zlib.MAX_WBITS:
                    raise FetchError(f"invalid {self._name} data", permanent=False) from None
                self._wbits = -zlib.MAX_WBITS
                self._inflater = zlib.decompressobj(self._wbits)
                continue
            self._started = True
            if piece:
                yield piece
            if self._inflater.eof:
                data = self._inflater.unused_data
                self._inflater = None
                self._done = self._wbits != 16 + zlib.MAX_WBITS
            else:
                data = self._inflater.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        # All input went through decompress() already, so what flush() returns is at most one match long.
        if self._inflater is not None and not self._done:
            piece = self._inflater.flush()
            if piece:
                yield piece
