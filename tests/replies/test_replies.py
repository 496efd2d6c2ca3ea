"""Replies: identities, matching new posts to the people they mention or answer, the replies view and API,
and blocks (timeline, replies, live events, undo). Real PostgreSQL; pages fetched from a local HTTP server."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.identities import identity_create, verified_handles, verify_url_identity
from accounts.models import Identity
from accounts.tokens import issue_token
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Post, Source, Subscription
from compat.mastodon.ids import status_id
from replies.matching import match_posts
from replies.models import Reply
from replies.selectors import replies_for, unread_replies_count
from replies.services import mark_replies_read
from timelines.blocks import block_create, block_delete, blockers, blocks_of
from timelines.models import Block
from timelines.selectors import timeline_for

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def carol_source():
    return Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="carol")


@pytest.fixture
def api(client, alice, django_capture_on_commit_callbacks):
    token = issue_token(user=alice, name="tests")

    def call(method: str, path: str, body=None, **params):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        elif params:
            kwargs["data"] = params
        with django_capture_on_commit_callbacks(execute=True):
            return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def post(guid: str, html: str, *, minutes: int = 0, **fields) -> Entry:
    fields.setdefault("author_handle", "@carol@carol.example")
    return Entry(guid=guid, content_html=html, published=START + timedelta(minutes=minutes),
                 base_url="https://carol.example/feed", **fields)  # fmt: skip


def reply_post_ids(user) -> list[int]:
    return [reply.post_id for reply in replies_for(user=user).replies]


def read_states(user) -> list[bool]:
    """Whether each of the person's replies is read, oldest first."""
    return list(Reply.objects.filter(user=user).order_by("published").values_list("is_read", flat=True))


def test_a_post_by_carol_mentioning_alice_reaches_alices_replies_though_she_does_not_follow_carol(
    alice, carol_source, committed
):
    identity_create(user=alice, kind="fediverse", value="@alice@example.social", verified=True)
    with committed() as callbacks:
        result = ingest(carol_source, [post("1", "<p>hey @alice@example.social, look</p>")])
    reply = Reply.objects.get()
    assert (reply.user, reply.post_id, reply.reason) == (alice, result.created[0], "mention")
    assert reply_post_ids(alice) == result.created and unread_replies_count(user=alice) == 1
    assert len(callbacks) >= 1


def test_unverified_handles_do_not_match(alice, carol_source):
    identity = identity_create(user=alice, kind="x", value="@Alice")
    ingest(carol_source, [post("1", "<p>@alice hi</p>")])
    assert identity.value == "alice" and not identity.verified and Reply.objects.count() == 0


def test_a_reply_to_alices_stored_post_is_a_reply_with_its_thread(alice, bob, carol_source):
    identity_create(user=alice, kind="xmpp", value="alice@jabber.example", verified=True)
    alices = Source.objects.create(address="xmpp:alice@jabber.example", url="xmpp:alice@jabber.example", kind="xmpp")
    [original] = ingest(alices, [post("tag:alice,1", "<p>my post</p>", author_handle="alice@jabber.example",
                                             url="https://alice.example/1")]).created  # fmt: skip
    [answer] = ingest(carol_source, [post("2", "<p>I disagree</p>", minutes=1, in_reply_to="tag:alice,1")]).created
    page = replies_for(user=alice)
    assert [(r.post_id, r.reason) for r in page.replies] == [(answer, "reply")]
    assert page.replies[0].answers.pk == original  # the thread view: the post it answers
    assert not Reply.objects.filter(post_id=original).exists()  # her own post is not a reply to her


def test_the_thread_shows_the_post_a_mention_answers_from_any_source_unless_blocked(alice, carol_source):
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    bobs = Source.objects.create(address="https://bob.example/feed", url="https://bob.example/feed")
    ingest(bobs, [post("tag:bob,1", "<p>who knows?</p>", author_handle="@bob@bob.example",
                              url="https://bob.example/1"),
                         post("tag:bob,2", "<p>anyone?</p>", minutes=1, author_handle="@bob@bob.example",
                              url="https://bob.example/2")])  # fmt: skip
    ingest(carol_source, [
        post("c1", "<p>@alice@example.social does</p>", minutes=2, in_reply_to="tag:bob,1"),  # by Atom id
        post("c2", "<p>ask @alice@example.social</p>", minutes=3, in_reply_to="https://bob.example/2"),  # by link
        post("c3", "<p>@alice@example.social ?</p>", minutes=4, in_reply_to="https://nowhere.example/9"),
    ])  # fmt: skip
    threads = lambda: [(r.post.guid, r.answers and r.answers.guid) for r in replies_for(user=alice).replies]  # noqa: E731
    assert threads() == [("c3", None), ("c2", "tag:bob,2"), ("c1", "tag:bob,1")]
    block_create(user=alice, kind="author", value="@bob@bob.example")
    assert threads() == [("c3", None), ("c2", None), ("c1", None)]  # a blocked author's post is no context either


def test_links_to_a_persons_blog_are_mentions_of_them(alice, carol_source):
    identity_create(user=alice, kind="url", value="https://Alice.example/", verified=True)
    ingest(carol_source, [
        post("1", '<p>read <a href="https://alice.example/2026/11/post#c">this</a></p>'),
        post("2", '<p>read <a href="https://alice.example.evil/">that</a> and mail alice@example.social</p>'),
    ])  # fmt: skip
    assert Reply.objects.count() == 1 and Reply.objects.get().post.guid == "1"


def test_matching_a_batch_takes_a_fixed_number_of_queries(alice, bob, carol_source):
    identity_create(user=alice, kind="x", value="alice", verified=True)
    identity_create(user=bob, kind="fediverse", value="bob@example.social", verified=True)
    batch = [post(str(n), f"<p>@alice and @bob@example.social #{n}</p>", minutes=n, in_reply_to=f"tag:x,{n}")
             for n in range(40)]  # fmt: skip
    ids = ingest(carol_source, batch[:1]).created + ingest(carol_source, batch[1:]).created
    Reply.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        found = match_posts(post_ids=ids)
    assert found == 80 and Reply.objects.count() == 80
    # the posts, replied-to posts (KnownPost), the replies' insert; no identity nor notification settings query
    sent = [q["sql"] for q in queries if not q["sql"].startswith("PREPARE")]  # (once a session per statement)
    assert len(sent) <= 3 and not [sql for sql in sent if "identity" in sql or "notification" in sql]


def test_a_person_deleted_while_a_process_still_holds_their_handle_gets_no_rows(alice, bob, carol_source):
    identity_create(user=bob, kind="x", value="bob", verified=True)
    identity_create(user=alice, kind="x", value="alice", verified=True)
    verified_handles.get()  # this process holds bob's handle ...
    Identity.objects.filter(user=bob)._raw_delete(connection.alias)  # ... deleted past the signals, elsewhere
    type(bob).objects.filter(pk=bob.pk)._raw_delete(connection.alias)
    ingest(carol_source, [post("1", "<p>@bob @alice hi</p>", in_reply_to="https://bob.example/1")])
    assert list(Reply.objects.values_list("user_id", flat=True)) == [alice.pk]  # the commit would fail on bob's


def test_a_handle_verified_in_another_process_is_matched_once_the_version_changes(alice, carol_source):
    identity = identity_create(user=alice, kind="x", value="alice")  # unverified: not matched
    ingest(carol_source, [post("1", "<p>@alice hi</p>")])
    Identity.objects.filter(pk=identity.pk).update(verified=True)  # past the signals, as another process might
    cache.set(verified_handles.key, "another process's version")
    ingest(carol_source, [post("2", "<p>@alice hi again</p>", minutes=1)])
    identity.refresh_from_db()
    identity.verified = False
    identity.save()  # through the ORM: seen at once
    ingest(carol_source, [post("3", "<p>@alice and again</p>", minutes=2)])
    assert [r.post.guid for r in replies_for(user=alice).replies] == ["2"]


def test_a_handle_verified_by_one_person_cannot_be_verified_by_another(alice, bob):
    from accounts.identities import IdentityError

    identity_create(user=alice, kind="x", value="alice", verified=True)
    with pytest.raises(IdentityError):
        identity_create(user=bob, kind="x", value="@ALICE", verified=True)


def test_a_blog_is_verified_by_its_rel_me_link_to_the_chorus_profile(alice, httpserver):
    profile = "http://chorus.test/people/alice/"
    httpserver.expect_request("/").respond_with_data(f'<html><a rel="me" href="{profile}">me on Chorus</a></html>',
                                                     content_type="text/html")  # fmt: skip
    httpserver.expect_request("/other").respond_with_data('<a href="http://chorus.test/people/alice/">no rel</a>',
                                                          content_type="text/html")  # fmt: skip
    good = identity_create(user=alice, kind="url", value=httpserver.url_for("/"))
    bad = identity_create(user=alice, kind="url", value=httpserver.url_for("/other"))
    assert verify_url_identity(identity=good, profile_url=profile)
    assert not verify_url_identity(identity=bad, profile_url=profile)
    good.refresh_from_db(), bad.refresh_from_db()
    assert good.verified and not bad.verified and "rel=" in bad.last_check_error


def test_blocking_an_author_hides_them_from_timeline_and_replies_until_undone(alice, carol_source):
    Subscription.objects.create(user=alice, source=carol_source)
    identity_create(user=alice, kind="x", value="alice", verified=True)
    ingest(carol_source, [
        post("spam", "<p>@alice buy now</p>", author_handle="@Spammer"),
        post("ok", "<p>@alice hello</p>", minutes=1),
    ])  # fmt: skip
    assert len(timeline_for(user=alice).entries) == 2 and len(reply_post_ids(alice)) == 2
    [block] = block_create(user=alice, kind="author", value="@spammer")
    assert [e.post.guid for e in timeline_for(user=alice).entries] == ["ok"]
    assert [r.post.guid for r in replies_for(user=alice).replies] == ["ok"]
    assert unread_replies_count(user=alice) == 1
    ingest(carol_source, [post("spam2", "<p>@alice again</p>", minutes=2, author_handle="@SPAMMER")])
    assert [e.post.guid for e in timeline_for(user=alice).entries] == ["ok"]  # it does not come back
    block_delete(user=alice, block_id=block.pk)
    assert len(timeline_for(user=alice).entries) == 3 and len(reply_post_ids(alice)) == 3


def test_live_events_ask_for_blocks_only_of_people_who_block_something(alice, bob, carol_source):
    assert blocks_of(user_ids=[alice.pk, bob.pk]) == {}
    with CaptureQueriesContext(connection) as queries:  # who blocks anything is known in the process
        assert blocks_of(user_ids=[alice.pk, bob.pk]) == {}
    assert queries.captured_queries == []
    block_create(user=alice, kind="word", value="Crypto")  # seen at once, by the block's own signal
    assert set(blocks_of(user_ids=[alice.pk, bob.pk])) == {alice.pk}
    # a block written past the signals (as a bulk insert, or by another process): seen once the version changes
    Block.objects.bulk_create([Block(user=bob, kind="source", value=str(carol_source.pk))])
    assert set(blocks_of(user_ids=[alice.pk, bob.pk])) == {alice.pk}
    cache.set(blockers.key, "another process's version")
    found = blocks_of(user_ids=[alice.pk, bob.pk])
    assert found[bob.pk].sources == {carol_source.pk} and found[alice.pk].words == ["crypto"]


def test_blocking_a_known_person_blocks_them_on_every_network(alice, bob, carol_source):
    Subscription.objects.create(user=alice, source=carol_source)
    identity_create(user=bob, kind="x", value="bob", verified=True)
    identity_create(user=bob, kind="fediverse", value="bob@example.social", verified=True)
    ingest(carol_source, [post("x", "<p>on x</p>", author_handle="@bob"),
                                 post("m", "<p>on mastodon</p>", author_handle="@bob@example.social")])  # fmt: skip
    values = {b.value for b in block_create(user=alice, kind="author", value="@Bob")}
    assert values == {"@bob", "@bob@example.social"}
    assert timeline_for(user=alice).entries == []


def test_muting_a_word_or_a_source_hides_their_posts(alice, carol_source):
    dave = Source.objects.create(address="https://dave.example/feed", url="https://dave.example/feed")
    for source in (carol_source, dave):
        Subscription.objects.create(user=alice, source=source)
    ingest(carol_source, [post("c1", "<p>Crypto giveaway</p>"), post("c2", "<p>tea</p>", minutes=1)])
    ingest(dave, [post("d1", "<p>dave here</p>", minutes=2)])
    block_create(user=alice, kind="word", value="CRYPTO")
    assert [e.post.guid for e in timeline_for(user=alice).entries] == ["d1", "c2"]
    block_create(user=alice, kind="source", value=str(dave.pk))
    assert [e.post.guid for e in timeline_for(user=alice).entries] == ["c2"]


def test_the_replies_api_pages_newest_first_with_unread_count(api, alice, carol_source):
    identity_create(user=alice, kind="x", value="alice", verified=True)
    ingest(carol_source, [post(str(n), f"<p>@alice {n}</p>", minutes=n) for n in range(3)])
    first = api("get", "/replies", limit=2).json()
    assert [p["text"] for p in first["items"]] == ["@alice 2", "@alice 1"] and first["unread"] == 3
    assert first["items"][0]["reason"] == "mention" and first["items"][0]["answers"] is None
    rest = api("get", "/replies", limit=2, before=first["next"]).json()
    assert [p["text"] for p in rest["items"]] == ["@alice 0"] and rest["next"] is None
    assert api("post", "/replies/read", {"post_ids": [first["items"][0]["id"]]}).json() == {"updated": 1}
    assert api("get", "/replies").json()["unread"] == 2


def test_the_identities_and_blocks_api_lists_creates_and_undoes(api, alice):
    made = api("post", "/identities", {"kind": "fediverse", "value": "@Alice@Example.Social"})
    assert made.status_code == 201 and made.json()["value"] == "alice@example.social" and not made.json()["verified"]
    assert api("post", "/identities", {"kind": "x", "value": "not a handle!"}).status_code == 400
    assert [i["value"] for i in api("get", "/identities").json()] == ["alice@example.social"]
    assert api("delete", f"/identities/{made.json()['id']}").status_code == 204
    blocked = api("post", "/blocks", {"kind": "word", "value": "Crypto"})
    assert blocked.status_code == 201 and blocked.json()[0]["value"] == "crypto"
    assert api("post", "/blocks", {"kind": "colour", "value": "red"}).status_code == 400
    assert len(api("get", "/blocks").json()) == 1
    assert api("delete", f"/blocks/{blocked.json()[0]['id']}").status_code == 204
    assert api("get", "/blocks").json() == [] and api("delete", "/blocks/999999").status_code == 404


def test_the_replies_page_shows_the_answered_post_and_the_unread_count(client, alice, carol_source):
    identity_create(user=alice, kind="url", value="https://alice.example/", verified=True)
    alices = Source.objects.create(address="https://alice.example/feed", url="https://alice.example/feed")
    ingest(alices, [post("p", "<p>the original</p>", url="https://alice.example/p", author_handle="",
                                author_uri="https://alice.example/")])  # fmt: skip
    ingest(carol_source, [post("r", "<p>my answer</p>", minutes=1, in_reply_to="https://alice.example/p")])
    client.force_login(alice)
    page = client.get("/replies/").content.decode()
    assert "(1) Replies" in page and "In reply to" in page and "the original" in page and "my answer" in page
    assert Identity.objects.get().verified
    answer = Post.objects.get(guid="r")
    assert f'<a class="reply" href="/compose/?in_reply_to={answer.pk}">Reply</a>' in page  # answered from here


def test_the_replies_pages_read_button_posts_what_it_shows(client, alice, carol_source):
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    ingest(carol_source, [post("m", "<p>hi @alice@example.social</p>")])
    client.force_login(alice)
    page = client.get("/replies/").content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" class="inline read-form"><input[^>]*csrfmiddlewaretoken[^>]*>\s*'
                     r'<input type="hidden" name="post_id" value="(\d+)"><input type="hidden" name="read" value="(\d)">'
                     r'[^<]*<input[^>]*>\s*<button type="submit" class="link mark-read">([^<]+)</button>', page)  # fmt: skip
    assert form and form.group(1, 3, 4) == ("/replies/read/", "1", "Mark read")
    client.post(form.group(1), {"post_id": form.group(2), "read": form.group(3), "next": "/replies/"})
    assert unread_replies_count(user=alice) == 0 and "Keep unread" in client.get("/replies/").content.decode()


def test_bob_neither_sees_nor_marks_read_alices_replies_on_the_page_or_any_api(client, alice, bob, carol_source):
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    identity_create(user=bob, kind="fediverse", value="bob@example.social", verified=True)
    alices = Source.objects.create(address="https://example.social/@alice.rss", url="https://example.social/@alice.rss")
    ingest(alices, [post("a1", "<p>my post</p>", author_handle="@alice@example.social", url="https://blog.example/1")])
    ingest(carol_source, [post("c1", "<p>psst @alice@example.social</p>", minutes=1),
                          post("c2", "<p>I disagree</p>", minutes=2, in_reply_to="https://blog.example/1"),
                          post("c3", "<p>hello @bob@example.social</p>", minutes=3)])  # fmt: skip
    alices_replies = list(Reply.objects.filter(user=alice).order_by("published"))
    assert [(r.post.guid, r.reason) for r in alices_replies] == [("c1", "mention"), ("c2", "reply")]
    theirs = [r.post_id for r in alices_replies]
    statuses = [status_id(r.published, r.post_id) for r in alices_replies]
    [bobs] = Reply.objects.filter(user=bob)
    mark_replies_read(user=alice, post_ids=theirs[:1])  # one read, one unread: bob can flip neither
    assert read_states(alice) == [True, False]

    client.force_login(bob)
    page = client.get("/replies/").content.decode()
    assert re.findall(r'data-post-id="(\d+)"', page) == [str(bobs.post_id)]  # his own, and only his
    assert "psst" not in page and "I disagree" not in page
    for post_id, read in zip(theirs, ("0", "1"), strict=True):
        client.post("/replies/read/", {"post_id": post_id, "read": read, "next": "/replies/"})
    session_api = client.get("/api/v1/replies").json()
    assert [item["id"] for item in session_api["items"]] == [bobs.post_id] and session_api["unread"] == 1

    bearer = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=bob)}"}

    def as_bob(method: str, path: str, body: dict | None = None):
        json_body = {} if body is None else {"data": body, "content_type": "application/json"}
        return getattr(client, method)(path, **json_body, **bearer)

    token_api = as_bob("get", "/api/v1/replies").json()
    assert [item["id"] for item in token_api["items"]] == [bobs.post_id] and token_api["unread"] == 1
    assert as_bob("post", "/api/v1/replies/read", {"post_ids": theirs}).json() == {"updated": 0}
    assert as_bob("post", "/api/v1/replies/read", {"post_ids": theirs, "read": False}).json() == {"updated": 0}
    mentions = as_bob("get", "/api/v1/notifications").json()  # the Mastodon client API's replies
    assert [mention["status"]["id"] for mention in mentions] == [status_id(bobs.published, bobs.post_id)]
    for status in statuses:
        assert as_bob("get", f"/api/v1/notifications/{status}").status_code == 404
        assert as_bob("post", f"/api/v1/notifications/{status}/dismiss", {}).status_code == 200
    assert as_bob("post", "/api/v1/markers", {"notifications": {"last_read_id": statuses[-1]}}).status_code == 200
    assert as_bob("post", "/api/v1/replies/read", {"all": True}).json() == {"updated": 1}  # his own reply
    client.post("/replies/read/", {"all": "1"})
    assert as_bob("post", "/api/v1/notifications/clear", {}).status_code == 200

    assert read_states(alice) == [True, False] and unread_replies_count(user=bob) == 0


def test_a_reply_in_the_same_batch_as_the_post_it_answers_is_found(alice, carol_source):
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    alices = Source.objects.create(address="https://example.social/@alice.rss", url="https://example.social/@alice.rss")
    ingest(alices, [post("a1", "<p>original</p>", author_handle="@alice@example.social", url="https://blog.example/1"),
                           post("c1", "<p>answer</p>", minutes=1, in_reply_to="https://blog.example/1")])  # fmt: skip
    assert [(r.post.guid, r.reason) for r in replies_for(user=alice).replies] == [("c1", "reply")]


def test_an_administrator_verifies_handles_chorus_cannot_check(alice):
    from django.core.management import call_command

    call_command("verify_identity", "alice", "x", "@Alice")
    assert Identity.objects.get(user=alice).verified


def test_the_public_profile_links_verified_identities_rel_me(client, alice):
    identity_create(user=alice, kind="url", value="https://alice.example/", verified=True)
    identity_create(user=alice, kind="url", value="https://unverified.example/")
    page = client.get("/people/alice/").content.decode()
    assert 'rel="me" href="https://alice.example/"' in page and "unverified.example" not in page


def test_the_spam_button_blocks_from_the_page_and_the_blocks_page_undoes_it(client, alice, carol_source):
    Subscription.objects.create(user=alice, source=carol_source)
    ingest(carol_source, [post("s", "<p>spam</p>", author_handle="@Spammer")])
    client.force_login(alice)
    assert "Block @Spammer" in client.get("/").content.decode()
    client.post("/blocks/", {"kind": "author", "value": "@Spammer", "next": "/"})
    assert "<p>spam</p>" not in client.get("/").content.decode()
    page = client.get("/blocks/").content.decode()
    assert "@spammer" in page and "Undo" in page
    client.post(f"/blocks/{alice.blocks.get().pk}/undo/")
    assert "<p>spam</p>" in client.get("/").content.decode()
    client.post("/identities/", {"kind": "fediverse", "value": "@alice@example.social"})
    assert "unverified" in client.get("/identities/").content.decode()
