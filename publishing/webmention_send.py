"""Sending Webmentions (W3C): a person's post that answers or links to a page tells that page's endpoint.

``queue_sends`` (after a post is written or deleted) records one ``SentWebmention`` per page the post links
to, outside this hub, and queues one send each; a deleted post's mentions are sent again so the receivers
fetch its page, find it gone (410) and drop it. ``send`` (a worker) discovers the endpoint (Link header or
HTML) and posts to it, both through the outbound guard; a failure that may pass (the page or endpoint down,
a timeout, a 5xx or 429) is sent again after a back-off (``outbox``).
"""

from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone

from aggregator.fetch import FetchError, fetch
from aggregator.models import Post
from aggregator.networks import webmention
from publishing import addresses, outbox
from publishing.models import Microblog, SentWebmention

MAX_TARGETS = 20  # a post of a few hundred characters names a handful of pages


def targets_of(post: Post) -> list[str]:
    """The pages a post answers or links to, outside this hub (mentions here are matched as they are stored)."""
    own = addresses.base_url() + "/"
    found = [post.in_reply_to] if post.in_reply_to else []
    found += sorted(webmention.links_in(post.content_html, base_url=post.url or own))
    return [url for url in dict.fromkeys(found) if url.startswith(("http://", "https://"))
            and not url.startswith(own)][:MAX_TARGETS]  # fmt: skip


def queue_sends(*, post: Post) -> int:
    """Owe a Webmention to every page the post names (again, when it was deleted); returns how many."""
    targets = targets_of(post) if post.retracted_at is None else []
    if post.retracted_at is None and not targets:
        return 0  # a post is written once (no edits): one that names no page owes nothing, now or before
    with transaction.atomic():
        if targets:
            SentWebmention.objects.bulk_create([SentWebmention(post=post, target=url) for url in targets],
                                               ignore_conflicts=True)  # fmt: skip
        ids = list(SentWebmention.objects.filter(post=post).values_list("id", flat=True))
        SentWebmention.objects.filter(id__in=ids).update(due_at=timezone.now(), attempts=0)
        for sent_id in ids:
            outbox.queue(outbox.SEND_TASK, sent_id)
    return len(ids)


def send(*, sent_id: int) -> int | None:
    """Discover the target's endpoint and send; returns the endpoint's status (None: no endpoint or failed)."""
    lease = outbox.claim(SentWebmention, sent_id)
    if lease is None:
        return None  # done already, or being done
    row = SentWebmention.objects.select_related("post").get(pk=sent_id)
    microblog = Microblog.objects.filter(source_id=row.post.source_id).select_related(
        "user").first()  # fmt: skip
    if microblog is None:
        outbox.succeeded(SentWebmention, row.pk, lease=lease)
        return None
    source = addresses.post_url(microblog.user.get_username(), row.post.guid)
    endpoint = row.endpoint
    try:
        page = fetch(row.target, accept="text/html, application/xhtml+xml;q=0.9, */*;q=0.5")
        endpoint = webmention.endpoint(url=page.url, headers=page.headers, body=page.body)
        if not endpoint:
            outbox.succeeded(SentWebmention, row.pk, lease=lease, endpoint="", status=None, sent_at=timezone.now(),
                             last_error="the target names no Webmention endpoint")  # fmt: skip
            return None
        answer = fetch(endpoint, method="POST", data=urlencode({"source": source, "target": row.target}).encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, accept="*/*",
                       max_bytes=65536)  # fmt: skip
    except FetchError as failure:
        outbox.failed(SentWebmention, row.pk, lease=lease, attempts=row.attempts + 1, retry=outbox.may_pass(failure),
                      endpoint=endpoint[:2048], status=failure.status, last_error=str(failure)[:500],
                      sent_at=timezone.now())  # fmt: skip
        return None
    outbox.succeeded(SentWebmention, row.pk, lease=lease, endpoint=endpoint[:2048], status=answer.status, last_error="",
                     sent_at=timezone.now())  # fmt: skip
    return answer.status
