"""The public microblog: profile (posts, identities, counts), permalinks with h-entry and the thread, the Atom
feed (self, hub, thr:in-reply-to, RFC 6721 tombstones), the person API."""

from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone

from accounts.identities import mark_verified
from aggregator.models import Subscription
from publishing.microblogs import microblog_for
from publishing.models import HubSubscription
from publishing.posting import post_create, post_delete

from tests.servers.feed_check import read_feed

pytestmark = pytest.mark.django_db
PUBLIC = "https://chorus.example"


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.CHORUS_PUBLIC_URL = PUBLIC


def test_the_profile_lists_posts_newest_first_with_identities_counts_and_the_feed(client, alice, bob, committed):
    with committed():
        for n in range(3):
            post_create(user=alice, text=f"post number {n}")
    Subscription.objects.create(user=bob, source=microblog_for(alice).source)
    mark_verified(user_id=alice.pk, kind="url", value="https://alice.example/")
    page = client.get("/people/alice/").content.decode()
    assert page.index("post number 2") < page.index("post number 1") < page.index("post number 0")
    assert f'<link rel="alternate" type="application/atom+xml" title="alice" href="{PUBLIC}/people/alice/feed.atom">' in page
    assert '<a rel="me" href="https://alice.example/">' in page
    assert f'rel="me" href="{PUBLIC}/people/alice/"' not in page  # its own address is no identity to show
    assert "<strong data-followers-count>1</strong> followers" in page
    assert 'class="post h-entry"' in page and "e-content" in page
    assert client.get("/people/nobody/").status_code == 404


def test_the_profile_pages_by_cursor(client, alice, committed, monkeypatch):
    monkeypatch.setattr("publishing.views.PAGE_SIZE", 2)
    with committed():
        for n in range(3):
            post_create(user=alice, text=f"paged {n}")
    first = client.get("/people/alice/").content.decode()
    assert "paged 2" in first and "paged 0" not in first and 'rel="next"' in first
    cursor = first.split('href="?before=')[1].split('"')[0]
    second = client.get(f"/people/alice/?before={cursor}").content.decode()
    assert "paged 0" in second and "paged 2" not in second
    assert client.get("/people/alice/?before=garbage!").status_code == 400


def test_a_permalink_shows_the_post_as_an_h_entry_with_its_thread(client, alice, bob, committed):
    Subscription.objects.create(user=bob, source=microblog_for(alice).source)
    with committed():
        question = post_create(user=alice, text="question?")
    with committed():
        answer = post_create(user=bob, text="answer!", in_reply_to=question.pk)
    page = client.get(f"/people/alice/posts/{question.guid}/").content.decode()
    assert 'class="post h-entry"' in page and "dt-published" in page and "u-url u-uid" in page
    assert "question?" in page and "answer!" in page  # the answers this hub knows
    page = client.get(f"/people/bob/posts/{answer.guid}/").content.decode()
    assert "u-in-reply-to" in page and question.url in page and "question?" in page
    with committed():
        post_delete(user=alice, post_id=question.pk)
    assert client.get(f"/people/alice/posts/{question.guid}/").status_code == 410


def test_the_feed_is_valid_atom_with_self_hub_replies_and_tombstones(client, alice, bob, committed):
    with committed():
        kept = post_create(user=alice, text="kept <b>as text</b>")
        gone = post_create(user=alice, text="soon gone")
        post_delete(user=alice, post_id=gone.pk)
        reply = post_create(user=alice, text="a reply", in_reply_to="https://blog.example/p/1")
    answer = client.get("/people/alice/feed.atom")
    assert answer["Content-Type"].startswith("application/atom+xml")
    assert f'<{PUBLIC}/websub/hub/>; rel="hub"' in answer["Link"]
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == f"{PUBLIC}/people/alice/feed.atom" and links["hub"] == f"{PUBLIC}/websub/hub/"
    assert links["alternate"] == f"{PUBLIC}/people/alice/"
    ids = [entry.id for entry in parsed.entries]
    assert ids == [reply.url, kept.url]  # the deleted one is no entry
    assert "&lt;b&gt;as text&lt;/b&gt;" in parsed.entries[1].content[0].value
    body = answer.content.decode()
    assert 'xmlns:thr="http://purl.org/syndication/thread/1.0"' in body
    assert '<thr:in-reply-to ref="https://blog.example/p/1" href="https://blog.example/p/1"' in body
    assert f'<at:deleted-entry ref="{PUBLIC}/people/alice/posts/{gone.guid}/"' in body


def test_a_second_parser_reads_the_feed_with_replies_tombstones_and_html_without_errors_or_warnings(
        client, alice, bob, committed, settings):  # fmt: skip
    with committed():
        kept = post_create(user=alice, text="Tom & Jerry <3 café, see https://example.org/a?b=1&c=2 and @bob")
        gone = post_create(user=alice, text="soon gone")
        post_delete(user=alice, post_id=gone.pk)
        reply = post_create(user=alice, text="a reply", in_reply_to="https://blog.example/p/1?x=1&y=2")
    settings.CHORUS_XMPP_JID = "hub@chorus.example"  # the feed also names her XMPP node
    feed_url = f"{PUBLIC}/people/alice/feed.atom"
    seen = read_feed(client.get("/people/alice/feed.atom").content, url=feed_url)
    assert seen["errors"] == [] and seen["warnings"] == []
    assert seen["meta"]["type"] == "atom" and seen["meta"]["xmlurl"] == feed_url
    links = {(link["rel"], link["href"]) for link in seen["meta"]["links"]}
    assert {("self", feed_url), ("hub", f"{PUBLIC}/websub/hub/"), ("alternate", f"{PUBLIC}/people/alice/"),
            ("alternate", "xmpp:hub@chorus.example?;node=urn:xmpp:microblog:0:alice")} <= links  # fmt: skip
    assert [item["guid"] for item in seen["items"]] == [reply.url, kept.url]  # the deleted one is no item
    assert [item["link"] for item in seen["items"]] == [reply.url, kept.url]
    assert all(item["date"] and item["author"] == "alice" for item in seen["items"])
    assert seen["items"][0]["in_reply_to"] == [{"ref": "https://blog.example/p/1?x=1&y=2",
                                                "href": "https://blog.example/p/1?x=1&y=2"}]  # fmt: skip
    html = seen["items"][1]["description"]
    assert "Tom &amp; Jerry &lt;3 café" in html and 'href="https://example.org/a?b=1&amp;c=2"' in html
    assert [tombstone["ref"] for tombstone in seen["meta"]["deleted"]] == [gone.url]


def test_the_person_api_counts_followers_following_and_posts(client, alice, bob, committed):
    with committed():
        post_create(user=alice, text="one")
        post_create(user=alice, text="two")
    Subscription.objects.create(user=bob, source=microblog_for(alice).source)
    answer = client.get("/api/v1/people/alice")
    assert answer.status_code == 200
    assert answer.json() == {
        "username": "alice", "name": "alice", "profile_url": f"{PUBLIC}/people/alice/",
        "feed_url": f"{PUBLIC}/people/alice/feed.atom", "followers_count": 1, "following_count": 0, "posts_count": 2,
    }
    assert client.get("/api/v1/people/nobody").json()["detail"] == "No such person here."


def test_the_followers_page_lists_local_followers(client, alice, bob):
    Subscription.objects.create(user=bob, source=microblog_for(alice).source)
    page = client.get("/people/alice/followers/").content.decode()
    assert 'href="/people/bob/">bob</a>' in page and "<strong data-followers-count>1</strong>" in page


def test_remote_subscribers_count_once_each_once_checked_and_only_while_their_lease_runs(client, alice, bob):
    microblog = microblog_for(alice)
    Subscription.objects.create(user=bob, source=microblog.source)
    soon = timezone.now() + timedelta(days=1)
    for callback, state, expires in (("https://b.example/websub/1/", "active", soon),
                                     ("https://b.example/websub/2/", "verifying", soon),
                                     ("https://c.example/cb", "active", timezone.now() - timedelta(seconds=1))):
        HubSubscription.objects.create(microblog=microblog, callback=callback, callback_host=callback.split("/")[2],
                                       state=state, expires_at=expires)  # fmt: skip
    page = client.get("/people/alice/followers/").content.decode()
    assert "<strong data-followers-count>2</strong>" in page and "<span data-remote-count>1</span>" in page
