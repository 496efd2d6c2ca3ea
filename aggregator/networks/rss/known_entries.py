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

A process learns an entry only from the deliveries it parses, and a source's deliveries go to whichever worker
process is free: with two or more, a process often finds only the newest entry known and parses the window
again. A shared tier (``Shared``, Redis in production) lets each process take what any other parsed: ``parse``
asks it when more than one entry of a document is unknown here (the usual one unknown entry is the new one, which
no process has parsed yet), and the caller hands it what was parsed (``share``, once per batch). Its keys digest
the same exact inputs and the parser's version (``parser_version``: the code that makes an ``Entry``), so an
upgraded worker never takes an entry an older one parsed; a value that does not decode is a miss.
"""

import dataclasses
import hashlib
import json
import logging
import re
import xml.parsers.expat
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aggregator.content.entry import Entry

log = logging.getLogger(__name__)

MAX_UNSHARED = 10_000  # entries parsed here and not yet handed to the shared tier
# What one process hands the shared tier: a normal entry is a few kilobytes and a delivery brings one new, so
# these only bound what a hub of huge or ever-new entries can make every worker's Redis hold.
MAX_SHARED_ENTRY_BYTES = 32 * 1024
MAX_SHARED_BYTES_AT_ONCE = 128 * 1024

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


class Shared(Protocol):
    """Entries parsed by every process (``KnownEntries``' shared tier), by key; best effort: what it raises is
    logged and taken as a miss."""

    def get_many(self, keys: list[str]) -> list[bytes | None]: ...

    def put_many(self, values: dict[str, bytes]) -> None: ...


_ENTRY_FIELDS = tuple(field.name for field in dataclasses.fields(Entry))
_DATETIME_FIELDS = frozenset(field.name for field in dataclasses.fields(Entry) if "datetime" in str(field.type))


def _encoded(known: Known) -> bytes | None:
    """``known`` as JSON, or None when it holds something JSON would not give back as it is."""
    fields = [getattr(known.entry, name) for name in _ENTRY_FIELDS]
    fields = [value.isoformat() if isinstance(value, datetime) else value for value in fields]
    author = known.feed_author
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in author.items()):
        return None
    return json.dumps([fields, author, known.feed_language]).encode()


def _decoded(value: bytes) -> Known | None:
    """What ``_encoded`` wrote, or None for anything else."""
    try:
        fields, author, language = json.loads(value)
        entry = {name: datetime.fromisoformat(v) if name in _DATETIME_FIELDS and v is not None else v
                 for name, v in zip(_ENTRY_FIELDS, fields, strict=True)}  # fmt: skip
        texts = [v for name, v in entry.items() if name not in _DATETIME_FIELDS]
        if not all(isinstance(v, str) for v in (*texts, *author.values(), language)):
            return None
        return Known(Entry(**entry), dict(author), language)
    except (ValueError, TypeError, AttributeError):
        return None


class KnownEntries:
    """A process's entries parsed before, by their exact inputs, up to ``max_bytes`` of entry bytes (then it
    starts empty again). Each held entry costs about twice its bytes (the key and its ``Entry``): 8 MiB holds
    thousands of entries, a fat ping's repeated window for every pushed source of a busy hub. With ``shared``,
    entries other processes parsed too (under ``version``, the parser's: see the module's docstring)."""

    def __init__(self, max_bytes: int = 8 * 1024 * 1024, *, shared: Shared | None = None, version: str = ""):
        self.max_bytes = max_bytes
        self.held: dict[tuple, Known] = {}
        self.size = 0
        self.shared = shared
        self.version = version
        self.unshared: dict[str, bytes] = {}  # parsed here since the last ``share``: key -> value

    def get(self, context: tuple, raw: bytes) -> Known | None:
        return self.held.get((context, raw))

    def put(self, context: tuple, raw: bytes, known: Known) -> None:
        self._hold(context, raw, known)
        if self.shared is None or (value := _encoded(known)) is None or len(value) > MAX_SHARED_ENTRY_BYTES:
            return
        if len(self.unshared) >= MAX_UNSHARED:  # a caller that never shares: this stays bounded
            self.unshared.clear()
        self.unshared[self._key(context, raw)] = value

    def recall(self, context: tuple, raws: list[bytes], held: list[Known | None]) -> list[Known | None]:
        """``held`` with what the shared tier has of the entries missing from it (then held here too)."""
        missing = [i for i, h in enumerate(held) if h is None]
        if self.shared is None or not missing:
            return held
        try:
            values = self.shared.get_many([self._key(context, raws[i]) for i in missing])
        except Exception:  # noqa: BLE001 - best effort: parsed here instead
            log.warning("known entries: the shared tier failed; parsing here", exc_info=True)
            return held
        held = list(held)
        for i, value in zip(missing, values, strict=True):
            if value is not None and (known := _decoded(value)) is not None:
                held[i] = known
                self._hold(context, raws[i], known)
        return held

    def share(self) -> None:
        """Hand the shared tier what this process parsed since the last call (one round trip): the last parsed
        first, up to ``MAX_SHARED_BYTES_AT_ONCE``."""
        pending, self.unshared = self.unshared, {}
        values, budget = {}, MAX_SHARED_BYTES_AT_ONCE
        for key, value in reversed(pending.items()):
            if len(value) > budget:
                break
            values[key], budget = value, budget - len(value)
        if self.shared is None or not values:
            return
        try:
            self.shared.put_many(values)
        except Exception:  # noqa: BLE001 - best effort: other processes parse these themselves
            log.warning("known entries: the shared tier failed; %d entries not shared", len(values), exc_info=True)

    def _key(self, context: tuple, raw: bytes) -> str:
        digest = hashlib.sha256()
        for part in (self.version.encode(), *(p if isinstance(p, bytes) else p.encode() for p in context), raw):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()

    def _hold(self, context: tuple, raw: bytes, known: Known) -> None:
        if len(raw) > self.max_bytes:
            return
        if self.size + len(raw) > self.max_bytes:
            self.held.clear()
            self.size = 0
        if (context, raw) not in self.held:
            self.size += len(raw)
        self.held[context, raw] = known
