"""Search and stars in real Chromium against the embedded hub: "/" focuses the box, results mark the words,
stars toggle in place (button and "s") and, without JavaScript, through the form."""

import pytest

from tests.browser import LiveFeed, follow, log_in
from tests.timelines.river import wait_until_starred


@pytest.fixture
def hub(embedded_hub, httpserver):
    feed = LiveFeed()
    feed.add("2", "Orchids in bloom")
    # a feed path of its own: seeded databases are made once per seed and shared (tests/browser.py)
    httpserver.expect_request("/history.xml").respond_with_handler(feed)
    return embedded_hub(seed=[follow("alice", httpserver.url_for("/history.xml"))]).base


def test_slash_searches_and_a_star_toggles_in_place(hub, browser):
    context, page = log_in(browser, hub)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"
    page.keyboard.type("orchid bloom")  # no stems for a feed without a language: "orchid" is not "orchids"
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=orchid+bloom")
    assert page.locator("text=Nothing you can see matches that.").is_visible()
    page.fill("input[name=q]", '"in bloom"')
    page.keyboard.press("Enter")
    page.wait_for_selector("article.post mark")
    assert page.locator("article.post mark").all_inner_texts() == ["in", "bloom", "in", "bloom"]  # title, text
    page.click("article.post button.star")
    page.wait_for_selector("article.post button.star[aria-pressed=true]")
    assert page.url.endswith("/search/?q=%22in+bloom%22")  # no reload
    assert page.locator("nav [data-count-starred]").inner_text() == "1"
    wait_until_starred(page, ["Orchids in bloom"])  # the star is written before the page is left
    page.goto(hub + "/")
    page.keyboard.press("j")
    page.keyboard.press("s")
    page.wait_for_selector("article.post.selected button.star[aria-pressed=false]")
    assert page.locator("nav [data-count-starred]").inner_text() == ""
    wait_until_starred(page, [])


def test_the_star_is_a_form_without_javascript(hub, browser):
    context, page = log_in(browser, hub, java_script_enabled=False)
    page.locator("article.post", has_text="Orchids").locator("button.star").click()
    page.wait_for_load_state()
    assert page.locator("article.post", has_text="Orchids").locator("button.star").inner_text() == "★ Starred"
    page.goto(hub + "/starred/")
    assert page.locator("h1").inner_text() == "Starred 1"
    assert page.locator("article.post h2").all_inner_texts() == ["Orchids in bloom"]
