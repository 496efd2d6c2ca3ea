"""Writes that SQLite may refuse with "database is locked": run again in a fresh transaction.

Immediate transactions and the busy timeout (settings.SQLITE_OPTIONS) make the lock rare, but a writer that
holds it longer than the timeout (a long import batch in another process) still makes the next writer fail.
Such a write is all or nothing, so running it again from the start is safe; giving up half-way is not.
PostgreSQL never answers with this error, so there the helper is one ``atomic()`` block.
"""

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection, transaction

log = logging.getLogger(__name__)

T = TypeVar("T")
ATTEMPTS = 6
FIRST_WAIT = 0.1  # seconds; doubled after each refusal, with jitter so two waiting writers do not collide again


def is_locked(error: OperationalError) -> bool:
    return "database is locked" in str(error)


def atomic_retrying_locked(work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """``work()`` in its own transaction, run again (with backoff) while SQLite says the database is locked.

    Inside an outer transaction a retry would not help (the outer one already lost its work): the error is
    raised as is.
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return work()
        except OperationalError as error:
            if not is_locked(error) or attempt == attempts or connection.in_atomic_block:
                raise
            wait = FIRST_WAIT * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
            log.warning("database is locked; writing again in %.2fs (attempt %s of %s)", wait, attempt + 1, attempts)
            time.sleep(wait)
    raise AssertionError("unreachable")
