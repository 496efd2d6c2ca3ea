"""Every page that lists posts acts in place, as the timeline does: reading, starring, muting with Undo, without
navigating and keeping the scroll position (the source's river, a tag's, search results, starred, track matches)."""

import pytest

from tests.browser import refresh_now, wait_for_js
from tests.timelines.river import POSTS, api, mute_and_undo, post, reader


def source_id(page) -> str:
    return page.locator(".sidebar a[href^='?source=']").first.get_attribute("href").removeprefix("?source=")


@pytest.mark.parametrize("view", ["source", "tag", "search", "starred"])
def test_every_river_reads_stars_and_mutes_in_place_and_keeps_its_place(reader_hub, browser, view):
    base, _ = reader_hub
    _, page = reader(browser, base, "phone")
    if view == "tag":
        subscription = api(page, "/api/v1/subscriptions")[0]["id"]
        api(page, f"/api/v1/subscriptions/{subscription}", "PATCH", {"tags": ["News"]})
    if view == "starred":
        for item in api(page, "/api/v1/timeline?limit=50")["items"]:
            api(page, "/api/v1/starred", "POST", {"post": item["id"]})
    address = {"source": f"/?source={source_id(page)}", "tag": "/?tag=News", "search": "/search/?q=is%3Aunread",
               "starred": "/starred/"}[view]  # fmt: skip
    page.goto(base + address)
    page.evaluate("window.__samePage = true")
    assert page.locator("article.post").count() == POSTS
    target = post(page, "post 5")
    target.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 40)")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    unread = "unread" in target.get_attribute("class")  # starred posts are shown read
    target.locator("button.mark-read").click()
    page.wait_for_selector(f"article.post{':not(.unread)' if unread else '.unread'} a.title:text-is('post 5')")
    target.locator("button.star").click()
    target.locator(f"button.star[aria-pressed={'false' if view == 'starred' else 'true'}]").wait_for()
    assert page.evaluate("window.scrollY") == scrolled
    mute_and_undo(page, target)
    assert page.evaluate("window.__samePage") and page.url == base + address


def test_track_matches_read_and_mute_in_place(reader_hub, browser, httpserver):
    base, feed = reader_hub
    context, page = reader(browser, base, "desktop")
    page.goto(base + "/tracks/")
    page.fill("input[name=query]", "fresh")
    page.click("button:text-is('Track')")
    page.wait_for_url("**/tracks/*/")
    feed.add("13", "fresh post 13", link=httpserver.url_for("/articles/13"))
    refresh_now(context, base)
    page.locator("[data-new-matches]").click()  # drawn anew in place, not reloaded
    match = page.locator("article.post", has_text="fresh post 13")
    match.wait_for()
    page.evaluate("window.__samePage = true")
    counts = "[...document.querySelectorAll('[data-count-track]:not([data-count-track=all]), [data-count-tracks]')]"
    say = lambda n: wait_for_js(page, f"{counts}.every((count) => count.textContent.trim() === '{n}')")  # noqa: E731
    say("1")
    # the counts leave with a muted match and come back with the Undo, as the server counts them (blocks applied)
    mute_and_undo(page, match, while_muted=lambda: say(""), after_undo=lambda: say("1"))
    match.locator("button.mark-read").click()
    page.wait_for_selector("article.post:not(.unread):has-text('fresh post 13')")
    say("")
    assert page.evaluate("window.__samePage")
