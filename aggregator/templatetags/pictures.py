"""Pictures in templates: a source's picture address, and stored post HTML with its images proxied.

``{% load pictures %}`` then ``{{ post.source|picture_src }}`` and ``{{ post.content_html|shown }}``.
"""

from django import template
from django.utils.safestring import SafeString, mark_safe

from aggregator.content.sanitize import shown_html
from aggregator.following.avatars import picture_path
from aggregator.models import Source

register = template.Library()


@register.filter
def picture_src(source: Source) -> str:
    """The source's picture as Chorus serves it (``/sources/<id>/avatar?v=...``): never a remote URL."""
    return picture_path(source)


@register.filter
def shown(stored_html: str) -> SafeString:
    """Stored, sanitized post HTML as pages show it: every picture through the image proxy (``shown_html``)."""
    return mark_safe(shown_html(stored_html or ""))  # noqa: S308 - sanitized at ingest and cleaned again here
