"""Fragments drawn by the Jinja2 engine inside Django templates (``aggregator/jinja.py`` says why).

``{% load fragments %}`` then ``{% post_fragment post is_read=... starred=... %}`` (one post of a river),
``{% river_fragment entries %}`` (a river's timeline rows, each post as ``post_fragment`` draws it; both keep a
post drawn while nothing it shows changes, ``drawn_posts``),
``{% spam_menu post %}`` (the block menu of a reply or track match) or ``{% timeline_sidebar %}``. They take
``here`` (where the forms come back to) and the page's CSRF token from the page's context.
"""

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe
from markupsafe import escape

from aggregator.templatetags import drawn_posts
from publishing.models import Microblog

register = template.Library()


def _page_values(context) -> dict[str, str]:
    """The page's CSRF token and return address, escaped as Jinja2 would print them. One token for the whole
    page, as Django's {% csrf_token %} does: the context's lazy token, resolved once here (a river's posts print
    it in a form each, and every use of the lazy object goes through its proxy)."""
    return {"csrf_token": escape(str(context.get("csrf_token") or "")), "here": escape(context.get("here", ""))}


def _render(name: str, context, **values) -> SafeString:
    # The environment's own template (Jinja2 caches it, and reloads a changed file when DEBUG): Django's wrapper
    # would build a context with the request and a CSRF token of its own for every fragment.
    values = {**_page_values(context), **values}
    return mark_safe(engines["jinja2"].env.get_template(name).render(values))  # noqa: S308 - Jinja2 autoescapes (aggregator/jinja.py)


@register.simple_tag(takes_context=True)
def post_fragment(context, post, *, is_read: bool, starred: bool) -> SafeString:
    """A post as rivers show it (``timelines/_post.jinja``)."""
    return mark_safe(drawn_posts.post(post, is_read=is_read, starred=starred, **_page_values(context)))  # noqa: S308 - Jinja2 autoescapes (aggregator/jinja.py)


@register.simple_tag(takes_context=True)
def river_fragment(context, entries) -> SafeString:
    """Timeline rows (``post.starred`` set) as a river shows them, each post as ``post_fragment`` draws it."""
    page = _page_values(context)
    drawn = (drawn_posts.post(entry.post, is_read=entry.is_read, starred=entry.post.starred, **page) for entry in entries)
    return mark_safe("".join(f"\n    {post}\n" for post in drawn))  # noqa: S308 - Jinja2 autoescapes (aggregator/jinja.py)


@register.simple_tag(takes_context=True)
def spam_menu(context, post) -> SafeString:
    """Block or mute from a post (``replies/_spam.jinja``); nothing on the reader's own posts."""
    if post.source_id == _own_source_id(context):
        return mark_safe("")
    return _render("replies/_spam.jinja", context, post=post)


def _own_source_id(context) -> int | None:
    """The source of the reader's own microblog (None if they have none), read once per page."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    if not hasattr(request, "_chorus_own_source_id"):
        own = Microblog.objects.filter(user_id=request.user.pk).values_list("source_id", flat=True).first()
        request._chorus_own_source_id = own
    return request._chorus_own_source_id


@register.simple_tag(takes_context=True)
def timeline_sidebar(context) -> SafeString:
    """The timeline's sidebar: all posts, tags and sources with their unread counts (``timelines/_sidebar.jinja``)."""
    names = ("subscriptions", "per_source", "tags", "more_tags", "more_sources", "total_unread", "filters")
    return _render("timelines/_sidebar.jinja", context, **{name: context.get(name) for name in names})
