"""What the two-hub federation tests share: a hub's JSON API read over HTTP, a post written in the browser, an
answer and a deletion crossing between the hubs."""

import json
import urllib.request

from tests.servers.processes import wait_for


def api(hub, path: str) -> dict:
    with urllib.request.urlopen(hub.base + path, timeout=10) as response:
        return json.loads(response.read())


def post(page, base: str, text: str) -> None:
    """Write ``text`` in the compose box of ``page``'s timeline on the hub at ``base``."""
    page.goto(base + "/")
    page.fill("form.compose textarea", text)
    page.click("form.compose button[type=submit]")
    page.wait_for_url(base + "/")


def answer_reaches_alice(*, a, b, alice, bob, original: str, answer: str) -> None:
    """bob answers ``original`` from a new page on hub B (his timeline stays open, live); the answer reaches
    alice's Replies on hub A although she follows nobody."""
    answering = bob.context.new_page()
    answering.goto(b.base + "/")
    answering.locator(f"article.post:has-text('{original}') a.reply").click()
    answering.fill("form.compose textarea", answering.input_value("form.compose textarea") + answer)
    answering.click("form.compose button[type=submit]")
    answering.wait_for_selector(".messages:has-text('Posted.')")
    wait_for(lambda: a.sql("SELECT count(*) FROM replies_reply")[0][0] == 1, timeout=20, what="bob's reply on A")
    alice.goto(a.base + "/replies/")
    assert answer in alice.inner_text("main")
    assert a.sql("SELECT count(*) FROM aggregator_subscription")[0][0] == 0  # alice follows nobody


def deletion_reaches_bob(*, a, b, alice, bob, deleted: str, kept: str) -> None:
    """alice deletes ``deleted`` on her profile on hub A; it leaves bob's open timeline on hub B, ``kept`` stays."""
    alice.goto(a.base + "/people/alice/")
    alice.locator(f"article:has-text('{deleted}') button:text('Delete')").click()
    alice.wait_for_url(a.base + "/people/alice/")
    bob.wait_for_selector(f"article.post:has-text('{deleted}')", state="detached", timeout=15_000)
    assert b.sql("SELECT count(*) FROM timelines_timelineentry t JOIN aggregator_post p ON p.id = t.post_id "
                 "WHERE p.retracted_at IS NOT NULL")[0][0] == 0  # fmt: skip
    assert bob.locator(f"article.post:has-text('{kept}')").count() == 1  # the rest stays
