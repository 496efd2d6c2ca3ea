"""URL and address policy: the canonical form of an http(s) URL, and the refusal of anything that is, or
resolves to, a private or internal address however it is spelled (loose IPv4 forms, IPv6 forms carrying an
IPv4 address, ``localhost`` names). Names are resolved through ``socket.getaddrinfo``, looked up at call time.
"""

import ipaddress
import re
import socket
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings

from aggregator.fetch.errors import BlockedURL, FetchError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"[a-z0-9_.-]+")
_PATH_SAFE = "/%:@!$&'()*+,;=~"  # reserved characters keep their meaning; everything else is percent-encoded
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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
    if not private_allowed(allow_private):
        check_host(url)


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


def is_internal(ip: IPAddress) -> bool:
    """Anything but a global unicast address, including IPv6 forms that carry an internal IPv4 address."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None and is_internal(embedded):
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


def describe_address(ip: IPAddress) -> str:
    embedded = _embedded_ipv4(ip)
    return f"{ip} ({embedded})" if embedded is not None else str(ip)


def check_host(url: str) -> None:
    """Refuse a URL whose host is, or resolves to, an internal address. Runs before every hop connects."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if is_internal(literal):
            raise BlockedURL(f"refused: {describe_address(literal)} is a private address")
        return
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        raise BlockedURL(f"refused: {host} is a private address")
    for address in _resolve(host, parts.port or _DEFAULT_PORTS[parts.scheme]):
        if is_internal(address):
            raise BlockedURL(f"refused: {host} resolves to private address {describe_address(address)}")


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchError(f"could not resolve {host}") from error
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def private_allowed(allow_private: bool | None) -> bool:
    return settings.CHORUS_FETCH_ALLOW_PRIVATE if allow_private is None else allow_private
