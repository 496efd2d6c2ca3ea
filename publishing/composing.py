"""What a person types -> what is stored: the length as they see it, and the post's HTML. Pure but for the
look-up of local people named in it (``local_people``, passed in).

A post is plain text: line breaks are kept, links and handles are linked, nothing else is markup.
``@bob`` and ``@bob@<this hub>`` name people of this hub and link their profiles, so replies matching finds them
by their profile address; ``@bob@elsewhere`` stays text (matching reads it as a fediverse handle).
"""

import html
from collections.abc import Callable

import regex

_GRAPHEME = regex.compile(r"\X")
_TOKEN = regex.compile(
    r"(?P<url>https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}])"
    r"|(?<![\w@./:+=\-])@(?P<name>[a-z0-9_](?:[a-z0-9_.\-]*[a-z0-9_])?)(?:@(?P<host>[a-z0-9.\-]+(?::\d+)?))?(?![\w@])",
    regex.IGNORECASE,
)


def visible_length(text: str) -> int:
    """Characters as a person counts them (grapheme clusters: an emoji with its modifiers is one); a URL
    counts in full."""
    return len(_GRAPHEME.findall(text))


def mentioned_usernames(text: str, *, host: str) -> set[str]:
    """The usernames of this hub that ``text`` names (``@bob``, ``@bob@host``)."""
    found = set()
    for match in _TOKEN.finditer(text):
        if match["name"] and (not match["host"] or match["host"].lower() == host):
            found.add(match["name"])
    return found


def render_html(text: str, *, host: str, profile_of: Callable[[str], str | None]) -> str:
    """The post's HTML: escaped text in one paragraph (line breaks kept), links linked, local handles linked to
    the profiles ``profile_of(username)`` gives (None: not a person of this hub, left as text)."""
    parts, position = [], 0
    for match in _TOKEN.finditer(text):
        parts.append(html.escape(text[position:match.start()]))
        parts.append(_linked(match, host=host, profile_of=profile_of))
        position = match.end()
    parts.append(html.escape(text[position:]))
    return "<p>" + "".join(parts).replace("\r\n", "\n").replace("\n", "<br>") + "</p>"


def _linked(match: regex.Match, *, host: str, profile_of: Callable[[str], str | None]) -> str:
    shown = html.escape(match[0])
    if match["url"]:
        return f'<a href="{html.escape(match["url"], quote=True)}">{shown}</a>'
    profile = None
    if not match["host"] or match["host"].lower() == host:
        profile = profile_of(match["name"])
    if profile is None:
        return shown
    return f'<a class="h-card u-url mention" href="{html.escape(profile, quote=True)}">{shown}</a>'

