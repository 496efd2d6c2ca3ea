"""Writing: compose and the posts API store a person's posts on their own Source, through ingest, so followers
on this hub get them; too long is refused whole; replies and mentions reach the people they name."""

import pytest
from django.test import override_settings

from accounts.tokens import issue_token
from aggregator.models import Post, Source, Subscription
from publishing.addresses import handle
from publishing.composing import visible_length
from publishing.microblogs import microblog_for
from replies.models import Reply
from timelines.models import TimelineEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, django_capture_on_commit_callbacks):
    def call(user, method: str, path: str, body=None):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user, name='tests')}"}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def own_source(user) -> Source:
    return microblog_for(user).source


def test_a_post_is_a_post_of_the_persons_own_source_and_reaches_followers_here(api, alice, bob):
    first = api(alice, "post", "/posts", {"text": "hello world"})
    assert first.status_code == 201, first.content
    source = own_source(alice)
    assert source.kind == Source.Kind.LOCAL and source.next_poll_at is None
    Subscription.objects.create(user=bob, source=source)
    answer = api(alice, "post", "/posts", {"text": "second, for bob"})
    assert answer.status_code == 201
    body = answer.json()
    assert body["text"] == "second, for bob" and body["source"]["id"] == source.pk
    assert body["url"].startswith("http") and "/people/alice/posts/" in body["url"]
    assert body["author"]["uri"].endswith("/people/alice/")
    assert TimelineEntry.objects.filter(user=bob, post_id=body["id"]).exists()


@override_settings(CHORUS_POST_MAX_CHARS=10)
def test_too_long_is_a_400_with_a_readable_detail_and_nothing_stored(api, alice):
    answer = api(alice, "post", "/posts", {"text": "x" * 11})
    assert answer.status_code == 400
    assert "11 characters" in answer.json()["detail"] and "10" in answer.json()["detail"]
    assert not Post.objects.exists()
    assert api(alice, "post", "/posts", {"text": "https://example.org/a"}).status_code == 400  # URLs count in full


def test_length_counts_what_a_person_sees():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji made of five code points
    assert visible_length(family) == 1
    assert visible_length("e\u0301") == 1  # e + combining accent
    assert visible_length("abc") == 3


def test_empty_and_bad_reply_targets_are_refused(api, alice, bob):
    assert api(alice, "post", "/posts", {"text": "   "}).status_code == 400
    answer = api(alice, "post", "/posts", {"text": "hi", "in_reply_to": "javascript:alert(1)"})
    assert answer.status_code == 400 and "in_reply_to" in answer.json()["detail"]
    bobs = api(bob, "post", "/posts", {"text": "bob's"}).json()
    # a post alice cannot see (she does not follow bob): no such post for her
    assert api(alice, "post", "/posts", {"text": "hi", "in_reply_to": bobs["id"]}).status_code == 400


def test_delete_takes_the_post_off_every_timeline_here(api, alice, bob):
    api(alice, "post", "/posts", {"text": "first"})
    Subscription.objects.create(user=bob, source=own_source(alice))
    post = api(alice, "post", "/posts", {"text": "oops"}).json()
    assert TimelineEntry.objects.filter(user=bob, post_id=post["id"]).exists()
    assert api(bob, "delete", f"/posts/{post['id']}").status_code == 404  # not bob's to delete
    assert api(alice, "delete", f"/posts/{post['id']}").status_code == 204
    assert not TimelineEntry.objects.filter(user=bob, post_id=post["id"]).exists()
    assert Post.objects.get(pk=post["id"]).retracted_at is not None
    assert api(alice, "delete", f"/posts/{post['id']}").status_code == 404


def test_a_reply_on_this_hub_reaches_the_answered_persons_replies(api, alice, bob):
    Subscription.objects.create(user=bob, source=own_source(alice))
    post = api(alice, "post", "/posts", {"text": "what do you think?"}).json()
    reply = api(bob, "post", "/posts", {"text": "@alice yes", "in_reply_to": post["id"]}).json()
    assert reply["in_reply_to"] == post["url"]
    assert Reply.objects.filter(user=alice, post_id=reply["id"], reason=Reply.Reason.REPLY).exists()
    assert '/people/alice/" rel="noopener noreferrer nofollow">@alice</a>' in reply["content_html"]


def test_mentioning_a_person_of_this_hub_reaches_their_replies(api, alice, bob):
    post = api(alice, "post", "/posts", {"text": "hello @bob, see https://example.org/x"}).json()
    assert Reply.objects.filter(user=bob, post_id=post["id"], reason=Reply.Reason.MENTION).exists()
    assert '<a href="https://example.org/x" rel="noopener noreferrer nofollow">' in post["content_html"]


def test_the_compose_form_posts_and_says_why_it_refuses(client, alice):
    client.force_login(alice)
    page = client.get("/")
    assert b'class="compose"' in page.content and b"data-chars-left" in page.content
    refused = client.post("/compose/", {"text": "y" * 141})
    assert refused.status_code == 400 and b"141 characters" in refused.content
    assert b"y" * 141 in refused.content  # what was typed is not lost
    assert client.post("/compose/", {"text": "from the form"}).status_code == 302
    assert Post.objects.filter(text="from the form").exists()


def test_the_reply_link_opens_compose_with_the_author_pre_filled(client, api, alice, bob):
    Subscription.objects.create(user=bob, source=own_source(alice))
    post = api(alice, "post", "/posts", {"text": "answer me"}).json()
    client.force_login(bob)
    assert f'/compose/?in_reply_to={post["id"]}'.encode() in client.get("/").content
    page = client.get(f"/compose/?in_reply_to={post['id']}").content.decode()
    assert "answer me" in page and f'value="{post["id"]}"' in page
    assert ">@alice@" in page  # the textarea starts with her handle


def test_handle_completion_offers_only_the_people_and_accounts_one_follows(api, alice, bob, django_user_model):
    django_user_model.objects.create_user("bobby", "bobby@example.org", "x")  # not followed: never offered
    Subscription.objects.create(user=alice, source=own_source(bob), title="Bob B.")
    carol = Source.objects.create(address="https://social.example/@carol.rss", url="https://social.example/@carol.rss",
                                  remote_id="@carol@social.example", title="Carol")  # fmt: skip
    Subscription.objects.create(user=alice, source=carol)
    assert api(alice, "get", "/handles?q=@bo").json() == [{"handle": handle("bob"), "name": "Bob B."}]
    assert api(alice, "get", "/handles?q=CAR").json() == [{"handle": "@carol@social.example", "name": "Carol"}]
    assert api(bob, "get", "/handles?q=c").json() == []
    too_long = api(alice, "get", "/handles?q=" + "x" * 101)
    assert too_long.status_code == 400 and too_long.json()["detail"]
