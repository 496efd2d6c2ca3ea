"""Our posts and subscriptions in the Google Reader API's shapes (as Miniflux and FreshRSS answer them)."""

from collections import defaultdict

from django.contrib.auth.models import AbstractBaseUser

from aggregator.models import Subscription, SubscriptionTag
from compat.greader.streams import READ, READING_LIST, STARRED, feed_id, item_id, label_id
from timelines import stars
from timelines.models import TimelineEntry


def _labels_by_source(*, user: AbstractBaseUser, source_ids) -> dict[int, list[str]]:
    labels = defaultdict(list)
    for source_id, name in SubscriptionTag.objects.filter(subscription__user=user, subscription__source_id__in=source_ids
                                                          ).values_list("subscription__source_id", "name"):  # fmt: skip
        labels[source_id].append(name)
    return labels


def subscription_json(subscription: Subscription) -> dict:
    source = subscription.source
    return {
        "id": feed_id(source.pk), "title": subscription.display_title, "url": source.url,
        "htmlUrl": source.site_url or source.url, "iconUrl": "",
        "categories": [{"id": label_id(tag.name), "label": tag.name} for tag in subscription.tags.all()],
    }  # fmt: skip


def items_json(*, user: AbstractBaseUser, entries: list[TimelineEntry]) -> list[dict]:
    source_ids = {entry.source_id for entry in entries}
    labels = _labels_by_source(user=user, source_ids=source_ids)
    titles = {s.source_id: s.display_title for s in Subscription.objects.filter(user=user, source_id__in=source_ids)
              .select_related("source")}  # fmt: skip
    starred = stars.starred_ids(user=user, post_ids=[entry.post_id for entry in entries])
    return [_item(entry, labels[entry.source_id], titles.get(entry.source_id, ""), starred=entry.post_id in starred)
            for entry in entries]  # fmt: skip


def _item(entry: TimelineEntry, labels: list[str], title: str, *, starred: bool) -> dict:
    post, source = entry.post, entry.post.source
    published = int(post.published.timestamp())
    states = [READING_LIST, READ] if entry.is_read else [READING_LIST]
    if starred:
        states.append(STARRED)
    body, link = {"direction": "ltr", "content": post.content_html}, post.shown_url
    return {
        "id": item_id(post.pk), "title": post.title, "author": post.author_name or post.author_handle,
        "published": published, "updated": int((post.updated or post.published).timestamp()),
        "crawlTimeMsec": str(int(post.fetched_at.timestamp() * 1000)),
        "timestampUsec": str(int(post.published.timestamp() * 1_000_000)),
        "canonical": [{"href": link}] if link else [],
        "alternate": [{"href": link, "type": "text/html"}] if link else [],
        "categories": states + [label_id(name) for name in labels],
        "summary": body, "content": body, "enclosure": [],
        "origin": {"streamId": feed_id(source.pk), "title": title or source.display_title,
                   "htmlUrl": source.site_url or source.url},
    }  # fmt: skip
