"""The one shape every network's parser produces, and the ingest pipeline (``aggregator.ingest.pipeline``) consumes."""

from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a feed says about itself."""

    title: str = ""
    site_url: str = ""
    description: str = ""
    xmpp_uri: str = ""  # the XMPP PubSub node that pushes this feed's entries, if the feed names one


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    info: FeedInfo
    entries: list[Entry]
