"""The picture of a source that has none: its initials on a colour taken from its title.

An SVG written here, with the text escaped, so it is the same on every screen density; it is served from
Chorus' own origin as ``image/svg+xml`` with ``nosniff`` (shown through ``<img>``, where SVG runs no script).
"""

import colorsys
import hashlib
import unicodedata
from xml.sax.saxutils import escape

_SIZE = 64


def initials(title: str) -> str:
    """Up to two letters or digits: the first of the first two words ("Planet Python" -> "PP"), or "?" ."""
    words = [word for word in title.replace("@", " ").replace(".", " ").split() if _first_letter(word)]
    letters = "".join(_first_letter(word) for word in words[:2])
    return letters.upper() or "?"


def _first_letter(word: str) -> str:
    return next((char for char in word if unicodedata.category(char)[0] in "LN"), "")


def _colour(title: str) -> str:
    """A hue from the title's hash, dark enough that white text on it passes WCAG AA (4.5:1) at every hue."""
    hue = int.from_bytes(hashlib.sha256(title.encode()).digest()[:2], "big") / 65536
    red, green, blue = colorsys.hls_to_rgb(hue, 0.28, 0.55)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def initials_svg(title: str) -> bytes:
    """The generated picture for a source called ``title``, as SVG bytes."""
    text = escape(initials(title))
    font_size = 36 if len(text) < 2 else 30  # legible down to the 16 px of the sidebar
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_SIZE}" height="{_SIZE}" viewBox="0 0 {_SIZE} {_SIZE}">'
        f'<rect width="{_SIZE}" height="{_SIZE}" fill="{_colour(title)}"/>'
        f'<text x="50%" y="50%" dy=".35em" text-anchor="middle" fill="#ffffff" font-size="{font_size}" '
        f'font-weight="700" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">{text}</text></svg>'
    ).encode()
