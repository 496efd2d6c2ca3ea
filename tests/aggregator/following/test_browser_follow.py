"""The follow box in real headless Chromium against the embedded hub (`manage.py serve`): a preview (name,
picture, last posts) while typing, then following; without JavaScript the form follows directly. Pictures
come from Chorus, on the sources and on every post, also on posts that arrive live."""

import pytest

from tests.browser import LiveFeed, create_user, log_in, refresh_now, wait_for_js
from tests.servers.fediverse_server import AVATAR_PNG, mastodon

LOADED = "el => el.complete && el.naturalWidth > 0"


@pytest.fixture
def hub(embedded_hub, httpserver):
    """The embedded hub with alice following nothing; a Mastodon-like server and carol's live feed on loopback.
    Yields (base url, the Mastodon-like host, carol's feed URL, carol's feed, the hub)."""
    host = mastodon(httpserver)
    carol = LiveFeed()
    httpserver.expect_request("/carol.xml").respond_with_handler(carol)
    httpserver.expect_request("/favicon.ico").respond_with_data(AVATAR_PNG, content_type="image/png")
    running = embedded_hub(seed=[create_user("alice")], CHORUS_WEBFINGER_SCHEME="http")
    return running.base, host, httpserver.url_for("/carol.xml"), carol, running


def sources(hub) -> str:
    """How many sources the hub stores."""
    return str(hub.sql("SELECT count(*) FROM aggregator_source")[0][0])


def test_typing_shows_a_preview_and_following_it_shows_the_source_with_its_picture(hub, browser):
    base, host, _, _, running = hub
    _, page = log_in(browser, base)
    box, preview = page.locator("form.follow input[name=address]"), page.locator(".follow-preview")

    box.fill("carol")  # ambiguous: the hub asks which was meant
    page.wait_for_selector(".follow-preview[data-state=error]", timeout=10_000)
    assert "Did you mean @carol on X, @carol@server.example" in preview.inner_text()

    box.fill(f"@alice@{host}")
    page.wait_for_selector(".follow-preview[data-state=preview]", timeout=15_000)
    assert preview.locator(".title").inner_text() == "Alice"
    assert preview.locator(".handle").inner_text() == f"@alice@{host}"
    assert [text.split("\n")[0] for text in preview.locator("ul.posts li span").all_inner_texts()] == [
        "@bob yes, Chorus follows me now", "Hello fediverse"]  # fmt: skip
    picture = preview.locator("img.avatar")
    picture.wait_for()
    wait_for_js(page, f"({LOADED})(document.querySelector('.follow-preview img.avatar'))")
    assert picture.get_attribute("src").startswith("/follow/preview-avatar?t=")  # from Chorus, not from the server
    assert sources(running) == "0"  # a preview follows nothing

    preview.locator("button.follow-this").click()
    page.wait_for_url("**/?source=*", timeout=15_000)  # on the source's posts
    assert "Following Alice." in page.locator(".messages").inner_text()
    wait_for_js(page, f"({LOADED})(document.querySelector('.sidebar a.current img.avatar'))")  # the page may show before its picture
    assert sources(running) == "1"

    page.goto(base + "/")
    page.wait_for_selector("article.post")
    pictures = page.locator("article.post header img.avatar")
    assert pictures.count() == 2
    wait_for_js(page, f"[...document.querySelectorAll('article.post img.avatar, .sidebar img.avatar')]"
                      f".every({LOADED})")  # fmt: skip


def test_without_javascript_the_box_follows_directly_and_live_posts_show_their_picture(hub, browser):
    base, _, feed_url, feed, _ = hub
    reader, page = log_in(browser, base)  # the river, live
    _, other = log_in(browser, base, java_script_enabled=False)
    other.fill("form.follow input[name=address]", feed_url)
    other.click("form.follow button[type=submit]")  # no preview: straight to following
    other.wait_for_url("**/?source=*", timeout=15_000)  # on the source's posts
    assert "Following Live feed." in other.locator(".messages").inner_text()
    assert other.locator(".follow-preview").is_hidden()

    page.wait_for_selector("article.post h2:has-text('first post')", timeout=10_000)  # arrived live
    feed.add("2", "second post")
    refresh_now(reader, base)
    page.wait_for_selector("article.post h2:has-text('second post')", timeout=10_000)
    live = page.locator("article.post:has(h2:has-text('second post')) header img.avatar")
    assert live.get_attribute("src").startswith("/sources/")
    wait_for_js(page, f"({LOADED})(document.querySelector('article.post header img.avatar'))")
