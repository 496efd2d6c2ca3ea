"""Every key of the reading flow in real Chromium, checked by what it did (the API, the page), not by waiting:
moving (j/k marks, n/p does not), opening (o/Enter, v), marking (m), starring (s), refreshing (r) in place,
going (g then a/u/s); the selected post always clear of the sticky top bar; the list's toggles in place."""

import pytest

from tests.browser import refresh_now, wait_for_js
from tests.timelines.river import POSTS, SIZES, api, post, read_state, reader, wait_until_read

SELECTED_CLEAR_OF_THE_BAR = """() => {
  const top = document.querySelector("article.post.selected").getBoundingClientRect().top;
  return top >= document.querySelector(".topbar").getBoundingClientRect().bottom;
}"""


def selected(page) -> str:
    return page.locator("article.post.selected h2").inner_text()


@pytest.mark.parametrize("size", SIZES)
def test_j_and_k_mark_what_they_leave_n_and_p_only_move_and_the_bar_never_covers_the_post(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    page.keyboard.press("n")
    page.keyboard.press("n")
    assert selected(page) == "post 11"
    page.keyboard.press("p")
    assert selected(page) == "post 12"
    page.keyboard.press("j")  # leaves 12: read
    page.keyboard.press("k")  # leaves 11: still unread
    assert selected(page) == "post 12"
    wait_until_read(page, "post 12")
    assert read_state(page)["post 11"] is False
    assert page.locator("article.post:not(.unread)").count() == 1
    for n in range(POSTS - 1, 0, -1):  # down the whole river with j: each post in sight below the bar
        page.keyboard.press("j")
        assert selected(page) == f"post {n}"
        assert page.evaluate(SELECTED_CLEAR_OF_THE_BAR), f"the top bar covers post {n}"
    page.keyboard.press("k")
    assert selected(page) == "post 2" and page.evaluate(SELECTED_CLEAR_OF_THE_BAR)
    assert page.evaluate("window.__samePage")


def test_o_and_enter_unfold_in_titles_only_and_open_the_original_otherwise(reader_hub, browser):
    base, _ = reader_hub
    context, page = reader(browser, base, "desktop")
    page.keyboard.press("j")
    with context.expect_page() as opened:
        page.keyboard.press("Enter")
    assert opened.value.url.endswith("/articles/12")
    wait_until_read(page, "post 12")
    page.click(".river-view button[data-pref=view]")
    page.wait_for_selector("section.river.titles")
    page.keyboard.press("n")
    assert selected(page) == "post 11" and not post(page, "post 11").locator(".content").is_visible()
    page.keyboard.press("o")  # unfolds in place, and reads it
    post(page, "post 11").locator(".content").wait_for(state="visible")
    wait_until_read(page, "post 11")
    page.keyboard.press("Enter")  # folds it again
    post(page, "post 11").locator(".content").wait_for(state="hidden")
    assert len(context.pages) == 2 and page.evaluate("window.__samePage")


def test_v_opens_the_original_and_marks_the_post_read(reader_hub, browser):
    base, _ = reader_hub
    context, page = reader(browser, base, "phone")
    page.keyboard.press("n")
    page.keyboard.press("n")
    with context.expect_page() as opened:
        page.keyboard.press("v")
    assert opened.value.url.endswith("/articles/11")
    wait_until_read(page, "post 11")
    assert read_state(page)["post 12"] is False  # n moved on without marking
    assert page.evaluate("window.__samePage")


@pytest.mark.parametrize("size", SIZES)
def test_m_marks_read_and_unread_and_s_stars_the_selected_post(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    page.keyboard.press("n")
    page.keyboard.press("n")
    scrolled = page.evaluate("window.scrollY")
    page.keyboard.press("m")
    page.wait_for_selector("article.post.selected:not(.unread) a.title:text-is('post 11')")
    wait_until_read(page, "post 11")
    page.keyboard.press("m")
    page.wait_for_selector("article.post.selected.unread a.title:text-is('post 11')")
    wait_until_read(page, "post 11", read=False)
    page.keyboard.press("s")
    page.wait_for_selector("article.post.selected button.star[aria-pressed=true]")
    wait_for_js(page, "document.querySelector('nav [data-count-starred]').textContent === '1'")  # the hub answered
    assert [item["title"] for item in api(page, "/api/v1/starred")["items"]] == ["post 11"]
    assert page.evaluate("window.__samePage") and page.evaluate("window.scrollY") == scrolled


@pytest.mark.parametrize("size", SIZES)
def test_r_inserts_what_is_new_and_keeps_the_selected_post_where_it_was(reader_hub, browser, httpserver, size):
    base, feed = reader_hub
    context, page = reader(browser, base, size)
    for _ in range(4):
        page.keyboard.press("n")
    assert selected(page) == "post 9"
    feed.add("13", "post 13", link=httpserver.url_for("/articles/13"))
    refresh_now(context, base)  # scrolled down, the live river only offers it
    page.wait_for_selector(".new-posts:visible")
    assert post(page, "post 13").count() == 0
    top = page.evaluate("document.querySelector('article.post.selected').getBoundingClientRect().top")
    page.keyboard.press("r")
    page.wait_for_selector(".toast:has-text('1 new post.')")
    assert page.locator("article.post h2").first.inner_text() == "post 13"
    assert selected(page) == "post 9"
    now = page.evaluate("document.querySelector('article.post.selected').getBoundingClientRect().top")
    assert abs(now - top) <= 1  # the place in the river is kept
    page.keyboard.press("r")
    page.wait_for_selector(".toast:has-text('Nothing new.')")
    assert page.locator("article.post").count() == POSTS + 1 and page.evaluate("window.__samePage")


def test_r_draws_a_list_that_is_not_live_anew_in_place(reader_hub, browser):
    base, _ = reader_hub
    _, page = reader(browser, base, "desktop")
    ids = {item["title"]: item["id"] for item in api(page, "/api/v1/timeline?limit=50")["items"]}
    api(page, "/api/v1/starred", "POST", {"post": ids["post 3"]})
    page.goto(base + "/starred/")
    page.evaluate("window.__samePage = true")
    api(page, "/api/v1/starred", "POST", {"post": ids["post 7"]})  # starred elsewhere: not on this page yet
    page.keyboard.press("j")
    page.keyboard.press("r")
    page.wait_for_selector(".toast:has-text('Refreshed.')")
    assert page.locator("article.post h2").all_inner_texts() == ["post 7", "post 3"]
    assert selected(page) == "post 3"  # still the reader's post
    assert page.evaluate("window.__samePage")


def test_g_then_a_u_or_s_goes_to_all_unread_or_starred(reader_hub, browser):
    base, _ = reader_hub
    _, page = reader(browser, base, "desktop")
    post(page, "post 12").locator("button.mark-read").click()
    wait_until_read(page, "post 12")
    page.keyboard.press("g")
    page.keyboard.press("u")
    page.wait_for_url(base + "/?unread=1")
    assert page.locator("article.post").count() == POSTS - 1
    page.keyboard.press("g")
    page.keyboard.press("a")
    page.wait_for_url(base + "/?unread=0")
    assert page.locator("article.post").count() == POSTS
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.wait_for_url(base + "/starred/")
    page.keyboard.press("s")  # without g first, s stars (nothing here): no navigation
    page.keyboard.press("a")
    assert page.url == base + "/starred/"


@pytest.mark.parametrize("size", SIZES)
def test_unread_only_changes_the_list_in_place_and_the_address_follows(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    post(page, "post 12").locator("button.mark-read").click()
    wait_until_read(page, "post 12")
    page.goto(base + "/?unread=1")
    page.evaluate("window.__samePage = true")
    assert page.locator("article.post").count() == POSTS - 1
    page.click(".river-view button[data-pref=unread_only][aria-pressed=true]")
    page.wait_for_selector("section.river:not([aria-busy]) .river-view button[data-pref=unread_only][aria-pressed=false]")
    assert page.locator("article.post").count() == POSTS and page.url == base + "/"
    assert api(page, "/api/v1/reading-prefs")["unread_only"] is False
    page.keyboard.press("j")  # the keys know the new posts
    assert selected(page) == "post 12"
    assert page.evaluate("window.__samePage")
