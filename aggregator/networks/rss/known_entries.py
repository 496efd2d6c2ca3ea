"""Entries parsed before, not parsed again: a feed document whose entries a process has parsed already (a WebSub
fat ping repeats the feed's newest entries, of which usually one is new) is handed to feedparser without them.

``split`` reads the document once with expat (after ``xmlsafety`` refused entity declarations; a DOCTYPE of any
kind, a namespace declared anywhere but on the feed's own element, an encoding other than UTF-8 or a structure
other than Atom ``feed/entry`` or RSS 2.0 ``rss/channel/item`` makes it give up, and the document is parsed whole
as before). It returns the byte span of each entry and the document's context: the XML declaration and the start
tags of the feed's own elements (namespaces, ``xml:base``, ``xml:lang``), the base URL and the content type.

An entry's ``Entry`` is a function of its bytes, that context, and the feed's author and language (which
``parse`` lends to entries without their own; they are compared after the parse). ``KnownEntries`` holds, per
process, each entry's ``Entry`` under exactly those inputs (the bytes themselves, no digest), so what it hands
back is what parsing the entry again would give: the result of ``parse`` is the same with or without it.
"""

import re
import xml.parsers.expat
from dataclasses import dataclass

from aggregator.content.entry import Entry

ATOM = "http://www.w3.org/2005/Atom"
_SEPARATOR = " "
# A start tag as XML 1.0 writes it (the document is known to be well-formed when this runs).
_START_TAG = re.compile(rb"""<[^\s/>]+(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?>""")
_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)
_UTF8 = {"utf-8", "utf8"}
_ATOM_FEED = f"{ATOM}{_SEPARATOR}feed"
_ATOM_ENTRY = f"{ATOM}{_SEPARATOR}entry"
# Elements feedparser takes as the feed or an entry by their local name, whatever their namespace.
_STRUCTURE = {"feed", "channel", "entry", "item", "rss", "rdf"}
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class _GiveUp(Exception):
    """Not a document ``split`` can take apart safely: it is parsed whole."""


@dataclass(frozen=True, slots=True)
class Split:
    context: tuple  # everything besides its bytes an entry's parse depends on, but the feed's author and language
    spans: list[tuple[int, int]]  # each entry's bytes, in document order


def split(body: bytes, *, base_url: str, content_type: str) -> Split | None:
    """The document's entries and context, or None when it is not one this module takes apart."""
    if not _utf8(body, content_type):
        return None
    scan = _Scan(body)
    try:
        scan.run()
    except (_GiveUp, xml.parsers.expat.ExpatError):
        return None
    if scan.context_tags is None:
        return None
    head = body[: scan.xml_end] + b"".join(body[start:end] for start, end in scan.context_tags)
    return Split(context=(head, base_url, content_type), spans=scan.spans)


def _utf8(body: bytes, content_type: str) -> bool:
    """UTF-8 as feedparser and expat both read it: no BOM of another encoding, no other charset in the header or
    the XML declaration, no ``text/*`` type without a charset (which feedparser reads as US-ASCII)."""
    media = content_type.split(";", 1)[0].strip().lower()
    charset = _CHARSET.search(content_type)
    if charset and charset.group(1).lower() not in _UTF8:
        return False
    if media.startswith("text/") and not charset:
        return False
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:1] == b"\x00":
        return False
    declared = _DECLARED_ENCODING.match(body.removeprefix(b"\xef\xbb\xbf"))
    return declared is None or declared.group(1).decode().lower() in _UTF8


class _Scan:
    """One expat pass: the entries' spans and the start tags of their ancestors."""

    def __init__(self, body: bytes):
        self.body = body
        self.parser = xml.parsers.expat.ParserCreate(namespace_separator=_SEPARATOR)
        self.parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.StartNamespaceDeclHandler = self._namespace
        self.parser.StartDoctypeDeclHandler = self._refuse
        self.parser.EntityDeclHandler = self._refuse
        self.parser.ExternalEntityRefHandler = self._refuse
        self.depth = 0
        self.kind = ""  # "atom" or "rss", from the root element
        self.xml_end = 0  # the XML declaration (and anything before the root element)
        self.context_tags: list[tuple[int, int]] | None = None
        self.spans: list[tuple[int, int]] = []
        self.entry_start = -1
        self.entry_depth = 0

    def run(self) -> None:
        self.parser.Parse(self.body, True)
        if self.entry_start != -1:
            raise _GiveUp

    def _refuse(self, *args) -> None:
        raise _GiveUp

    def _namespace(self, prefix, uri) -> None:
        # Declared on the root (or an RSS channel) is context; anywhere else it would leak from one entry into
        # the next in feedparser (which keeps every namespace it has seen), so the document is parsed whole.
        if self.depth > (1 if self.kind == "rss" else 0):
            raise _GiveUp

    def _tag_span(self) -> tuple[int, int]:
        start = self.parser.CurrentByteIndex
        return start, self._tag_end(start)

    def _tag_end(self, start: int) -> int:
        match = _START_TAG.match(self.body, start)
        if match is None:
            raise _GiveUp
        return match.end()

    def _start(self, name: str, attributes) -> None:
        self.depth += 1
        if self.depth == 1:
            self.xml_end = self.parser.CurrentByteIndex
            self.kind = {_ATOM_FEED: "atom", "rss": "rss"}.get(name, "")
            if not self.kind:
                raise _GiveUp
            self.context_tags = [self._tag_span()]
            self.entry_depth = 2 if self.kind == "atom" else 3
        elif self.depth == 2 and self.kind == "rss" and name == "channel" and len(self.context_tags) == 1:
            self.context_tags.append(self._tag_span())
        elif (self.depth, name) == (self.entry_depth, _ATOM_ENTRY if self.kind == "atom" else "item") \
                and self.entry_start == -1 and len(self.context_tags) == self.entry_depth - 1:  # fmt: skip
            self.entry_start = self.parser.CurrentByteIndex
        elif name.rsplit(_SEPARATOR, 1)[-1].lower() in _STRUCTURE:
            raise _GiveUp  # feed, channel, entry or item elsewhere: feedparser's state would span entries

    def _end(self, name: str) -> None:
        if self.depth == self.entry_depth and self.entry_start != -1:
            at = self.parser.CurrentByteIndex
            if self.body.startswith(b"</", at):  # an end tag holds no ">" before its own
                end = self.body.index(b">", at) + 1
            else:  # an empty-element tag: <entry/>
                end = self._tag_end(self.entry_start)
            self.spans.append((self.entry_start, end))
            self.entry_start = -1
        self.depth -= 1


@dataclass(frozen=True, slots=True)
class Known:
    entry: Entry
    feed_author: dict
    feed_language: str


class KnownEntries:
    """A process's entries parsed before, by their exact inputs, up to ``max_bytes`` of entry bytes (then it
    starts empty again). Each held entry costs about twice its bytes (the key and its ``Entry``): 8 MiB holds
    thousands of entries, a fat ping's repeated window for every pushed source of a busy hub."""

    def __init__(self, max_bytes: int = 8 * 1024 * 1024):
        self.max_bytes = max_bytes
        self.held: dict[tuple, Known] = {}
        self.size = 0

    def get(self, context: tuple, raw: bytes) -> Known | None:
        return self.held.get((context, raw))

    def put(self, context: tuple, raw: bytes, known: Known) -> None:
        if len(raw) > self.max_bytes:
            return
        if self.size + len(raw) > self.max_bytes:
            self.held.clear()
            self.size = 0
        if (context, raw) not in self.held:
            self.size += len(raw)
        self.held[context, raw] = known
