"""The one sanitizer for content shown to people (stored XSS: script links, dangerous
markup, markup in titles, relative URLs).

Every network's content goes through here at ingest; templates escape everything else, and links rendered
from stored fields pass ``safe_url`` again at render time.

Stored HTML keeps the publisher's image URLs (the APIs hand them to apps as they are). Pages show it through
``shown_html``, at render time, which cleans it again and points every picture at Chorus' own image proxy, so
a reader's browser contacts no other host for posts stored before or after.
"""

import functools
import html
import re
from urllib.parse import urljoin, urlsplit

import nh3
from django.conf import settings
from django.urls import get_script_prefix

from aggregator.images import proxy_path

_ALLOWED_TAGS = (nh3.ALLOWED_TAGS - {"area", "map"}) | {"video", "audio", "source", "picture"}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "hreflang", "title"},
    "img": {"src", "srcset", "sizes", "alt", "title", "width", "height"},
    "video": {"src", "poster", "controls", "width", "height"},
    "audio": {"src", "controls"},
    "source": {"src", "srcset", "sizes", "media", "type"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
_ALLOWED_CLASSES = {"a": {"embed"}}  # the link a frame or embed became (styled by the pages)
_URL_ATTRIBUTES = {"href", "src", "cite", "poster"}
_SAFE_SCHEMES = {"http", "https"}


# Frames, embeds and objects (a video player, a map, a post from elsewhere) are never run; each becomes a link
# to what it showed, so the reader still sees that something was there and can open it. Fallback text inside the
# element (text only) goes with it.
_EMBED = re.compile(r"""<(iframe|embed|object)\b((?:"[^"]*"|'[^']*'|[^'">])*)>(?:[^<]*</\1\s*>)?""", re.IGNORECASE)
_EMBED_URL = re.compile(r"""\b(?:src|data)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


def _embed_as_link(match: re.Match, *, base_url: str) -> str:
    found = _EMBED_URL.search(match.group(2))
    url = safe_url(html.unescape(next(filter(None, found.groups()), "")), base_url=base_url) if found else ""
    if not url:
        return ""
    host = urlsplit(url).hostname or ""
    return f'<a class="embed" href="{html.escape(url)}">Embedded content from {html.escape(host)}</a>'


_XMPP_URI = re.compile(r"^xmpp:[A-Za-z0-9._%+\-@/?;=:]{3,2040}$")


def safe_url(url: str | None, *, base_url: str = "", allow_xmpp: bool = False) -> str:
    """An absolute http(s) URL, resolved against ``base_url``, or "" if the URL is anything else.

    Relative URLs never resolve against Chorus' own origin: without a usable base they are dropped.
    ``allow_xmpp`` also keeps plain ``xmpp:`` URIs (an XMPP author's address), which carry no script.
    """
    if not url:
        return ""
    url = url.strip()
    if allow_xmpp and _XMPP_URI.match(url):
        return url
    try:
        absolute = urljoin(base_url, url) if base_url else url
        parts = urlsplit(absolute)  # also strips tab/newline, as browsers do ("jav\tascript:")
    except ValueError:
        return ""
    if parts.scheme.lower() not in _SAFE_SCHEMES or not parts.hostname:
        return ""
    return parts.geturl()


_SRCSET_DESCRIPTOR = re.compile(r"[0-9]+(?:\.[0-9]+)?[wx]")


def srcset_candidates(value: str) -> list[tuple[str, str]]:
    """A ``srcset`` as (URL, descriptor) pairs, read as the HTML standard does: a URL runs to whitespace (a
    trailing comma ends it), its descriptor to the next comma. Descriptors other than ``2x`` / ``640w`` are
    dropped."""
    candidates, position, length = [], 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = value.find(",", position)
            end = length if end < 0 else end
            descriptor, position = value[position:end].strip(), end
        if url:
            candidates.append((url, descriptor if _SRCSET_DESCRIPTOR.fullmatch(descriptor) else ""))
    return candidates


def _rewritten_srcset(value: str, rewrite) -> str | None:
    """Each candidate's URL through ``rewrite``; candidates it refuses ("") are left out, None if none is left."""
    kept = [f"{url} {descriptor}".strip() for url, descriptor in
            ((rewrite(url), descriptor) for url, descriptor in srcset_candidates(value)) if url]  # fmt: skip
    return ", ".join(kept) or None


def _cleaner_for(base_url: str) -> nh3.Cleaner:
    def resolve_urls(tag: str, attribute: str, value: str) -> str | None:
        if attribute in _URL_ATTRIBUTES:
            return safe_url(value, base_url=base_url) or None
        if attribute == "srcset":
            return _rewritten_srcset(value, lambda url: safe_url(url, base_url=base_url))
        return value

    return nh3.Cleaner(
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=resolve_urls,
        url_schemes=_SAFE_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        allowed_classes=_ALLOWED_CLASSES,
    )


_cleaners: dict[str, nh3.Cleaner] = {}
_text_cleaner = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"}, attributes={})
# Where a block ends or a line breaks, the words on either side are separate words in the plain text
# ("<p>#python</p><p>next</p>" is "#python next", not "#pythonnext": tracks, word mutes and mentions read it).
_BLOCK_BOUNDARY = re.compile(r"<(?:br|hr|/p|/div|/li|/h[1-6]|/blockquote|/pre|/tr|/td|/th|/dd|/dt)\b", re.IGNORECASE)


def clean_html(fragment: str, *, base_url: str = "") -> str:
    """Sanitized HTML: a fixed set of tags, http(s) links resolved against ``base_url``, no scripts or styles;
    frames and embeds become links to what they showed."""
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = _EMBED.sub(lambda match: _embed_as_link(match, base_url=base_url), fragment)
    cleaner = _cleaners.get(base_url)
    if cleaner is None:
        if len(_cleaners) > 512:  # one cleaner per feed base; bounded so odd feeds cannot grow it forever
            _cleaners.clear()
        cleaner = _cleaners[base_url] = _cleaner_for(base_url)
    return cleaner.clean(fragment)


def _proxied(tag: str, attribute: str, value: str) -> str | None:
    """Pictures point at the image proxy (or go); audio and video keep their URL but load nothing until played.
    Other links were made absolute http(s) at ingest (nh3 has refused other schemes again): relative ones go."""
    if attribute == "srcset":
        return _rewritten_srcset(value, proxy_path)
    if (tag, attribute) in (("img", "src"), ("video", "poster")):
        return proxy_path(value) or None
    if attribute in _URL_ATTRIBUTES:
        return value if value.startswith(("http://", "https://")) else None
    return value


_shown_cleaner = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_ALLOWED_ATTRIBUTES,
    attribute_filter=_proxied,
    url_schemes=_SAFE_SCHEMES,
    link_rel="noopener noreferrer nofollow",
    allowed_classes=_ALLOWED_CLASSES,
    set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"},
                              "video": {"preload": "none"}, "audio": {"preload": "none"}},  # fmt: skip
)
SHOWN_CACHE_SIZE = 2048  # posts with pictures, rewritten, per process (a few MB)
_FETCHES_SOMETHING = re.compile(r"<(?:img|video|audio|source|picture)\b", re.IGNORECASE)


def shown_html(stored: str) -> str:
    """Stored (already sanitized) HTML as a page shows it: cleaned again, every ``<img>`` ``src``/``srcset`` and
    video poster pointed at Chorus' image proxy (a signed address; a picture that cannot be proxied is dropped),
    pictures loaded lazily, audio and video fetching nothing until the person plays them."""
    if not stored or not _FETCHES_SOMETHING.search(stored):
        return stored  # nothing to fetch: the stored HTML is already clean
    return _shown(stored, settings.SECRET_KEY, get_script_prefix())


@functools.lru_cache(maxsize=SHOWN_CACHE_SIZE)
def _shown(stored: str, secret: str, script_prefix: str) -> str:
    """The rewrite, remembered per process: a page shows the same posts again and again (reloads, the next page,
    other people following the same source). The key and the prefix are in the key: they shape the addresses."""
    return _shown_cleaner.clean(stored)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (or of text that may contain markup), whitespace collapsed."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    return " ".join(html.unescape(_text_cleaner.clean(_BLOCK_BOUNDARY.sub(r" \g<0>", fragment))).split())
