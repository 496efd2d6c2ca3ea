"""X API v2 JSON -> ``Entry``: pure, tested on the documented response shapes kept in ``testdata/``.

A post's text arrives as plain text with ``&amp; &lt; &gt;`` escaped; entities name its mentions and its
t.co links. The HTML made here escapes the text again and links mentions to their profiles and t.co links to
their expanded targets; ingest sanitizes it like any other network's content.
"""

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime

from aggregator.content.entry import Entry

WEB = "https://x.com"
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_NUMERIC_ID = re.compile(r"^[0-9]{1,25}$")


class BadXResponse(ValueError):
    """The API answered something that is not the documented JSON shape; the message says what."""


@dataclass(frozen=True, slots=True)
class XUser:
    id: str
    username: str
    name: str = ""
    profile_image_url: str = ""

    @property
    def profile_url(self) -> str:
        return f"{WEB}/{self.username}"


@dataclass(frozen=True, slots=True)
class XPage:
    entries: list[Entry]
    newest_id: str  # "" when the page is empty: keep the previous since_id
    next_token: str = ""  # more (older) posts of the same request: ask again with pagination_token


def status_url(username: str, post_id: str) -> str:
    return f"{WEB}/{username or 'i'}/status/{post_id}"


def _json(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadXResponse("the X API answered something that is not JSON") from error
    if not isinstance(document, dict):
        raise BadXResponse("the X API answered JSON that is not an object")
    return document


def _problem(document: dict) -> str:
    errors = document.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("detail") or first.get("title") or "unknown error")[:300]
    return ""


def _user(raw: object) -> XUser | None:
    if not isinstance(raw, dict):
        return None
    user_id, username = str(raw.get("id", "")), str(raw.get("username", ""))
    if not _NUMERIC_ID.match(user_id) or not _USERNAME.match(username):
        return None
    return XUser(id=user_id, username=username, name=str(raw.get("name") or ""),
                 profile_image_url=str(raw.get("profile_image_url") or ""))  # fmt: skip


def parse_user(body: bytes) -> XUser | None:
    """The user of a ``/2/users/by/username/{name}`` answer; None when the API says there is none."""
    document = _json(body)
    user = _user(document.get("data"))
    if user is None and "data" in document:
        raise BadXResponse("the X API's user has no usable id or username")
    return user


def parse_users(body: bytes) -> tuple[list[XUser], dict[str, str]]:
    """A ``/2/users?ids=`` answer: the users found, and the API's reason for each id it did not find."""
    document = _json(body)
    users = [u for u in map(_user, document.get("data") or []) if u] if isinstance(document.get("data"), list) else []
    missing = {}
    for problem in document.get("errors") or []:
        if isinstance(problem, dict) and _NUMERIC_ID.match(str(problem.get("resource_id") or problem.get("value") or "")):
            missing[str(problem.get("resource_id") or problem.get("value"))] = str(problem.get("title") or "not found")[:200]
    return users, missing


def lookup_problem(body: bytes) -> str:
    """The API's own words for a failed lookup (``errors[0].detail``), or ""."""
    return _problem(_json(body))


def _date(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _content_html(post: dict) -> str:
    text = html.unescape(str(post.get("text") or ""))
    out = html.escape(text)
    entities = post.get("entities") if isinstance(post.get("entities"), dict) else {}
    for link in entities.get("urls") or []:
        if isinstance(link, dict) and link.get("url") and link.get("expanded_url"):
            short, target = html.escape(str(link["url"])), html.escape(str(link["expanded_url"]))
            shown = html.escape(str(link.get("display_url") or link["expanded_url"]))
            out = out.replace(short, f'<a href="{target}">{shown}</a>', 1)
    names = {str(m.get("username")) for m in entities.get("mentions") or [] if isinstance(m, dict)}
    for name in sorted(n for n in names if _USERNAME.match(n)):
        out = re.sub(rf"(?<![\w@])@{name}\b", f'<a href="{WEB}/{name}">@{name}</a>', out, flags=re.IGNORECASE)
    return out.replace("\n", "<br>\n")


def _reply_target(post: dict, *, authors: dict[str, str], tweet_authors: dict[str, str]) -> str:
    for reference in post.get("referenced_tweets") or []:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            target = str(reference.get("id", ""))
            if _NUMERIC_ID.match(target):
                return status_url(authors.get(tweet_authors.get(target, ""), ""), target)
    return ""


def parse_posts(body: bytes, *, author: XUser) -> XPage:
    """A ``/2/users/{id}/tweets`` answer -> entries, newest first as the API lists them.

    ``author`` is the followed account: posts are attributed to it whatever ``includes`` claims.
    """
    document = _json(body)
    posts = document.get("data") or []
    if not isinstance(posts, list):
        raise BadXResponse("the X API's post list is not a list")
    includes = document.get("includes") if isinstance(document.get("includes"), dict) else {}
    authors = {u.id: u.username for u in map(_user, includes.get("users") or []) if u}
    authors[author.id] = author.username
    tweet_authors = {
        str(t.get("id")): str(t.get("author_id"))
        for t in includes.get("tweets") or [] if isinstance(t, dict)
    }  # fmt: skip
    entries = []
    for post in posts:
        if not isinstance(post, dict) or not _NUMERIC_ID.match(str(post.get("id", ""))):
            continue
        post_id = str(post["id"])
        entries.append(Entry(
            guid=post_id, url=status_url(author.username, post_id), author_name=author.name or author.username,
            author_handle=f"@{author.username}", author_uri=author.profile_url, content_html=_content_html(post),
            published=_date(post.get("created_at")),
            in_reply_to=_reply_target(post, authors=authors, tweet_authors=tweet_authors), base_url=WEB,
        ))  # fmt: skip
    meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
    newest = str(meta.get("newest_id") or "")
    if not _NUMERIC_ID.match(newest):
        newest = max((e.guid for e in entries), key=lambda i: (len(i), i), default="")
    next_token = str(meta.get("next_token") or "")[:200]
    return XPage(entries=entries, newest_id=newest, next_token=next_token)


def profile_username(profile_url: str) -> str:
    """``https://x.com/name`` -> ``name`` (an X source keeps its profile URL as ``url``)."""
    return profile_url.rstrip("/").rsplit("/", 1)[-1]
