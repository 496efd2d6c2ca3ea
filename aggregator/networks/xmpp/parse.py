"""XEP-0277 items -> ``Entry``. Pure: an item's payload is an Atom ``<entry>``, read by the same feed parser.

The item id is the post's GUID (a retraction names it). Whoever the payload claims wrote it, the author is
the publishing JID (no one posts as someone else); a name is kept only when the payload's author URI is that
JID.
"""

from dataclasses import replace
from xml.etree import ElementTree

from aggregator.content.entry import Entry
from aggregator.content.xmlsafety import UnsafeXML, refuse_entity_declarations
from aggregator.networks.rss import NotAFeed, parse

MAX_PAYLOAD_BYTES = 128 * 1024  # a microblog post with room for inline HTML; bigger items are dropped
_ATOM = "http://www.w3.org/2005/Atom"


class BadItem(ValueError):
    """The item cannot be stored (too big, not an Atom entry, unsafe XML); the message says which."""


def _checked_root(item_id: str, payload: str) -> ElementTree.Element:
    """The payload's root element, once it is known to be a small, entity-free Atom entry."""
    if not item_id:
        raise BadItem("item without an id")
    body = payload.encode("utf-8", "surrogatepass")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise BadItem(f"item {item_id!r} is {len(body)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    refuse_entity_declarations(body)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise BadItem(f"item {item_id!r} is not well-formed XML ({error})") from error
    if root.tag != f"{{{_ATOM}}}entry":
        raise BadItem(f"item {item_id!r} carries no Atom entry")
    return root


def _signed(entry: Entry, *, item_id: str, publisher: str, root: ElementTree.Element) -> Entry:
    own_uri = f"xmpp:{publisher}"
    claimed = (root.findtext(f"{{{_ATOM}}}author/{{{_ATOM}}}uri") or "").strip()
    # A nickname is shown only when the payload says it is the publisher's own (XEP-0277 author uri).
    name = entry.author_name if entry.author_name and claimed.lower() == own_uri.lower() else publisher
    return replace(entry, guid=item_id, author_name=name, author_handle=publisher, author_uri=own_uri,
                   base_url=own_uri)  # fmt: skip


def _parse_entries(payloads: list[str], *, base_url: str) -> list[Entry]:
    document = f'<feed xmlns="{_ATOM}">{"".join(payloads)}</feed>'.encode("utf-8", "surrogatepass")
    try:
        return parse(document, base_url=base_url).entries
    except NotAFeed as error:
        raise BadItem(str(error)) from error


def parse_items(items: list[tuple[str, str, str]]) -> tuple[list[Entry], list[tuple[str, Exception]]]:
    """Several ``(item id, payload, publisher JID)`` items -> their entries, and the refused ones with why.

    The checked payloads go through the feed parser as one document (the parser's per-call overhead is
    paid once, not per item); if that does not give one entry per item, each is parsed alone.
    """
    checked, refused = [], []
    for item_id, payload, publisher in items:
        try:
            checked.append((item_id, payload, publisher, _checked_root(item_id, payload)))
        except (BadItem, UnsafeXML) as error:
            refused.append((item_id, error))
    if not checked:
        return [], refused
    try:
        entries = _parse_entries([c[1] for c in checked], base_url=f"xmpp:{checked[0][2]}")
    except BadItem:
        entries = []
    if len(entries) == len(checked):
        pairs = list(zip(entries, checked, strict=True))
    else:  # one item confused the shared document: parse each alone, refusing only the bad ones
        pairs = []
        for item in checked:
            try:
                found = _parse_entries([item[1]], base_url="")
            except BadItem as error:
                found, refused = [], [*refused, (item[0], error)]
            if found:
                pairs.append((found[0], item))
    signed = [_signed(entry, item_id=item_id, publisher=publisher, root=root)
              for entry, (item_id, _payload, publisher, root) in pairs]  # fmt: skip
    return signed, refused


def parse_item(*, item_id: str, payload: str, publisher: str) -> Entry:
    """One PubSub item as an ``Entry``. ``payload`` is the item's XML as received; ``publisher`` a bare JID."""
    entries, refused = parse_items([(item_id, payload, publisher)])
    if refused:
        raise refused[0][1]
    if not entries:
        raise BadItem(f"item {item_id!r} carries no Atom entry")
    return entries[0]
