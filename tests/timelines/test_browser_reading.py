"""The reading flow in real Chromium, at desktop and phone sizes: actions happen in place (no navigation, the
river keeps its place) and the API agrees; the keyboard (j marks the post left behind read, ? shows the help);
the view, order and unread-only are remembered; a live post is drawn by the server's own fragment."""

import json

import pytest

from tests.browser import log_in, refresh_now, wait_for_js
from tests.timelines.river import POSTS, SIZES, api, mute_and_undo, post, read_state, reader, wait_until_read


@pytest.mark.parametrize("size", SIZES)
def test_read_and_star_happen_in_place_and_keep_the_place_in_the_river(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    target = post(page, "post 5")
    target.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 40)")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0
    target.locator("button.mark-read").click()
    page.wait_for_selector("article.post:not(.unread) a.title:text-is('post 5')")
    target.locator("button.star").click()
    target.locator("button.star[aria-pressed=true]").wait_for()
    wait_until_read(page, "post 5")
    assert [item["title"] for item in api(page, "/api/v1/starred")["items"]] == ["post 5"]
    assert page.evaluate("window.__samePage") and page.evaluate("window.scrollY") == scrolled
    target.locator("button.mark-read:text-is('Keep unread')").click()
    page.wait_for_selector("article.post.unread a.title:text-is('post 5')")
    wait_until_read(page, "post 5", read=False)
    assert page.evaluate("window.__samePage") and page.evaluate("window.scrollY") == scrolled


@pytest.mark.parametrize("size", SIZES)
def test_muting_a_source_says_muted_and_undo_brings_its_posts_back(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    page.click(".river-view button[data-pref=view]")  # titles only: folded rows must hide too
    page.wait_for_selector("section.river.titles")
    target = post(page, "post 9")
    target.locator("a.title").click()  # unfolds it in place
    mute_and_undo(page, target)
    assert page.evaluate("window.__samePage")


@pytest.mark.parametrize("size", SIZES)
def test_j_marks_the_post_left_behind_read_clear_of_the_top_bar(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.wait_for_selector("article.post.selected a.title:text-is('post 10')")
    wait_until_read(page, "post 11")
    state = read_state(page)
    assert state["post 12"] and state["post 11"] and not state["post 10"]  # the selected one is not read yet
    assert page.locator("article.post.unread a.title:text-is('post 10')").count() == 1
    # the selected post starts below the sticky top bar, not under it
    top, bar = page.evaluate("[document.querySelector('article.post.selected').getBoundingClientRect().top,"
                             " document.querySelector('.topbar').getBoundingClientRect().bottom]")
    assert top >= bar
    assert page.evaluate("window.__samePage")


def test_with_the_setting_off_j_only_moves(reader_hub, browser):
    base, _ = reader_hub
    _, page = reader(browser, base, "desktop")
    assert api(page, "/api/v1/reading-prefs", "PATCH", {"read_on_move": False})["read_on_move"] is False
    page.reload()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("m")  # the second one, by hand: when the API says so, the first would have been too
    wait_until_read(page, "post 11")
    assert read_state(page)["post 12"] is False


def test_with_the_scroll_setting_posts_scrolled_past_are_read(reader_hub, browser):
    base, _ = reader_hub
    _, page = reader(browser, base, "phone")
    api(page, "/api/v1/reading-prefs", "PATCH", {"read_on_scroll": True, "read_on_move": False})
    page.reload()
    # 12 and 11 go above the top bar; 10 stays in sight, just (the scroll margin clears the bar)
    post(page, "post 9").evaluate("p => p.scrollIntoView({ block: 'start' })")
    wait_until_read(page, "post 11")
    state = read_state(page)
    assert state["post 12"] and not state["post 10"] and not state["post 9"]
    assert page.locator("article.post.unread").count() == POSTS - 2


def test_opening_a_post_marks_it_read_even_as_the_original_opens(reader_hub, browser):
    base, _ = reader_hub
    context, page = reader(browser, base, "desktop")
    page.keyboard.press("j")
    with context.expect_page() as opened:
        page.keyboard.press("o")
    assert opened.value.url.endswith("/articles/12")
    wait_until_read(page, "post 12")
    with context.expect_page() as opened:
        post(page, "post 11").locator("a.title").click()
    wait_until_read(page, "post 11")
    assert page.locator("article.post:not(.unread)").count() == 2


@pytest.mark.parametrize("size", SIZES)
def test_question_mark_shows_the_keys_and_escape_closes_them(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    page.keyboard.press("?")
    help_box = page.locator("dialog#keys-help")
    help_box.wait_for(state="visible")
    assert "mark all read" in help_box.inner_text()
    assert page.evaluate("document.getElementById('keys-help').open")
    page.keyboard.press("Escape")
    help_box.wait_for(state="hidden")
    page.keyboard.press("j")  # the keys work again once it is closed
    page.wait_for_selector("article.post.selected a.title:text-is('post 12')")


@pytest.mark.parametrize("size", SIZES)
def test_titles_only_oldest_first_and_unread_only_are_remembered(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    page.click(".river-view button[data-pref=view]")
    page.wait_for_selector("section.river.titles")
    assert page.evaluate("window.__samePage")  # the view changes in place
    assert not post(page, "post 12").locator(".content").is_visible()
    post(page, "post 12").locator("a.title").click()  # a title opens in place (not the original), and is read
    post(page, "post 12").locator(".content").wait_for(state="visible")
    page.wait_for_selector("article.post:not(.unread) a.title:text-is('post 12')")
    page.click(".river-view button[data-pref=oldest_first]")
    page.click(".river-view button[data-pref=unread_only]")
    page.wait_for_selector("section.river:not([aria-busy]) .river-view button[data-pref=unread_only][aria-pressed=true]")
    assert page.locator(".river-view button[data-pref=oldest_first][aria-pressed=true]").count() == 1
    assert page.locator("article.post h2").all_inner_texts() == [f"post {n}" for n in range(1, POSTS)]  # in place
    assert page.evaluate("window.__samePage")
    page.reload()
    assert page.locator("section.river.titles").count() == 1
    titles = page.locator("article.post h2").all_inner_texts()
    assert titles == [f"post {n}" for n in range(1, POSTS)]  # oldest first, the read one left out
    assert api(page, "/api/v1/reading-prefs") == {"view": "titles", "oldest_first": True, "unread_only": True,
                                                  "read_on_move": True, "read_on_scroll": False}  # fmt: skip


@pytest.mark.parametrize("size", SIZES)
def test_mark_all_read_turns_the_river_read_in_place_and_says_all_caught_up(reader_hub, browser, size):
    base, _ = reader_hub
    _, page = reader(browser, base, size)
    assert page.locator(".caught-up").is_hidden()
    page.keyboard.press("Shift+A")
    page.wait_for_selector(".caught-up:visible")
    assert page.locator("article.post.unread").count() == 0 and page.locator("article.post").count() == POSTS
    assert "Marked 12 posts read." in page.locator(".toast").inner_text()
    assert api(page, "/api/v1/unread")["total"] == 0
    assert page.evaluate("window.__samePage")


# The structure of a post, whatever its moment: tags, classes (selection aside) and attribute names, with the
# values of the attributes that name things (not the CSRF token or times, which differ by moment).
STRUCTURE = """(post) => {
  const stable = ["class", "href", "type", "name", "action", "method", "src", "rel", "target", "aria-pressed"];
  const walk = (node) => ({
    tag: node.tagName,
    classes: [...node.classList].filter((c) => c !== "selected").sort(),
    attributes: [...node.attributes].map((a) => a.name + (stable.includes(a.name) ? "=" + a.value : "")).sort(),
    children: [...node.children].map(walk),
  });
  return JSON.stringify(walk(post));
}"""


# The newest post's picture loaded, or (the source has none: 404) removed by chorus.js: either way settled, so
# both renderings are compared in the same state.
PICTURE_SETTLED = ("(() => { const img = document.querySelector('article.post[data-url$=\"/articles/13\"] img.avatar');"
                   " return !img || (img.complete && img.naturalWidth > 0); })()")


def test_a_live_post_is_drawn_like_a_served_one(reader_hub, browser, httpserver):
    base, feed = reader_hub
    context, page = log_in(browser, base)
    page.keyboard.press("j")  # a selected post on the page: the selection must not count
    page.evaluate("window.scrollTo(0, 0)")  # at the top, new posts are inserted (not offered by a button)
    feed.add("13", "post 13", author_uri="https://example.org/carol", link=httpserver.url_for("/articles/13"))
    refresh_now(context, base)
    live = post(page, "post 13")
    live.wait_for(timeout=10_000)
    assert live.locator("time").inner_text().endswith("ago") and live.locator("details.spam").count() == 1
    wait_for_js(page, PICTURE_SETTLED)
    inserted = json.loads(live.evaluate(STRUCTURE))
    page.reload()
    wait_for_js(page, PICTURE_SETTLED)
    served = json.loads(post(page, "post 13").evaluate(STRUCTURE))
    assert inserted == served


def test_unfollowing_can_be_undone_and_otherwise_is_sent(reader_hub, browser):
    base, _ = reader_hub
    _, page = reader(browser, base, "desktop")
    page.goto(base + "/subscriptions/")
    page.evaluate("window.__samePage = true")
    row = page.locator("tr[data-subscription]")
    row.locator("button:text-is('Unfollow')").click()
    row.wait_for(state="hidden")
    page.locator(".toast button:text-is('Undo')").click()
    row.wait_for(state="visible")
    row.locator("input[name=tags]").fill("Tech, tech, News")
    row.locator("button:text-is('Save')").click()
    page.wait_for_selector(".toast:has-text('Tags saved.')")
    assert row.locator("input[name=tags]").input_value() == "News, Tech"
    assert [s["tags"] for s in api(page, "/api/v1/subscriptions")] == [["News", "Tech"]]
    row.locator("button:text-is('Unfollow')").click()
    page.wait_for_selector("tr[data-subscription][data-state=gone]", state="attached", timeout=15_000)
    assert api(page, "/api/v1/subscriptions") == []
    assert page.evaluate("window.__samePage")


def test_without_javascript_the_forms_still_work(reader_hub, browser):
    base, _ = reader_hub
    _, page = log_in(browser, base, java_script_enabled=False)
    post(page, "post 3").locator("button.mark-read").click()
    page.wait_for_load_state()
    assert post(page, "post 3").locator("button.mark-read").inner_text() == "Keep unread"
    post(page, "post 3").locator("summary").click()
    post(page, "post 3").locator("button:has-text('Mute Live feed')").click()
    page.wait_for_load_state()
    assert "Muted Live feed." in page.locator(".messages").inner_text()
    page.click(".river-view button[data-pref=view]")
    page.wait_for_load_state()
    assert page.locator("section.river.titles").count() == 1
    assert page.locator("text=All caught up").count() == 1  # the muted source's posts left, none unread


def test_the_source_page_words_its_times_as_the_river_does_ahead_and_behind(reader_hub, browser):
    base, _ = reader_hub
    _, page = reader(browser, base, "desktop")
    source_id = api(page, "/api/v1/subscriptions")[0]["source"]["id"]
    page.goto(f"{base}/sources/{source_id}/")
    times = page.locator("dl.source-status time")
    last_fetch, next_fetch = times.nth(0), times.nth(1)
    wait_for_js(page, "document.readyState === 'complete'")
    # chorus.js has rewritten them by now (it runs at load): a coming poll is "in ...", never "just now"
    assert last_fetch.inner_text() == "just now" or last_fetch.inner_text().endswith(" ago")  # the hub is shared
    assert next_fetch.inner_text().startswith("in ")
    assert next_fetch.get_attribute("title").endswith("UTC")
