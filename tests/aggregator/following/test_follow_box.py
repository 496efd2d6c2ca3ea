"""The follow box: one field that understands feeds, @user@host (WebFinger), Bluesky, JIDs and X accounts.

The fediverse and Bluesky servers are local HTTP servers speaking WebFinger (RFC 7033) JSON, Mastodon-like
profile pages and feeds, and Bluesky's profile RSS.
"""


import pytest
from django.core import signing

from accounts.tokens import issue_token
from aggregator.fetch import BlockedURL
from aggregator.following import avatars, follow_box, subscriptions
from aggregator.following.follow_box import classify
from aggregator.following.preview import preview
from aggregator.ingest import push
from aggregator.models import Post, Source
from aggregator.networks import bluesky, fediverse
from aggregator.networks.xmpp import MICROBLOG_NODE
from timelines.models import TimelineEntry

from tests.aggregator.ingest import test_xmpp
from tests.servers.fediverse_server import AVATAR_PNG, mastodon
from tests.servers.feeds import RSS
from tests.servers.processes import ROOT, wait_for
from tests.servers.xmpp_clients import atom_entry
from tests.servers.xmpp_server import DOMAIN

pytestmark = pytest.mark.django_db
xmpp_hub = test_xmpp.hub  # the hub's listener on the suite's Prosody

NETWORKS = ROOT / "aggregator" / "networks"
BLUESKY_RSS = (NETWORKS / "bluesky" / "testdata" / "profile.rss").read_bytes()


@pytest.mark.parametrize(("typed", "kind"), [
    ("https://carol.example/blog", "url"), ("carol.example", "url"), ("feed:https://carol.example/rss", "url"),
    ("https://mastodon.example/@alice", "url"),
    ("@alice@mastodon.example", "fediverse"), ("acct:alice@mastodon.example", "fediverse"),
    ("@dora.bsky.social", "bluesky"), ("dora.bsky.social", "bluesky"), ("@dora.example.com", "bluesky"),
    ("https://bsky.app/profile/dora.bsky.social", "bluesky"),
    ("alice@xmpp.example", "xmpp"), ("xmpp:pubsub.example?;node=blog", "xmpp"),
    ("@carol_c", "x"), ("x:carol_c", "x"), ("https://x.com/carol_c", "x"), ("twitter.com/carol_c", "x"),
])  # fmt: skip
def test_the_follow_box_tells_what_kind_of_address_was_typed(typed, kind):
    assert classify(typed).kind == kind


def test_a_bare_word_is_ambiguous_and_the_box_asks_which_was_meant():
    with pytest.raises(follow_box.FollowBoxError, match=r"Did you mean @carol on X, @carol@server.example"):
        classify("carol")


@pytest.mark.parametrize(("typed", "expected"), [
    ("", "type what to follow"), ("@al ice@host.example", "not a fediverse account"),
    ("@dora..bsky.social", "not a Bluesky handle"), ("@has-dash", "not an X account"),
])  # fmt: skip
def test_wrong_input_says_what_was_expected(typed, expected, alice):
    with pytest.raises(subscriptions.SubscriptionError, match=expected):
        subscriptions.subscribe(user=alice, address=typed)


def test_webfinger_links_give_the_profile_page_the_actor_and_an_xmpp_node():
    profile = fediverse.parse_jrd((NETWORKS / "fediverse" / "testdata" / "webfinger.json").read_bytes())
    assert profile.profile_page == "https://mastodon.example/@alice"
    assert profile.actor == "https://mastodon.example/users/alice"
    assert profile.xmpp_uri == "xmpp:alice@xmpp.example?;node=urn:xmpp:microblog:0"
    assert profile.avatar == "https://files.mastodon.example/avatars/alice.png"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"subject": "acct:a@b.example"}'])
def test_a_webfinger_answer_without_links_is_refused(body):
    with pytest.raises(fediverse.WebFingerError):
        fediverse.parse_jrd(body)


@pytest.mark.parametrize("advertise", [True, False])
def test_following_a_fediverse_account_follows_its_feed_and_keeps_its_handle(httpserver, settings, alice, committed,
                                                                            advertise):  # fmt: skip
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver, advertise=advertise)
    with committed():
        subscriptions.subscribe(user=alice, address=f"@alice@{host}")
    source = Source.objects.get()
    assert source.url == f"http://{host}/@alice.rss" and source.title == "Alice"  # never the server's /feed
    assert source.remote_id == f"@alice@{host}" and source.avatar_url == f"http://{host}/avatars/alice.png"
    posts = list(Post.objects.order_by("-published"))
    assert [p.author_handle for p in posts] == [f"@alice@{host}"] * 2
    assert posts[0].text.startswith("@bob yes") and 'href="https://other.example/@bob"' in posts[0].content_html
    assert TimelineEntry.objects.filter(user=alice).count() == 2


def test_an_unknown_fediverse_account_is_named(httpserver, settings, alice):
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver)
    with pytest.raises(subscriptions.SubscriptionError, match=f"knows no account @nobody@{host}"):
        subscriptions.subscribe(user=alice, address=f"@nobody@{host}")


def test_webfinger_goes_through_the_fetch_guards(settings, alice):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    with pytest.raises(BlockedURL):
        subscriptions.subscribe(user=alice, address="@alice@127.0.0.1:9")


@pytest.mark.parametrize("typed", ["@dora.bsky.social", "dora.bsky.social", "https://bsky.app/profile/dora.bsky.social"])
def test_following_a_bluesky_handle_follows_its_profile_feed(httpserver, settings, alice, committed, typed):
    settings.CHORUS_BLUESKY_BASE = httpserver.url_for("/").rstrip("/")
    httpserver.expect_request("/profile/dora.bsky.social/rss").respond_with_data(BLUESKY_RSS, content_type=RSS)
    with committed():
        subscriptions.subscribe(user=alice, address=typed)
    source = Source.objects.get()
    assert source.url == httpserver.url_for("/profile/dora.bsky.social/rss")
    assert source.title == "@dora.bsky.social - Dora" and source.remote_id == "@dora.bsky.social"
    post = Post.objects.order_by("-published").first()
    assert post.author_handle == "@dora.bsky.social" and post.text == "@eve.bsky.social look, Chorus reads Bluesky"
    assert post.url == "https://bsky.app/profile/dora.bsky.social/post/3lbxyzabc2k2a"


def test_a_bluesky_profile_url_may_name_a_did():
    assert bluesky.parse_bluesky_address("https://bsky.app/profile/did:plc:abcdefghijklmnopqrstuvwx") == (
        "did:plc:abcdefghijklmnopqrstuvwx"
    )
    assert bluesky.feed_url("did:plc:abcdefghijklmnopqrstuvwx").endswith("/profile/did:plc:abcdefghijklmnopqrstuvwx/rss")


def test_a_preview_shows_name_avatar_and_last_posts_and_follows_nothing(httpserver, settings, alice, client):
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}
    response = client.get("/api/v1/follow-preview", {"address": f"@alice@{host}"}, **auth)
    assert response.status_code == 200
    shown = response.json()
    assert shown["kind"] == "rss" and shown["title"] == "Alice" and shown["handle"] == f"@alice@{host}"
    assert shown["address"] == f"http://{host}/@alice.rss" and shown["avatar_url"] == f"http://{host}/avatars/alice.png"
    assert [p["text"] for p in shown["posts"]] == ["@bob yes, Chorus follows me now", "Hello fediverse"]
    assert shown["problem"] == "" and not Source.objects.exists()


def test_a_preview_of_wrong_input_says_what_was_expected(client, alice):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}
    response = client.get("/api/v1/follow-preview", {"address": "carol"}, **auth)
    assert response.status_code == 400 and "Did you mean @carol on X" in response.json()["detail"]
    assert client.get("/api/v1/follow-preview", **auth).status_code in (400, 422)


def test_a_preview_of_a_jid_says_posts_arrive_once_followed(alice):
    shown = preview(address="alice@xmpp.example")
    assert shown.kind == "xmpp" and shown.handle == "alice@xmpp.example" and shown.posts == []


def test_a_preview_lists_undated_posts_last(httpserver, alice):
    body = (b"<rss version='2.0'><channel><title>T</title><item><guid>a</guid><description>undated</description>"
            b"</item><item><guid>b</guid><description>dated</description>"
            b"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>")  # fmt: skip
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type=RSS)
    assert [p.text for p in preview(address=httpserver.url_for("/feed.xml")).posts] == ["dated", "undated"]


def test_a_previews_picture_is_served_by_chorus_never_linked_to_the_accounts_server(httpserver, settings, alice,
                                                                                   client):  # fmt: skip
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver)
    client.force_login(alice)  # the page's session, as follow.js asks
    shown = client.get("/api/v1/follow-preview", {"address": f"@alice@{host}"}).json()
    assert shown["avatar"].startswith("/follow/preview-avatar?t=") and host not in shown["avatar"]
    picture = client.get(shown["avatar"])
    assert picture.status_code == 200 and picture.content == AVATAR_PNG and picture["Content-Type"] == "image/png"
    assert picture["Content-Security-Policy"].startswith("default-src 'none'") and picture["X-Content-Type-Options"] == "nosniff"


def test_a_feeds_preview_shows_its_sites_favicon(httpserver, alice, client):
    site = httpserver.url_for("/")
    body = f"<rss version='2.0'><channel><title>Carol</title><link>{site}</link></channel></rss>"
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type=RSS)
    httpserver.expect_request("/favicon.ico").respond_with_data(b"\x00\x00\x01\x00" + bytes(60), content_type="image/x-icon")
    client.force_login(alice)
    shown = client.get("/api/v1/follow-preview", {"address": httpserver.url_for("/feed.xml")}).json()
    assert shown["title"] == "Carol" and shown["problem"] == "" and shown["posts"] == []
    assert client.get(shown["avatar"])["Content-Type"] == "image/x-icon"


def test_a_preview_picture_link_cannot_be_forged_or_used_signed_out(client, alice, httpserver):
    httpserver.expect_request("/inside.png").respond_with_data(AVATAR_PNG, content_type="image/png")
    inside = httpserver.url_for("/inside.png")
    client.force_login(alice)
    forged = signing.dumps(inside, salt="some other purpose", compress=True)
    for token in (forged, "garbage", ""):
        assert client.get("/follow/preview-avatar", {"t": token}).status_code == 404
    client.logout()
    token = avatars.preview_token(avatar_url=inside, feed_url="", site_url="", title="Inside")
    assert client.get("/follow/preview-avatar", {"t": token}).status_code == 302  # to log in
    assert httpserver.log == []  # Chorus fetched nothing for any of them


def test_a_preview_of_an_account_without_an_http_picture_shows_its_initials(client, alice):
    assert list(avatars.candidates(avatar_url="javascript:alert(1)", feed_url="", site_url="xmpp:alice@xmpp.example")) == []
    assert list(avatars.candidates(avatar_url="data:image/png;base64,AAAA", feed_url="", site_url="")) == []
    client.force_login(alice)
    token = avatars.preview_token(avatar_url="javascript:alert(1)", feed_url="", site_url="", title="Alice Liddell")
    picture = client.get("/follow/preview-avatar", {"t": token})
    assert picture.status_code == 200 and picture["Content-Type"] == "image/svg+xml" and b">AL</text>" in picture.content

def test_the_follow_box_shows_the_preview_and_follows_without_script(client, alice):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert 'data-preview-url="/api/v1/follow-preview"' in page and "follow.js" in page
    assert 'action="/follow/" data-preview-url' in page  # a plain form: without the script it follows directly


@pytest.mark.parametrize("advertised", ["pubsub link", "xmpp: alias"])
def test_a_fediverse_account_advertising_an_xmpp_node_is_followed_push_first(httpserver, settings, alice, committed,
                                                                            advertised):  # fmt: skip
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    node = "xmpp:alice@xmpp.example?;node=urn:xmpp:microblog:0"
    host = mastodon(httpserver, **({"xmpp_uri": node} if advertised == "pubsub link" else {"aliases": [node]}))
    with committed():
        subscriptions.subscribe(user=alice, address=f"@alice@{host}")
    source = Source.objects.get()
    assert (source.kind, source.url, source.remote_id) == ("rss", f"http://{host}/@alice.rss", f"@alice@{host}")
    assert (source.push_jid, source.push_node, source.push_state) == ("alice@xmpp.example", MICROBLOG_NODE, "pending")
    assert [target.source_id for target in push.push_targets()] == [source.pk]  # the listener subscribes to it
    assert Post.objects.filter(source=source).count() == 2  # and the feed is polled (the safety net)
    assert not push.push_covers(source)  # until pushes arrive, at its normal rate


def test_a_bad_xmpp_address_in_webfinger_is_ignored_and_the_feed_followed(httpserver, settings, alice):
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver, xmpp_uri="xmpp:not a jid")
    subscriptions.subscribe(user=alice, address=f"@alice@{host}")
    source = Source.objects.get()
    assert source.url == f"http://{host}/@alice.rss" and source.push_jid == "" and push.push_targets() == []


@pytest.mark.django_db(transaction=True)
def test_posts_an_accounts_xmpp_node_publishes_are_pushed_into_its_source(httpserver, settings, prosody, xmpp_hub,
                                                                         bob):  # fmt: skip
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver, xmpp_uri=f"xmpp:alice@{DOMAIN}?;node={MICROBLOG_NODE}")
    with test_xmpp._person(prosody, "alice") as alice:
        source = subscriptions.subscribe(user=bob, address=f"@alice@{host}").source
        wait_for(lambda: test_xmpp._subscribed(source), what="the hub to subscribe to the node WebFinger named")
        alice.publish("pushed-1", atom_entry(title="pushed", body="<p>by XMPP</p>", entry_id="tag:alice,pushed"))
        post = wait_for(lambda: Post.objects.filter(source=source, guid="pushed-1").first(), what="the pushed post")
    assert post.content_html == "<p>by XMPP</p>" and TimelineEntry.objects.filter(user=bob, post=post).exists()
    assert Source.objects.filter(kind=Source.Kind.XMPP).count() == 0  # one source: the feed, pushed first


def test_a_bluesky_accounts_avatar_comes_from_the_public_appview(httpserver, settings, alice, committed, client):
    settings.CHORUS_BLUESKY_BASE = settings.CHORUS_BLUESKY_API = httpserver.url_for("/").rstrip("/")
    httpserver.expect_request("/profile/dora.bsky.social/rss").respond_with_data(BLUESKY_RSS, content_type=RSS)
    avatar = httpserver.url_for("/img/avatar/dora.jpg")
    httpserver.expect_request("/xrpc/app.bsky.actor.getProfile", query_string={"actor": "dora.bsky.social"}).respond_with_json(
        {"did": "did:plc:abcdefghijklmnopqrstuvwx", "handle": "dora.bsky.social", "avatar": avatar})
    httpserver.expect_request("/img/avatar/dora.jpg").respond_with_data(b"\xff\xd8\xff\xe0 a jpeg", content_type="image/jpeg")
    with committed():
        source = subscriptions.subscribe(user=alice, address="@dora.bsky.social").source
    source.refresh_from_db()
    assert source.avatar_url == avatar and source.picture_url == avatar
    client.force_login(alice)
    assert client.get(f"/sources/{source.pk}/avatar")["Content-Type"] == "image/jpeg"


def test_a_bluesky_account_is_followed_even_when_the_appview_has_no_answer(httpserver, settings, alice):
    settings.CHORUS_BLUESKY_BASE = settings.CHORUS_BLUESKY_API = httpserver.url_for("/").rstrip("/")
    httpserver.expect_request("/profile/dora.bsky.social/rss").respond_with_data(BLUESKY_RSS, content_type=RSS)
    httpserver.expect_request("/xrpc/app.bsky.actor.getProfile").respond_with_data("<html>", status=502)
    source = subscriptions.subscribe(user=alice, address="@dora.bsky.social").source
    assert source.avatar_url == "" and source.remote_id == "@dora.bsky.social"
