"""Python's cyclic garbage collector in the long-running processes (web, workers).

A process keeps what it loaded to serve (Django, the URL patterns, templates, models' metadata: some 190,000
objects the collector tracks) for its whole life, and each request or task makes a few thousand short-lived
ones. With Python's defaults the collector runs twice per timeline page, moves what is still alive mid-request
to the older generations, and every so often walks all of it: in bench/pages.py the full collection paused a
page for 100-250 ms, and collections took about 1.2 ms of each page on average.

``settle()``, called once the process has loaded what it keeps, moves those objects out of the collector's
sight (``gc.freeze``: they are never walked again, and forked workers keep sharing their pages) and lets the
young generation grow larger before it is collected, so collections come about ten times less often; each page
then spends about half as long in them, and no page waits for a full collection of the loaded process. Objects
freed by reference counting (most) are not affected; what forms cycles is freed a little later.
"""

import gc

YOUNG = 3_000  # allocations between collections of the young generation (Python's default: 700)
MIDDLE = 20  # young collections between collections of the middle one (default 10)
OLD = 100  # middle collections between full ones (default 10)


def settle() -> None:
    """Freeze what the process holds now and set the collector's thresholds. Call once, after loading."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
