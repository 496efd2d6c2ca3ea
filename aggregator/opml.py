"""OPML 2.0 follow lists: read (safely, with caps) and write. Nested outlines are tags.

Reading refuses entity declarations (HOSTILE.md 12) and stops at ``MAX_OUTLINES`` outlines or
``MAX_DEPTH`` levels with a clear message, before anything is imported (HOSTILE.md 14).
"""

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime

from django.utils import timezone

from .fetch import BlockedURL, normalize_url
from .sanitize import html_to_text
from .xmlsafety import UnsafeXML, refuse_entity_declarations

MAX_OUTLINES = 10_000
MAX_DEPTH = 32
MAX_BYTES = 5 * 1024 * 1024


class OPMLError(ValueError):
    """The file cannot be imported; the message says why."""


@dataclass
class OPMLFeed:
    url: str
    title: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class OPMLDocument:
    feeds: list[OPMLFeed]
    rejected: list[tuple[str, str]]  # (url as written, reason)


def read_opml(body: bytes) -> OPMLDocument:
    """Parse an OPML document. Raises ``OPMLError`` for files that are unsafe, malformed or too big."""
    if len(body) > MAX_BYTES:
        raise OPMLError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        refuse_entity_declarations(body)
    except UnsafeXML as error:
        raise OPMLError(str(error)) from None
    feeds: dict[str, OPMLFeed] = {}
    rejected: list[tuple[str, str]] = []
    folders: list[str | None] = []
    outlines = 0
    try:
        for event, element in ET.iterparse(io.BytesIO(body), events=("start", "end")):
            if element.tag != "outline":
                continue
            if event == "end":
                folders.pop()
                element.clear()
                continue
            outlines += 1
            if outlines > MAX_OUTLINES:
                raise OPMLError(f"the file has more than {MAX_OUTLINES} outlines; split it and import the parts")
            if len(folders) >= MAX_DEPTH:
                raise OPMLError(f"outlines are nested more than {MAX_DEPTH} deep")
            url = (element.get("xmlUrl") or "").strip()
            title = html_to_text(element.get("title") or element.get("text") or "")[:500]
            folders.append(None if url else title)
            if url:
                _add_feed(feeds, rejected, url=url, title=title, tags=[f for f in folders[:-1] if f] + _categories(element))
    except ET.ParseError as error:
        raise OPMLError(f"not a valid OPML file ({error})") from None
    return OPMLDocument(feeds=list(feeds.values()), rejected=rejected)


def _categories(element: ET.Element) -> list[str]:
    """The OPML 2.0 ``category`` attribute: comma-separated, slash-delimited paths; the last part is the tag."""
    parts = [path.strip().strip("/").split("/")[-1] for path in (element.get("category") or "").split(",")]
    return [html_to_text(part) for part in parts if part.strip()]


def _add_feed(feeds: dict[str, OPMLFeed], rejected: list[tuple[str, str]], *, url: str, title: str, tags: list[str]) -> None:
    try:
        canonical = normalize_url(url)
    except BlockedURL as error:
        rejected.append((url[:300], str(error)))  # javascript:, file:, ... are never followed
        return
    known = feeds.get(canonical)
    if known is not None:  # a feed under several folders is one feed with several tags
        known.tags = list(dict.fromkeys(known.tags + tags))
    else:
        feeds[canonical] = OPMLFeed(url=canonical, title=title, tags=list(dict.fromkeys(tags)))


def write_opml(*, title: str, feeds: Iterable[OPMLFeed]) -> bytes:
    """An OPML 2.0 document; a feed with tags appears once under each tag, untagged feeds at the top level."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(timezone.now(), usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        for tag in feed.tags:
            if tag not in folders:
                folders[tag] = ET.SubElement(body, "outline", text=tag, title=tag)
        parents = [folders[tag] for tag in feed.tags]
        for parent in parents or [body]:
            ET.SubElement(parent, "outline", type="rss", text=feed.title or feed.url, title=feed.title or feed.url,
                          xmlUrl=feed.url)  # fmt: skip
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
