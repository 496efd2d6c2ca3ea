"""What a person sees, in real headless Chromium against the embedded hub (`manage.py serve`)."""

import pytest

from tests.browser import LiveFeed, follow, log_in, refresh_now, wait_for_js, wait_for_stream
from tests.servers.processes import manage


@pytest.fixture
def hub(embedded_hub, httpserver):
    """The embedded hub with alice following a live feed; yields (base url, feed, restart)."""
    feed = LiveFeed()
    httpserver.expect_request("/feed.xml").respond_with_handler(feed)
    running = embedded_hub(seed=[follow("alice", httpserver.url_for("/feed.xml"))])
    return running.base, feed, running.restart


def test_a_new_post_appears_without_reloading(hub, browser):
    base, feed, _ = hub
    context, page = log_in(browser, base)
    assert page.locator("article.post h2").all_inner_texts() == ["first post"]
    feed.add("2", "second post")
    refresh_now(context, base)
    page.wait_for_selector("article.post h2:has-text('second post')", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == ["second post", "first post"]
    assert page.locator(".sidebar a.all .count").inner_text() == "2"


# The page's sockets wait until the test lets them in (``window.__letSocketsIn()``): live.js gets a stand-in at
# once, and the real socket, opened then, passes its events on to it.
HOLD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const held = [];
  window.__letSocketsIn = () => held.splice(0).forEach((open) => open());
  window.WebSocket = class extends EventTarget {
    constructor(url, protocols) {
      super();
      held.push(() => {
        this.socket = new Native(url, protocols);
        ["open", "message", "close", "error"].forEach((type) => this.socket.addEventListener(type,
          (event) => this.dispatchEvent(new event.constructor(event.type, event))));
      });
    }
    send(data) { this.socket.send(data); }
    close(...reason) { if (this.socket) this.socket.close(...reason); }
  };
})();
"""


def test_an_empty_river_shows_a_post_stored_before_its_socket_joined(embedded_hub, httpserver, browser):
    feed = LiveFeed()
    feed.items.clear()
    httpserver.expect_request("/empty.xml").respond_with_handler(feed)  # a path of its own: seeds are shared
    base = embedded_hub(seed=[follow("alice", httpserver.url_for("/empty.xml"))]).base
    context, page = log_in(browser, base, init_script=HOLD_SOCKETS, streamed=False)
    assert page.locator("article.post").count() == 0
    feed.add("1", "stored before the socket")
    refresh_now(context, base)  # stored, and sent to the sockets open now: none of this page's
    page.evaluate("window.__letSocketsIn()")
    wait_for_stream(page)
    page.wait_for_selector("article.post h2:has-text('stored before the socket')", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == ["stored before the socket"]


def test_a_reader_scrolled_down_gets_a_new_posts_button_instead_of_a_jump(hub, browser):
    base, feed, _ = hub
    context, page = log_in(browser, base)
    page.set_viewport_size({"width": 800, "height": 300})
    page.evaluate("document.body.style.minHeight = '5000px'; window.scrollTo(0, 1500)")
    feed.add("2", "while scrolled")
    refresh_now(context, base)
    page.wait_for_selector("button.new-posts:has-text('1 new post')", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == ["first post"]  # nothing moved
    button = page.locator("button.new-posts")
    button.scroll_into_view_if_needed()
    # it sticks below the top bar, which wraps to two rows at 800 px and used to cover it (clicks hit the bar)
    assert button.evaluate("b => { const r = b.getBoundingClientRect();"
                           " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === b; }")
    button.click()
    page.wait_for_selector("article.post h2:has-text('while scrolled')")  # the server's fragment, fetched
    assert page.locator("article.post h2").all_inner_texts() == ["while scrolled", "first post"]


def test_after_a_server_restart_the_page_catches_up_once(hub, browser):
    base, feed, restart = hub
    context, page = log_in(browser, base)
    feed.add("2", "posted while down")

    def poll_while_the_web_process_is_down(env):
        manage("shell", "-c", "from aggregator.models import Source; from aggregator.ingest.polling import poll_source;"
               "[poll_source(source_id=s.pk) for s in Source.objects.all()]", env=env)  # fmt: skip

    restart(while_down=poll_while_the_web_process_is_down)
    page.wait_for_selector("article.post h2:has-text('posted while down')", timeout=20_000)
    # A live post is the sentinel: a duplicate (a second catch-up, or the post again over the socket) would have
    # reached the page before it.
    feed.add("3", "after the restart")
    refresh_now(context, base)
    page.wait_for_selector("article.post h2:has-text('after the restart')", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == ["after the restart", "posted while down", "first post"]


def test_reading_in_one_tab_updates_the_unread_counts_in_another(hub, browser):
    base, _, _ = hub
    context, page = log_in(browser, base)
    source_count = page.locator(".sidebar [data-count-source]")
    assert page.locator(".sidebar a.all .count").inner_text() == "1" and source_count.inner_text() == "1"
    other = context.new_page()
    other.goto(base + "/")
    other.click("button.mark-read")
    wait_for_js(page, "document.querySelector('.sidebar a.all .count').textContent === ''")
    assert source_count.inner_text() == ""
    assert not page.title().startswith("(")  # "(1) All posts" lost its count
