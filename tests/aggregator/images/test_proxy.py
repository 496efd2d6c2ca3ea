"""The image proxy: posts' pictures are shown from Chorus' own origin through a signed address, fetched through
the one outbound guard, raster only, capped, cached; hostile images are refused with a clear status
(HOSTILE.md 1, 2, 8, 9, 19, 21) and nothing else on the page breaks."""

import base64
import re

import pytest
from werkzeug import Response

from aggregator.content.sanitize import shown_html
from aggregator.following.subscriptions import subscribe
from aggregator.images import ImageRefused, image_at, proxy_path

from tests.servers.feedservers import drip, gzip_bomb, response_head, send

pytestmark = pytest.mark.django_db

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
PROXIED = re.compile(r'(?:src|srcset)="(/images/[^" ]+)')


def feed_with(*contents: str) -> bytes:
    items = "".join(
        f"<item><guid>{n}</guid><title>post {n}</title><description><![CDATA[{html}]]></description>"
        f"<pubDate>Mon, 23 Nov 2026 10:{n:02d}:00 GMT</pubDate></item>"
        for n, html in enumerate(contents)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Pictures</title>{items}</channel></rss>'.encode()


@pytest.fixture
def timeline_with(client, alice, httpserver, committed):
    """``timeline_with(*post_html)`` -> alice's timeline page, once she follows a feed with those posts."""

    def make(*contents: str) -> str:
        httpserver.expect_request("/feed.xml").respond_with_data(feed_with(*contents), content_type="application/rss+xml")
        with committed():
            subscribe(user=alice, address=httpserver.url_for("/feed.xml"))
        client.force_login(alice)
        page = client.get("/")
        assert page.status_code == 200
        return page.content.decode()

    return make


def attributes(tag: str) -> dict[str, str]:
    return dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))


def image_requests(httpserver, path: str) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == path)


def test_a_posts_image_is_shown_through_the_proxy_and_cached(client, httpserver, timeline_with):
    httpserver.expect_request("/pic.png").respond_with_data(PNG, content_type="image/png")
    page = timeline_with(f'<p>look <img src="{httpserver.url_for("/pic.png")}" alt="a dot"></p>')
    assert httpserver.url_for("/pic.png") not in page  # the browser is never told the image's own address
    [address] = PROXIED.findall(page)
    [tag] = re.findall(r"<img [^>]*>", page.split('<div class="content">')[1])
    assert attributes(tag) == {"src": address, "alt": "a dot", "loading": "lazy", "decoding": "async"}
    for _ in range(2):
        response = client.get(address)
        assert response.status_code == 200 and response.content == PNG
        assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
        assert "max-age=2592000" in response["Cache-Control"] and "default-src 'none'" in response["Content-Security-Policy"]
    assert image_requests(httpserver, "/pic.png") == 1  # the second came from the cache


def test_anyone_with_the_address_gets_the_image_but_not_a_forged_one(client, httpserver):
    httpserver.expect_request("/pic.png").respond_with_data(PNG, content_type="image/png")
    address = proxy_path(httpserver.url_for("/pic.png"))
    assert client.get(address).content == PNG  # public profile pages show images to visitors too
    signature, encoded = address.split("/")[2:4]
    other = base64.urlsafe_b64encode(httpserver.url_for("/other.png").encode()).decode().rstrip("=")
    for forged in (f"/images/{signature}/{other}", f"/images/{'A' * len(signature)}/{encoded}", "/images/x/%%%"):
        response = client.get(forged)
        assert response.status_code == 403 and response["Content-Type"].startswith("text/plain")
    assert image_requests(httpserver, "/other.png") == 0  # not an open relay


def test_an_address_signed_with_a_retired_key_still_works(client, httpserver, settings):
    httpserver.expect_request("/pic.png").respond_with_data(PNG, content_type="image/png")
    address = proxy_path(httpserver.url_for("/pic.png"))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert client.get(address).content == PNG


@pytest.mark.parametrize(("body", "content_type", "status", "reason"), [
    (SVG, "image/svg+xml", 415, "not a raster image"),  # SVG can carry script: never served
    (b"<html><script>alert(1)</script></html>", "image/png", 415, "not a raster image"),  # HTML claiming to be PNG
    (b"", "image/png", 415, "not a raster image"),
])  # fmt: skip
def test_what_is_not_a_raster_image_is_refused(client, httpserver, body, content_type, status, reason):
    httpserver.expect_request("/evil").respond_with_data(body, content_type=content_type)
    response = client.get(proxy_path(httpserver.url_for("/evil")))
    assert response.status_code == status and reason in response.content.decode()
    assert response["Content-Type"] == "text/plain; charset=utf-8" and response["X-Content-Type-Options"] == "nosniff"


def test_a_50_mb_image_is_refused_without_being_read(client, httpserver, raw_server):
    fifty_mb = 50 * 1024 * 1024
    declared = raw_server(send(response_head(content_type="image/png", content_length=str(fifty_mb)), PNG))
    endless = raw_server(send(response_head(content_type="image/png"), PNG + bytes(6 * 1024 * 1024)))
    for server in (declared, endless):  # with and without Content-Length
        response = client.get(proxy_path(server.url("/huge.png")))
        assert response.status_code == 413 and "larger than" in response.content.decode()


def test_a_decompression_bomb_is_refused_at_the_decoded_cap(client, raw_server):
    bomb = gzip_bomb(64 * 1024 * 1024)  # 64 KiB of gzip, 64 MiB once decoded
    head = response_head(content_type="image/png", content_encoding="gzip", content_length=str(len(bomb)))
    server = raw_server(send(head, bomb))
    response = client.get(proxy_path(server.url("/bomb.png")))
    assert response.status_code == 413 and "larger than" in response.content.decode()


def test_a_slow_drip_is_cut_off_at_the_deadline(client, raw_server, settings):
    settings.CHORUS_IMAGE_DEADLINE = 1
    server = raw_server(drip(response_head(content_type="image/png", content_length="100000") + PNG, interval=0.2))
    response = client.get(proxy_path(server.url("/slow.png")))
    assert response.status_code == 404 and "timed out" in response.content.decode()


def test_private_addresses_are_refused_before_connecting(client, raw_server, settings):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    server = raw_server(send(response_head(content_type="image/png", content_length=str(len(PNG))), PNG))
    for url in (server.url("/pic.png"), f"http://localhost:{server.port}/pic.png", f"http://0x7f000001:{server.port}/"):
        response = client.get(proxy_path(url))
        assert response.status_code == 403 and "refused" in response.content.decode()
    assert server.connections == 0


def test_a_redirect_to_a_private_address_is_refused_at_the_hop(client, raw_server, internet, settings):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    public = raw_server(send(response_head("302 Found", location="http://intranet.example/secret.png", content_length="0")))
    internal = raw_server(send(response_head(content_type="image/png", content_length=str(len(PNG))), PNG))
    internet.host("images.example.com", "93.184.216.34", server=public)
    internet.host("intranet.example", "10.0.0.7", server=internal)
    response = client.get(proxy_path("http://images.example.com/pic.png"))
    assert response.status_code == 403 and "private address 10.0.0.7" in response.content.decode()
    assert len(public.requests) == 1 and internal.connections == 0


def test_a_refused_image_breaks_nothing_else_on_the_page(client, httpserver, timeline_with):
    httpserver.expect_request("/good.png").respond_with_data(PNG, content_type="image/png")
    httpserver.expect_request("/evil.svg").respond_with_data(SVG, content_type="image/svg+xml")
    page = timeline_with(f'<img src="{httpserver.url_for("/evil.svg")}">', f'<img src="{httpserver.url_for("/good.png")}">')
    assert page.count("<article") == 2
    statuses = sorted(client.get(address).status_code for address in PROXIED.findall(page))
    assert statuses == [200, 415]


def test_images_in_already_stored_posts_are_proxied_when_shown(client, alice, httpserver, timeline_with):
    from aggregator.models import (
        Post,  # a post stored before the proxy existed: its HTML names the remote image
    )

    timeline_with("<p>plain</p>")
    Post.objects.update(content_html=f'<p><img src="{httpserver.url_for("/old.png")}" width="10" height="10"></p>')
    page = client.get("/").content.decode()
    assert httpserver.url_for("/old.png") not in page
    assert proxy_path(httpserver.url_for("/old.png")) in page


def test_srcset_candidates_are_each_proxied_and_bad_ones_dropped():
    shown = shown_html('<img src="https://a.example/1.png" srcset="https://a.example/1.png 1x, '
                       'https://a.example/2.png 2x, javascript:alert(1) 3x, /relative.png 4x">')  # fmt: skip
    srcset = re.search(r'srcset="([^"]+)"', shown).group(1)
    assert srcset == f"{proxy_path('https://a.example/1.png')} 1x, {proxy_path('https://a.example/2.png')} 2x"
    assert "a.example" not in shown and "javascript" not in shown and "relative" not in shown


def test_pictures_that_cannot_be_proxied_are_dropped_and_media_waits_to_be_played():
    shown = shown_html('<img src="data:image/png;base64,AAAA"><img src="/accounts/logout/">'
                       '<video src="https://v.example/v.mp4" poster="https://v.example/p.jpg" controls></video>'
                       '<picture><source srcset="https://a.example/w.webp" type="image/webp"><img src="https://a.example/f.png"></picture>')  # fmt: skip
    assert "data:" not in shown and "logout" not in shown
    assert f'poster="{proxy_path("https://v.example/p.jpg")}"' in shown and 'preload="none"' in shown
    assert f'srcset="{proxy_path("https://a.example/w.webp")}"' in shown
    assert 'src="https://v.example/v.mp4"' in shown  # played only when the person presses play


def test_an_image_server_that_answers_an_error_is_a_clear_404(client, httpserver):
    httpserver.expect_request("/gone.png").respond_with_response(Response("gone", status=410))
    response = client.get(proxy_path(httpserver.url_for("/gone.png")))
    assert response.status_code == 404 and "HTTP 410" in response.content.decode()


def test_a_refused_image_is_not_asked_for_again_at_once(client, httpserver):
    httpserver.expect_request("/evil.svg").respond_with_data(SVG, content_type="image/svg+xml")
    address = proxy_path(httpserver.url_for("/evil.svg"))
    assert [client.get(address).status_code for _ in range(3)] == [415, 415, 415]
    assert image_requests(httpserver, "/evil.svg") == 1


def test_the_cache_answers_each_caller_within_its_own_cap(httpserver):
    big = PNG + bytes(600 * 1024)
    httpserver.expect_request("/big.png").respond_with_data(big, content_type="image/png")
    url = httpserver.url_for("/big.png")
    with pytest.raises(ImageRefused) as refused:
        image_at(url, max_bytes=512 * 1024)  # a source's picture: too large
    assert refused.value.status == 413
    assert image_at(url).body == big  # a post's picture may be larger: fetched again, then cached
    with pytest.raises(ImageRefused):
        image_at(url, max_bytes=512 * 1024)  # from the cache, still too large for this caller
    assert image_requests(httpserver, "/big.png") == 2
