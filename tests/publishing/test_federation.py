"""Two Chorus hubs on loopback, each `manage.py serve` on its own database, holding a conversation with nothing
in between: alice posts on A, bob on B follows her by her profile address, her posts reach B by WebSub push
(B polls her feed once an hour at most), bob's answer reaches her Replies by Webmention though she follows
nobody, her deletion leaves bob's timeline."""

import pytest

from tests.browser import create_user, log_in
from tests.publishing.hubs import answer_reaches_alice, api, deletion_reaches_bob, post
from tests.servers.processes import free_port, wait_for


@pytest.fixture
def hubs(embedded_hub):
    """Hub A with alice, hub B with bob; each knows its own public address, B polls at most hourly."""
    port_a, port_b = free_port(), free_port()
    a = embedded_hub(seed=[create_user("alice")], port=port_a, CHORUS_PUBLIC_URL=f"http://127.0.0.1:{port_a}")
    b = embedded_hub(seed=[create_user("bob")], port=port_b, CHORUS_PUBLIC_URL=f"http://127.0.0.1:{port_b}",
                     CHORUS_POLL_MIN_SECONDS="3600")  # fmt: skip
    return a, b


def test_a_post_on_one_hub_reaches_a_follower_on_another_by_push_an_answer_comes_back_and_a_deletion_follows(hubs, browser):
    a, b = hubs
    _, alice = log_in(browser, a.base, username="alice")
    post(alice, a.base, "Hello from hub A")

    _, bob_follows = log_in(browser, b.base, username="bob", java_script_enabled=False)
    bob_follows.fill("form.follow input[name=address]", f"{a.base}/people/alice/")  # her profile, not her feed
    bob_follows.click("form.follow button[type=submit]")
    bob_follows.wait_for_url("**/?source=*", timeout=15_000)  # on the source's posts
    _, bob = log_in(browser, b.base, username="bob")
    bob.wait_for_selector("article.post:has-text('Hello from hub A')", timeout=15_000)  # the first poll

    # B subscribed at A's hub and A checked B's intent: from now on A pushes, and B will not poll for an hour
    wait_for(lambda: a.sql("SELECT count(*) FROM publishing_hubsubscription WHERE state = 'active'")[0][0] == 1,
             timeout=20, what="B's subscription at A's hub")  # fmt: skip
    assert b.sql("SELECT state FROM aggregator_websubsubscription")[0][0] == "active"
    polls_before = b.sql("SELECT last_fetch_at, next_poll_at FROM aggregator_source")[0]
    assert api(a, "/api/v1/people/alice")["followers_count"] == 1  # B's subscription counts once

    post(alice, a.base, "Pushed to hub B")
    bob.wait_for_selector("article.post:has-text('Pushed to hub B')", timeout=15_000)  # live, by push
    assert b.sql("SELECT last_fetch_at, next_poll_at FROM aggregator_source")[0] == polls_before  # no poll ran

    # bob answers on B; B tells A by Webmention, A checks bob's page and puts it in alice's Replies
    answer_reaches_alice(a=a, b=b, alice=alice, bob=bob, original="Hello from hub A", answer="Hello back from hub B")
    deletion_reaches_bob(a=a, b=b, alice=alice, bob=bob, deleted="Pushed to hub B", kept="Hello from hub A")
