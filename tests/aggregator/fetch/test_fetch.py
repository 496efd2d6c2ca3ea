"""The outbound HTTP helper against real local servers (internal addresses, redirects, schemes,
credentials, bombs, huge bodies, slow drips).

pytest-httpserver plays well-behaved servers; tests/servers/feedservers.py has raw-socket servers for drips, bombs and
endless bodies, and a FakeInternet that patches only DNS and routing, so "public" hosts can be local servers.
"""

import gzip
import os
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import certifi
import pytest
from werkzeug import Response

from aggregator import settings as project_settings
from aggregator.fetch import BlockedURL, FetchError, check_url, fetch, normalize_url

from tests.servers.feedservers import (
    drip,
    endless,
    gzip_bomb,
    localhost_tls,
    response_head,
    send,
    silent,
    slow_redirects,
    thinking,
)

RSS = b"<rss version='2.0'><channel><title>alice's notes</title></channel></rss>"
MIB = 1 << 20


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    """Test servers live on 127.0.0.1; the tests of the private-address guard turn this off again."""
    settings.CHORUS_FETCH_ALLOW_PRIVATE = True


@pytest.fixture
def tls(tmp_path):
    pytest.importorskip("cryptography")
    return localhost_tls(tmp_path)


@pytest.fixture
def trusted_tls(tls, monkeypatch):
    """The test certificate as the trust store: the only CA fetch() believes in for this test."""
    context, cert_path = tls
    monkeypatch.setattr(certifi, "where", lambda: cert_path)
    return context


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(1 << 30)


def redirect(location: str, status: int = 302) -> Response:
    return Response(status=status, headers={"Location": location})


def requests_to(httpserver, path: str):
    return [request for request, _ in httpserver.log if request.path == path]


# --- 1 and 10: private and internal addresses


LOOPBACK_SPELLINGS = [
    "127.0.0.1", "127.1", "0x7f000001", "2130706433", "017700000001", "0177.0.0.01", "0.0.0.0",
    "[::1]", "[::ffff:127.0.0.1]", "localhost", "LOCALHOST.", "alice.localhost",
]  # fmt: skip
INTERNAL_URLS = [
    "http://10.1.2.3/", "http://172.16.5.4/", "http://192.168.0.1/", "http://169.254.169.254/latest/",
    "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/", "http://255.255.255.255/",
    "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://[fe80::1]/", "http://[::]/",
    "http://[::ffff:10.0.0.1]/", "http://[::10.0.0.1]/", "http://[64:ff9b::169.254.169.254]/",
    "http://[2002:c0a8:101::]/", "https://10.0.0.1:8443/feed",
]  # fmt: skip


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_it_refuses_loopback_spellings_before_connecting(settings, raw_server, host):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    server = raw_server(send(response_head(content_length=str(len(RSS))), RSS))
    with pytest.raises(BlockedURL, match=r"^refused: .* is a private address$") as refused:
        fetch(f"http://{host}:{server.port}/feed.xml")
    assert refused.value.permanent
    assert server.connections == 0


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_it_refuses_internal_ranges_and_their_ipv6_forms(url):
    with pytest.raises(BlockedURL, match="is a private address"):
        check_url(url, allow_private=False)


def test_it_says_which_ipv4_address_an_ipv6_form_stands_for():
    with pytest.raises(BlockedURL, match=r"refused: ::ffff:7f00:1 \(127\.0\.0\.1\) is a private address"):
        check_url("http://[::ffff:127.0.0.1]/", allow_private=False)


def test_it_lets_public_addresses_through():
    check_url("http://93.184.216.34/feed", allow_private=False)
    check_url("https://[2606:4700:4700::1111]/feed", allow_private=False)


def test_it_refuses_a_name_that_resolves_to_a_private_address(settings, internet):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    # One private address among public ones is enough.
    internet.host("intranet.example", "93.184.216.34 10.0.0.7")
    with pytest.raises(BlockedURL, match="refused: intranet.example resolves to private address 10.0.0.7"):
        check_url("http://intranet.example/feed")


def test_private_addresses_are_allowed_only_by_the_setting(settings, httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(RSS)
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    with pytest.raises(BlockedURL):
        fetch(httpserver.url_for("/feed.xml"))
    settings.CHORUS_FETCH_ALLOW_PRIVATE = True
    assert fetch(httpserver.url_for("/feed.xml")).body == RSS
    with pytest.raises(BlockedURL):  # an explicit argument wins over the setting
        fetch(httpserver.url_for("/feed.xml"), allow_private=False)


@pytest.mark.skipif("CHORUS_FETCH_ALLOW_PRIVATE" in os.environ, reason="the environment sets it explicitly")
def test_private_addresses_are_refused_by_default():
    assert project_settings.CHORUS_FETCH_ALLOW_PRIVATE is False


# --- 2 and 3: redirect hops and DNS rebinding


def test_it_blocks_a_public_feed_that_redirects_to_an_internal_name(settings, raw_server, internet):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    public = raw_server(
        send(response_head("302 Found", location="http://intranet.example/admin", content_length="0"))
    )
    internal = raw_server(send(response_head(content_length="6"), b"secret"))
    internet.host("feeds.example.com", "93.184.216.34", server=public)
    internet.host("intranet.example", "10.0.0.7", server=internal)
    with pytest.raises(
        BlockedURL, match=r"^refused: intranet.example resolves to private address 10\.0\.0\.7$"
    ):
        fetch("http://feeds.example.com/feed.xml")
    assert b"Host: feeds.example.com" in public.requests[0]  # the first hop really went out
    assert internal.connections == 0  # refused at the hop, before connecting


def test_it_blocks_a_public_feed_that_redirects_to_the_metadata_address(settings, raw_server, internet):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    location = "http://169.254.169.254/latest/meta-data/"
    public = raw_server(send(response_head("301 Moved Permanently", location=location, content_length="0")))
    metadata = raw_server(send(response_head(content_length="6"), b"secret"))
    internet.host("feeds.example.com", "93.184.216.34", server=public)
    internet.routes[("169.254.169.254", 80)] = ("127.0.0.1", metadata.port)
    with pytest.raises(BlockedURL, match=r"^refused: 169\.254\.169\.254 is a private address$"):
        fetch("http://feeds.example.com/feed.xml")
    assert len(public.requests) == 1 and metadata.connections == 0


def test_it_checks_the_address_actually_connected_when_dns_rebinds(settings, raw_server, internet):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    internal = raw_server(send(response_head(content_length="6"), b"secret"))
    # Public for the check before connecting, private for the connect itself.
    internet.host("rebind.example", "93.184.216.34", "10.0.0.7", server=internal)
    with pytest.raises(
        BlockedURL, match=r"^refused: rebind.example connected to private address 10\.0\.0\.7$"
    ):
        fetch("http://rebind.example/feed.xml")
    assert internal.requests == []  # not one byte of the request was sent


def test_a_public_host_is_fetched_with_the_guard_on(settings, raw_server, internet):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    public = raw_server(send(response_head(content_length=str(len(RSS))), RSS))
    internet.host("feeds.example.com", "93.184.216.34", server=public)
    assert fetch("http://feeds.example.com/feed.xml").body == RSS


# --- 4: schemes and canonical URLs


OTHER_SCHEMES = [
    "file:///etc/passwd", "ftp://example.com/feed.xml", "gopher://example.com:70/1",
    "data:application/rss+xml,<rss/>", "javascript:alert(1)", "//example.com/feed", "example.com/feed",
    "feed:file:///etc/passwd",
]  # fmt: skip


@pytest.mark.parametrize("url", OTHER_SCHEMES)
def test_it_rejects_schemes_other_than_http_and_https(url):
    with pytest.raises(BlockedURL, match="only http and https"):
        normalize_url(url)
    with pytest.raises(BlockedURL):
        fetch(url)


def test_it_rejects_a_redirect_to_another_scheme(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_response(redirect("file:///etc/passwd"))
    with pytest.raises(BlockedURL, match="not file URLs"):
        fetch(httpserver.url_for("/feed.xml"))


def test_it_fetches_feed_urls_over_http(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(RSS)
    url = httpserver.url_for("/feed.xml")
    assert fetch(url.replace("http://", "feed://")).url == url
    assert fetch("feed:" + url).body == RSS


@pytest.mark.parametrize(("given", "canonical"), [
    ("  feed://Example.COM", "http://example.com/"),
    ("feed:https://example.com/feed", "https://example.com/feed"),
    ("HTTPS://Example.com:443/a b?q=é#top", "https://example.com/a%20b?q=%C3%A9"),
    ("http://example.com:8080", "http://example.com:8080/"),
    ("http://bücher.example/feed", "http://xn--bcher-kva.example/feed"),
    ("http://0x7f000001/", "http://127.0.0.1/"),
    ("http://[0:0:0:0:0:0:0:1]:80/", "http://[::1]/"),
])  # fmt: skip
def test_it_writes_urls_in_one_canonical_form(given, canonical):
    assert normalize_url(given) == canonical


@pytest.mark.parametrize(
    "url", ["http:///feed", "http://exa mple.com/", "http://example.com:99999/", "http://[::1/"]
)
def test_it_rejects_urls_without_a_usable_host(url):
    with pytest.raises(BlockedURL):
        normalize_url(url)


# --- 5 and 38: redirects


def test_it_stops_a_redirect_loop(httpserver):
    httpserver.expect_request("/a").respond_with_response(redirect("/b"))
    httpserver.expect_request("/b").respond_with_response(redirect(httpserver.url_for("/a")))
    with pytest.raises(FetchError, match="redirect loop") as error:
        fetch(httpserver.url_for("/a"))
    assert error.value.permanent


def test_it_follows_five_redirects_and_no_more(httpserver):
    for hop in range(1, 7):
        httpserver.expect_request(f"/r{hop}").respond_with_response(redirect(f"/r{hop + 1}"))
    httpserver.expect_request("/r7").respond_with_data(RSS)
    assert fetch(httpserver.url_for("/r2")).url == httpserver.url_for("/r7")  # five hops
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)") as error:
        fetch(httpserver.url_for("/r1"))  # six hops
    assert error.value.permanent


def test_a_chain_of_permanent_redirects_is_reported(httpserver):
    httpserver.expect_request("/old").respond_with_response(redirect("/older", 301))
    httpserver.expect_request("/older").respond_with_response(redirect("/new", 308))
    httpserver.expect_request("/new").respond_with_data(RSS)
    result = fetch(httpserver.url_for("/old"))
    assert result.url == result.permanent_redirect == httpserver.url_for("/new")


@pytest.mark.parametrize("statuses", [(302,), (301, 307), (307, 301)])
def test_a_temporary_hop_anywhere_makes_the_move_temporary(httpserver, statuses):
    for hop, status in enumerate(statuses):
        httpserver.expect_request(f"/{hop}").respond_with_response(redirect(f"/{hop + 1}", status))
    httpserver.expect_request(f"/{len(statuses)}").respond_with_data(RSS)
    result = fetch(httpserver.url_for("/0"))
    assert result.url == httpserver.url_for(f"/{len(statuses)}") and result.permanent_redirect is None


def test_no_redirect_means_no_move(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(RSS)
    assert fetch(httpserver.url_for("/feed.xml")).permanent_redirect is None


def test_a_303_after_a_post_becomes_a_get_and_a_307_keeps_the_post(httpserver):
    httpserver.expect_request("/hub", method="POST").respond_with_response(redirect("/see-other", 303))
    httpserver.expect_request("/see-other", method="GET").respond_with_data("ok")
    httpserver.expect_request("/moved", method="POST").respond_with_response(redirect("/hub2", 307))
    httpserver.expect_request("/hub2", method="POST", data=b"hub.mode=subscribe").respond_with_data(
        "accepted"
    )
    assert fetch(httpserver.url_for("/hub"), method="POST", data=b"hub.mode=subscribe").body == b"ok"
    assert fetch(httpserver.url_for("/moved"), method="POST", data=b"hub.mode=subscribe").body == b"accepted"


# --- 6: credentials


def test_it_never_sends_credentials_written_in_the_url(raw_server):
    server = raw_server(send(response_head(content_length="0")))
    with pytest.raises(BlockedURL, match="user name or password"):
        fetch(f"http://alice:correct-horse@127.0.0.1:{server.port}/feed.xml")
    assert server.connections == 0


def test_it_refuses_a_redirect_to_a_url_with_credentials(httpserver):
    target = httpserver.url_for("/landing").replace("http://", "http://alice:correct-horse@")
    httpserver.expect_request("/feed.xml").respond_with_response(redirect(target))
    with pytest.raises(BlockedURL, match="user name or password"):
        fetch(httpserver.url_for("/feed.xml"))
    assert requests_to(httpserver, "/landing") == []


def test_it_drops_credentials_on_a_redirect_to_another_host(httpserver):
    other_host = httpserver.url_for("/landing").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/elsewhere").respond_with_response(redirect(other_host))
    httpserver.expect_request("/same").respond_with_response(redirect("/landing"))
    httpserver.expect_request("/landing").respond_with_data(RSS)
    secrets = {"Authorization": "Bearer alice-token", "Cookie": "session=alice"}
    fetch(httpserver.url_for("/same"), headers=secrets)
    fetch(httpserver.url_for("/elsewhere"), headers=secrets)
    same_host, other = requests_to(httpserver, "/landing")
    assert same_host.headers["Authorization"] == "Bearer alice-token" and same_host.headers["Cookie"]
    assert "Authorization" not in other.headers and "Cookie" not in other.headers


# --- 7 and 8: decoding and size caps


def deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", gzip.compress(RSS, mtime=0)),
    ("x-gzip", gzip.compress(RSS, mtime=0)),
    ("deflate", zlib.compress(RSS)),
    ("deflate", deflate_raw(RSS)),  # what some servers send as "deflate"
    ("identity", RSS),
    ("gzip, gzip", gzip.compress(gzip.compress(RSS, mtime=0), mtime=0)),
    ("deflate, gzip", gzip.compress(zlib.compress(RSS), mtime=0)),
    ("gzip", gzip.compress(RSS[:20], mtime=0) + gzip.compress(RSS[20:], mtime=0)),  # two gzip members
])  # fmt: skip
def test_it_decodes_gzip_deflate_and_stacked_encodings(httpserver, encoding, body):
    httpserver.expect_request("/feed.xml").respond_with_data(body, headers={"Content-Encoding": encoding})
    result = fetch(httpserver.url_for("/feed.xml"))
    assert result.body == RSS
    assert requests_to(httpserver, "/feed.xml")[0].headers["Accept-Encoding"] == "gzip, deflate"


def test_it_rejects_an_encoding_it_did_not_ask_for(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(
        b"\x0b\x02\x80", headers={"Content-Encoding": "br"}
    )
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        fetch(httpserver.url_for("/feed.xml"))


def test_it_rejects_corrupt_gzip(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(
        b"\x1f\x8bnot gzip at all", headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(FetchError, match="invalid gzip data"):
        fetch(httpserver.url_for("/feed.xml"))


@pytest.mark.parametrize("stacked", [False, True])
def test_it_aborts_a_decompression_bomb_quickly_with_bounded_memory(raw_server, bomb, stacked):
    body, encoding = (gzip.compress(bomb), "gzip, gzip") if stacked else (bomb, "gzip")
    head = response_head(
        content_type="application/rss+xml", content_encoding=encoding, content_length=str(len(body))
    )
    server = raw_server(send(head, body))
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match=f"response larger than {2 * MIB} bytes") as error:
            fetch(server.url(), max_bytes=2 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 3
    assert peak < 12 * MIB  # the body is 1 GiB decoded
    assert error.value.permanent


def test_it_refuses_a_body_whose_content_length_is_over_the_cap(raw_server):
    server = raw_server(drip(response_head(content_length=str(10 * 1024 * MIB)), interval=0.2))
    started = time.monotonic()
    with pytest.raises(FetchError, match=f"response larger than {MIB} bytes"):
        fetch(server.url(), max_bytes=MIB, deadline=5)
    assert time.monotonic() - started < 1  # refused from the headers, without reading the body


@pytest.mark.parametrize("chunked", [False, True])
def test_it_caps_an_endless_body_without_content_length(raw_server, chunked):
    head = response_head(transfer_encoding="chunked") if chunked else response_head(connection="close")
    server = raw_server(endless(head, chunked=chunked))
    with pytest.raises(FetchError, match=f"response larger than {MIB} bytes"):
        fetch(server.url(), max_bytes=MIB, deadline=5)


def test_it_caps_the_raw_body_even_when_it_decodes_to_nothing(raw_server):
    empty_block = b"\x00\x00\x00\xff\xff"  # a deflate stored block of length 0
    assert zlib.decompressobj(-zlib.MAX_WBITS).decompress(empty_block * 3) == b""
    gzip_header = gzip.compress(b"")[:10]
    head = response_head(content_encoding="gzip", connection="close") + gzip_header
    server = raw_server(endless(head, block=empty_block * 20000))
    with pytest.raises(FetchError, match=f"response larger than {MIB} bytes"):
        fetch(server.url(), max_bytes=MIB, deadline=5)


def test_the_body_cap_comes_from_settings_and_a_body_at_the_cap_is_fine(settings, httpserver):
    settings.CHORUS_FETCH_MAX_BYTES = len(RSS)
    httpserver.expect_request("/fits.xml").respond_with_data(RSS)
    httpserver.expect_request("/big.xml").respond_with_data(
        gzip.compress(RSS + b" "), headers={"Content-Encoding": "gzip"}
    )
    assert fetch(httpserver.url_for("/fits.xml")).body == RSS
    with pytest.raises(FetchError, match=f"response larger than {len(RSS)} bytes"):
        fetch(httpserver.url_for("/big.xml"))


# --- 9: one deadline for the whole fetch


@pytest.mark.parametrize("prefix", [
    response_head(content_type="application/rss+xml", connection="close"),  # a body of one byte at a time
    b"HTTP/1.1 200 OK\r\nX-Slow: ",  # headers that never end
])  # fmt: skip
def test_it_stops_a_slow_drip_at_the_overall_deadline(raw_server, prefix):
    # Every read succeeds in time: only an overall deadline stops this.
    server = raw_server(drip(prefix, interval=0.25))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"^timed out after 1\.\ds$") as error:
        fetch(server.url(), deadline=1.5)
    assert 1.4 < time.monotonic() - started < 2.5
    assert not error.value.permanent


def test_it_stops_a_slow_drip_over_tls_at_the_overall_deadline(raw_server, trusted_tls):
    server = raw_server(drip(response_head(connection="close"), interval=0.25), tls=trusted_tls)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"^timed out after 1\.\ds$"):
        fetch(server.url(host="localhost"), deadline=1.5)
    assert time.monotonic() - started < 2.5


def test_the_deadline_comes_from_settings_and_covers_a_silent_server(settings, raw_server):
    settings.CHORUS_FETCH_DEADLINE = 1.0
    server = raw_server(silent())
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(server.url())
    assert time.monotonic() - started < 2


def test_a_server_slower_than_the_connect_timeout_answers_within_the_deadline(settings, raw_server):
    # A feed that thinks for 12 s under the documented 30 s deadline, scaled down: only the deadline limits a
    # wait for the answer, never a shorter per-operation timeout.
    settings.CHORUS_FETCH_DEADLINE, settings.CHORUS_FETCH_CONNECT_TIMEOUT = 3.0, 1.0
    server = raw_server(thinking(2.0, response_head(content_type="application/rss+xml", connection="close"), RSS))
    started = time.monotonic()
    result = fetch(server.url())
    assert result.body == RSS and 2.0 <= time.monotonic() - started < 3.0


def test_the_deadline_covers_the_whole_redirect_chain(raw_server):
    server = raw_server(slow_redirects(delay=0.4))  # each hop is quick enough; five of them are not
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(server.url("/hop/1"), deadline=1.5)
    assert time.monotonic() - started < 2.5


# --- Statuses, conditional GET, headers, transport errors


def test_it_makes_a_conditional_get_and_reports_not_modified(httpserver):
    since = "Tue, 24 Nov 2026 10:00:00 GMT"
    httpserver.expect_request("/feed.xml", headers={"If-None-Match": '"v1"', "If-Modified-Since": since}
                              ).respond_with_data("", status=304, headers={"ETag": '"v1"'})  # fmt: skip
    result = fetch(httpserver.url_for("/feed.xml"), etag='"v1"', last_modified=since)
    assert result.not_modified and result.status == 304 and result.body == b""
    assert result.headers["etag"] == '"v1"'


def test_a_fresh_response_carries_lower_case_headers(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(
        RSS, headers={"ETag": '"v2"', "Cache-Control": "max-age=60"}
    )
    result = fetch(httpserver.url_for("/feed.xml"))
    assert not result.not_modified and result.status == 200
    assert result.headers["etag"] == '"v2"' and result.headers["cache-control"] == "max-age=60"


def test_gone_is_permanent(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data("", status=410)
    with pytest.raises(FetchError, match="^HTTP 410 Gone$") as error:
        fetch(httpserver.url_for("/feed.xml"))
    assert error.value.status == 410 and error.value.permanent


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405])
def test_client_errors_are_permanent(httpserver, status):
    httpserver.expect_request("/feed.xml").respond_with_data("", status=status)
    with pytest.raises(FetchError, match=f"^HTTP {status} ") as error:
        fetch(httpserver.url_for("/feed.xml"))
    assert error.value.permanent and error.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_transient(httpserver, status):
    httpserver.expect_request("/feed.xml").respond_with_data("", status=status)
    with pytest.raises(FetchError) as error:
        fetch(httpserver.url_for("/feed.xml"))
    assert error.value.status == status and not error.value.permanent


def test_too_many_requests_carries_retry_after_in_seconds(httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data("", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError, match="^HTTP 429 Too Many Requests$") as error:
        fetch(httpserver.url_for("/feed.xml"))
    assert error.value.retry_after == 120 and not error.value.permanent


def test_an_error_status_carries_its_response_headers(httpserver):
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1900000000"}
    httpserver.expect_request("/2/users/1/tweets").respond_with_data("{}", status=429, headers=headers)
    with pytest.raises(FetchError) as error:
        fetch(httpserver.url_for("/2/users/1/tweets"))
    assert error.value.headers["x-rate-limit-reset"] == "1900000000" and error.value.status == 429


def test_unavailable_carries_retry_after_given_as_a_date(httpserver):
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    httpserver.expect_request("/feed.xml").respond_with_data("", status=503, headers={"Retry-After": later})
    with pytest.raises(FetchError) as error:
        fetch(httpserver.url_for("/feed.xml"))
    assert 590 <= error.value.retry_after <= 600 and not error.value.permanent


def test_it_sends_the_configured_user_agent_and_the_callers_headers(settings, httpserver):
    settings.CHORUS_USER_AGENT = "Chorus-test/1.0 (+https://chorus.example)"
    httpserver.expect_request("/feed.xml").respond_with_data(RSS)
    fetch(httpserver.url_for("/feed.xml"))
    fetch(httpserver.url_for("/feed.xml"), accept="image/*", headers={"user-agent": "Chorus-favicons"})
    default, custom = requests_to(httpserver, "/feed.xml")
    assert default.headers["User-Agent"] == "Chorus-test/1.0 (+https://chorus.example)"
    assert "application/rss+xml" in default.headers["Accept"]
    assert custom.headers["User-Agent"] == "Chorus-favicons" and custom.headers["Accept"] == "image/*"


def test_it_verifies_tls_certificates(raw_server, tls):
    context, _ = tls
    server = raw_server(send(response_head(content_length=str(len(RSS))), RSS), tls=context)
    with pytest.raises(FetchError, match="^TLS certificate verification failed$") as error:
        fetch(server.url(host="localhost"))
    assert not error.value.permanent


def test_it_fetches_over_tls_from_a_trusted_server(raw_server, trusted_tls):
    server = raw_server(send(response_head(content_length=str(len(RSS))), RSS), tls=trusted_tls)
    assert fetch(server.url(host="localhost")).body == RSS


def test_a_refused_connection_is_transient(raw_server):
    server = raw_server(silent())
    port = server.port
    server.close()
    time.sleep(0.1)
    with pytest.raises(FetchError, match="could not connect to 127.0.0.1: connection refused") as error:
        fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert not error.value.permanent and not isinstance(error.value, BlockedURL)


@pytest.mark.parametrize("allow_private", [True, False])
def test_an_unknown_host_is_transient(internet, allow_private):
    internet.dns["gone.example"] = []
    with pytest.raises(FetchError, match="^could not resolve gone.example$") as error:
        fetch("http://gone.example/feed.xml", allow_private=allow_private)
    assert not error.value.permanent
