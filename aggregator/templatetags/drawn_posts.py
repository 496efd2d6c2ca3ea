"""Posts as rivers draw them (``timelines/_post.jinja``), kept drawn in this process while nothing they show
changes: a reader reloading their river, or many readers of one source, draw its posts once.

A drawing is kept under everything the fragment shows: the post's fields, its source's title and picture, the
reader's read and starred state, the relative time as worded now, the time zone and the address prefix. So a
change to any of them draws the post again, and a kept drawing is never stale; one no longer asked for is pushed
out by newer ones (at most ``KEPT`` drawings). The page's CSRF token and return address differ per page: they are
drawn as random markers, replaced on the way out. ``_key`` must name every value the fragment reads.
"""

import secrets
import threading
from collections import OrderedDict

from django.template import engines
from django.urls import get_script_prefix
from django.utils import timezone
from markupsafe import Markup

from timelines.templatetags.chorus import ago

KEPT = 2000
KEPT_CHARS = 8_000_000

_CSRF = f"csrf-{secrets.token_hex(12)}"  # random per process: no post's text can hold them
_HERE = f"here-{secrets.token_hex(12)}"

_kept: OrderedDict[tuple, str] = OrderedDict()
_chars = 0  # of what _kept holds: the drawings and their keys' post texts
_lock = threading.Lock()


def _key(post, *, is_read: bool, starred: bool) -> tuple:
    source = post.source
    return (post.pk, post.url, post.author_handle, post.author_uri, post.author_name, post.title, post.content_html,
            post.published, source.pk, source.title, source.address, source.picture_url, bool(is_read),
            bool(starred), ago(post.published), timezone.get_current_timezone_name(), get_script_prefix())  # fmt: skip


def _draw(post, *, is_read: bool, starred: bool, csrf_token: str, here: str) -> str:
    template = engines["jinja2"].env.get_template("timelines/_post.jinja")
    return template.render(post=post, is_read=is_read, starred=starred, csrf_token=csrf_token, here=here)


def _size(key: tuple, drawn: str) -> int:
    return len(drawn) + sum(len(part) for part in key if isinstance(part, str))


def _keep(key: tuple, drawn: str) -> None:
    global _chars
    with _lock:
        if key in _kept:
            return
        _kept[key] = drawn
        _chars += _size(key, drawn)
        while len(_kept) > KEPT or _chars > KEPT_CHARS:
            _chars -= _size(*_kept.popitem(last=False))


def post(post, *, is_read: bool, starred: bool, csrf_token: Markup, here: Markup) -> str:
    """The post's fragment for this page (``csrf_token`` and ``here`` escaped already: ``markupsafe.escape``)."""
    if getattr(post, "marked_title", None) or getattr(post, "marked_content", None):  # a search's: drawn each time
        return _draw(post, is_read=is_read, starred=starred, csrf_token=csrf_token, here=here)
    key = _key(post, is_read=is_read, starred=starred)
    with _lock:
        drawn = _kept.get(key)
        if drawn is not None:
            _kept.move_to_end(key)
    if drawn is None:
        drawn = _draw(post, is_read=is_read, starred=starred, csrf_token=_CSRF, here=_HERE)
        _keep(key, drawn)
    return drawn.replace(_CSRF, csrf_token).replace(_HERE, here)
