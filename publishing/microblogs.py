"""A person's microblog on this hub: made on first use, with the identities that make their posts theirs."""

import contextlib

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from accounts.identities import mark_verified
from accounts.models import Identity
from aggregator.fetch import normalize_url
from aggregator.models import Source
from publishing import addresses
from publishing.models import Microblog


def display_name(user: AbstractBaseUser) -> str:
    return (user.get_full_name() if hasattr(user, "get_full_name") else "") or user.get_username()


def microblog_for(user: AbstractBaseUser) -> Microblog:
    """The person's microblog, made on first use: their own Source (never polled) and the identities that make
    matching see their posts as theirs and mentions of them as theirs."""
    existing = Microblog.objects.filter(user=user).select_related("source").first()
    if existing is not None:
        return existing
    username = user.get_username()
    with transaction.atomic():
        source, _ = Source.objects.get_or_create(
            address=normalize_url(addresses.feed_url(username)),
            defaults={"kind": Source.Kind.LOCAL, "url": addresses.feed_url(username), "title": display_name(user),
                      "site_url": addresses.profile_url(username), "status": Source.Status.OK, "next_poll_at": None},
        )  # fmt: skip
        Source.objects.filter(pk=source.pk).update(kind=Source.Kind.LOCAL, next_poll_at=None)
        microblog, _ = Microblog.objects.get_or_create(user=user, defaults={"source": source})
    ensure_identities(user)
    return Microblog.objects.select_related("source").get(pk=microblog.pk)


def ensure_identities(user: AbstractBaseUser) -> None:
    """The person's profile address and ``@name@host`` on this hub are theirs, verified by construction."""
    username = user.get_username()
    for kind, value in (("url", addresses.profile_url(username)), ("fediverse", addresses.handle(username)[1:])):
        if Identity.objects.filter(user=user, kind=kind, value=value, verified=True).exists():
            continue  # saving it again would renew every process's snapshot of verified handles for nothing
        # someone else verified it first (a stale row of a renamed account): it stays theirs
        with contextlib.suppress(IntegrityError):
            mark_verified(user_id=user.pk, kind=kind, value=value)
