"""Posting through a Mastodon app is our compose (publishing's services): the length limit, replies by
``in_reply_to_id``, deleting one's own, threads both ways."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Post, Source, Subscription
from compat.mastodon.ids import post_id_of, status_id
from publishing import posting

pytestmark = pytest.mark.django_db(transaction=True)


def carol_followed_by(user, posts: int = 2) -> list[Post]:
    """carol's blog, whose posts have links (a reply names what it answers by its link)."""
    source = Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="carol")
    Subscription.objects.create(user=user, source=source)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ingest(source, [Entry(guid=f"carol-{n}", url=f"https://carol.example/{n}", content_html=f"<p>carol {n}</p>",
                          published=start + timedelta(minutes=n)) for n in range(posts)])  # fmt: skip
    return list(Post.objects.filter(source=source).order_by("published"))


def test_an_app_posts_as_the_person_replies_and_deletes(app_for, alice):
    carol_followed_by(alice)
    api = app_for()
    me = api.account_verify_credentials()
    written = api.status_post("hello from an app")
    assert written["account"]["id"] == me["id"] and "hello from an app" in written["content"]
    assert Post.objects.get(source__microblog__user=alice).text.strip() == "hello from an app"
    carols = api.timeline_home()[0]
    answer = api.status_post("I agree", in_reply_to_id=carols["id"])
    assert answer["in_reply_to_id"] == carols["id"] and answer["in_reply_to_account_id"] == carols["account"]["id"]
    assert Post.objects.get(source__microblog__user=alice, text__contains="agree").in_reply_to == carols["url"]
    assert [s["id"] for s in api.status_context(carols["id"])["descendants"]] == [answer["id"]]
    assert [s["id"] for s in api.status_context(answer["id"])["ancestors"]] == [carols["id"]]
    deleted = api.status_delete(written["id"])
    assert deleted["text"] == "hello from an app"
    assert Post.objects.get(pk=post_id_of(written["id"])).retracted_at is not None
    with pytest.raises(MastodonNotFoundError):
        api.status(written["id"])


@override_settings(CHORUS_POST_MAX_CHARS=10)
def test_a_post_over_the_limit_is_refused_with_our_reason(app_for, alice):
    api = app_for()
    assert api.instance()["configuration"]["statuses"]["max_characters"] == 10
    with pytest.raises(MastodonAPIError) as refused:
        api.status_post("far more than ten characters")
    assert refused.value.args[1] == 422 and "the most is 10" in refused.value.args[3]
    assert not Post.objects.filter(source__microblog__user=alice).exists()


def test_a_person_cannot_reply_to_what_they_cannot_see_nor_delete_anothers_post(app_for, alice, bob):
    carols = carol_followed_by(alice)
    bobs = posting.post_create(user=bob, text="bob's own")
    api = app_for()
    with pytest.raises(MastodonNotFoundError):
        api.status_post("sneaky", in_reply_to_id=status_id(bobs.published, bobs.pk))
    with pytest.raises(MastodonNotFoundError):
        api.status_delete(api.timeline_home()[0]["id"])
    assert Post.objects.filter(pk=carols[-1].pk, retracted_at__isnull=True).exists()
    assert not Post.objects.filter(source__microblog__user=alice).exists()


def test_descendants_are_only_the_answers_the_person_can_see(app_for, alice, bob):
    carols = carol_followed_by(alice)
    posting.post_create(user=bob, text="bob answers, unseen by alice", in_reply_to=carols[-1].url)
    api = app_for()
    mine = api.status_post("alice answers", in_reply_to_id=api.timeline_home()[0]["id"])
    assert [s["id"] for s in api.status_context(api.timeline_home()[0]["id"])["descendants"]] == [mine["id"]]


def test_a_read_only_app_cannot_post_or_delete(app_for, alice):
    own = posting.post_create(user=alice, text="mine")
    api = app_for(scopes=("read",))
    with pytest.raises(MastodonAPIError) as refused:
        api.status_post("hello")
    assert refused.value.args[1] == 403
    with pytest.raises(MastodonAPIError) as refused:
        api.status_delete(status_id(own.published, own.pk))
    assert refused.value.args[1] == 403
    assert Post.objects.get(pk=own.pk).retracted_at is None
