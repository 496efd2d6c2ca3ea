"""A person's identities: services to add, verify and remove them, and the selector that lists them.

Verification:
- ``url`` (a blog or profile page): verified when that page links back to the person's Chorus profile page with
  ``rel="me"`` (``<a rel="me" href="https://chorus.example/people/alice/">`` or the same in a ``<link>``), the
  IndieWeb way. The page is fetched through ``aggregator.fetch`` (the one HTTP helper).
- fediverse, Bluesky and XMPP handles: ``accounts/verification.py`` (WebFinger and profile links, the Bluesky
  profile's description, a code sent to the JID).
- X stays unverified and is shown as such, until an administrator marks it (``manage.py verify_identity USER
  KIND VALUE``, or the admin site).

A verified ``(kind, value)`` has one owner: verifying a handle someone else already verified fails.
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Identity
from aggregator.content.mentions import Mention, author_mentions, bare_jid, handles_in, normalize_link
from aggregator.db.snapshots import Snapshot
from aggregator.fetch import FetchError, fetch

MAX_IDENTITIES = 50
MAX_PAGE_BYTES = 1024 * 1024
MAX_URL_ANCESTORS = 8
_PORT = re.compile(r":[0-9]{1,5}$")


class IdentityError(ValueError):
    """Something the person should be told: a handle that is not one, one too many, one already taken."""


def normalize_identity(*, kind: str, value: str) -> str:
    """The form mentions are extracted in (replies/mentions.py); raises ``IdentityError`` when it is no handle."""
    value = value.strip()
    if kind == Identity.Kind.URL:
        normalized = normalize_link(value if "://" in value else f"https://{value}")
    elif kind == Identity.Kind.XMPP:
        normalized = bare_jid(value.removeprefix("xmpp:")) or None
    elif kind in (Identity.Kind.X, Identity.Kind.FEDIVERSE, Identity.Kind.BLUESKY):
        bare = value.removeprefix("@").lower()
        found = handles_in(f"@{bare}")
        normalized = bare if Mention(kind, bare) in found else None  # the whole value is the handle
        if normalized is None and kind == Identity.Kind.FEDIVERSE and _PORT.search(bare):
            # a server on its own port (a development instance, the test suite's): WebFinger can still ask it
            normalized = bare if Mention(kind, _PORT.sub("", bare)) in found else None
    else:
        raise IdentityError(f"unknown kind {kind!r}: one of {', '.join(Identity.Kind.values)}")
    if not normalized:
        raise IdentityError(f"{value!r} is not a {Identity.Kind(kind).label}")
    return normalized


def identity_create(*, user: AbstractBaseUser, kind: str, value: str, verified: bool = False) -> Identity:
    """Add a handle to the person's identities (unverified unless ``verified``: admin and test data)."""
    normalized = normalize_identity(kind=kind, value=value)
    if Identity.objects.filter(user=user).count() >= MAX_IDENTITIES:
        raise IdentityError(f"at most {MAX_IDENTITIES} identities per person")
    try:
        with transaction.atomic():
            identity, _ = Identity.objects.get_or_create(user=user, kind=kind, value=normalized)
            if verified and not identity.verified:
                _mark_verified(identity)
    except IntegrityError:
        raise IdentityError(f"{normalized} is already verified by someone else") from None
    return identity


def identity_delete(*, user: AbstractBaseUser, identity_id: int) -> bool:
    deleted, _ = Identity.objects.filter(user=user, pk=identity_id).delete()
    return bool(deleted)


def identities_for(*, user: AbstractBaseUser) -> list[Identity]:
    return list(Identity.objects.filter(user=user).order_by("kind", "value"))


def verify_url_identity(*, identity: Identity, profile_url: str) -> bool:
    """Fetch the identity's page; verified when it links ``rel="me"`` to ``profile_url``. Records why not."""
    if identity.kind != Identity.Kind.URL:
        raise IdentityError("not a blog or profile URL")
    try:
        page = fetch(identity.value, accept="text/html, application/xhtml+xml;q=0.9, */*;q=0.1",
                     max_bytes=MAX_PAGE_BYTES)  # fmt: skip
    except FetchError as error:
        return not_verified(identity, f"could not fetch the page: {error}")
    if not links_to(profile_url, rel_me_links(page.body), base_url=page.url):
        return not_verified(identity, f'the page has no rel="me" link to {profile_url}')
    return conclude_verified(identity)


def conclude_verified(identity: Identity) -> bool:
    """The check passed: mark the handle verified, unless someone else verified it first (then say so)."""
    try:
        with transaction.atomic():
            _mark_verified(identity)
    except IntegrityError:
        identity.verified, identity.verified_at = False, None
        return not_verified(identity, f"{identity.value} is already verified by someone else")
    return True


def links_to(profile_url: str, hrefs: list[str], *, base_url: str) -> bool:
    """True when one of ``hrefs`` (relative to ``base_url``) is ``profile_url``, once both are normalized."""
    wanted = normalize_link(profile_url)
    return any(normalize_link(urljoin(base_url, href)) == wanted for href in hrefs)


def mark_verified(*, user_id: int, kind: str, value: str) -> Identity:
    """An administrator vouches for a handle (the kinds Chorus cannot check itself yet)."""
    normalized = normalize_identity(kind=kind, value=value)
    with transaction.atomic():
        identity, _ = Identity.objects.get_or_create(user_id=user_id, kind=kind, value=normalized)
        _mark_verified(identity)
    return identity


def author_handle_forms(mention: Mention) -> list[str]:
    """How a post's ``author_handle``/``author_uri`` spells an identity (for blocking a person on every network)."""
    if mention.kind in ("x", "fediverse", "bluesky"):
        return [f"@{mention.value}"]
    if mention.kind == "xmpp":
        return [mention.value, f"xmpp:{mention.value}"]
    return [mention.value]


@dataclass(frozen=True)
class VerifiedHandles:
    """Every verified handle: (kind, value) -> its owner's user id (one owner each: a unique constraint)."""

    owners: dict[tuple[str, str], int]
    url_hosts: frozenset[str]  # the hosts of verified URLs: a link elsewhere needs no walk up its path

    def owner_of(self, mention: Mention) -> int | None:
        """Whose verified handle this is; a URL is also theirs below a verified URL (a link to a post on
        alice's blog names alice's blog)."""
        owner = self.owners.get(mention)
        if owner is None and mention.kind == "url" and urlsplit(mention.value).netloc in self.url_hosts:
            owner = next((self.owners[key] for key in (("url", up) for up in url_ancestors(mention.value))
                          if key in self.owners), None)  # fmt: skip
        return owner


def url_ancestors(url: str) -> list[str]:
    """``https://h/a/b/c`` -> ``https://h/a/b/``, ``https://h/a/b``, ``https://h/a/``, ``https://h/a``, ``https://h/``."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s][:MAX_URL_ANCESTORS]
    found = []
    for depth in range(len(segments) - 1, -1, -1):
        path = "/" + "/".join(segments[:depth])
        found.extend([path.rstrip("/") + "/", path] if depth else ["/"])
    return [urlunsplit((parts.scheme, parts.netloc, path, "", "")) for path in dict.fromkeys(found)]


def _load_verified_handles() -> VerifiedHandles:
    rows = Identity.objects.filter(verified=True).values_list("kind", "value", "user_id").iterator(chunk_size=5000)
    owners = {(kind, value): user_id for kind, value, user_id in rows}
    hosts = frozenset(urlsplit(value).netloc for kind, value in owners if kind == "url")
    return VerifiedHandles(owners=owners, url_hosts=hosts)


# Held in each process: matching a batch of posts asks the database nothing about whose handles it mentions.
# Renewed on every write of an identity (apps.py): verifying and unverifying both save the row.
verified_handles = Snapshot(key="chorus:identities:verified-version", load=_load_verified_handles)


def owner_of_author(*, handle: str, uri: str) -> int | None:
    """The person whose verified identity wrote a post with this author handle/URI, if Chorus knows them."""
    handles = verified_handles.get().owners
    owners = {handles[key] for key in author_mentions(handle=handle, uri=uri) if key in handles}
    return owners.pop() if len(owners) == 1 else None


class _RelMe(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if tag in ("a", "link") and "me" in values.get("rel", "").lower().split() and values.get("href"):
            self.hrefs.append(values["href"].strip())


def rel_me_links(body: bytes) -> list[str]:
    parser = _RelMe()
    parser.feed(body.decode("utf-8", errors="replace"))
    return parser.hrefs


def _mark_verified(identity: Identity) -> None:
    identity.verified, identity.verified_at, identity.last_check_error = True, timezone.now(), ""
    identity.save(update_fields=["verified", "verified_at", "last_check_error"])


def not_verified(identity: Identity, reason: str) -> bool:
    """Record why a check failed (shown beside the handle); returns False."""
    identity.last_check_error = reason[:500]
    identity.save(update_fields=["last_check_error"])
    return False
