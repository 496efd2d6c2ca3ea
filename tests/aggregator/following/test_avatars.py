"""Source pictures: fetched through the HTTP helper from the account or the site, checked, cached, and served
from Chorus itself to the source's followers only."""

import base64

import pytest

from aggregator.images import sniff
from aggregator.following.subscriptions import subscribe
from aggregator.models import Source, Subscription

from tests.servers.feeds import RSS, rss

pytestmark = pytest.mark.django_db


PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(("body", "kind"), [
    (PNG, "image/png"), (b"\xff\xd8\xff\xe0rest", "image/jpeg"), (b"GIF89a...", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"), (b"\x00\x00\x01\x00\x01\x00", "image/x-icon"),
    (SVG, ""), (b"<html>", ""), (b"", ""),
])  # fmt: skip
def test_only_raster_images_are_recognised_by_their_first_bytes(body, kind):
    assert sniff(body) == kind


def followed(user, **fields) -> Source:
    source = Source.objects.create(**fields)
    Subscription.objects.create(user=user, source=source)
    return source


def test_an_accounts_avatar_is_served_from_chorus_and_cached(client, alice, httpserver):
    httpserver.expect_request("/profile_images/carol.png").respond_with_data(PNG, content_type="text/plain")
    source = followed(alice, kind=Source.Kind.X, address="x:carol", url="https://x.com/carol",
                      avatar_url=httpserver.url_for("/profile_images/carol.png"))  # fmt: skip
    client.force_login(alice)
    for _ in range(2):
        response = client.get(f"/sources/{source.pk}/avatar")
        assert response.status_code == 200 and response.content == PNG
        assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert len(httpserver.log) == 1  # the second one came from the cache


def test_a_feed_without_an_avatar_shows_its_sites_favicon(client, alice, httpserver):
    httpserver.expect_request("/favicon.ico").respond_with_data(b"\x00\x00\x01\x00" + bytes(60), content_type="image/x-icon")
    source = followed(alice, address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"))
    client.force_login(alice)
    assert client.get(f"/sources/{source.pk}/avatar")["Content-Type"] == "image/x-icon"


def test_an_svg_or_missing_picture_is_not_served(client, alice, httpserver):
    httpserver.expect_request("/favicon.ico").respond_with_data(SVG, content_type="image/svg+xml")
    source = followed(alice, address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"))
    gone = followed(alice, address=httpserver.url_for("/other.xml"), url=httpserver.url_for("/other.xml"),
                    avatar_url=httpserver.url_for("/missing.png"))  # fmt: skip
    client.force_login(alice)
    assert client.get(f"/sources/{source.pk}/avatar").status_code == 404
    assert client.get(f"/sources/{gone.pk}/avatar").status_code == 404


def test_pictures_are_for_followers_and_never_fetched_from_inside_the_network(client, alice, bob, settings, httpserver):
    source = followed(alice, address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"))
    client.force_login(bob)
    assert client.get(f"/sources/{source.pk}/avatar").status_code == 404  # never another person's data
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    client.force_login(alice)
    assert client.get(f"/sources/{source.pk}/avatar").status_code == 404  # nothing fetched inside the network
    assert httpserver.log == []


def test_a_javascript_avatar_is_never_used_and_the_sites_favicon_shows_instead(client, alice, httpserver):
    httpserver.expect_request("/favicon.ico").respond_with_data(PNG, content_type="image/png")
    source = followed(alice, address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"),
                      avatar_url="jav&#x09;ascript:alert(1)")  # fmt: skip
    xmpp = followed(alice, kind=Source.Kind.XMPP, address="xmpp:bob@xmpp.example", url="xmpp:bob@xmpp.example",
                    avatar_url="javascript:alert(1)")  # fmt: skip
    client.force_login(alice)
    assert client.get(f"/sources/{source.pk}/avatar").content == PNG  # only http(s) pictures
    assert client.get(f"/sources/{xmpp.pk}/avatar").status_code == 404


def test_the_sources_of_one_site_share_its_cached_favicon(client, alice, httpserver):
    httpserver.expect_request("/favicon.ico").respond_with_data(PNG, content_type="image/png")
    sources = [followed(alice, address=httpserver.url_for(path), url=httpserver.url_for(path))
               for path in ("/news.xml", "/comments.xml")]  # fmt: skip
    client.force_login(alice)
    assert [client.get(f"/sources/{s.pk}/avatar").content for s in sources] == [PNG, PNG]
    assert len(httpserver.log) == 1


def test_the_timeline_shows_each_sources_picture_from_chorus_in_the_sidebar_and_on_posts(client, alice, httpserver,
                                                                                        committed):  # fmt: skip
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(("1", "first"), ("2", "second"), title="Carol"), content_type=RSS)
    httpserver.expect_request("/favicon.ico").respond_with_data(PNG, content_type="image/png")
    with committed():
        source = subscribe(user=alice, address=httpserver.url_for("/feed.xml")).source
    client.force_login(alice)
    page = client.get("/").content.decode()
    picture = f'<img class="avatar" src="/sources/{source.pk}/avatar"'
    assert page.count(picture) == 3  # the sidebar's source and its two posts
    assert "favicon.ico" not in page and f"127.0.0.1:{httpserver.port}/favicon" not in page  # never hot-linked

    post = client.get("/api/v1/timeline").json()["items"][0]  # the shape live.js renders, and the stream sends
    assert post["source"]["avatar"] == f"/sources/{source.pk}/avatar"
    assert client.get(post["source"]["avatar"]).content == PNG
