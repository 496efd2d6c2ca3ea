"""Webmention (W3C): a page tells another page that it links to it.

``parse`` is pure (tested on bytes): where a page asks to be told (``endpoint``), whether a page links to an
address (``links_to``), and what a linking page says, as an ``Entry`` (``entry_of``, from its h-entry).
"""

from aggregator.networks.webmention.parse import endpoint, entry_of, links_in, links_to

__all__ = ["endpoint", "entry_of", "links_in", "links_to"]
