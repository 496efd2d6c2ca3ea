"""Pictures from the web, shown from Chorus' own origin: the image proxy's signed addresses, fetching and checking
images (through the one outbound guard, raster only by their first bytes, capped, cached), where a page or feed
says its picture is, and the generated picture of a source that has none.

Split by subdomain: ``sniff`` (the type by first bytes), ``signed`` (proxy addresses and their HMAC),
``store`` (fetch, check and cache one image), ``icons`` (a page's icon links), ``generated`` (initials SVG),
``views`` (the proxy's endpoint). Import from here, not from them (``views`` is imported by the URLs).
"""

from aggregator.images.generated import initials, initials_svg
from aggregator.images.icons import icon_links
from aggregator.images.signed import BadProxyAddress, proxied_url, proxy_path
from aggregator.images.sniff import sniff
from aggregator.images.store import Image, ImageRefused, image_at

__all__ = [
    "BadProxyAddress",
    "Image",
    "ImageRefused",
    "icon_links",
    "image_at",
    "initials",
    "initials_svg",
    "proxied_url",
    "proxy_path",
    "sniff",
]
