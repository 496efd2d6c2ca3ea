"""``fetch()`` itself: request headers, one fresh connection per hop with TLS always verified, up to
``MAX_REDIRECTS`` redirects (303, and 301/302 after POST, become GET; credential headers stay with their
origin), and HTTP statuses and transport failures turned into short ``FetchError``s. The CA bundle is looked
up per fetch (``certifi.where()``), so the trust store can change between fetches.
"""

import http
import http.client
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import NameResolutionError, NewConnectionError, SSLError

from aggregator.fetch.body import read_body
from aggregator.fetch.errors import FetchError, FetchResult
from aggregator.fetch.guard import Guard, HTTPPool, HTTPSPool
from aggregator.fetch.urls import check_host, normalize_url, private_allowed

try:
    import certifi
except ImportError:  # fall back to the system's trust store
    certifi = None

MAX_REDIRECTS = 5
DEFAULT_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/feed+json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, application/json;q=0.7, text/html;q=0.6, */*;q=0.1"
)

_REDIRECTS = {301, 302, 303, 307, 308}
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie"}


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    body: bytes | None
    headers: dict[str, str]


def fetch(url: str, *, etag: str = "", last_modified: str = "", accept: str = DEFAULT_ACCEPT,
          method: str = "GET", data: bytes | None = None, headers: dict[str, str] | None = None,
          max_bytes: int | None = None, deadline: float | None = None,
          allow_private: bool | None = None, keep_method: bool = False) -> FetchResult:  # fmt: skip
    """Fetch ``url``, following up to five redirects, within ``deadline`` seconds overall.

    ``keep_method``: a 301/302 after POST repeats the POST at the target (a WebSub hub that moved) instead of
    turning into a GET as browsers do.

    Returns a 2xx or 304 result with the decoded body; raises ``FetchError`` (``BlockedURL`` when refused by
    policy) for everything else. Unset limits come from settings, read at call time.
    """
    headers = _request_headers(accept=accept, etag=etag, last_modified=last_modified, extra=headers or {})
    request = _Request(method.upper(), normalize_url(url), data, headers)
    limit = settings.CHORUS_FETCH_MAX_BYTES if max_bytes is None else max_bytes
    seconds = settings.CHORUS_FETCH_DEADLINE if deadline is None else deadline
    connect_seconds = settings.CHORUS_FETCH_CONNECT_TIMEOUT
    with Guard(seconds, allow_private=private_allowed(allow_private), connect_seconds=connect_seconds) as guard:
        try:
            return _follow(request, guard=guard, max_bytes=limit, keep_method=keep_method)
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


def _follow(request: _Request, *, guard: Guard, max_bytes: int, keep_method: bool = False) -> FetchResult:
    hops: list[int] = []
    seen = {request.url}
    while True:
        if not guard.allow_private:
            check_host(request.url)
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
                request = _redirected(request, status=status, url=target, keep_method=keep_method)
                continue
            headers = {name.lower(): value for name, value in response.headers.itermerged()}
            if not (200 <= status < 300 or status == 304):
                raise _status_error(status, headers)
            no_body = status in (204, 304) or request.method == "HEAD"
            body = b"" if no_body else read_body(response, guard=guard, max_bytes=max_bytes)
            moved = bool(hops) and all(hop in (301, 308) for hop in hops)
            permanent_redirect = request.url if moved else None
            return FetchResult(request.url, status, headers, body, permanent_redirect=permanent_redirect)


@contextmanager
def _open(request: _Request, guard: Guard) -> Iterator[urllib3.BaseHTTPResponse]:
    """One request on a fresh connection (no pooling across hops, no proxies from the environment)."""
    target = urllib3.util.parse_url(request.url)
    pool_class, tls = (HTTPSPool, _tls_options()) if target.scheme == "https" else (HTTPPool, {})
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


def _redirected(request: _Request, *, status: int, url: str, keep_method: bool = False) -> _Request:
    """The next hop: 303 (and 301/302 after POST, unless ``keep_method``) turn into GET; credentials stay with
    their host."""
    method, body, headers = request.method, request.body, request.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST" and not keep_method):
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


def _status_error(status: int, headers: dict[str, str]) -> FetchError:
    try:
        message = f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        message = f"HTTP {status}"
    if status in (429, 503):
        retry_after = _parse_retry_after(headers.get("retry-after", ""))
        return FetchError(message, status=status, retry_after=retry_after, headers=headers)
    return FetchError(message, status=status, permanent=status < 500 and status != 408, headers=headers)


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


def _transport_error(error: Exception, guard: Guard) -> FetchError:
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
