"""Google Reader API names, parsed: stream ids (``user/-/label/news``, ``feed/12``, states) and item ids.

Item ids come in three forms (as Miniflux and FreshRSS accept them): the long ``tag:google.com,2005:reader/item/``
followed by 16 hex digits, 16 hex digits alone, and decimal (what ``stream/items/ids`` answers). Our item id is
the post id.
"""

import re
from dataclasses import dataclass

STATE = "user/-/state/com.google/"
READING_LIST = STATE + "reading-list"
READ = STATE + "read"
STARRED = STATE + "starred"
KEPT_UNREAD = STATE + "kept-unread"
LABEL = "user/-/label/"
FEED = "feed/"
ITEM_PREFIX = "tag:google.com,2005:reader/item/"
MAX_POST_ID = 2**63 - 1

_USER = re.compile(r"^user/[^/]+/(state|label)/")  # ``user/<id>/...`` means the same as ``user/-/...``
_HEX16 = re.compile(r"^[0-9a-fA-F]{16}$")


class GReaderError(Exception):
    """A request we refuse; ``detail`` says why, for the person reading the app's error."""

    def __init__(self, detail: str, status: int = 400):
        super().__init__(detail)
        self.detail, self.status = detail, status


def normalized(stream_id: str) -> str:
    return _USER.sub(lambda m: f"user/-/{m.group(1)}/", stream_id.strip(), count=1)


def label_name(stream_id: str) -> str | None:
    """The tag a ``user/-/label/...`` stream names, or None for any other stream."""
    stream_id = normalized(stream_id)
    return stream_id[len(LABEL):] if stream_id.startswith(LABEL) and len(stream_id) > len(LABEL) else None


def label_id(name: str) -> str:
    return LABEL + name


def feed_id(source_id: int) -> str:
    return f"{FEED}{source_id}"


def item_id(post_id: int) -> str:
    return f"{ITEM_PREFIX}{post_id:016x}"


def post_id_of(item: str) -> int:
    """The post an item id names, in any of its three forms. Raises ``GReaderError``."""
    text = item.strip()
    if text.startswith(ITEM_PREFIX):
        text = text[len(ITEM_PREFIX):]
        base = 16
    else:
        base = 16 if _HEX16.match(text) else 10
    try:
        value = int(text, base)
    except ValueError:
        raise GReaderError(f"not an item id: {item[:100]!r}") from None
    if not 0 < value <= MAX_POST_ID:
        raise GReaderError(f"not an item id: {item[:100]!r}")
    return value


@dataclass(frozen=True)
class Scope:
    """What part of a person's river a stream (with ``xt`` and ``it``) selects."""

    tag: str | None = None
    feed: str | None = None  # a feed's id or its URL, as the app sent it
    read: bool | None = None
    starred: bool = False
    empty: bool = False  # filters that cannot both hold


def scope_of(stream_id: str, *, exclude: list[str] = (), include: list[str] = ()) -> Scope:
    """The scope of a stream id with its ``xt`` (exclude) and ``it`` (include) filters. Raises ``GReaderError``."""
    stream_id = normalized(stream_id or READING_LIST)
    tag = label_name(stream_id)
    feed = stream_id[len(FEED):] if stream_id.startswith(FEED) else None
    states = {READ: True, KEPT_UNREAD: False}
    if tag is None and feed is None and stream_id not in (READING_LIST, STARRED, *states):
        raise GReaderError(f"unknown stream {stream_id[:200]!r}", status=404)
    wanted = {states[stream_id]} if stream_id in states else set()
    starred = stream_id == STARRED
    for name in map(normalized, include):
        if name in states:
            wanted.add(states[name])
        starred = starred or name == STARRED
    for name in map(normalized, exclude):
        if name == READ:
            wanted.add(False)
        elif name == KEPT_UNREAD:
            wanted.add(True)
    read = next(iter(wanted)) if len(wanted) == 1 else None
    return Scope(tag=tag, feed=feed, read=read, starred=starred, empty=len(wanted) > 1)
