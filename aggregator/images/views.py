"""The image proxy's endpoint: ``GET /images/<signature>/<encoded URL>``.

Open to anyone holding an address Chorus signed (public profile pages show images too); the signature keeps it
from being an open relay. Answers the image with long cache headers, or a short plain-text reason with the
status of the refusal (403 bad signature or refused address, 404 unavailable, 413 too large, 415 not a
raster image).
"""

from django.http import HttpResponse
from django.views.decorators.http import require_safe

from aggregator.images.signed import BadProxyAddress, proxied_url
from aggregator.images.store import Image, ImageRefused, image_at

IMAGE_CACHE_CONTROL = "public, max-age=2592000, immutable"  # the address names the URL; a month is safe
REFUSAL_CACHE_CONTROL = "public, max-age=300"


def image_response(image: Image, *, cache_control: str = IMAGE_CACHE_CONTROL) -> HttpResponse:
    """An image as Chorus serves it: its sniffed type, never sniffed again by the browser, no active content."""
    response = HttpResponse(image.body, content_type=image.content_type)
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def refusal(reason: str, *, status: int) -> HttpResponse:
    response = HttpResponse(reason + "\n", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = REFUSAL_CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def image_proxy(request, signature: str, encoded: str):
    try:
        url = proxied_url(signature, encoded)
    except BadProxyAddress as error:
        return refusal(str(error), status=403)
    try:
        image = image_at(url)
    except ImageRefused as refused:
        return refusal(str(refused), status=refused.status)
    return image_response(image)
