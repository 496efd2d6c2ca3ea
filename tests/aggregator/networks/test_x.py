"""Following X accounts: the X API v2 connector against a local server speaking the API's JSON and headers."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tokens import issue_token
from aggregator.following import subscriptions
from aggregator.ingest.polling import poll_source
from aggregator.models import Post, Source
from aggregator.networks import x
from aggregator.networks.x import budget

from tests.servers.processes import ROOT
from tests.servers.xapi import TOKEN, XApi, XPost

TESTDATA = ROOT / "aggregator" / "networks" / "x" / "testdata"
CAROL = x.XUser(id="1460000000000000001", username="carol_c", name="Carol <Chorus>")


@pytest.fixture(autouse=True)
def _fresh_budget():
    """The budget is shared through the cache (Redis in CI): each test starts with none spent."""
    for endpoint in (x.client.USERS, x.client.TWEETS):
        budget.forget(endpoint)
    yield
    for endpoint in (x.client.USERS, x.client.TWEETS):
        budget.forget(endpoint)


@pytest.fixture
def xapi(httpserver, settings):
    api = XApi(httpserver)
    settings.X_BEARER_TOKEN = TOKEN
    settings.X_API_BASE = api.base
    return api


# --- parse: pure, on the documented shapes --------------------------------------------------------------


def test_a_post_keeps_its_author_link_time_reply_and_mentions():
    page = x.parse_posts((TESTDATA / "user_tweets.json").read_bytes(), author=CAROL)
    reply, first = page.entries
    assert page.newest_id == "1860000000000000003"
    assert reply.guid == "1860000000000000003" and reply.url == "https://x.com/carol_c/status/1860000000000000003"
    assert reply.author_handle == "@carol_c" and reply.author_name == "Carol <Chorus>"
    assert reply.author_uri == "https://x.com/carol_c"
    assert reply.in_reply_to == "https://x.com/bob_b/status/1860000000000000002"
    assert reply.published.isoformat() == "2026-11-20T10:02:00+00:00"
    assert '<a href="https://x.com/bob_b">@bob_b</a>' in reply.content_html
    assert '<a href="https://carol.example/notes/1">carol.example/notes/1</a>' in reply.content_html
    assert "agreed &amp; thanks" in reply.content_html  # the API's &amp; is one ampersand, escaped once
    assert first.content_html == "Hello from Chorus &lt;3<br>\nsecond line" and first.in_reply_to == ""


def test_an_empty_page_keeps_the_previous_since_id():
    page = x.parse_posts((TESTDATA / "user_tweets_empty.json").read_bytes(), author=CAROL)
    assert page.entries == [] and page.newest_id == ""


def test_a_user_lookup_reads_the_user_or_says_there_is_none():
    user = x.parse_user((TESTDATA / "users_by_username.json").read_bytes())
    assert user == x.XUser(id="1460000000000000001", username="carol_c", name="Carol <Chorus>",
                           profile_image_url="https://pbs.twimg.com/profile_images/1/carol_normal.jpg")  # fmt: skip
    assert x.parse_user((TESTDATA / "users_by_username_not_found.json").read_bytes()) is None


@pytest.mark.parametrize("body", [b"<html>", b"[1, 2]", b'{"data": {"id": "x", "username": "a b"}}',
                                  b'{"data": "not a list"}'])  # fmt: skip
def test_answers_that_are_not_the_documented_shape_are_refused(body):
    with pytest.raises(x.BadXResponse):
        x.parse_user(body) if b"username" in body or body == b"<html>" else x.parse_posts(body, author=CAROL)


@pytest.mark.parametrize(("typed", "name"), [
    ("@carol_c", "carol_c"), ("x:carol_c", "carol_c"), ("https://x.com/carol_c", "carol_c"),
    ("twitter.com/carol_c/status/1860000000000000003", "carol_c"), ("https://mobile.twitter.com/Carol_C/", "Carol_C"),
])  # fmt: skip
def test_an_x_account_is_named_by_handle_or_url(typed, name):
    assert x.parse_x_address(typed) == name


@pytest.mark.parametrize("typed", ["@has-dash", "@sixteen_letters_", "https://x.com/home", "https://x.com/"])
def test_what_is_not_an_x_account_says_what_was_expected(typed):
    with pytest.raises(x.NotAnXAddress, match="expected @name"):
        x.parse_x_address(typed)


# --- end to end: follow box -> X API -> ingest -> timeline ------------------------------------------------


def test_following_an_x_account_brings_its_posts_into_the_timeline(xapi, alice, client, committed):
    carol = xapi.add("carol_c", id="1460000000000000001", name="Carol")
    carol.posts += [XPost(101, "first post"), XPost(102, "hi @alice and @bob_b", mentions=["alice", "bob_b"],
                                                     reply_to=(55, "bob_b"), created_at="2026-11-20T10:05:00.000Z")]
    with committed():
        subscription = subscriptions.subscribe(user=alice, address="@carol_c")
    source = Source.objects.get()
    assert subscription.source == source and source.kind == Source.Kind.X and source.address == "x:carol_c"
    assert source.remote_id == "1460000000000000001" and source.poll_cursor == "102"
    assert source.status == Source.Status.OK and source.title == "Carol"
    assert source.avatar_url == "https://pbs.twimg.com/profile_images/1/a_normal.jpg"
    lookup, timeline = xapi.requests
    assert lookup.path == "/2/users/by/username/carol_c" and lookup.headers["Authorization"] == f"Bearer {TOKEN}"
    assert timeline.path == "/2/users/1460000000000000001/tweets" and "since_id" not in timeline.args
    assert "referenced_tweets.id.author_id" in timeline.args["expansions"] and timeline.args["max_results"] == "100"

    token = issue_token(user=alice, name="tests")
    items = client.get("/api/v1/timeline", HTTP_AUTHORIZATION=f"Bearer {token}").json()["items"]
    assert [item["url"] for item in items] == ["https://x.com/carol_c/status/102", "https://x.com/carol_c/status/101"]
    reply = items[0]
    assert reply["author"] == {"name": "Carol", "handle": "@carol_c", "uri": "https://x.com/carol_c"}
    assert reply["in_reply_to"] == "https://x.com/bob_b/status/55" and reply["source"]["kind"] == "x"
    assert reply["text"] == "hi @alice and @bob_b" and 'href="https://x.com/alice"' in reply["content_html"]
    listed = client.get("/api/v1/subscriptions", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert listed[0]["source"]["avatar"] == f"/sources/{source.pk}/avatar" and listed[0]["source"]["kind"] == "x"


def test_the_next_poll_asks_only_for_posts_after_the_newest_seen(xapi, alice, committed):
    carol = xapi.add("carol_c", id="1460000000000000001")
    carol.posts.append(XPost(101, "first"))
    with committed():
        subscriptions.subscribe(user=alice, address="https://x.com/carol_c")
    carol.posts.append(XPost(102, "second"))
    source = Source.objects.get()
    outcome = poll_source(source_id=source.pk)
    assert xapi.requests[-1].args["since_id"] == "101"
    assert outcome.status == "stored" and len(outcome.stored.created) == 1
    assert poll_source(source_id=source.pk).stored.created == []  # nothing new: an empty page
    source.refresh_from_db()
    assert xapi.requests[-1].args["since_id"] == "102" and source.poll_cursor == "102"
    assert Post.objects.count() == 2


def test_more_new_posts_than_a_page_are_fetched_page_by_page(xapi, alice, committed):
    carol = xapi.add("carol_c", id="1460000000000000001")
    carol.posts.append(XPost(1000, "first"))
    with committed():
        subscriptions.subscribe(user=alice, address="@carol_c")
    carol.posts += [XPost(1001 + n, f"post {n}") for n in range(150)]
    outcome = poll_source(source_id=Source.objects.get().pk)
    second, third = xapi.requests[-2:]
    assert second.args["since_id"] == third.args["since_id"] == "1000"
    assert "pagination_token" not in second.args and third.args["pagination_token"] == "1051"
    assert len(outcome.stored.created) == 150 and Source.objects.get().poll_cursor == "1150"


def test_a_429_spends_the_shared_budget_and_x_sources_wait_for_the_reset(xapi, alice, bob, committed):
    xapi.add("carol_c", id="1460000000000000001").posts.append(XPost(101, "first"))
    xapi.add("dave", id="1460000000000000004").posts.append(XPost(201, "dave's"))
    with committed():
        subscriptions.subscribe(user=alice, address="@carol_c")
        subscriptions.subscribe(user=bob, address="@dave")
    carol, dave = Source.objects.get(address="x:carol_c"), Source.objects.get(address="x:dave")
    xapi.force_429 = True
    xapi.reset_at = int(time.time()) + 600
    outcome = poll_source(source_id=carol.pk)
    asked = len(xapi.requests)
    assert outcome.status == "rate_limited" and "rate limit" in outcome.error
    assert poll_source(source_id=dave.pk).status == "rate_limited"  # another source, the same budget
    assert len(xapi.requests) == asked  # nothing was sent while the budget is spent
    for source in (carol, dave):
        source.refresh_from_db()
        assert source.status == Source.Status.OK and source.lease_until is None
        wait = source.next_poll_at - timezone.now()
        assert timedelta(seconds=590) < wait < timedelta(seconds=640)


def test_a_budget_reported_empty_is_not_spent_further(xapi, alice, committed):
    xapi.add("carol_c", id="1460000000000000001").posts.append(XPost(101, "first"))
    xapi.limit = 2  # the lookup and the first poll spend it; their answers say 0 remaining
    with committed():
        subscriptions.subscribe(user=alice, address="@carol_c")
    assert poll_source(source_id=Source.objects.get().pk).status == "rate_limited"
    assert len(xapi.requests) == 2


def test_following_an_x_account_without_a_token_says_so_and_offers_a_bridge(settings, alice):
    settings.X_BEARER_TOKEN = ""
    with pytest.raises(subscriptions.SubscriptionError, match="X_BEARER_TOKEN") as error:
        subscriptions.subscribe(user=alice, address="@carol_c")
    assert "RSS bridge" in str(error.value) and "u=carol_c" in str(error.value)
    assert not Source.objects.exists()


def test_an_unknown_x_account_is_named_in_the_message(xapi, alice):
    with pytest.raises(subscriptions.SubscriptionError, match="X has no account @nobody_here"):
        subscriptions.subscribe(user=alice, address="@nobody_here")


def test_a_refused_token_is_recorded_on_the_source(xapi, alice, committed, settings):
    xapi.add("carol_c", id="1460000000000000001").posts.append(XPost(101, "first"))
    with committed():
        subscriptions.subscribe(user=alice, address="@carol_c")
    settings.X_BEARER_TOKEN = "revoked"
    outcome = poll_source(source_id=Source.objects.get().pk)
    source = Source.objects.get()
    assert outcome.status == "error" and source.status == Source.Status.ERROR
    assert source.last_error == "X API: HTTP 401 Unauthorized (permanent)"


def test_a_renamed_account_is_still_one_source(xapi, alice, bob, committed):
    xapi.add("carol_c", id="1460000000000000001")
    with committed():
        subscriptions.subscribe(user=alice, address="@carol_c")
    xapi.accounts["carol_new"] = xapi.accounts.pop("carol_c")
    xapi.accounts["carol_new"].username = "carol_new"
    subscriptions.subscribe(user=bob, address="@carol_new")
    assert Source.objects.count() == 1


def test_a_preview_of_an_x_account_shows_its_last_posts_without_following(xapi, alice, client):
    xapi.add("carol_c", id="1460000000000000001", name="Carol").posts += [XPost(101, "one"), XPost(102, "two")]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}
    shown = client.get("/api/v1/follow-preview", {"address": "https://x.com/carol_c"}, **auth).json()
    assert shown["kind"] == "x" and shown["title"] == "Carol" and shown["address"] == "x:carol_c"
    assert shown["handle"] == "@carol_c" and shown["avatar_url"].startswith("https://pbs.twimg.com/")
    assert [p["text"] for p in shown["posts"]] == ["two", "one"] and not Source.objects.exists()
