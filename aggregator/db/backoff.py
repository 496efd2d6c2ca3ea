"""How long a job whose state lives in a database row waits before it runs again after a failure.

Exponential, capped, with jitter so the retries of many rows that failed together (a peer that was down)
spread out instead of arriving together again. The row carries its count of failures in a row; a sweep runs
what is due (``due_at``), so a retry survives a lost message or a restarted worker.
"""

import random
from datetime import timedelta


def backoff(attempts: int, *, first: timedelta, most: timedelta) -> timedelta:
    """The wait after the ``attempts``-th failure in a row: ``first``, doubled with each one after it, at most
    ``most``, within 20 % either way."""
    seconds = min(first.total_seconds() * 2 ** max(attempts - 1, 0), most.total_seconds())
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))
