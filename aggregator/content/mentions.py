"""Mention extraction: which people a post names, as normalized handles. Pure: no I/O, no database.

``extract_mentions(text=, html=, in_reply_to=, url=)`` returns ``Mention(kind, value)`` pairs:

- ``("fediverse", "user@host")``  from ``@user@host`` in prose, and from links to ``https://host/@user[/id]``;
- ``("x", "name")``               from ``@name`` in prose, and from links to ``x.com``/``twitter.com/name[/status/id]``
                                  (the X adapter links its mention entities that way);
- ``("bluesky", "name.domain")``  from ``@name.domain`` in prose, and from ``bsky.app/profile/<handle>`` links;
- ``("xmpp", "user@host")``       from ``xmpp:`` links and URIs (bare JID: no resource, no query);
- ``("url", "https://host/path")`` from every http(s) link, normalized (see ``normalize_link``), and from
                                  ``in_reply_to`` (Atom ``thr:in-reply-to``, XEP-0277 in-reply-to, X replied_to).

Never a mention: an ``@`` inside an e-mail address, a URL or a word; anything inside ``<code>``/``<pre>``; the
text of a link (its target is what counts: Mastodon writes ``@<span>alice</span>`` for ``@alice@host``); the
post's own URL. Handles are lowercased.
"""

import html as html_lib
import re
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit


class Mention(NamedTuple):
    kind: str  # "x" | "fediverse" | "bluesky" | "xmpp" | "url"
    value: str


KINDS = ("x", "fediverse", "bluesky", "xmpp", "url")

_CODE = re.compile(r"<(pre|code)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BARE_URL = re.compile(r"""(?:https?|xmpp):[^\s<>"'`]+""", re.IGNORECASE)
_ABSOLUTE = re.compile(r"(?:https?|xmpp):", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
# An @ that starts a handle: not after a word character, another @, a dot, slash, colon, dash, + or = (e-mail
# addresses, URLs, ``a=@b`` in code-like prose).
_HANDLE = re.compile(
    r"(?<![\w@./:+=\-])@(?P<name>[a-z0-9_](?:[a-z0-9_.\-]*[a-z0-9_])?)"
    r"(?:@(?P<host>[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)+))?"
    r"(?![\w@]|\.\w|-\w)",
    re.IGNORECASE,
)
_X_NAME = re.compile(r"[a-z0-9_]{1,15}")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,63}")
_X_HOSTS = {"x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com", "mobile.x.com"}
_X_RESERVED = {"i", "home", "search", "intent", "hashtag", "share", "explore", "settings", "messages",
               "notifications", "login", "signup", "tos", "privacy", "compose"}  # fmt: skip
_JID = re.compile(r"(?:[^@/\s\"&'/:<>]+@)?[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?", re.IGNORECASE)


def extract_mentions(*, text: str = "", html: str = "", in_reply_to: str = "", url: str = "") -> set[Mention]:
    """Every handle and link ``text``/``html`` names, plus what the post answers. ``url`` is the post's own
    link: relative links resolve against it, and a link to the post itself is not a mention."""
    found: set[Mention] = set()
    links: list[str] = []
    if html:
        prose = _CODE.sub(" ", html)
        for attributes, _ in _ANCHOR.findall(prose):
            href = _HREF.search(attributes)
            if href:
                links.append(html_lib.unescape(next(part for part in href.groups() if part is not None)))
        prose = html_lib.unescape(_TAG.sub(" ", _ANCHOR.sub(" ", prose)))
    else:
        prose = text
    links.extend(match.rstrip(_TRAILING) for match in _BARE_URL.findall(prose))
    prose = _BARE_URL.sub(" ", prose)
    found.update(handles_in(prose))
    own = normalize_link(url) if url else None
    for link in links:
        absolute = link if not url or _ABSOLUTE.match(link) else urljoin(url, link)  # stored HTML is absolute
        found.update(link_mentions(absolute, own=own))
    if in_reply_to:
        found.update(link_mentions(in_reply_to.strip(), own=own))
    return found


def handles_in(prose: str) -> set[Mention]:
    """``@user@host``, ``@name.domain`` (Bluesky) and ``@name`` (X) written in plain text."""
    found = set()
    for match in _HANDLE.finditer(prose):
        name, host = match["name"].lower(), (match["host"] or "").lower()
        if host:
            found.add(Mention("fediverse", f"{name}@{host}"))
        elif "." in name:
            if _DOMAIN.fullmatch(name):
                found.add(Mention("bluesky", name))
        elif _X_NAME.fullmatch(name):
            found.add(Mention("x", name))
    return found


def link_mentions(link: str, *, own: str | None = None) -> set[Mention]:
    """What one link names: the normalized link itself (``url``) and, for a profile or a post on a known
    network, that account's handle. Links that are not http(s) or xmpp name nothing."""
    if link[:5].lower() == "xmpp:":
        jid = bare_jid(link[5:])
        return {Mention("xmpp", jid)} if jid else set()
    normalized = normalize_link(link)
    if normalized is None or normalized == own:
        return set()
    found = {Mention("url", normalized)}
    account = _account_of(normalized)
    if account:
        found.add(account)
    return found


def bare_jid(address: str) -> str:
    """``user@host/resource?query`` -> ``user@host`` (lowercased); "" when it is no JID."""
    address = address.lstrip("/").split("?", 1)[0].split("#", 1)[0].split("/", 1)[0]
    return address.lower() if _JID.fullmatch(address) and "@" in address else ""


def normalize_link(link: str) -> str | None:
    """``HTTPS://Host:443/path?q#frag`` -> ``https://host/path?q``: scheme and host lowercased, default
    port, fragment and credentials dropped, an empty path made ``/``. None for anything but http(s)."""
    try:
        parts = urlsplit(link.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if scheme not in ("http", "https") or not host:
        return None
    netloc = host if port in (None, 80 if scheme == "http" else 443) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _account_of(normalized: str) -> Mention | None:
    parts = urlsplit(normalized)
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return None
    host, first = parts.hostname or "", segments[0]
    if host in _X_HOSTS:
        name = first.lower()
        return Mention("x", name) if _X_NAME.fullmatch(name) and name not in _X_RESERVED else None
    if host == "bsky.app" and len(segments) >= 2 and first == "profile":
        handle = segments[1].lower()
        return Mention("bluesky", handle) if _DOMAIN.fullmatch(handle) else None
    if first.startswith("@") and len(first) > 1 and (len(segments) == 1 or segments[1].isdigit()):
        user = first[1:].lower()
        return Mention("fediverse", f"{user}@{host}") if re.fullmatch(r"[a-z0-9_.\-]+", user) else None
    return None


def author_mentions(*, handle: str, uri: str) -> set[Mention]:
    """The handles a post's author goes by (``author_handle`` such as ``@name``, ``@user@host`` or a JID;
    ``author_uri`` such as a profile URL or ``xmpp:`` URI), in the same normalized form as mentions."""
    handle = handle.strip()
    if handle.startswith("@"):
        found = handles_in(handle)
    elif "@" in handle:  # an XMPP publisher: a bare JID
        found = {Mention("xmpp", bare_jid(handle))} if bare_jid(handle) else set()
    else:
        found = {Mention("bluesky", handle.lower())} if _DOMAIN.fullmatch(handle.lower()) else set()
    if uri:
        found.update(link_mentions(uri))
    return found
