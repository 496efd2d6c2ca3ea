"""The one shape every network's parser produces, and the ingest pipeline (``aggregator.ingest.pipeline``) consumes."""

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache

from aggregator.hygiene.controls import has_controls, strip_controls


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(field.name for field in fields(cls))


def _strip_text_fields(instance) -> None:
    """Every text field without C0 controls, whatever the network: PostgreSQL refuses a NUL in text, and one
    such field would fail the whole batch's insert. Clean instances (nearly all) cost one scan of their text."""
    texts = {name: value for name in _field_names(type(instance)) if isinstance(value := getattr(instance, name), str)}
    if not has_controls("".join(texts.values())):
        return
    for name, value in texts.items():
        if has_controls(value):
            object.__setattr__(instance, name, strip_controls(value))


@dataclass(frozen=True, slots=True)
class Entry:
    """One post as a network delivered it: raw (unsanitized) content, dates as found (maybe missing).

    ``base_url`` is what relative links in ``content_html`` resolve against (the feed's URL or xml:base).
    """

    guid: str = ""
    url: str = ""
    title: str = ""
    author_name: str = ""
    author_handle: str = ""
    author_uri: str = ""
    content_html: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    in_reply_to: str = ""
    base_url: str = ""
    language: str = ""  # as the feed says (xml:lang, <language>): "en-GB"; "" when unknown

    def __post_init__(self) -> None:
        _strip_text_fields(self)


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a feed says about itself."""

    title: str = ""
    site_url: str = ""
    description: str = ""
    xmpp_uri: str = ""  # the XMPP PubSub node that pushes this feed's entries, if the feed names one
    icons: tuple[str, ...] = ()  # the pictures the feed names for itself, best first (Atom icon, logo, RSS image)

    def __post_init__(self) -> None:
        _strip_text_fields(self)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    info: FeedInfo
    entries: list[Entry]
    deleted: tuple[str, ...] = ()  # the ids of entries the publisher deleted (RFC 6721 tombstones)
