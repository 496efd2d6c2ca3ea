"""How a person reads: the view (expanded or titles only), the order, unread only, and when posts are marked
read as they go (moving on with ``j``, scrolling past). One row per person, made on the first change."""

from django.contrib.auth.models import AbstractBaseUser

from timelines.models import ReadingPrefs

FIELDS = ("view", "oldest_first", "unread_only", "read_on_move", "read_on_scroll")


def prefs_for(*, user: AbstractBaseUser) -> ReadingPrefs:
    """The person's preferences; the defaults (unsaved) when they never changed one."""
    return ReadingPrefs.objects.filter(user=user).first() or ReadingPrefs(user=user)


def update_prefs(*, user: AbstractBaseUser, **changes) -> ReadingPrefs:
    """Change some of the person's preferences (the others stay). Raises ``ValueError`` for an unknown field
    or view."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown reading preference: {', '.join(sorted(unknown))}")
    if "view" in changes and changes["view"] not in ReadingPrefs.View.values:
        raise ValueError(f"view is one of {', '.join(ReadingPrefs.View.values)}")
    prefs, _ = ReadingPrefs.objects.update_or_create(user=user, defaults=changes)
    return prefs


def prefs_json(prefs: ReadingPrefs) -> dict:
    return {name: getattr(prefs, name) for name in FIELDS}
