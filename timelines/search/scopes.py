"""What a person can see, for search and retention: their timeline rows, and the rows of the apps above this
one (replies, track matches), which register here in their ``AppConfig.ready`` (this app may not import them).

A scope is a function ``rows(user) -> QuerySet`` of rows with ``post``, ``published`` and ``is_read``, one row
per post, blocks and retracted posts already left out; ``model`` is that row's model.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, QuerySet

from timelines.blocks import blocked
from timelines.models import TimelineEntry


@dataclass(frozen=True)
class Scope:
    name: str
    model: type[Model]
    rows: Callable[[AbstractBaseUser], QuerySet]


def _timeline_rows(user: AbstractBaseUser) -> QuerySet:
    return TimelineEntry.objects.filter(user=user).exclude(blocked(user=user, source="source_id"))


_scopes: dict[str, Scope] = {"timeline": Scope("timeline", TimelineEntry, _timeline_rows)}


def register(*, name: str, model: type[Model], rows: Callable[[AbstractBaseUser], QuerySet]) -> None:
    _scopes[name] = Scope(name, model, rows)


def scopes() -> list[Scope]:
    return list(_scopes.values())
