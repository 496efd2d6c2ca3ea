"""Replies and tracks in real headless Chromium against the embedded hub (`manage.py serve`): what arrives from a
feed alice does not follow shows up live on her pages, and the spam button takes it away until she undoes it."""

import pytest

from tests.browser import LiveFeed, create_user, follow, log_in, refresh_now, wait_for_js, wait_for_stream

HANDLE = "@alice@social.example"
CAROL = "https://carol.example/"


@pytest.fixture
def hub(embedded_hub, httpserver):
    """The embedded hub with alice (following nothing, ``HANDLE`` verified) and bob, who follows carol's live
    feed. Yields (base url, carol's feed)."""
    carol = LiveFeed()
    httpserver.expect_request("/carol.xml").respond_with_handler(carol)
    seed = [create_user("alice"), ("verify_identity", "alice", "fediverse", HANDLE),
            follow("bob", httpserver.url_for("/carol.xml"))]  # fmt: skip
    return embedded_hub(seed=seed).base, carol


def carol_posts(browser, base: str, feed: LiveFeed, guid: str, title: str) -> None:
    """Carol's feed gets a post and bob presses "Refresh now" on it: the hub polls it."""
    feed.add(guid, title, author_uri=CAROL)
    context, _ = log_in(browser, base, username="bob")
    refresh_now(context, base)


def test_a_mention_from_a_feed_alice_does_not_follow_is_offered_live_on_her_replies_page(hub, browser):
    base, carol = hub
    _, page = log_in(browser, base)
    page.goto(base + "/replies/")
    wait_for_stream(page)
    assert page.locator("[data-count-replies]").inner_text() == ""
    assert page.locator("[data-new-replies]").is_hidden()

    carol_posts(browser, base, carol, "2", f"{HANDLE} have you seen this?")
    page.wait_for_selector("[data-new-replies]:has-text('1 new reply: show it')", timeout=10_000)
    assert page.locator("[data-count-replies]").inner_text() == "1"
    assert page.locator("article.post").count() == 0  # offered, not inserted: the list drawn anew shows it

    page.evaluate("window.__samePage = true")  # gone if anything navigates
    page.click("[data-new-replies]")
    page.wait_for_selector("article.post.unread h2", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == [f"{HANDLE} have you seen this?"]
    assert page.locator("[data-count-replies]").inner_text() == "1"
    assert page.title() == "(1) Replies · Chorus"
    assert page.evaluate("window.__samePage")

    with page.expect_response("**/replies/read/"):  # read in place: the form, sent by chorus.js
        page.click("article.post button.mark-read")
    assert page.locator("article.post:not(.unread) button.mark-read").inner_text() == "Keep unread"
    wait_for_js(page, "[...document.querySelectorAll('[data-count-replies]')].every((c) => c.textContent === '')")
    assert page.title() == "Replies · Chorus" and page.evaluate("window.__samePage")  # counted again in place
    page.reload()  # the hub agrees
    assert page.locator("article.post.unread").count() == 0 and page.locator("[data-count-replies]").inner_text() == ""


def test_a_saved_track_counts_a_new_matching_post_live(hub, browser):
    base, carol = hub
    _, page = log_in(browser, base)
    page.goto(base + "/tracks/")
    page.fill("input[name=query]", "chorus")
    page.click("aside button:has-text('Track')")
    page.wait_for_url("**/tracks/*/", timeout=10_000)
    assert page.locator(".river h1").inner_text() == "chorus"
    wait_for_stream(page)
    track_count = page.locator(".sidebar li [data-count-track]")
    nav_count = page.locator("nav [data-count-tracks]")
    assert track_count.inner_text() == "" and nav_count.inner_text() == ""

    carol_posts(browser, base, carol, "2", "Reading everything in Chorus now")
    page.wait_for_selector("[data-new-matches]:has-text('1 new match: show')", timeout=10_000)
    assert track_count.inner_text() == "1"
    assert nav_count.inner_text() == "1"

    page.click("[data-new-matches]")
    page.wait_for_selector("article.post.unread h2", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == ["Reading everything in Chorus now"]
    assert track_count.inner_text() == "1" and nav_count.inner_text() == "1"


def test_blocking_the_author_from_a_reply_hides_it_until_the_block_is_undone(hub, browser):
    base, carol = hub
    _, page = log_in(browser, base)
    carol_posts(browser, base, carol, "2", f"{HANDLE} buy cheap followers")
    page.goto(base + "/replies/")
    reply = page.locator("article.post", has_text="buy cheap followers")
    reply.wait_for(timeout=10_000)

    reply.locator("summary:has-text('Block')").click()
    reply.locator(f"button:has-text('Block {CAROL}')").click()
    # in place: the reply leaves at once, and the Undo is offered once the hub has the block
    page.wait_for_selector(f".undo-bar:has-text('Blocked {CAROL}.') button:text-is('Undo')", timeout=10_000)
    assert page.locator("article.post:visible").count() == 0
    page.reload()
    assert page.locator("article.post").count() == 0
    assert page.locator("[data-count-replies]").inner_text() == ""

    page.goto(base + "/blocks/")
    page.locator("li", has_text=CAROL).locator("button:has-text('Undo')").click()
    page.wait_for_selector("li.hint:has-text('Nothing blocked.')", timeout=10_000)
    page.goto(base + "/replies/")
    assert page.locator("article.post h2").all_inner_texts() == [f"{HANDLE} buy cheap followers"]
