"""Source pictures: learned after a poll from what the account, the feed or the site says (raster only, through
the one outbound guard), stored on the source, served from Chorus to followers only; a generated picture
(initials on a colour) when there is none, so no page has an empty or broken picture slot."""

import base64
import re
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from aggregator.following import avatars
from aggregator.following.subscriptions import subscribe
from aggregator.images import sniff
from aggregator.ingest.polling import poll_source
from aggregator.models import Post, Source, Subscription
from replies.models import Reply
from tracks.models import Track, TrackMatch

from tests.servers.fediverse_server import AVATAR_PNG, mastodon
from tests.servers.feedservers import response_head, send

pytestmark = pytest.mark.django_db

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
ICO = b"\x00\x00\x01\x00" + bytes(60)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
RSS = "application/rss+xml"
ITEM = "<item><guid>1</guid><title>hello</title><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>"


@pytest.mark.parametrize(("body", "kind"), [
    (PNG, "image/png"), (b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"GIF89a...", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"), (ICO, "image/x-icon"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00", "image/avif"), (SVG, ""), (b"<html>", ""), (b"", ""),
])  # fmt: skip
def test_only_raster_images_are_recognised_by_their_first_bytes(body, kind):
    assert sniff(body) == kind


def rss_feed(*, title: str = "Carol's notes", channel: str = "") -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{channel}{ITEM}</channel></rss>'.encode()


def followed_feed(httpserver, committed, alice, body: bytes) -> Source:
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type=RSS)
    with committed():
        return subscribe(user=alice, address=httpserver.url_for("/feed.xml")).source


def shown_picture(client, source: Source):
    source.refresh_from_db()
    response = client.get(avatars.picture_path(source))
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    return response


def test_a_feeds_atom_icon_becomes_its_picture(client, alice, httpserver, committed):
    httpserver.expect_request("/icon.png").respond_with_data(PNG, content_type="image/png")
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>urn:carol</id><title>Carol</title>'
            b'<icon>/icon.png</icon><logo>/logo.png</logo><entry><id>1</id><title>hi</title>'
            b"<updated>2026-11-23T10:00:00Z</updated></entry></feed>")  # fmt: skip
    httpserver.expect_request("/feed.xml").respond_with_data(atom, content_type="application/atom+xml")
    with committed():
        source = subscribe(user=alice, address=httpserver.url_for("/feed.xml")).source
    source.refresh_from_db()
    assert source.picture_url == httpserver.url_for("/icon.png") and source.picture_checked_at is not None
    client.force_login(alice)
    response = shown_picture(client, source)
    assert response.content == PNG and response["Content-Type"] == "image/png"
    assert "max-age=604800" in response["Cache-Control"]  # the address changes with the picture


def test_an_rss_image_becomes_its_picture(client, alice, httpserver, committed):
    httpserver.expect_request("/logo.gif").respond_with_data(b"GIF89a" + bytes(20), content_type="image/gif")
    channel = f"<image><url>{httpserver.url_for('/logo.gif')}</url><title>Carol</title><link>{httpserver.url_for('/')}</link></image>"
    source = followed_feed(httpserver, committed, alice, rss_feed(channel=channel))
    client.force_login(alice)
    assert shown_picture(client, source)["Content-Type"] == "image/gif"


def test_the_sites_largest_usable_raster_icon_is_used_and_svg_never_fetched(client, alice, httpserver, committed):
    page = """<html><head><link rel="icon" type="image/svg+xml" href="/logo.svg">
        <link rel="apple-touch-icon" href="/touch.png"><link rel="icon" sizes="64x64" href="/icon64.png">
        <link rel="shortcut icon" href="/small.ico"></head><body><link rel="icon" href="/body.png"></body></html>"""
    httpserver.expect_request("/blog/").respond_with_data(page, content_type="text/html")
    httpserver.expect_request("/touch.png").respond_with_data("<html>not an image</html>", content_type="image/png")
    httpserver.expect_request("/icon64.png").respond_with_data(PNG, content_type="image/png")
    source = followed_feed(httpserver, committed, alice, rss_feed(channel=f"<link>{httpserver.url_for('/blog/')}</link>"))
    source.refresh_from_db()
    assert source.picture_url == httpserver.url_for("/icon64.png")  # the 180 px touch icon was HTML: passed over
    asked = [request.path for request, _ in httpserver.log]
    assert "/logo.svg" not in asked and "/small.ico" not in asked and "/body.png" not in asked


def test_the_sites_favicon_is_the_last_resort(client, alice, httpserver, committed):
    httpserver.expect_request("/favicon.ico").respond_with_data(ICO, content_type="image/x-icon")
    source = followed_feed(httpserver, committed, alice, rss_feed())
    client.force_login(alice)
    assert shown_picture(client, source).content == ICO


def test_a_fediverse_accounts_avatar_comes_first(client, alice, httpserver, settings, committed):
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver)
    with committed():
        source = subscribe(user=alice, address=f"@alice@{host}").source
    source.refresh_from_db()
    assert source.picture_url == f"http://{host}/avatars/alice.png"
    client.force_login(alice)
    assert shown_picture(client, source).content == AVATAR_PNG


def test_a_source_without_a_picture_shows_its_initials_on_a_colour(client, alice, httpserver, committed):
    httpserver.expect_request("/favicon.ico").respond_with_data(SVG, content_type="image/svg+xml")  # never shown
    source = followed_feed(httpserver, committed, alice, rss_feed(title="Planet &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends"))
    source.refresh_from_db()
    assert source.picture_url == "" and source.picture_checked_at is not None
    client.force_login(alice)
    response = shown_picture(client, source)
    assert response["Content-Type"] == "image/svg+xml" and "default-src 'none'" in response["Content-Security-Policy"]
    svg = ElementTree.fromstring(response.content)  # well-formed: the title's markup was escaped, not written
    texts = [element.text for element in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["PF"] and not list(svg.iter("{http://www.w3.org/2000/svg}script"))
    other = Source.objects.create(address="xmpp:news@pubsub.example", url="xmpp:news@pubsub.example", title="Zebra",
                                  kind=Source.Kind.XMPP)  # fmt: skip
    Subscription.objects.create(user=alice, source=other)
    fill = re.compile(rb'<rect [^>]*fill="(#[0-9a-f]{6})"')
    assert fill.search(response.content).group(1) != fill.search(shown_picture(client, other).content).group(1)


def test_a_picture_is_learned_at_the_poll_never_guessed_per_request(client, alice, httpserver):
    source = Source.objects.create(address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"),
                                   title="Never polled")  # fmt: skip
    Subscription.objects.create(user=alice, source=source)
    client.force_login(alice)
    assert shown_picture(client, source)["Content-Type"] == "image/svg+xml"
    assert httpserver.log == []  # showing the picture fetched nothing


def test_a_picture_is_looked_for_again_only_after_a_week(alice, httpserver, committed):
    httpserver.expect_request("/favicon.ico").respond_with_data(ICO, content_type="image/x-icon")
    source = followed_feed(httpserver, committed, alice, rss_feed())
    looks = lambda: sum(1 for request, _ in httpserver.log if request.path == "/favicon.ico")  # noqa: E731
    assert looks() == 1
    with committed():
        poll_source(source_id=source.pk)
    assert looks() == 1  # polled again: the picture is known
    Source.objects.filter(pk=source.pk).update(picture_checked_at=timezone.now() - timedelta(days=8), etag="")
    with committed():
        poll_source(source_id=source.pk)
    source.refresh_from_db()
    assert source.picture_checked_at > timezone.now() - timedelta(minutes=1)
    assert source.picture_url == httpserver.url_for("/favicon.ico")


def test_a_new_picture_gets_a_new_address(alice):
    source = Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="Carol")
    before = avatars.picture_path(source)
    source.picture_url = "https://carol.example/icon.png"
    assert avatars.picture_path(source) != before and before.startswith(f"/sources/{source.pk}/avatar?v=")


def test_pictures_are_for_followers_only(client, alice, bob, httpserver, committed):
    source = followed_feed(httpserver, committed, alice, rss_feed())
    client.force_login(bob)
    assert client.get(f"/sources/{source.pk}/avatar").status_code == 404  # never another person's data


@pytest.mark.parametrize("seen_as", ["reply", "track match"])
def test_a_source_bob_does_not_follow_shows_its_picture_beside_his_replies_and_matches(
    client, alice, bob, httpserver, committed, seen_as
):
    source = followed_feed(httpserver, committed, alice, rss_feed())
    post = Post.objects.filter(source=source).first()
    client.force_login(bob)
    assert client.get(f"/sources/{source.pk}/avatar").status_code == 404
    if seen_as == "reply":
        Reply.objects.create(user=bob, post=post, published=post.published)
    else:
        track = Track.objects.create(user=bob, query="hello", normalized="hello", terms=["hello"], key_token="hello")
        TrackMatch.objects.create(track=track, user=bob, post=post, published=post.published, first=True)
    assert client.get(f"/sources/{source.pk}/avatar").status_code == 200


def test_pictures_are_never_looked_for_inside_the_network(alice, raw_server, settings):
    server = raw_server(send(response_head(content_type="image/png", content_length=str(len(PNG))), PNG))
    source = Source.objects.create(address=server.url("/feed.xml"), url=server.url("/feed.xml"),
                                   avatar_url=server.url("/avatar.png"), site_url=server.url("/"))  # fmt: skip
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    assert avatars.learn_picture(source_id=source.pk) == ""
    assert server.connections == 0


def test_hostile_pictures_are_passed_over(alice, httpserver):
    httpserver.expect_request("/icon.svg.png").respond_with_data(SVG, content_type="image/png")
    httpserver.expect_request("/favicon.ico").respond_with_data(PNG, content_type="image/png")
    channel = f"<image><url>{httpserver.url_for('/icon.svg.png')}</url></image>"
    httpserver.expect_request("/feed.xml").respond_with_data(rss_feed(channel=channel), content_type=RSS)
    source = Source.objects.create(address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"),
                                   avatar_url="jav&#x09;ascript:alert(1)")  # fmt: skip
    assert avatars.learn_picture(source_id=source.pk) == httpserver.url_for("/favicon.ico")


def test_the_sources_of_one_site_share_its_cached_picture(alice, httpserver):
    httpserver.expect_request("/favicon.ico").respond_with_data(PNG, content_type="image/png")
    for path in ("/news.xml", "/comments.xml"):
        source = Source.objects.create(address=httpserver.url_for(path), url=httpserver.url_for(path))
        assert avatars.learn_picture(source_id=source.pk) == httpserver.url_for("/favicon.ico")
    assert sum(1 for request, _ in httpserver.log if request.path == "/favicon.ico") == 1


def test_the_timeline_shows_each_sources_picture_from_chorus_with_its_size(client, alice, httpserver, committed):
    httpserver.expect_request("/favicon.ico").respond_with_data(PNG, content_type="image/png")
    source = followed_feed(httpserver, committed, alice, rss_feed())
    source.refresh_from_db()
    client.force_login(alice)
    page = client.get("/").content.decode()
    pictures = re.findall(r'<img class="avatar" src="([^"]+)" alt="" width="(\d+)" height="(\d+)"', page)
    assert [src for src, _, _ in pictures] == [avatars.picture_path(source)] * 2  # the sidebar's source and its post
    assert "favicon.ico" not in page  # never hot-linked
    post = client.get("/api/v1/timeline").json()["items"][0]  # the shape live.js renders, and the stream sends
    assert client.get(post["source"]["avatar"]).content == PNG
