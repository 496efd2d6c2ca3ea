"""Webmention (W3C) both ways against independent implementations: ronkyuu (PyPI) sends to Chorus' endpoint,
Bussator (PyPI, a WSGI receiver on loopback) receives what Chorus sends; and the endpoint's refusals, updates,
deletions, blocks and rate limit."""

import configparser
import io
from datetime import timedelta

import pytest
import ronkyuu
from bussator.application import App
from django.utils import timezone
from werkzeug import Response

from aggregator.models import Post
from publishing.models import ReceivedWebmention, SentWebmention
from publishing.posting import post_create, post_delete
from publishing.tasks import sweep_outbox
from replies.models import Reply
from replies.selectors import replies_for
from timelines.blocks import block_create

from tests.servers.feedservers import response_head, send

pytestmark = pytest.mark.django_db(transaction=True)


def h_entry(target: str, text: str = "Nice post!", *, link: bool = True) -> str:
    answer = f'<a class="u-in-reply-to" href="{target}">in reply to</a>' if link else ""
    return ('<!doctype html><html><body><article class="h-entry">'
            '<a class="p-author h-card" href="https://carol.example/">Carol</a>'
            f'<div class="e-content">{text}</div>{answer}'
            '<time class="dt-published" datetime="2026-11-20T10:00:00+00:00">then</time></article></body></html>')  # fmt: skip


@pytest.fixture
def hub(live_server, settings):
    settings.CHORUS_PUBLIC_URL = live_server.url.replace("localhost", "127.0.0.1")  # handles want an address
    return settings.CHORUS_PUBLIC_URL


@pytest.fixture
def alice_post(hub, alice):
    return post_create(user=alice, text="Webmentions, anyone?")


def html_server(raw_server, html: str):
    """A server on 127.0.0.1 that answers every request with ``html`` and counts the connections it gets."""
    body = html.encode()
    return raw_server(send(response_head(content_type="text/html; charset=utf-8", content_length=str(len(body))), body))


class Page:
    """A page on the local server whose HTML the test changes (``None``: answer 410 Gone)."""

    def __init__(self, httpserver, path: str, html: str) -> None:
        self.html, self.url = html, httpserver.url_for(path)
        httpserver.expect_request(path).respond_with_handler(self)

    def __call__(self, request):
        if self.html is None:
            return Response("gone", status=410)
        return Response(self.html, content_type="text/html; charset=utf-8")


def test_an_independent_sender_s_reply_reaches_the_author_s_replies_though_she_follows_nobody(alice_post, alice,
                                                                                            httpserver, hub):  # fmt: skip
    source = Page(httpserver, "/carol/1", h_entry(alice_post.url))
    answer = ronkyuu.sendWebmention(source.url, alice_post.url, test_urls=False)
    assert answer.status_code == 202
    row = ReceivedWebmention.objects.get(source=source.url)
    assert row.state == "verified" and row.user == alice
    reply = Reply.objects.get(user=alice)
    assert "Nice post!" in reply.post.content_html and reply.post.author_name == "Carol"
    assert reply.post.in_reply_to == alice_post.url


def test_the_post_and_profile_pages_advertise_the_endpoint(alice_post, client, hub):
    for url in (alice_post.url, f"{hub}/people/alice/"):
        response = client.get(url.removeprefix(hub))
        assert response["Link"] == f'<{hub}/webmention/>; rel="webmention"'
        assert f'<link rel="webmention" href="{hub}/webmention/">' in response.content.decode()


def test_an_update_changes_the_reply_and_a_gone_or_unlinked_source_removes_it(alice_post, alice, httpserver, client):
    source = Page(httpserver, "/carol/2", h_entry(alice_post.url))
    form = {"source": source.url, "target": alice_post.url}
    assert client.post("/webmention/", form).status_code == 202
    source.html = h_entry(alice_post.url, "Nice post, edited").replace("2026-11-20T10", "2026-11-21T10")
    client.post("/webmention/", form)
    post = Reply.objects.get(user=alice).post
    assert "edited" in post.content_html
    source.html = h_entry(alice_post.url, link=False).replace(alice_post.url, "https://elsewhere.example/")
    client.post("/webmention/", form)
    post.refresh_from_db()
    assert post.retracted_at is not None and ReceivedWebmention.objects.get().state == "deleted"
    assert not list(replies_for(user=alice).replies)


def test_a_source_that_is_gone_is_removed(alice_post, alice, httpserver, client):
    source = Page(httpserver, "/carol/3", h_entry(alice_post.url))
    form = {"source": source.url, "target": alice_post.url}
    client.post("/webmention/", form)
    source.html = None
    client.post("/webmention/", form)
    assert Post.objects.get(guid=source.url).retracted_at is not None


def test_a_source_that_does_not_link_stores_nothing(alice_post, httpserver, client):
    source = Page(httpserver, "/spam", "<p>buy now, no link here</p>")
    assert client.post("/webmention/", {"source": source.url, "target": alice_post.url}).status_code == 202
    assert ReceivedWebmention.objects.get().state == "refused" and not Reply.objects.exists()


@pytest.mark.parametrize(("form", "reason"), [
    ({"source": "ftp://x.example/", "target": "x"}, "must both be http(s) URLs"),
    ({"source": "https://x.example/a", "target": "https://elsewhere.example/people/alice/"}, "not a person's page"),
    ({"source": "https://x.example/a", "target": "{hub}/people/nobody/"}, "not a person's page"),
])  # fmt: skip
def test_the_endpoint_refuses_what_it_cannot_take_with_a_reason(alice_post, client, hub, form, reason):
    form = {key: value.format(hub=hub) for key, value in form.items()}
    response = client.post("/webmention/", form)
    assert response.status_code == 400 and reason in response.content.decode()


def test_a_source_on_a_private_address_is_never_contacted_and_the_refusal_says_why(alice_post, alice, client,
                                                                                  raw_server, settings):  # fmt: skip
    source = html_server(raw_server, h_entry(alice_post.url))  # a page that would be taken, were it fetched
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    response = client.post("/webmention/", {"source": source.url("/carol/7"), "target": alice_post.url})
    assert response.status_code == 202  # taken for checking; the check goes through the outbound guard
    assert source.connections == 0
    row = ReceivedWebmention.objects.get(source=source.url("/carol/7"))
    assert row.state == "refused" and row.last_error == "refused: 127.0.0.1 is a private address"
    assert row.due_at is None  # not checked again: a refused address would only be refused again
    assert not Reply.objects.filter(user=alice).exists()


def test_webmentions_are_rate_limited_per_source_host(alice_post, client, settings, httpserver):
    settings.CHORUS_WEBMENTION_PER_HOST_PER_MINUTE = 2
    source = Page(httpserver, "/carol/4", h_entry(alice_post.url))
    answers = [client.post("/webmention/", {"source": source.url, "target": alice_post.url}).status_code
               for _ in range(3)]  # fmt: skip
    assert answers == [202, 202, 429]


def test_blocks_apply_to_webmention_replies(alice_post, alice, httpserver, client):
    block_create(user=alice, kind="author", value="https://carol.example/")
    source = Page(httpserver, "/carol/5", h_entry(alice_post.url))
    client.post("/webmention/", {"source": source.url, "target": alice_post.url})
    assert ReceivedWebmention.objects.get().state == "verified"
    assert not list(replies_for(user=alice).replies)


def bussator(app: App, request) -> Response:
    """Hand the request to Bussator as a WSGI server would (the test server already read the body)."""
    body = request.get_data()
    environ = {**request.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    return Response.from_app(app, environ)


def test_a_reply_to_a_remote_page_is_sent_to_an_independent_receiver_and_its_deletion_too(hub, alice, httpserver,
                                                                                        tmp_path):  # fmt: skip
    config = tmp_path / "bussator.ini"
    parser = configparser.ConfigParser(default_section="General")
    parser["General"] = {"enabled_plugins": "dummy"}
    with config.open("w") as file:
        parser.write(file)
    receiver = App(str(config))
    httpserver.expect_request("/wm", method="POST").respond_with_handler(lambda request: bussator(receiver, request))
    target = Page(httpserver, "/dana/hello", '<html><head><link rel="webmention" href="/wm"></head>'
                                             '<body><p class="h-entry">Hello</p></body></html>')  # fmt: skip
    post = post_create(user=alice, text="Welcome, Dana!", in_reply_to=target.url)
    sent = SentWebmention.objects.get(post=post)
    assert sent.status == 202 and sent.endpoint == httpserver.url_for("/wm")
    [call] = receiver.active_plugins[0].process_webmention_calls
    assert call["source"] == post.url and call["target"] == target.url
    assert call["post_data"]["author_name"] == "alice" and "Welcome, Dana!" in call["post_data"]["post_content_text"]
    post_delete(user=alice, post_id=post.pk)
    requests = [r for r, _ in httpserver.log if r.path == "/wm"]
    assert len(requests) == 2  # the deletion was announced to the same endpoint


def test_a_post_naming_private_addresses_sends_them_nothing_and_records_why(hub, alice, raw_server, internet,
                                                                          settings):  # fmt: skip
    endpoint_page = '<html><head><link rel="webmention" href="/wm"></head><body><p class="h-entry">Hi</p></body></html>'
    intranet, loopback = html_server(raw_server, endpoint_page), html_server(raw_server, endpoint_page)
    internet.routes[("10.0.0.1", 80)] = ("127.0.0.1", intranet.port)  # what 10.0.0.1 would reach, were it asked
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    post = post_create(user=alice, text=f"Compare {loopback.url('/dana/2')}", in_reply_to="http://10.0.0.1/post")
    sent = {row.target: row for row in SentWebmention.objects.filter(post=post)}
    assert sent.keys() == {"http://10.0.0.1/post", loopback.url("/dana/2")}
    assert intranet.connections == 0 and loopback.connections == 0
    assert sent["http://10.0.0.1/post"].last_error == "refused: 10.0.0.1 is a private address"
    assert sent[loopback.url("/dana/2")].last_error == "refused: 127.0.0.1 is a private address"
    assert all(row.status is None and row.sent_at and row.due_at is None for row in sent.values())  # not retried


def test_a_public_page_naming_an_endpoint_on_a_private_address_gets_no_webmention(hub, alice, raw_server, internet,
                                                                                 settings):  # fmt: skip
    dana = html_server(raw_server, '<html><head><link rel="webmention" href="http://10.0.0.2/wm"></head>'
                                   '<body><p class="h-entry">Hello</p></body></html>')  # fmt: skip
    intranet = html_server(raw_server, "<p>thanks</p>")
    internet.host("dana.example", "93.184.216.34", server=dana)
    internet.routes[("10.0.0.2", 80)] = ("127.0.0.1", intranet.port)
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    post = post_create(user=alice, text="Welcome, Dana!", in_reply_to="http://dana.example/hello")
    sent = SentWebmention.objects.get(post=post)
    assert len(dana.requests) == 1 and intranet.connections == 0  # her page was read, the endpoint never asked
    assert sent.endpoint == "http://10.0.0.2/wm" and sent.status is None
    assert sent.last_error == "refused: 10.0.0.2 is a private address" and sent.due_at is None


def test_a_check_whose_message_was_lost_is_run_by_the_sweep_and_a_running_one_is_not(alice_post, alice, httpserver):
    source = Page(httpserver, "/carol/6", h_entry(alice_post.url))
    lost = ReceivedWebmention.objects.create(source=source.url, target=alice_post.url, source_host="127.0.0.1",
                                             user=alice, due_at=timezone.now() - timedelta(minutes=1))  # fmt: skip
    running = ReceivedWebmention.objects.create(source=source.url + "?b", target=alice_post.url, user=alice,
                                                source_host="127.0.0.1", due_at=timezone.now() + timedelta(minutes=4))  # fmt: skip
    assert sweep_outbox() == 1
    lost.refresh_from_db()
    running.refresh_from_db()
    assert lost.state == "verified" and lost.due_at is None and Reply.objects.filter(user=alice).count() == 1
    assert running.state == "queued"
