"""Follow lists exported by other services, read safely and with caps: pure parsers, no I/O.

- OPML (any feed reader's export): read by ``aggregator.following.opml`` (its caps).
- Mastodon's "Follows" export (``following_accounts.csv``): ``Account address,Show boosts,...`` then one
  ``user@host`` per row; older exports have no header row.
- An X data archive's ``data/following.js``: ``window.YTD.following.part0 = [{"following": {"accountId": ...,
  "userLink": ...}}, ...]`` — account ids only (X archives carry no usernames for follows).

Like an oversized OPML file, a list over ``MAX_ACCOUNTS`` is refused as a whole with a clear message.
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field

from aggregator.following.opml import MAX_BYTES as OPML_MAX_BYTES
from aggregator.following.opml import OPMLError, OPMLFeed, read_opml
from aggregator.hygiene.controls import has_controls
from aggregator.networks.fediverse import NotAFediverseAddress, parse_account

MAX_ACCOUNTS = 5_000
MAX_BYTES = 2 * 1024 * 1024
MAX_IMPORT_BYTES = max(MAX_BYTES, OPML_MAX_BYTES)  # what an upload may be: OPML files may be larger
_X_PREFIX = re.compile(r"^\s*window\.YTD\.following\.part[0-9]+\s*=\s*")
_X_ID = re.compile(r"^[0-9]{1,25}$")


class FollowListError(ValueError):
    """The file cannot be imported; the message says why."""


@dataclass
class FollowList:
    kind: str  # "mastodon" (``@user@host`` handles), "x" (X account ids) or "opml" (feed URLs)
    accounts: list[str]
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (as written, reason)
    feeds: list[OPMLFeed] = field(default_factory=list)  # OPML: the feeds with their titles and tags


def _text(body: bytes) -> str:
    if len(body) > MAX_BYTES:
        raise FollowListError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text = body.decode("utf-8-sig", errors="replace")
    if has_controls(text):  # a picture or an archive sent by mistake; csv would fail on it in odd ways
        raise FollowListError("not a text file (it holds binary data): expected OPML, a Mastodon "
                              "following_accounts.csv or an X archive's following.js")  # fmt: skip
    return text


def _capped(count: int) -> None:
    if count > MAX_ACCOUNTS:
        raise FollowListError(f"the list has more than {MAX_ACCOUNTS:,} accounts; nothing was imported "
                              f"(split it into smaller files)")  # fmt: skip


def is_x_following(body: bytes) -> bool:
    return bool(_X_PREFIX.match(body[:200].decode("utf-8-sig", errors="replace")))


def read_mastodon_following(body: bytes) -> FollowList:
    """Handles (``@user@host``) of a Mastodon following CSV, in file order, each once."""
    try:
        rows = list(csv.reader(io.StringIO(_text(body))))
    except csv.Error as error:
        raise FollowListError(f"not a valid CSV file ({error})") from error
    if rows and rows[0] and rows[0][0].strip().lower() == "account address":
        rows = rows[1:]
    rows = [row for row in rows if row and row[0].strip()]
    _capped(len(rows))
    handles: dict[str, str] = {}
    rejected = []
    for row in rows:
        written = row[0].strip()[:300]
        try:
            account = parse_account("@" + written.removeprefix("@"))
        except NotAFediverseAddress:
            rejected.append((written, "not a user@server address"))
            continue
        handles.setdefault(account.handle.lower(), account.handle)
    if rows and not handles:
        raise FollowListError("no user@server addresses found: expected Mastodon's following_accounts.csv")
    return FollowList(kind="mastodon", accounts=list(handles.values()), rejected=rejected)


def read_x_following(body: bytes) -> FollowList:
    """Account ids of an X archive's ``following.js``, in file order, each once."""
    text = _text(body)
    match = _X_PREFIX.match(text)
    if not match:
        raise FollowListError("not an X archive's following.js (it starts with window.YTD.following.part0 = [)")
    try:
        items = json.loads(text[match.end():])
    except ValueError as error:
        raise FollowListError("following.js is not valid: the list after '=' is not JSON") from error
    if not isinstance(items, list):
        raise FollowListError("following.js is not valid: expected a list of follows")
    _capped(len(items))
    ids: dict[str, None] = {}
    rejected = []
    for item in items:
        following = item.get("following") if isinstance(item, dict) else None
        account_id = str(following.get("accountId", "")) if isinstance(following, dict) else ""
        if _X_ID.match(account_id):
            ids.setdefault(account_id)
        else:
            rejected.append((json.dumps(item)[:200], "no X account id"))
    return FollowList(kind="x", accounts=list(ids), rejected=rejected)


def read_opml_list(body: bytes) -> FollowList:
    """An OPML file, read with the OPML reader's own caps (``aggregator.following.opml``)."""
    try:
        document = read_opml(body)
    except OPMLError as error:
        raise FollowListError(str(error)) from error
    return FollowList(kind="opml", accounts=[feed.url for feed in document.feeds], rejected=list(document.rejected),
                      feeds=document.feeds)  # fmt: skip


def read_follow_list(body: bytes) -> FollowList:
    """OPML, an X ``following.js`` or a Mastodon following CSV, told apart by content."""
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return read_opml_list(body)
    return read_x_following(body) if is_x_following(body) else read_mastodon_following(body)
