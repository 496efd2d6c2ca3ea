"""OPML 2.0 follow lists: read (listparser, behind Chorus' guards) and write. Folders are tags.

Reading: the raw bytes are checked first — size, entity declarations (blowups, external entities) — then
re-encoded as UTF-8 with two common exporter quirks repaired (HTML entities such as ``&eacute;``, bare ``&``
in URLs), then walked once by expat for well-formedness, the number of outlines and their nesting (huge or
deeply nested files), stopping at the first outline over a cap: a refused file is refused whole, quickly,
before anything is imported. Only then does listparser say which outlines are feeds, their titles and folders.
listparser is only ever handed bytes: a string could be taken for a URL and fetched.

Tags: every folder around a feed and every part of its ``category`` paths (``/Tech/Python`` -> Tech, Python):
Chorus tags are flat, so a nested folder path is the set of its names. Writing: each tag is a top-level
folder and a feed sits in each of its tags' folders; untagged feeds follow at the top level. The output is
ordered by content (not by ids), so the same follow list always exports to the same bytes.
"""

import codecs
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html.entities import name2codepoint
from xml.etree import ElementTree as ET

import listparser

from aggregator.content.sanitize import html_to_text
from aggregator.content.xmlsafety import UnsafeXML, refuse_entity_declarations
from aggregator.fetch import BlockedURL, normalize_url

MAX_OUTLINES = 10_000
MAX_DEPTH = 32
MAX_BYTES = 5 * 1024 * 1024
MAX_TITLE = 500
MAX_TAG = 100  # SubscriptionTag.name's length
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BARE_AMPERSAND = re.compile(r"&(?!#[0-9]{1,8};|#x[0-9A-Fa-f]{1,8};|[A-Za-z][A-Za-z0-9]{0,31};)")
_NAMED_REFERENCE = re.compile(r"&(?!(?:lt|gt|amp|quot|apos);)([A-Za-z][A-Za-z0-9]{0,31});")  # not XML's own
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))  # fmt: skip


class OPMLError(ValueError):
    """The file cannot be imported; the message says why."""


@dataclass
class OPMLFeed:
    url: str
    title: str = ""
    tags: list[str] = field(default_factory=list)
    site_url: str = ""  # written as htmlUrl when known; not read back (the feed's own link is fetched anyway)


@dataclass
class OPMLDocument:
    feeds: list[OPMLFeed]
    rejected: list[tuple[str, str]]  # (url as written, reason)


def _utf8(body: bytes) -> bytes:
    """The document re-encoded as UTF-8: from its BOM, else its XML declaration, else UTF-8 (bad bytes replaced)."""
    encoding = next((name for bom, name in _BOMS if body.startswith(bom)), None)
    if encoding is None:
        declared = _DECLARED_ENCODING.match(body)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = "utf-8"
    return body.decode(encoding, errors="replace").removeprefix("\ufeff").encode("utf-8")


def _checked(body: bytes) -> bytes:
    """``body`` as well-formed UTF-8 XML once it passed every guard; ``OPMLError`` otherwise."""
    if len(body) > MAX_BYTES:
        raise OPMLError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        refuse_entity_declarations(body)
    except UnsafeXML as error:
        raise OPMLError(str(error)) from None
    text = _XML_DECLARATION.sub("", _utf8(body).decode("utf-8"), count=1)
    text = _NAMED_REFERENCE.sub(_xml_reference, _BARE_AMPERSAND.sub("&amp;", text))
    _check_shape(text)
    return text.encode("utf-8")


def _xml_reference(match: re.Match) -> str:
    """An HTML entity (``&eacute;``), as some exporters write them, as a character reference XML knows."""
    name = match.group(1)
    code = name2codepoint.get(name)
    return f"&#{code};" if code else f"&amp;{name};"


def _check_shape(text: str) -> None:
    """Well-formed, at most ``MAX_OUTLINES`` outlines and ``MAX_DEPTH`` levels.

    expat (linear, C) sees the file before listparser does: the pure-Python HTML tokenizer listparser runs on
    takes quadratic time on some malformed input (a few MiB of ``<``), never on well-formed XML.
    """
    parser = ET.XMLPullParser(events=("start", "end"))
    outlines = depth = 0
    try:
        parser.feed(text)  # at once: expat rescans a token cut by a chunk boundary (slow on a huge attribute)
        parser.close()
        for event, element in parser.read_events():
            if element.tag.rpartition("}")[2] != "outline":  # in any namespace: listparser maps them
                continue
            if event == "end":
                depth -= 1
                continue
            outlines += 1
            if outlines > MAX_OUTLINES:
                raise OPMLError(f"the file has more than {MAX_OUTLINES:,} outlines; nothing was imported "
                                f"(split it and import the parts)")  # fmt: skip
            if depth >= MAX_DEPTH:
                raise OPMLError(f"outlines are nested more than {MAX_DEPTH} deep; nothing was imported")
            depth += 1
    except ET.ParseError as error:
        raise OPMLError(f"not a valid OPML file ({error})") from None


def read_opml(body: bytes) -> OPMLDocument:
    """Parse an OPML document. Raises ``OPMLError`` for files that are unsafe, malformed or too big."""
    parsed = listparser.parse(_checked(body))  # bytes: never a URL
    if not str(parsed.get("version", "")).startswith("opml"):
        raise OPMLError("not a valid OPML file (no <opml> document)")
    feeds: dict[str, OPMLFeed] = {}
    rejected: list[tuple[str, str]] = []
    for item in parsed["feeds"]:
        _add_feed(feeds, rejected, url=item["url"], title=_title(item), tags=_tags(item.get("categories", [])))
    for item in parsed["lists"]:
        rejected.append((item["url"][:300], "a link to another subscription list: import that file itself"))
    for item in parsed["opportunities"]:
        rejected.append((item["url"][:300], "a site without a feed address (no xmlUrl)"))
    return OPMLDocument(feeds=list(feeds.values()), rejected=rejected)


def _title(item: dict) -> str:
    """The outline's text (else title) as plain text, never HTML; none when it only repeats the URL."""
    title = html_to_text((item.get("title") or "")[:MAX_TITLE * 4])[:MAX_TITLE]  # the sanitizer is slow on MiBs
    return "" if title.strip() == item["url"].strip() else title


def _tags(categories: list[list[str]]) -> list[str]:
    """Every folder name of every path, trimmed, each once (case-insensitively), in document order."""
    tags: dict[str, str] = {}
    for path in categories:
        for part in path:
            name = html_to_text(part[:MAX_TAG * 4])[:MAX_TAG].strip()
            if name:
                tags.setdefault(name.casefold(), name)
    return list(tags.values())


def _add_feed(feeds: dict[str, OPMLFeed], rejected: list[tuple[str, str]], *, url: str, title: str, tags: list[str]) -> None:
    try:
        canonical = normalize_url(url)
    except BlockedURL as error:
        rejected.append((url[:300], str(error)))  # javascript:, file:, ... are never followed
        return
    known = feeds.get(canonical)
    if known is not None:  # a feed under several folders (or spellings) is one feed with several tags
        known.tags = _tags([known.tags, tags])
        known.title = known.title or title
    else:
        feeds[canonical] = OPMLFeed(url=canonical, title=title, tags=tags)


def write_opml(*, title: str, feeds: Iterable[OPMLFeed], created: datetime) -> bytes:
    """An OPML 2.0 document; a feed with tags appears once under each tag, untagged feeds at the top level."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, list[OPMLFeed]] = {}
    untagged = []
    for feed in sorted(feeds, key=lambda f: ((f.title or f.url).casefold(), f.url)):
        for tag in feed.tags:
            folders.setdefault(tag, []).append(feed)
        if not feed.tags:
            untagged.append(feed)
    for tag in sorted(folders, key=lambda name: (name.casefold(), name)):
        folder = ET.SubElement(body, "outline", text=tag, title=tag)
        for feed in folders[tag]:
            _feed_outline(folder, feed)
    for feed in untagged:
        _feed_outline(body, feed)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _feed_outline(parent: ET.Element, feed: OPMLFeed) -> None:
    name = feed.title or feed.url
    outline = ET.SubElement(parent, "outline", type="rss", text=name, title=name, xmlUrl=feed.url)
    if feed.site_url:
        outline.set("htmlUrl", feed.site_url)
