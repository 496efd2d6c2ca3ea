"""Mastodon.py, the client bots and scripts use, against a live Chorus: sign in, read home with paging, follow
by search, notifications, markers; what Chorus does not offer answers JSON."""

import pytest
from django.test import Client
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from accounts.tokens import issue_token
from aggregator.models import Post, Subscription
from replies.models import Reply
from timelines import blocks

from tests.servers.feeds import RSS, rss
from tests.timelines.test_api import followed_source

pytestmark = pytest.mark.django_db(transaction=True)


def test_mastodon_py_reads_home_page_by_page_newest_first(app_for, alice):
    followed_source(alice, "carol", 7)
    followed_source(alice, "dave", 5)
    api = app_for()
    assert api.account_verify_credentials()["username"] == "alice"
    first = api.timeline_home(limit=5)
    seen = list(first)
    page = first
    while (page := api.fetch_next(page)) :
        seen.extend(page)
    assert len(seen) == 12 and len({s["id"] for s in seen}) == 12
    times = [s["created_at"] for s in seen]
    assert times == sorted(times, reverse=True)
    assert {s["account"]["display_name"] for s in seen} == {"carol", "dave"}
    newer = api.timeline_home(min_id=seen[3]["id"], limit=2)
    assert [s["id"] for s in newer] == [seen[1]["id"], seen[2]["id"]]
    since = api.timeline_home(since_id=seen[3]["id"], limit=40)
    assert [s["id"] for s in since] == [s["id"] for s in seen[:3]]


def test_mastodon_py_follows_a_feed_found_by_search(app_for, alice, httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one"), title="Erin's blog"), content_type=RSS)
    api = app_for()
    found = api.search_v2(httpserver.url_for("/feed.xml"), resolve=True)
    assert [a["display_name"] for a in found["accounts"]] == ["Erin's blog"]
    assert not Subscription.objects.filter(user=alice).exists()  # resolving follows nothing
    account = found["accounts"][0]
    assert api.account_follow(account["id"])["following"] is True
    assert api.account_relationships([account["id"]])[0]["following"] is True
    assert Subscription.objects.filter(user=alice, source_id=int(account["id"])).exists()
    assert api.account_unfollow(account["id"])["following"] is False


def test_a_read_only_app_cannot_follow(app_for, alice):
    source = followed_source(alice, "carol", 1)
    api = app_for(scopes=("read",))
    with pytest.raises(MastodonAPIError) as refused:
        api.account_follow(source.pk)
    assert refused.value.args[1] == 403


def test_replies_are_mention_notifications_and_markers_mark_them_read(app_for, alice):
    source = followed_source(alice, "carol", 3)
    for post in Post.objects.filter(source=source):
        Reply.objects.create(user=alice, post=post, published=post.published)
    api = app_for()
    notes = api.notifications()
    assert [n["type"] for n in notes] == ["mention"] * 3 and notes[0]["status"]["account"]["display_name"] == "carol"
    assert api.notifications(exclude_types=["mention"]) == []
    api.markers_set(["notifications"], [notes[1]["id"]])
    assert Reply.objects.filter(user=alice, is_read=False).count() == 1
    assert api.markers_get(["notifications"])["notifications"]["last_read_id"] == notes[1]["id"]
    home = api.timeline_home()
    api.markers_set(["home"], [home[0]["id"]])
    assert api.markers_get(["home"])["home"]["last_read_id"] == home[0]["id"]


def test_lists_are_our_tags(app_for, alice):
    followed_source(alice, "carol", 2, tags=["friends"])
    followed_source(alice, "dave", 2)
    api = app_for()
    friends = api.lists()
    assert [entry["title"] for entry in friends] == ["friends"]
    assert {s["account"]["display_name"] for s in api.timeline_list(friends[0]["id"])} == {"carol"}


def test_unimplemented_paths_answer_json(app_for, live_server):
    api = app_for()
    assert api.custom_emojis() == [] and api.filters() == []
    with pytest.raises(MastodonNotFoundError):
        api.status(f"{1:028d}")
    assert api.instance()["configuration"]["urls"]["streaming"].startswith("ws")


def test_blocks_are_mastodons_for_an_app_and_ours_for_our_tokens(app_for, alice, client):
    carol = followed_source(alice, "carol", 1)
    blocks.block_create(user=alice, kind="source", value=str(carol.pk))
    blocks.block_create(user=alice, kind="word", value="spam")
    api = app_for()
    assert [(a["id"], a["display_name"]) for a in api.blocks()] == [(str(carol.pk), "carol")]
    ours = client.get("/api/v1/blocks", HTTP_AUTHORIZATION=f"Bearer {issue_token(user=alice)}")
    assert ours.status_code == 200 and {(b["kind"], b["value"]) for b in ours.json()} == {
        ("source", str(carol.pk)), ("word", "spam")}


def test_an_api_client_adds_a_block_with_its_bearer_token_alone(alice):
    """The route is shared with Mastodon's; Django's CSRF check must not stand in front of a token's request."""
    api_client = Client(enforce_csrf_checks=True)
    answer = api_client.post("/api/v1/blocks", {"kind": "word", "value": "spam"}, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {issue_token(user=alice)}")  # fmt: skip
    assert answer.status_code in (200, 201) and "spam" in {block["value"] for block in answer.json()}
    assert [block.value for block in blocks.blocks_for(user=alice)] == ["spam"]
