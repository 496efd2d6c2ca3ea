"""RSS 0.9x/1.0/2.0 and Atom feeds: fetched over HTTP, parsed by feedparser from the fetched bytes."""

from aggregator.networks.rss.known_entries import KnownEntries
from aggregator.networks.rss.parse import NotAFeed, parse, parser_version

__all__ = ["KnownEntries", "NotAFeed", "parse", "parser_version"]
