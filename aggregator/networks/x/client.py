"""Requests to the X API v2, through the one outbound HTTP helper, with the operator's bearer token.

Every answer's rate-limit headers feed the shared budget (``budget``); an endpoint whose budget is spent is not
called until its reset (``XRateLimited``), and a 429 spends it at once.
"""

import time
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from django.conf import settings

from aggregator.fetch import FetchError, FetchResult, fetch
from aggregator.networks.x import budget
from aggregator.networks.x.parse import XUser, lookup_problem, parse_user, parse_users

USERS = "users/by/username"
USERS_BY_ID = "users"
IDS_PER_REQUEST = 100
TWEETS = "users/tweets"
MAX_RESULTS = 100
MAX_BYTES = 2 * 1024 * 1024
POST_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities"
EXPANSIONS = "author_id,in_reply_to_user_id,referenced_tweets.id,referenced_tweets.id.author_id,entities.mentions.username"
USER_FIELDS = "name,username,profile_image_url"


class XNotConfigured(Exception):
    """This hub has no X API bearer token."""


class XAccountNotFound(Exception):
    """The API knows no account by that name; the message says so."""


class XRateLimited(FetchError):
    """The shared budget for an X endpoint is spent until ``reset_at``."""

    def __init__(self, reset_at: float) -> None:
        when = datetime.fromtimestamp(reset_at, UTC).strftime("%H:%M:%S UTC")
        super().__init__(f"X API rate limit reached; next request after {when}",
                         status=429, retry_after=max(0.0, reset_at - time.time()))  # fmt: skip
        self.reset_at = reset_at


def configured() -> bool:
    return bool(settings.X_BEARER_TOKEN)


def _get(endpoint: str, path: str, params: dict[str, str]) -> FetchResult:
    if not configured():
        raise XNotConfigured("this hub has no X API token (X_BEARER_TOKEN)")
    reset_at = budget.blocked_until(endpoint)
    if reset_at is not None:
        raise XRateLimited(reset_at)
    url = f"{settings.X_API_BASE.rstrip('/')}/2/{path}?{urlencode(params)}"
    headers = {"Authorization": f"Bearer {settings.X_BEARER_TOKEN}"}
    try:
        response = fetch(url, accept="application/json", headers=headers, max_bytes=MAX_BYTES)
    except FetchError as error:
        if error.status == 429:
            budget.record(endpoint, error.headers, exhausted=True, retry_after=error.retry_after)
            raise XRateLimited(budget.blocked_until(endpoint) or time.time() + budget.DEFAULT_WINDOW) from error
        if error.headers:
            budget.record(endpoint, error.headers)
        raise
    budget.record(endpoint, response.headers)
    return response


def lookup_user(username: str) -> XUser:
    """The account named ``username`` (``/2/users/by/username/{name}``).

    Raises ``XNotConfigured``, ``XAccountNotFound``, ``XRateLimited``, ``FetchError`` or ``BadXResponse``.
    """
    response = _get(USERS, f"users/by/username/{quote(username, safe='')}", {"user.fields": USER_FIELDS})
    user = parse_user(response.body)
    if user is None:
        problem = lookup_problem(response.body)
        raise XAccountNotFound(f"X has no account @{username}" + (f" ({problem})" if problem else ""))
    return user


def lookup_users_by_id(ids: list[str]) -> tuple[dict[str, XUser], dict[str, str]]:
    """The accounts with these ids (``/2/users?ids=``, 100 per request), and why the others are missing.

    Raises what ``lookup_user`` raises; an ``XRateLimited`` midway loses nothing the caller did not get.
    """
    found: dict[str, XUser] = {}
    missing: dict[str, str] = {}
    for start in range(0, len(ids), IDS_PER_REQUEST):
        batch = ids[start:start + IDS_PER_REQUEST]
        response = _get(USERS_BY_ID, "users", {"ids": ",".join(batch), "user.fields": USER_FIELDS})
        users, problems = parse_users(response.body)
        found.update((u.id, u) for u in users)
        missing.update({i: problems.get(i, "not found") for i in batch if i not in found})
    return found, missing


def fetch_user_posts(user_id: str, *, since_id: str = "", pagination_token: str = "") -> FetchResult:
    """The account's newest posts (``/2/users/{id}/tweets``), only those after ``since_id`` when given;
    ``pagination_token`` (a page's ``meta.next_token``) asks for the next, older page of the same request."""
    params = {"max_results": str(MAX_RESULTS), "tweet.fields": POST_FIELDS, "expansions": EXPANSIONS,
              "user.fields": USER_FIELDS}  # fmt: skip
    if since_id:
        params["since_id"] = since_id
    if pagination_token:
        params["pagination_token"] = pagination_token
    return _get(TWEETS, f"users/{quote(user_id, safe='')}/tweets", params)
