"""Refuse XML that declares entities, before any parser sees it (entity blowups, external entities,
DTDs in XMPP streams and payloads).

feedparser's loose parser expands internal entities (80 KB became 400 million characters), so the check
runs on the raw bytes. Feeds have no business declaring entities; OPML and XMPP payloads neither.
"""

import re

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ELEMENT_START = re.compile(rb"<[A-Za-z_]")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")


class UnsafeXML(ValueError):
    """The document declares entities (or is otherwise unsafe to hand to an XML parser)."""


def _as_ascii_compatible(body: bytes) -> bytes:
    """The document's bytes in an ASCII-compatible encoding, so the byte patterns below can match."""
    head = body[:4]
    if head.startswith(_UTF32_BOMS):
        return body.decode("utf-32", errors="replace").encode("utf-8")
    if head.startswith(_UTF16_BOMS):
        return body.decode("utf-16", errors="replace").encode("utf-8")
    if len(head) == 4 and head[0] == 0 and head[1] != 0:
        return body.decode("utf-16-be", errors="replace").encode("utf-8")
    if len(head) == 4 and head[1] == 0 and head[0] != 0:
        return body.decode("utf-16-le", errors="replace").encode("utf-8")
    return body


def refuse_entity_declarations(body: bytes) -> None:
    """Raise ``UnsafeXML`` if ``body`` carries a DOCTYPE that declares entities."""
    text = _as_ascii_compatible(body)
    doctype = _DOCTYPE.search(text)
    if doctype is None:
        return
    # Declarations live in the internal subset, before the root element starts.
    root = _ELEMENT_START.search(text, doctype.end())
    if _ENTITY_DECLARATION.search(text, doctype.end(), root.start() if root else len(text)):
        raise UnsafeXML("the document declares XML entities, which Chorus never expands")
