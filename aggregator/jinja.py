"""The Jinja2 environment of the fragments a page repeats by the dozen: a post as rivers show it
(``templates/timelines/_post.jinja``), its block menu (``templates/replies/_spam.jinja``) and the timeline's
sidebar (``templates/timelines/_sidebar.jinja``). Django's template language costs about ten times as much per
variable, and a river page draws fifty posts of forty variables each.

Pages stay Django templates; they draw these fragments through ``{% load fragments %}``
(``aggregator/templatetags/fragments.py``), so each fragment has one rendering wherever it appears. The filters
are the Django templates' own functions, so both engines word a post alike.
"""

from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from jinja2 import Environment
from markupsafe import Markup

from aggregator.content.sanitize import shown_html
from aggregator.following.avatars import picture_path
from timelines.templatetags.chorus import ago, post_urls


def iso_time(moment: datetime | None) -> str:
    """``moment`` in the current time zone, ISO 8601 (Django's ``date:'c'``), for ``<time datetime>``."""
    return timezone.localtime(moment).isoformat() if moment else ""


def long_time(moment: datetime | None) -> str:
    """``moment`` in the current time zone as "1 Nov 2026, 05:03 UTC" (Django's ``date:'j M Y, H:i T'``, English
    as the ``ago`` filter is, at a fifth of its cost)."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def shown(stored_html: str | None) -> Markup:
    """Stored, sanitized post HTML as pages show it (the ``shown`` filter of ``{% load pictures %}``)."""
    return Markup(shown_html(stored_html or ""))  # noqa: S704 - sanitized at ingest and cleaned again here


def environment(**options) -> Environment:
    env = Environment(**options)
    env.filters.update(ago=ago, shown=shown, picture_src=picture_path, iso_time=iso_time, long_time=long_time)
    env.globals.update(post_urls=post_urls, url=reverse)
    return env
