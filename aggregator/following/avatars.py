"""Source pictures: learned once from what the account, the feed or the site says, stored on the source, and
served from Chorus' own origin (readers' browsers never contact the source).

What a source's picture is gets decided after a poll (``learn_picture``, queued by the poll when due) and
for a preview, never per request: the first usable one of the account's avatar (X, fediverse, Bluesky), the
feed's Atom ``<icon>``/``<logo>`` or RSS ``<image>``, the site's icon links (largest first, ``apple-touch-icon``
included) and the site's ``/favicon.ico``. Usable means a raster image within ``MAX_BYTES`` that the one
outbound guard fetched (``aggregator.images``). A source with none shows a generated picture (its initials on
a colour from its title), so a page never has an empty or broken picture slot.
"""

import functools
import hashlib
import zlib
from collections.abc import Iterator
from urllib.parse import urlencode, urljoin, urlsplit

from django.core import signing
from django.core.cache import cache
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from aggregator.content.xmlsafety import UnsafeXML
from aggregator.fetch import FetchError, fetch
from aggregator.images import Image, ImageRefused, icon_links, image_at, initials_svg
from aggregator.models import Source
from aggregator.networks.rss import NotAFeed, parse

MAX_BYTES = 512 * 1024  # a picture shown at 16-48 px; a larger icon is passed over for the next candidate
DEADLINE = 5.0  # per fetch while looking for a picture
MAX_PAGE_BYTES = 512 * 1024  # of the site's page, whose head names its icons
_PREVIEW_SALT = "chorus.avatars.preview"
PREVIEW_SECONDS = 3600  # how long a preview's picture link works
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"


def _http(url: str) -> str:
    try:
        return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname else ""
    except ValueError:
        return ""


def _site_page(*, site_url: str, feed_url: str) -> str:
    """The page whose head names the site's icons: the feed's site, else the root of the feed's host."""
    return _http(site_url) or (urljoin(feed_url, "/") if _http(feed_url) else "")


def _feed_icons(feed_url: str) -> tuple[tuple[str, ...], str]:
    """The icons a feed names for itself and its site's URL, read from the feed now; nothing if it cannot be."""
    try:
        response = fetch(feed_url, deadline=DEADLINE)
        info = parse(response.body, base_url=response.url, content_type=response.headers.get("content-type", "")).info
    except (FetchError, NotAFeed, UnsafeXML):
        return (), ""
    return info.icons, info.site_url


def _page_icons(page_url: str) -> list[str]:
    try:
        response = fetch(page_url, accept=_PAGE_ACCEPT, max_bytes=MAX_PAGE_BYTES, deadline=DEADLINE)
    except FetchError:
        return []
    return icon_links(response.body, base_url=response.url)


def candidates(*, avatar_url: str, feed_url: str, site_url: str) -> Iterator[str]:
    """Where the picture may be, best first; fetches the feed and the site's page only when asked for more."""
    if _http(avatar_url):
        yield avatar_url
    icons, feed_site = _feed_icons(feed_url) if _http(feed_url) else ((), "")
    yield from icons
    page = _site_page(site_url=site_url or feed_site, feed_url=feed_url)
    if page:
        yield from _page_icons(page)
        yield urljoin(page, "/favicon.ico")


def find_picture(*, avatar_url: str, feed_url: str, site_url: str) -> str:
    """The first usable picture's URL (its image is then cached), or "" when there is none."""
    tried: set[str] = set()
    for url in candidates(avatar_url=avatar_url, feed_url=feed_url, site_url=site_url):
        if url in tried:
            continue
        tried.add(url)
        try:
            image_at(url, max_bytes=MAX_BYTES, deadline=DEADLINE)
        except ImageRefused:
            continue
        return url
    return ""


def learn_picture(*, source_id: int) -> str:
    """Look for the source's picture now and store what was found ("" for none); returns it."""
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return ""
    feed_url = source.url if source.kind == Source.Kind.RSS else ""
    site_url = source.site_url if source.kind != Source.Kind.LOCAL else ""
    found = find_picture(avatar_url=source.avatar_url, feed_url=feed_url, site_url=site_url)
    Source.objects.filter(pk=source_id).update(picture_url=found[:2048], picture_checked_at=timezone.now())
    return found


def picture_version(source: Source) -> str:
    """Changes whenever what the source's picture shows changes, so its address can be cached for long."""
    # crc32: cheap (a sidebar has one per source) and the same in every process; only this source's own
    # addresses need to differ from each other.
    shown = "\n".join((source.picture_url, source.display_title))
    return f"{zlib.crc32(shown.encode()):08x}"


@functools.lru_cache(maxsize=8)
def _avatar_route(script_prefix: str) -> str:
    # A sidebar shows every source a person follows: resolve the pattern once per prefix, fill in the id.
    return reverse("source_avatar", args=[987654321]).replace("987654321", "{}")


def picture_path(source: Source) -> str:
    """The address pages use for the source's picture (``/sources/<id>/avatar?v=...``)."""
    return f"{_avatar_route(get_script_prefix()).format(source.pk)}?v={picture_version(source)}"


def generated(title: str) -> Image:
    return Image("image/svg+xml", initials_svg(title))


def picture_of(source: Source) -> Image:
    """The source's picture as stored, or its generated one when it has none or it cannot be had now."""
    if source.picture_url:
        try:
            return image_at(source.picture_url, max_bytes=MAX_BYTES, deadline=DEADLINE)
        except ImageRefused:
            pass
    return generated(source.display_title)


def preview_token(*, avatar_url: str, feed_url: str, site_url: str, title: str) -> str:
    """A signed, expiring stand-in for what a preview knows about an account's or feed's picture, so that the
    picture of something nobody follows yet can be shown from Chorus (``/follow/preview-avatar``) without Chorus
    becoming an open proxy."""
    facts = {"a": avatar_url, "f": feed_url, "s": site_url, "t": title}
    return signing.dumps(facts, salt=_PREVIEW_SALT, compress=True)


def preview_path(**facts: str) -> str:
    return f"{reverse('preview_avatar')}?{urlencode({'t': preview_token(**facts)})}"


def preview_picture(token: str) -> Image:
    """The picture behind a ``preview_token``: looked for once per hour and token, else generated. Raises
    ``signing.BadSignature`` (also when it expired)."""
    facts = signing.loads(token, salt=_PREVIEW_SALT, max_age=PREVIEW_SECONDS)
    key = "chorus:preview-picture:" + hashlib.sha256(token.encode()).hexdigest()
    url = cache.get(key)
    if url is None:
        url = find_picture(avatar_url=str(facts.get("a", "")), feed_url=str(facts.get("f", "")),
                           site_url=str(facts.get("s", "")))  # fmt: skip
        cache.set(key, url, PREVIEW_SECONDS)
    if url:
        try:
            return image_at(url, max_bytes=MAX_BYTES, deadline=DEADLINE)
        except ImageRefused:
            pass
    return generated(str(facts.get("t", "")))
