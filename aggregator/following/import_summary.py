"""How an imported follow list's feeds fared on their first fetch. An OPML import follows feeds without fetching
them (the scheduler does, afterwards), so "followed" alone would hide the feeds that fail: the summary page
counts them, with the reason, and those still waiting for their first fetch."""

from dataclasses import dataclass, field

from django.db.models import Q

from aggregator.fetch import FetchError, normalize_url
from aggregator.models import FollowImport, Source

MAX_LISTED = 200


@dataclass
class FirstFetches:
    fetched: int = 0
    pending: int = 0
    failing: list[tuple[str, str]] = field(default_factory=list)  # (address, last error), at most MAX_LISTED


def first_fetches(job: FollowImport) -> FirstFetches | None:
    """The first fetch of each feed an OPML import followed (None for other kinds: accounts are fetched while
    they are followed, so their failures are the import's own)."""
    if job.kind != "opml" or not job.followed:
        return None
    addresses = set()
    for url in job.followed:
        try:
            addresses.add(normalize_url(url))
        except (FetchError, ValueError):
            continue
    sources = Source.objects.filter(Q(address__in=addresses) | Q(url__in=addresses), subscriptions__user=job.user_id)
    summary = FirstFetches()
    for source in sources.distinct().order_by("address").only("url", "status", "last_error", "last_fetch_at"):
        if source.status in (Source.Status.ERROR, Source.Status.GONE):
            if len(summary.failing) < MAX_LISTED:
                summary.failing.append((source.url, source.last_error or source.get_status_display()))
        elif source.status == Source.Status.NEW or source.last_fetch_at is None:
            summary.pending += 1
        else:
            summary.fetched += 1
    return summary
