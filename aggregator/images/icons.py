"""Where a web page says its pictures are: ``<link rel="icon">``, ``apple-touch-icon`` and their sizes.

Pure (no I/O): the caller fetched the page. Vector icons (SVG, ``mask-icon``) are left out, since only raster
pictures are shown.
"""

from contextlib import suppress
from html.parser import HTMLParser
from urllib.parse import urljoin

MAX_HEAD_BYTES = 512 * 1024
_ICON_RELS = {"icon", "apple-touch-icon", "apple-touch-icon-precomposed"}
_APPLE_TOUCH_SIZE = 180  # what iOS asks for when a page names no size
_UNSIZED_ICON = 16  # a plain rel=icon without sizes is most often the 16 px favicon


class _IconLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, int, str]] = []  # (size, document order, href)
        self.body_started = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.body_started = True  # icons belong in the head; links in the body are not the page's icon
        if tag != "link" or self.body_started:
            return
        values = {name: (value or "").strip() for name, value in attrs}
        rels = set(values.get("rel", "").lower().split())
        href = values.get("href", "")
        if not href or not rels & _ICON_RELS or _is_vector(href, values.get("type", "")):
            return
        size = _declared_size(values.get("sizes", ""))
        if not size:
            size = _UNSIZED_ICON if "icon" in rels else _APPLE_TOUCH_SIZE
        self.found.append((size, len(self.found), href))


def _is_vector(href: str, mime: str) -> bool:
    return "svg" in mime.lower() or href.lower().split("?")[0].endswith((".svg", ".svgz"))


def _declared_size(sizes: str) -> int:
    """The largest ``WxH`` in a ``sizes`` attribute (its smaller side), 0 when none ("any", missing, junk)."""
    largest = 0
    for token in sizes.lower().split():
        width, _, height = token.partition("x")
        if width.isdigit() and height.isdigit():
            largest = max(largest, min(int(width), int(height)))
    return largest


def icon_links(html: bytes, *, base_url: str) -> list[str]:
    """The raster icons a page names, absolute, largest first (document order among equals)."""
    parser = _IconLinks()
    with suppress(AssertionError, ValueError):  # html.parser gives up on some malformed markup: keep what it found
        parser.feed(html[:MAX_HEAD_BYTES].decode("utf-8", errors="replace"))
    ordered = sorted(parser.found, key=lambda found: (-found[0], found[1]))
    return list(dict.fromkeys(urljoin(base_url, href) for _size, _order, href in ordered))
