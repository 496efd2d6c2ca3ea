"""What leaves the hub for a post or a mention is tried again after a failure that may pass, with back-off:
a Webmention check whose source is down, a Webmention send whose endpoint is down, an XMPP publication whose
server is unreachable. Each against a local peer that fails first and then works; the back-off's wait is
skipped by moving the row's due time to now (what the clock would do), then the periodic sweep runs it."""

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from publishing import outbox
from publishing.addresses import post_url, xmpp_node
from publishing.models import Microblog, ReceivedWebmention, SentWebmention, XmppPublication
from publishing.posting import post_create, post_delete
from publishing.tasks import sweep_outbox
from replies.models import Reply

from tests.publishing.test_webmention import h_entry
from tests.servers.outage_proxy import OutageProxy
from tests.servers.xmpp_clients import XmppPerson
from tests.servers.xmpp_server import DOMAIN, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


class FlakyPeer:
    """A local HTTP handler that answers ``failures`` times with ``status``, then ``then(request)``."""

    def __init__(self, httpserver, path: str, then, *, failures: int = 1, status: int = 503, method=None) -> None:
        self.failures, self.status, self.then, self.calls = failures, status, then, 0
        self.url = httpserver.url_for(path)
        httpserver.expect_request(path, **({"method": method} if method else {})).respond_with_handler(self)

    def __call__(self, request):
        self.calls += 1
        if self.calls <= self.failures:
            return Response("down for maintenance", status=self.status)
        return self.then(request)


def html(text: str):
    return lambda request: Response(text, content_type="text/html; charset=utf-8")


def backed_off(row, *, attempts: int) -> bool:
    """The row failed ``attempts`` times in a row and waits the back-off (about a minute, doubled since)."""
    row.refresh_from_db()
    wait = outbox.FIRST_RETRY * 2 ** (attempts - 1)
    return row.attempts == attempts and wait * 0.7 < row.due_at - timezone.now() < wait * 1.25


def time_passes(row) -> None:
    type(row).objects.filter(pk=row.pk).update(due_at=timezone.now())


@pytest.fixture
def hub(live_server, settings):
    settings.CHORUS_PUBLIC_URL = live_server.url.replace("localhost", "127.0.0.1")
    return settings.CHORUS_PUBLIC_URL


def test_a_check_of_a_new_mention_whose_source_is_down_is_tried_again_later(hub, alice, httpserver, client):
    target = post_create(user=alice, text="Who answers?").url
    source = FlakyPeer(httpserver, "/carol/1", html(h_entry(target)), failures=2)
    assert client.post("/webmention/", {"source": source.url, "target": target}).status_code == 202
    row = ReceivedWebmention.objects.get()
    assert row.state == "queued" and "503" in row.last_error and backed_off(row, attempts=1)
    time_passes(row)
    assert sweep_outbox() == 1
    assert row.state == "queued" and backed_off(row, attempts=2)  # the wait doubled
    time_passes(row)
    sweep_outbox()
    row.refresh_from_db()
    assert row.state == "verified" and row.attempts == 0 and row.due_at is None
    assert "Nice post!" in Reply.objects.get(user=alice).post.content_html


def test_a_mention_whose_source_refuses_is_not_tried_again(hub, alice, httpserver, client):
    target = post_create(user=alice, text="Who answers?").url
    source = FlakyPeer(httpserver, "/carol/2", html(h_entry(target)), failures=1, status=403)
    client.post("/webmention/", {"source": source.url, "target": target})
    row = ReceivedWebmention.objects.get()
    assert row.state == "refused" and row.due_at is None and "403" in row.last_error


def test_a_send_whose_endpoint_is_down_is_sent_again_later(hub, alice, httpserver):
    received = []
    endpoint = FlakyPeer(httpserver, "/wm", lambda request: received.append(request.form.to_dict()) or Response(
        "", status=202), method="POST")  # fmt: skip
    page = FlakyPeer(httpserver, "/dana/hello", html('<html><head><link rel="webmention" href="/wm"></head>'
                                                     '<body><p class="h-entry">Hello</p></body></html>'),
                     failures=0)  # fmt: skip
    post = post_create(user=alice, text="Welcome, Dana!", in_reply_to=page.url)
    sent = SentWebmention.objects.get(post=post)
    assert sent.status == 503 and received == [] and backed_off(sent, attempts=1)
    time_passes(sent)
    assert sweep_outbox() == 1
    sent.refresh_from_db()
    assert sent.status == 202 and sent.attempts == 0 and sent.due_at is None and sent.last_error == ""
    assert received == [{"source": post.url, "target": page.url}] and endpoint.calls == 2


def test_a_send_to_an_endpoint_that_refuses_is_not_sent_again(hub, alice, httpserver):
    FlakyPeer(httpserver, "/wm", lambda request: Response("", status=202), status=400, method="POST")
    page = FlakyPeer(httpserver, "/erin/hello", html('<link rel="webmention" href="/wm"><p>Hi</p>'), failures=0)
    sent = SentWebmention.objects.get(post=post_create(user=alice, text="Hi Erin", in_reply_to=page.url))
    assert sent.status == 400 and sent.due_at is None and sent.attempts == 0


@pytest.fixture
def xmpp_behind_proxy(prosody, settings, hub):
    """The hub's own XMPP account (a fresh one: its nodes are this test's) reached through a proxy that the
    test takes down and brings back."""
    proxy = OutageProxy(prosody.port).start()
    settings.CHORUS_XMPP_JID = prosody.register(f"hub-r-{secrets.token_hex(3)}", PASSWORD)
    settings.CHORUS_XMPP_PASSWORD, settings.CHORUS_XMPP_TLS = PASSWORD, False
    settings.CHORUS_XMPP_HOST, settings.CHORUS_XMPP_PORT = "127.0.0.1", proxy.port
    yield proxy
    proxy.stop()


def item_ids(person: XmppPerson, jid: str, node: str) -> list[str]:
    answer = person.call(lambda: person.client.plugin["xep_0060"].get_items(jid, node, timeout=10))
    return [item["id"] for item in answer["pubsub"]["items"]]


def test_an_xmpp_publication_and_retraction_that_fail_are_done_again_later(xmpp_behind_proxy, prosody, alice, settings):
    hub_jid, node = settings.CHORUS_XMPP_JID, xmpp_node("alice")
    first = post_create(user=alice, text="Published at last")  # the server is reachable: published at once
    xmpp_behind_proxy.stop()  # the XMPP server goes away
    post = post_create(user=alice, text="Published later")
    row = XmppPublication.objects.get(post=post)
    assert row.done_at is None and "cannot reach the XMPP server" in row.last_error and backed_off(row, attempts=1)

    with XmppPerson(jid=f"bob@{DOMAIN}", password=PASSWORD, port=prosody.port) as bob:
        bob.subscribe(hub_jid, node)
        xmpp_behind_proxy.start()  # back
        time_passes(row)
        assert sweep_outbox() == 1
        row.refresh_from_db()
        assert row.done_at is not None and row.due_at is None and row.attempts == 0
        assert post_url("alice", post.guid) in item_ids(bob, hub_jid, node)
        assert Microblog.objects.get(user=alice).xmpp_subscribers == 1  # bob, counted by the retry's session

        xmpp_behind_proxy.stop()
        post_delete(user=alice, post_id=first.pk)
        retraction = XmppPublication.objects.get(post=first)
        assert retraction.attempts == 1 and retraction.due_at > timezone.now() + timedelta(seconds=30)
        xmpp_behind_proxy.start()
        time_passes(retraction)
        sweep_outbox()
        assert item_ids(bob, hub_jid, node) == [post_url("alice", post.guid)]  # the retraction went out
