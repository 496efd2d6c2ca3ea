"""Pure Webmention parsing: bytes (and headers) in, addresses and entries out. Microformats through mf2py."""

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from aggregator.content.entry import Entry
from aggregator.content.sanitize import html_to_text, safe_url

_LINK_HEADER = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)
_LINKING_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "video": "src", "audio": "src", "source": "src"}


def endpoint(*, url: str, headers: dict[str, str], body: bytes) -> str:
    """The page's Webmention endpoint, absolute: the first ``Link: <...>; rel="webmention"``, else the first
    ``<link>`` or ``<a>`` with ``rel~=webmention`` in the HTML; "" when it names none. A same-page endpoint
    (``href=""``) is the page itself, as the spec says."""
    for target, params in _LINK_HEADER.findall(headers.get("link", "")):
        rel = _REL.search(params)
        if rel and "webmention" in (rel.group(1) or rel.group(2) or "").lower().split():
            return safe_url(urljoin(url, target.strip())) or ""
    finder = _EndpointFinder()
    finder.feed(body.decode("utf-8", errors="replace"))
    return "" if finder.href is None else (safe_url(urljoin(url, finder.href)) or "")


class _EndpointFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.href is not None or tag not in ("link", "a"):
            return
        values = dict(attrs)
        if "webmention" in (values.get("rel") or "").lower().split() and values.get("href") is not None:
            self.href = values["href"].strip()


class _LinkCollector(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base, self.links = base, set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attribute = _LINKING_ATTRIBUTES.get(tag)
        value = dict(attrs).get(attribute) if attribute else None
        if value:
            self.links.add(_comparable(urljoin(self.base, value.strip())))


def _comparable(url: str) -> str:
    """An address as links are compared: without its fragment, scheme and host in lower case."""
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower(), fragment="").geturl()


def links_in(html: str, *, base_url: str) -> set[str]:
    """Every address the HTML links to (``a``, ``link`` and media elements), absolute, without fragments."""
    collector = _LinkCollector(base_url)
    collector.feed(html)
    return {link for link in collector.links if safe_url(link)}


def links_to(*, body: bytes, base_url: str, target: str) -> bool:
    """Whether the HTML at ``base_url`` links to ``target``."""
    return _comparable(target) in links_in(body.decode("utf-8", errors="replace"), base_url=base_url)


def entry_of(*, body: bytes, url: str, target: str, fetched_at: datetime) -> Entry:
    """What the page at ``url`` says, from its first h-entry (the whole page's text when it has none).
    It answers ``target`` unless its h-entry names what it answers itself."""
    import mf2py  # on first use: it and Beautiful Soup are a tenth of a second of every hub process's start

    document = mf2py.parse(doc=body.decode("utf-8", errors="replace"), url=url, html_parser="html.parser")
    item = next((item for item in document.get("items", []) if "h-entry" in item.get("type", [])), None)
    props = (item or {}).get("properties", {})
    content = _first(props.get("content"))
    html = content.get("html", "") if isinstance(content, dict) else ""
    if not html:
        text = content.get("value", "") if isinstance(content, dict) else str(content or "")
        html = f"<p>{_escape(text or _first(props.get('name')) or '')}</p>"
    author = _first(props.get("author"))
    author_props = author.get("properties", {}) if isinstance(author, dict) else {}
    name = _first(author_props.get("name")) if author_props else (author if isinstance(author, str) else "")
    author_uri = _first(author_props.get("url")) or ""
    answers = [_url_of(value) for value in props.get("in-reply-to", [])]
    return Entry(
        guid=url, url=url, author_name=html_to_text(str(name or "")), content_html=html,
        author_uri=safe_url(author_uri, base_url=url) if author_uri else "",
        published=_date(_first(props.get("published"))) or fetched_at,
        updated=_date(_first(props.get("updated"))),
        in_reply_to=next((a for a in answers if _comparable(a) == _comparable(target)), answers[0] if answers else target),
        base_url=url,
    )  # fmt: skip


def _first(values):
    return values[0] if values else None


def _url_of(value) -> str:
    if isinstance(value, dict):
        return str(_first(value.get("properties", {}).get("url")) or value.get("value") or "")
    return str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
