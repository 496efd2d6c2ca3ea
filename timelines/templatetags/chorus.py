from django import template
from django.conf import settings

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
