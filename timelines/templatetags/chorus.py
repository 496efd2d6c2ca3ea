import functools
from datetime import datetime

from django import template
from django.conf import settings
from django.urls import get_script_prefix, reverse
from django.utils import timezone

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
    """How long ago, in few words: "just now", "3 min ago", "5 h ago", "2 days ago", past a month the date.
    static/chorus.js words it the same way (``ago``) and keeps it current: change both together."""
    if moment is None:
        return ""
    seconds = ((now or timezone.now()) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    if days < 30:
        return "1 day ago" if days == 1 else f"{days} days ago"
    local = timezone.localtime(moment)
    return f"{local.day} {local:%b %Y}"


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

