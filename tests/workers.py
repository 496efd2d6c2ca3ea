"""The suite on several processes (pytest-xdist, ``make test TEST_WORKERS=N``): what each worker keeps its own.

Loaded with ``-p tests.workers`` before pytest-django sets Django up, so the settings read the worker's values:

- PostgreSQL: pytest-django already gives each worker its own test database (``test_<name>_gw<N>``);
- Redis: worker N uses the database N below the one ``REDIS_URL`` names (tests empty their database, and the
  real workers, channel layers and caches they start use it);
- temporary folders (embedded hubs' databases, Prosody's data): xdist gives each worker its own base folder;
- the pictures' file cache (``CHORUS_IMAGE_CACHE_DIR``): a folder per worker under ``var/test-images/``, since
  every test empties the caches as it starts, and in a shared folder that emptied the other worker's pictures
  in the middle of its test;
- ports: each worker hands out ports from a block of its own (``free_port``); the run's Prosody, Chromium and
  feed servers are session fixtures, so one per worker.

Browser tests run last in each worker too (tests/conftest.py sorts them last, and xdist hands tests out in
that order).
"""

import os
from urllib.parse import urlsplit, urlunsplit

from tests.servers.processes import ROOT, worker_number


def redis_url_for_worker(url: str, number: int) -> str:
    """``url`` with its database number lowered by ``number`` (Redis has databases 0-15)."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    if number > base:
        raise RuntimeError(f"{url}: too few Redis databases below it for worker {number}")
    return urlunsplit(parts._replace(path=f"/{base - number}"))


if worker_number() and os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], worker_number())

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["CHORUS_IMAGE_CACHE_DIR"] = str(ROOT / "var" / "test-images" / os.environ["PYTEST_XDIST_WORKER"])
