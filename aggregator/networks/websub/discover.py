"""A fetched document -> the hubs that push it and its topic (``rel="self"``). Pure: no I/O.

Where the spec says to look, in its order: the HTTP ``Link`` header first (it wins over the document), then
the document itself: ``<link rel="hub">`` / ``rel="self"`` in HTML and Atom, ``<atom:link>`` in RSS, the
``hubs`` list of a JSON Feed. A self URL that differs from the fetched one is the topic to subscribe to.
"""

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

MAX_SCAN_BYTES = 512 * 1024  # hub links sit in the document's head, before any entry
MAX_HUBS = 5
_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+(?:=(?:\"[^\"]*\"|[^;,]*))?)*)")
_REL_PARAM = re.compile(r";\s*rel\s*=\s*(?:\"([^\"]*)\"|([^;,\s]+))", re.IGNORECASE)
_ENTRY_TAGS = {"entry", "item", "body"}  # past the head: links further on belong to entries, not the feed


@dataclass(frozen=True, slots=True)
class WebSubLinks:
    hubs: tuple[str, ...]  # absolute http(s) URLs, in the order advertised
    topic: str  # the self URL, else the URL the document was fetched from

    @property
    def pushed(self) -> bool:
        return bool(self.hubs)


def discover(body: bytes, *, url: str, headers: dict[str, str]) -> WebSubLinks:
    """Hubs and topic of the document ``body`` fetched from ``url`` (``headers`` with lower-case names)."""
    header_hubs, header_self = _header_links(headers.get("link", ""), base_url=url)
    if header_hubs and header_self:
        return _links(header_hubs, header_self, url)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type.endswith("json") or body.lstrip()[:1] == b"{":
        doc_hubs, doc_self = _json_feed_links(body, base_url=url)
    else:
        doc_hubs, doc_self = _markup_links(body, base_url=url)
    return _links(header_hubs or doc_hubs, header_self or doc_self, url)


def _links(hubs: list[str], self_url: str, url: str) -> WebSubLinks:
    usable = [hub for hub in dict.fromkeys(hubs) if _is_web_url(hub)][:MAX_HUBS]
    return WebSubLinks(hubs=tuple(usable), topic=self_url if _is_web_url(self_url) else url)


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _header_links(value: str, *, base_url: str) -> tuple[list[str], str]:
    """RFC 8288 ``Link`` values: ``<url>; rel="hub", <url>; rel="self"`` (a rel may hold several names)."""
    hubs, self_url = [], ""
    for match in _LINK_VALUE.finditer(value):
        target, params = match.group(1).strip(), match.group(2)
        rels = {rel.lower() for found in _REL_PARAM.finditer(params) for rel in (found.group(1) or found.group(2)).split()}
        if "hub" in rels:
            hubs.append(urljoin(base_url, target))
        if "self" in rels and not self_url:
            self_url = urljoin(base_url, target)
    return hubs, self_url


def _json_feed_links(body: bytes, *, base_url: str) -> tuple[list[str], str]:
    """JSON Feed: ``"hubs": [{"type": "WebSub", "url": ...}]`` and ``feed_url`` as the self URL."""
    try:
        document = json.loads(body[:MAX_SCAN_BYTES * 8])
    except (ValueError, UnicodeDecodeError):
        return [], ""
    if not isinstance(document, dict):
        return [], ""
    hubs = [
        urljoin(base_url, hub["url"]) for hub in document.get("hubs") or [] if isinstance(hub, dict)
        and isinstance(hub.get("url"), str) and str(hub.get("type", "")).lower() in ("websub", "pubsubhubbub")
    ]  # fmt: skip
    feed_url = document.get("feed_url")
    return hubs, urljoin(base_url, feed_url) if isinstance(feed_url, str) else ""


class _HeadLinks(HTMLParser):
    """``<link rel=hub|self href>`` in HTML's head and a feed's header (Atom ``link``, RSS ``atom:link``, any
    prefix), tolerant of sloppy markup; stops at the first entry, item or HTML body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hubs: list[str] = []
        self.self_url = ""
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        local = tag.rsplit(":", 1)[-1]
        if local in _ENTRY_TAGS:
            self.done = True
        if self.done or local != "link":
            return
        values = {name.rsplit(":", 1)[-1]: (value or "").strip() for name, value in attrs}
        rels, href = values.get("rel", "").lower().split(), values.get("href", "")
        if href and "hub" in rels:
            self.hubs.append(href)
        if href and "self" in rels and not self.self_url:
            self.self_url = href

    handle_startendtag = handle_starttag


def _markup_links(body: bytes, *, base_url: str) -> tuple[list[str], str]:
    parser = _HeadLinks()
    text = body[:MAX_SCAN_BYTES].decode("utf-8", errors="replace")
    for start in range(0, len(text), 8192):  # chunks, so parsing stops soon after the head
        parser.feed(text[start:start + 8192])
        if parser.done:
            break
    return [urljoin(base_url, hub) for hub in parser.hubs], urljoin(base_url, parser.self_url) if parser.self_url else ""
