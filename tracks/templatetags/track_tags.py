from django import template

from tracks.selectors import unread_matches_count

register = template.Library()


@register.simple_tag(takes_context=True)
def tracks_unread(context) -> int | str:
    """The signed-in person's unread track matches, for the navigation ("" when none: nothing shown)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return ""
    return unread_matches_count(user=user) or ""
