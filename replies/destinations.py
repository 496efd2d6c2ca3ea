"""A person's notification destinations (Apprise URLs): adding, changing, removing, testing.

Every URL is checked before it is saved (an offered scheme, a URL Apprise can use, no private host unless the
operator allows it: ``networks.apprise_send.parse``); after saving, only its masked form is ever shown.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from aggregator import jobs
from aggregator.db.snapshots import Snapshot
from aggregator.networks import apprise_send
from replies.models import Destination, DestinationMessage

Event = Destination.Event
MAX_PER_PERSON = 20


class DestinationProblem(ValueError):
    """A destination that cannot be saved as asked; the message is fit to show the person."""


def _load_wanted() -> dict[int, frozenset[str]]:
    wanted: dict[int, set[str]] = {}
    for user_id, events in Destination.objects.filter(paused_at__isnull=True).values_list("user_id", "events"):
        wanted.setdefault(user_id, set()).update(events)
    return {user_id: frozenset(events) for user_id, events in wanted.items()}


# Who wants which events at some destination, held in each process: an ingest batch asks the database nothing
# when nobody of it does. Renewed on every write of a destination (apps.py).
wanted_events = Snapshot(key="chorus:destinations:wanted-version", load=_load_wanted)


def wanting(*, event: str, user_ids) -> list[int]:
    """Those of ``user_ids`` with an active destination for ``event``."""
    wanted = wanted_events.get()
    return sorted({user_id for user_id in user_ids if event in wanted.get(user_id, ())})


def destinations_for(*, user: AbstractBaseUser) -> list[Destination]:
    return list(Destination.objects.filter(user=user).order_by("created_at", "id"))


def destination_create(*, user: AbstractBaseUser, name: str, url: str, events: list[str]) -> Destination:
    if Destination.objects.filter(user=user).count() >= MAX_PER_PERSON:
        raise DestinationProblem(f"at most {MAX_PER_PERSON} destinations each")
    destination = Destination(user=user)
    _apply(destination, name=name, url=url, events=events)
    destination.save()
    return destination


def destination_update(*, user: AbstractBaseUser, destination_id: int, name: str | None = None,
                       url: str | None = None, events: list[str] | None = None,
                       paused: bool | None = None) -> Destination:  # fmt: skip
    """Change what was given; ``paused=False`` resumes a paused destination (its held messages go out)."""
    destination = _own(user, destination_id)
    _apply(destination, name=name, url=url, events=events)
    if paused is False:
        destination.paused_at, destination.pause_reason, destination.failures = None, "", 0
    elif paused and destination.paused_at is None:
        destination.paused_at, destination.pause_reason = timezone.now(), "paused by you"
    destination.save()
    return destination


def destination_delete(*, user: AbstractBaseUser, destination_id: int) -> bool:
    return Destination.objects.filter(user=user, pk=destination_id).delete()[0] > 0


def destination_test(*, user: AbstractBaseUser, destination_id: int) -> Destination:
    """Queue a test message; its result shows as ``last_test_result`` once a worker has tried."""
    destination = _own(user, destination_id)
    now = timezone.now()
    with transaction.atomic():
        DestinationMessage.objects.filter(destination=destination, key="test", sent_at__isnull=True).delete()
        DestinationMessage.objects.filter(destination=destination, key="test").update(key=f"test-{now.timestamp()}")
        DestinationMessage.objects.create(destination=destination, event="test", key="test", due_at=now,
                                          title="Chorus test message",
                                          body=f"This is a test from Chorus to “{destination.name}”. It works.")  # fmt: skip
        Destination.objects.filter(pk=destination.pk).update(last_test_at=now, last_test_result="sending…")
        jobs.enqueue_on_commit("replies.tasks.send_destinations", [destination.pk], swept=True)
    destination.refresh_from_db()
    return destination


def _own(user: AbstractBaseUser, destination_id: int) -> Destination:
    destination = Destination.objects.filter(user=user, pk=destination_id).first()
    if destination is None:
        raise Destination.DoesNotExist("no such destination")
    return destination


def _apply(destination: Destination, *, name: str | None, url: str | None, events: list[str] | None) -> None:
    if name is not None:
        name = name.strip()
        if not name or len(name) > 100:
            raise DestinationProblem("give the destination a name of 1 to 100 characters")
        destination.name = name
    if url is not None:
        if not url.strip() or len(url) > 2048:
            raise DestinationProblem("give an Apprise URL of at most 2,048 characters")
        try:
            parsed = apprise_send.parse(url)
        except apprise_send.DestinationError as error:
            raise DestinationProblem(str(error)) from None
        destination.url, destination.masked, destination.host = url.strip(), parsed.masked, parsed.host
        destination.failures, destination.last_error = 0, ""
    if events is not None:
        unknown = sorted(set(events) - set(Event.values))
        if unknown:
            raise DestinationProblem(f"unknown events {', '.join(unknown)}: among {', '.join(Event.values)}")
        destination.events = [event for event in Event.values if event in events]
    if not destination.name or not destination.url:
        raise DestinationProblem("a destination needs a name and a URL")
