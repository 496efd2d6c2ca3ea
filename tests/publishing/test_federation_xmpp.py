"""Two Chorus hubs on loopback conversing over XMPP with the suite's Prosody: each `manage.py serve` on its own
database with its own XMPP account. Hub A publishes alice's posts on her node; bob on B follows the XMPP address
her profile shows, so her posts reach B by PubSub push (B fetches the node's history once an hour at most);
bob's answer reaches her Replies by Webmention though she follows nobody, B's subscription counts among her
followers, and her deletion (an XMPP retraction) leaves bob's timeline."""

import secrets

import pytest

from tests.browser import create_user, log_in
from tests.publishing.hubs import answer_reaches_alice, api, deletion_reaches_bob, post
from tests.servers.processes import free_port, wait_for
from tests.servers.xmpp_server import DOMAIN, PASSWORD


def xmpp_environment(prosody, account: str) -> dict[str, str]:
    """A hub's own XMPP account on the suite's Prosody: a fresh one per test, so no node keeps another
    test's items."""
    return {"CHORUS_XMPP_JID": prosody.register(account, PASSWORD), "CHORUS_XMPP_PASSWORD": PASSWORD,
            "CHORUS_XMPP_HOST": "127.0.0.1", "CHORUS_XMPP_PORT": str(prosody.port), "CHORUS_XMPP_TLS": "false"}  # fmt: skip


@pytest.fixture
def xmpp_hubs(embedded_hub, prosody):
    """Hub A with alice, hub B with bob, each with its own XMPP account; B polls and resyncs at most hourly."""
    port_a, port_b, suffix = free_port(), free_port(), secrets.token_hex(3)
    a = embedded_hub(seed=[create_user("alice")], port=port_a, CHORUS_PUBLIC_URL=f"http://127.0.0.1:{port_a}",
                     **xmpp_environment(prosody, f"hub-a-{suffix}"))  # fmt: skip
    b = embedded_hub(seed=[create_user("bob")], port=port_b, CHORUS_PUBLIC_URL=f"http://127.0.0.1:{port_b}",
                     CHORUS_POLL_MIN_SECONDS="3600", CHORUS_XMPP_RESYNC_SECONDS="3600",
                     **xmpp_environment(prosody, f"hub-b-{suffix}"))  # fmt: skip
    return a, b


def test_a_post_reaches_a_follower_on_another_hub_by_xmpp_push_an_answer_comes_back_and_a_retraction_follows(
        xmpp_hubs, browser):  # fmt: skip
    a, b = xmpp_hubs
    _, alice = log_in(browser, a.base, username="alice")
    post(alice, a.base, "Hello over XMPP")

    # her profile, read in a context of its own: both hubs are 127.0.0.1, and cookies do not tell ports apart
    profile = browser.new_context().new_page()
    profile.goto(f"{a.base}/people/alice/")
    address = profile.get_attribute("a.xmpp-address", "href")  # what her profile gives to XMPP readers
    assert address.startswith("xmpp:hub-a-") and f"@{DOMAIN}?;node=" in address
    _, bob_follows = log_in(browser, b.base, username="bob", java_script_enabled=False)
    bob_follows.fill("form.follow input[name=address]", address)
    bob_follows.click("form.follow button[type=submit]")
    bob_follows.wait_for_url("**/?source=*", timeout=15_000)  # on the source's posts
    # B's listener subscribes within its sync interval and stores the node's history: only then does bob open
    # his timeline. A live page of an empty river catches up on nothing when its socket opens (live.js has no
    # cursor to catch up from), so a post stored while it loaded would never show (NOTES.md).
    wait_for(lambda: b.sql("SELECT count(*) FROM aggregator_post WHERE content_html LIKE '%Hello over XMPP%'")
             == [(1,)], timeout=20, what="the node's history stored on B")  # fmt: skip
    _, bob = log_in(browser, b.base, username="bob")
    bob.wait_for_selector("article.post:has-text('Hello over XMPP')", timeout=15_000)  # the node's history
    wait_for(lambda: b.sql("SELECT push_state FROM aggregator_source")[0][0] == "subscribed", timeout=20,
             what="B's subscription to alice's node")  # fmt: skip
    syncs_before = b.sql("SELECT history_synced_at, next_poll_at FROM aggregator_source")[0]

    post(alice, a.base, "Pushed over XMPP")
    pushed = bob.wait_for_selector("article.post:has-text('Pushed over XMPP')", timeout=15_000)  # live, by push
    assert pushed.query_selector(".author").inner_text() == "alice"  # her name, though hub A's account published
    assert b.sql("SELECT history_synced_at, next_poll_at FROM aggregator_source")[0] == syncs_before  # no fetch ran
    wait_for(lambda: api(a, "/api/v1/people/alice")["followers_count"] == 1, timeout=20,
             what="B's XMPP subscription among alice's followers")  # fmt: skip
    assert a.sql("SELECT count(*) FROM publishing_hubsubscription")[0][0] == 0  # not by WebSub

    # bob answers on B; B tells A by Webmention, A checks bob's page and puts it in alice's Replies
    answer_reaches_alice(a=a, b=b, alice=alice, bob=bob, original="Hello over XMPP", answer="Hello back over HTTP")
    deletion_reaches_bob(a=a, b=b, alice=alice, bob=bob, deleted="Pushed over XMPP", kept="Hello over XMPP")


def test_a_hub_with_xmpp_that_follows_a_profile_gets_pushes_both_ways_and_stores_each_post_once(xmpp_hubs, browser):
    a, b = xmpp_hubs
    _, alice = log_in(browser, a.base, username="alice")
    post(alice, a.base, "Before the follow")
    _, bob_follows = log_in(browser, b.base, username="bob", java_script_enabled=False)
    bob_follows.fill("form.follow input[name=address]", f"{a.base}/people/alice/")  # her profile, as on hub A
    bob_follows.click("form.follow button[type=submit]")
    bob_follows.wait_for_url("**/?source=*", timeout=15_000)  # on the source's posts
    # her feed names her node: B subscribes to it by XMPP and to the feed at A's WebSub hub
    wait_for(lambda: b.sql("SELECT push_node, push_state FROM aggregator_source")[0] == (
        "urn:xmpp:microblog:0:alice", "subscribed"), timeout=30, what="B's XMPP subscription")  # fmt: skip
    wait_for(lambda: b.sql("SELECT state FROM aggregator_websubsubscription") == [("active",)], timeout=30,
             what="B's WebSub subscription")  # fmt: skip

    post(alice, a.base, "Pushed twice, stored once")
    wait_for(lambda: b.sql("SELECT last_push_at FROM aggregator_source")[0][0] is not None, timeout=20,
             what="the XMPP push")  # fmt: skip
    wait_for(lambda: b.sql("SELECT last_delivery_at FROM aggregator_websubsubscription")[0][0] is not None,
             timeout=20, what="the WebSub delivery")  # fmt: skip
    assert b.sql("SELECT count(*) FROM aggregator_post WHERE content_html LIKE '%Pushed twice, stored once%'") == [(1,)]
    assert api(a, "/api/v1/people/alice")["followers_count"] == 2  # B's callback and B's JID: one each
