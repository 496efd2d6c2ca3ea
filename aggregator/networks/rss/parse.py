"""Feed bytes -> ``ParsedFeed``. Pure (no I/O but a ``KnownEntries``' shared tier, when the caller gives one),
tested on the fixture files in ``testdata/``."""

import calendar
import dataclasses
import functools
import hashlib
import importlib.metadata
import io
import re
import sys
import xml.sax
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import urljoin
from xml.etree import ElementTree as ET

import feedparser
import feedparser.api

from aggregator.content import entry as entry_module
from aggregator.content import sanitize
from aggregator.content.entry import Entry, FeedInfo, ParsedFeed
from aggregator.content.sanitize import html_to_text, safe_url
from aggregator.content.xmlsafety import refuse_entity_declarations
from aggregator.hygiene import controls
from aggregator.networks.rss import known_entries
from aggregator.networks.rss.known_entries import Known, KnownEntries, Split, split

# feedparser (checked with 6.0.14) asks xml.sax for libxml2's driver before expat on every parse; it is not
# installed, and the failed import searches sys.path each time (a quarter of a pushed item's parse). Expat
# parses in either case; naming it alone also keeps a libxml2 installed later from changing how feeds parse.
if isinstance(getattr(feedparser.api, "PREFERRED_XML_PARSERS", None), list):
    feedparser.api.PREFERRED_XML_PARSERS = []

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TOMBSTONE = "{http://purl.org/atompub/tombstones/1.0}deleted-entry"
MAX_TOMBSTONES = 1000
# A character reference to a UTF-16 surrogate (U+D800..U+DFFF), in hex or in decimal (55296..57343).
_SURROGATE_REFERENCE = re.compile(
    rb"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}"
    rb"|0*(?:5529[6-9]|553[0-9]{2}|55[4-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}|573[0-3][0-9]|5734[0-3]));"
)


class NotAFeed(ValueError):
    """The bytes are not an RSS or Atom feed (or not one Chorus will parse)."""


def parse(body: bytes, *, base_url: str, content_type: str = "", known: KnownEntries | None = None) -> ParsedFeed:
    """Parse a fetched feed. ``body`` must be the fetched bytes, never a URL or path (feedparser
    would fetch or open it). ``known``: entries this process (or, through its shared tier, another) parsed
    before, taken from there rather than parsed again (``known_entries``: the result is the same), and the new
    ones kept there; the caller hands them to the shared tier (``known.share()``).

    Raises ``NotAFeed`` for documents that are not feeds (broken XML of which nothing can be read is none),
    ``UnsafeXML`` for entity declarations.
    """
    if not isinstance(body, bytes):
        raise TypeError("parse() takes the fetched bytes; feedparser must never see a URL or a path")
    refuse_entity_declarations(body)
    body = _without_surrogate_references(body)
    layout = split(body, base_url=base_url, content_type=content_type) if known is not None else None
    if layout is None:
        return _parse(body, base_url=base_url, content_type=content_type).feed
    raws = [body[start:end] for start, end in layout.spans]
    held = [known.get(layout.context, raw) for raw in raws]
    if held.count(None) > 1:  # one unknown is the usual new entry, which no process has parsed yet
        held = known.recall(layout.context, raws, held)
    if any(held):
        feed = _parse_new(body, layout, raws, held, known=known, base_url=base_url, content_type=content_type)
        if feed is not None:
            return feed
    parsed = _parse(body, base_url=base_url, content_type=content_type)
    if parsed.clean and len(parsed.feed.entries) == len(raws):
        for raw, entry in zip(raws, parsed.feed.entries, strict=True):
            known.put(layout.context, raw, Known(entry, *parsed.lent))
    return parsed.feed


@functools.cache
def parser_version() -> str:
    """A digest of what turns an entry's bytes into an ``Entry``: this code (the modules it reads entries with)
    and the libraries' versions. ``KnownEntries``' shared tier keys entries under it."""
    digest = hashlib.sha256()
    for library in ("feedparser", "nh3"):
        digest.update(f"{library} {importlib.metadata.version(library)}\n".encode())
    for module in (sys.modules[__name__], known_entries, entry_module, sanitize, controls):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:32]


def _parse_new(body: bytes, layout: Split, raws: list[bytes], held: list[Known | None], *, known: KnownEntries,
               base_url: str, content_type: str) -> ParsedFeed | None:  # fmt: skip
    """The document parsed without the entries ``held`` (known already), them put back in their places; None
    when what the rest parses to does not fit them (the caller then parses the whole document)."""
    pieces, at = [], 0
    for (start, end), h in zip(layout.spans, held, strict=True):
        if h is not None:
            pieces.append(body[at:start])
            at = end
    pieces.append(body[at:])
    try:
        parsed = _parse(b"".join(pieces), base_url=base_url, content_type=content_type, tombstones_of=body)
    except NotAFeed:
        return None
    if not parsed.clean or len(parsed.feed.entries) != held.count(None):
        return None
    if any(h is not None and (h.feed_author, h.feed_language) != parsed.lent for h in held):
        return None  # the feed's author or language, which entries without their own take, changed
    new = iter(parsed.feed.entries)
    entries = []
    for raw, h in zip(raws, held, strict=True):
        if h is None:
            entry = next(new)
            known.put(layout.context, raw, Known(entry, *parsed.lent))
        entries.append(entry if h is None else h.entry)
    return dataclasses.replace(parsed.feed, entries=entries)


@dataclass(frozen=True, slots=True)
class _Parsed:
    feed: ParsedFeed
    lent: tuple[dict, str]  # the feed's author and language, which entries without their own take
    clean: bool  # feedparser found nothing to complain about (no "bozo"): its strict parser read it all


def _parse(body: bytes, *, base_url: str, content_type: str, tombstones_of: bytes | None = None) -> _Parsed:
    """feedparser's reading of the document, as ``parse`` describes it; the tombstones are read from
    ``tombstones_of`` (the whole document) when given."""
    # No content-location: feedparser would resolve GUIDs against it, and a feed that moves would then
    # change every GUID. Relative links are resolved here instead, against xml:base or the feed URL.
    headers = {"content-type": content_type} if content_type else {}
    # Our own sanitizer (nh3) runs at ingest and resolves relative links; feedparser's would only cost time.
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS or Atom elements found"
        raise NotAFeed(f"not an RSS or Atom feed ({reason})")
    feed = parsed.feed
    info = FeedInfo(
        title=html_to_text(feed.get("title", "")),
        site_url=_site_url(feed, base_url),
        description=html_to_text(feed.get("subtitle", "")),
        xmpp_uri=_xmpp_alternate(feed.get("links") or []),
        icons=_icons(feed, base_url),
    )
    feed_author = feed.get("author_detail") or {}
    language = feed.get("language") or ""
    entries = [_entry(raw, base_url, feed_author, language) for raw in parsed.entries]
    error = parsed.get("bozo_exception")
    if isinstance(error, xml.sax.SAXParseException) and not _anything_read(info, entries):
        # Broken bytes behind an <rss> tag: the loose parser reads them as one empty item, which would be stored
        # as a blank post while the source looked healthy. A broken document that still says something is kept.
        raise NotAFeed(f"not an RSS or Atom feed (broken XML: {error.getMessage()})")
    deleted = _tombstones(body if tombstones_of is None else tombstones_of)
    return _Parsed(ParsedFeed(info=info, entries=entries, deleted=deleted), (dict(feed_author), language),
                   clean=not parsed.get("bozo"))  # fmt: skip


def _anything_read(info: FeedInfo, entries: list[Entry]) -> bool:
    """The feed names itself, or one of its entries has something to identify or show."""
    return bool(info.title or info.site_url or info.description) or any(
        e.guid or e.url or e.title or e.content_html for e in entries
    )


def _tombstones(body: bytes) -> tuple[str, ...]:
    """The ``ref`` of each RFC 6721 ``at:deleted-entry`` (feedparser drops their attributes). Read with the
    standard XML parser, after entity declarations were refused; a feed that is not well-formed XML (which
    feedparser still reads) carries no tombstones Chorus can trust, so it deletes nothing."""
    if b"deleted-entry" not in body:
        return ()
    refs: list[str] = []
    try:
        for _event, element in ET.iterparse(io.BytesIO(body), events=("end",)):
            if element.tag == _TOMBSTONE and (ref := (element.get("ref") or "").strip()):
                refs.append(ref[:2048])
                if len(refs) >= MAX_TOMBSTONES:
                    break
    except ET.ParseError:
        return ()
    return tuple(dict.fromkeys(refs))


def _without_surrogate_references(body: bytes) -> bytes:
    """``&#xD800;`` names half of a UTF-16 pair, no character: feedparser raises on it and the whole feed
    would be lost, so it becomes U+FFFD as an HTML parser makes it."""
    return _SURROGATE_REFERENCE.sub(b"&#xFFFD;", body)


def _site_url(feed: dict, base_url: str) -> str:
    """The feed's web page: its ``link``, or the first web alternate when ``link`` is another scheme."""
    candidates = [feed.get("link", "")] + [
        link.get("href", "") for link in feed.get("links") or [] if link.get("rel", "alternate") == "alternate"
    ]
    return next(filter(None, (safe_url(href, base_url=base_url) for href in candidates)), "")


def _icons(feed: dict, base_url: str) -> tuple[str, ...]:
    """The feed's own pictures, square first: Atom ``<icon>``, then ``<logo>`` or RSS ``<image><url>`` (which
    feedparser reads as ``image.href``, as it does ``itunes:image``)."""
    image = feed.get("image") or {}
    candidates = (feed.get("icon", ""), feed.get("logo", ""), image.get("href", "") or image.get("url", ""))
    return tuple(dict.fromkeys(url for url in (safe_url(c, base_url=base_url) for c in candidates) if url))


def _xmpp_alternate(links: list) -> str:
    """XEP-0277 publishers link their node from the feed: ``<link rel="alternate" href="xmpp:...;node=...">``."""
    for link in links:
        href = (link.get("href") or "").strip()
        if link.get("rel", "alternate") == "alternate" and href.lower().startswith("xmpp:"):
            return href[:2048]
    return ""


def _entry(raw: dict, feed_url: str, feed_author: dict, feed_language: str = "") -> Entry:
    content, base = _content(raw, feed_url)
    author = raw.get("author_detail") or ({} if raw.get("author") else feed_author)
    reply = raw.get("thr_in-reply-to") or {}
    return Entry(
        guid=(raw.get("id") or "").strip(),
        url=safe_url(raw.get("link", ""), base_url=base),
        # Titles and names are text: markup in them is stripped, never rendered.
        title=html_to_text(raw.get("title", "")),
        author_name=html_to_text(author.get("name") or raw.get("author") or ""),
        author_uri=safe_url(author.get("href", ""), base_url=base),
        content_html=content,
        published=_datetime(raw.get("published_parsed")) or _datetime(raw.get("updated_parsed")),
        updated=_datetime(raw.get("updated_parsed")),
        in_reply_to=(reply.get("href") or reply.get("ref") or "").strip(),
        base_url=base,
        language=_language(raw) or feed_language,
    )


def _language(raw: dict) -> str:
    """The entry's own xml:lang, on its content, summary or title."""
    details = [*(raw.get("content") or [])[:1], raw.get("summary_detail") or {}, raw.get("title_detail") or {}]
    return next((detail.get("language") for detail in details if detail.get("language")), "") or ""


def _content(raw: dict, feed_url: str) -> tuple[str, str]:
    """The richest body the entry has, as HTML, and the base its relative links resolve against."""
    candidates = list(raw.get("content") or [])
    if raw.get("summary_detail"):
        candidates.append(raw["summary_detail"])
    for detail in sorted(candidates, key=lambda d: d.get("type") not in _HTML_TYPES):
        value = detail.get("value") or ""
        if value.strip():
            base = urljoin(feed_url, detail.get("base") or "")
            if detail.get("type") in _HTML_TYPES:
                return value, base
            return _plain_to_html(value), base
    return "", feed_url


def _plain_to_html(text: str) -> str:
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs)


def _datetime(parsed) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
