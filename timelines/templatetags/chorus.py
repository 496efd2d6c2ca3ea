import functools
from datetime import datetime

from django import template
from django.conf import settings
from django.template.defaultfilters import date
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html

from timelines.stars import starred_count as count_of_starred

register = template.Library()


@register.filter
def lookup(mapping: dict, key):
    """``{{ counts|lookup:source_id }}``: a dict value in a template, "" when missing."""
    return mapping.get(key, "") if mapping else ""


@register.simple_tag(takes_context=True)
def starred_count(context) -> int | str:
    """The signed-in person's starred posts, for the navigation ("" when none)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return ""
    return count_of_starred(user=user) or ""


@register.simple_tag
def keep_read_days() -> int:
    """How many days read, unstarred posts are kept (0: for good), for the pages that say what is kept."""
    return settings.CHORUS_KEEP_READ_DAYS


@register.filter
def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How far from now, in few words: "just now", "3 min ago", "5 h ago", "2 days ago"; ahead, "in a moment",
    "in 3 min", "in 5 h", "in 2 days"; a month or more either way, the date.
    static/chorus.js words it the same way (``ago``) and keeps it current: change both together."""
    if moment is None:
        return ""
    seconds = ((now or timezone.now()) - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "in a moment" if ahead else "just now"
    if seconds < 3600:
        span = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        span = f"{int(seconds // 3600)} h"
    elif seconds < 86400 * 30:
        days = int(seconds // 86400)
        span = "1 day" if days == 1 else f"{days} days"
    else:
        local = timezone.localtime(moment)
        return f"{local.day} {local:%b %Y}"
    return f"in {span}" if ahead else f"{span} ago"


@register.simple_tag
def moment(when: datetime | None, css_class: str = "") -> str:
    """``<time>`` saying how far ``when`` is from now (``ago``), with the exact time on hover; static/chorus.js keeps
    the wording current. Empty for no time."""
    if when is None:
        return ""
    return format_html(
        '<time{} datetime="{}" title="{}">{}</time>',
        format_html(' class="{}"', css_class) if css_class else "",
        date(when, "c"), date(when, "j M Y, H:i T"), ago(when),
    )


@functools.cache
def _post_urls(script_prefix: str) -> dict[str, str]:
    # A river page draws 50 posts with a dozen links and form actions each: resolved once per script prefix
    # (part of what reverse() returns), not 600 times a page.
    return {
        "timeline": reverse("timeline"), "compose": reverse("compose"), "mark_read": reverse("mark_read"),
        "api_read": reverse("api:mark_read"), "star": reverse("star_toggle"), "api_star": reverse("api:star"),
        "blocks": reverse("blocks"), "api_blocks": reverse("api:block_add"),
    }  # fmt: skip


def post_urls() -> dict[str, str]:
    """The addresses a post's actions use: ``post_urls()`` in the Jinja2 fragments (``timelines/_post.jinja``,
    ``replies/_spam.jinja``; ``aggregator/jinja.py``)."""
    return _post_urls(get_script_prefix())

