"""Sending one message to one Apprise URL (ntfy, Matrix, Telegram, SMS gateways, webhooks, email, ...).

Checked with Apprise 2.3 (pinned in pyproject.toml). Public surface used: ``Apprise.instantiate(url)``, the
plugin's ``url(privacy=True)``, ``notify(title=, body=)``, its ``template_tokens`` (whether the URL names the
host to contact), ``socket_*_timeout``, and ``LogCapture``.

This module is an adapter like ``networks/xmpp/chat.py``, the other way the hub sends a message: below the
replies app that decides what to send, and called only from worker tasks. Apprise brings its own HTTP client
and SMTP session and offers no custom transport, so ``aggregator.fetch``'s connection cannot be used; the same
address rule is applied to the address actually connected instead (``fetch.guarded_connections``: the checked
name cannot resolve elsewhere at connect time), and a URL that names a private host is refused when saved.
"""

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from aggregator.fetch import BlockedURL, FetchError, check_url, guarded_connections

log = logging.getLogger(__name__)

_QUERY = re.compile(r"\?.*$", re.S)
_handling = threading.local()  # the secrets of the URL this thread hands Apprise now


class _Redact(logging.Filter):
    """Apprise's own log lines (``Loaded JSON URL: ...``) hide passwords but not path or query tokens, and
    urllib3's debug lines (under Apprise's requests) carry the path of every request."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = getattr(_handling, "secrets", ())
        if secrets:
            text = record.getMessage()
            for secret in secrets:
                text = text.replace(secret, "****")
            record.msg, record.args = text, ()
        return True


for _name in ("apprise", "urllib3.connectionpool"):  # a logger's filters see only its own records
    logging.getLogger(_name).addFilter(_Redact())


class DestinationError(ValueError):
    """A URL Apprise cannot use, or that policy refuses; the message is fit to show the person."""


class SendError(Exception):
    """A send that failed; ``str()`` is short, fit to show, and never carries the URL's secrets."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # what is contacted, for per-host limits ("" when the service's own, fixed API)
    masked: str  # the URL with its secrets hidden: what is ever shown or logged


def parse(url: str, *, check_address: bool = True) -> Destination:
    """Check an Apprise URL as a person gives it. Raises ``DestinationError`` with the reason."""
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    allowed = settings.CHORUS_NOTIFY_SCHEMES
    if scheme not in allowed:
        raise DestinationError(f"{scheme or 'that'}:// is not offered here; one of: {', '.join(allowed)}")
    plugin = _plugin(url)
    if plugin is None:
        raise DestinationError(f"Apprise cannot use this {scheme}:// URL (see its wiki for the syntax)")
    hosts = _named_hosts(plugin)
    if check_address:
        for host in hosts:
            _check_host(host)
    return Destination(scheme=scheme, host=hosts[0] if hosts else "", masked=mask(plugin))


def send(url: str, *, title: str, body: str, timeout: float) -> None:
    """Send one message; raises ``SendError`` (``BlockedURL``'s message when the address was refused)."""
    plugin = _plugin(url)
    if plugin is None:
        raise SendError("Apprise cannot use this URL")
    for host in _named_hosts(plugin):
        try:
            _check_host(host)
        except DestinationError as error:
            raise SendError(str(error)) from None
    plugin.socket_connect_timeout = plugin.socket_read_timeout = min(timeout, 30.0)
    with _redacting(url), _apprise().LogCapture(level=logging.WARNING, fmt="%(message)s") as output, \
            guarded_connections(seconds=timeout) as guard:  # fmt: skip
        try:
            ok = plugin.notify(title=title, body=body)
        except Exception as error:  # a plugin bug must not take the worker's loop down
            log.warning("%s send raised %s", mask(plugin), type(error).__name__)
            ok = False
    if guard.refused:
        raise SendError(guard.refused[0])
    if not ok:
        raise SendError(_reason(output.getvalue(), url) or "the service did not accept the message")


def mask(plugin) -> str:
    """Apprise's own privacy form (passwords and tokens hidden), without the query (tokens hide there too)
    and with every path part shortened to its first letters."""
    private = _QUERY.sub("", plugin.url(privacy=True))
    scheme, _, rest = private.partition("://")
    authority, _, path = rest.partition("/")
    parts = [part[:2] + "…" if len(part) > 3 else part for part in path.split("/") if part]
    return f"{scheme}://{authority}/" + "/".join(parts)


def _apprise():
    """The apprise module, imported on first use: importing it is about a tenth of a second of every hub
    process's start (web, worker, manage commands), for what only sending and saving a destination need."""
    import apprise

    return apprise


def _plugin(url: str):
    with _redacting(url):
        try:
            return _apprise().Apprise.instantiate(url, suppress_exceptions=True)
        except Exception:  # Apprise's URL parsing on hostile input
            return None


@contextmanager
def _redacting(url: str) -> Iterator[None]:
    outer, _handling.secrets = getattr(_handling, "secrets", ()), _secrets(url)
    try:
        yield
    finally:
        _handling.secrets = outer


def _named_hosts(plugin) -> list[str]:
    """The hosts the URL itself names (a webhook, a self-hosted ntfy, an SMTP server); services with one fixed
    API address (Telegram, Twilio) name none: their host part is an account token."""
    hosts = []
    if "host" in type(plugin).template_tokens and getattr(plugin, "host", None):
        hosts.append(plugin.host)
    smtp_host = getattr(plugin, "smtp_host", "")
    if smtp_host and smtp_host not in hosts:
        hosts.append(smtp_host)
    return hosts


def _check_host(host: str) -> None:
    try:
        check_url(f"http://{host}/")
    except BlockedURL as error:
        raise DestinationError(str(error).replace("refused: ", "refused: the destination ", 1)) from None
    except FetchError:
        pass  # a name that does not resolve now contacts nothing; the connect guard vets what it resolves to


def _reason(captured: str, url: str) -> str:
    """Apprise's last warning, with anything from the URL (user, password, path tokens) blanked out."""
    lines = [line.strip() for line in captured.splitlines() if line.strip()]
    if not lines:
        return ""
    text = lines[-1][:300]
    for secret in _secrets(url):
        text = text.replace(secret, "****")
    return text


def _secrets(url: str) -> list[str]:
    """The parts of a URL that may be credentials: user, password, path parts, query values."""
    try:
        parts = urlsplit(url)
        user, password = parts.username or "", parts.password or ""
    except ValueError:
        return []
    pieces = [user, password, *parts.path.split("/"), *re.split(r"[&=]", parts.query)]
    return sorted({piece for piece in pieces if len(piece) > 3}, key=len, reverse=True)
