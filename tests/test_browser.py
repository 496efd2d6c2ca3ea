"""What a person sees, in real headless Chromium against the embedded hub (`manage.py serve`)."""

import os
import shutil
import time

import pytest
from werkzeug import Request, Response

from .processes import embedded_env, free_port, manage, start_serve, stop

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
PASSWORD = "correct horse battery"


def _require_chromium():
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing = "playwright"
    else:
        missing = None if CHROMIUM else "Debian chromium (apt-get install chromium)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need {missing}")
        pytest.skip(f"browser tests need {missing}")


class LiveFeed:
    """An RSS feed whose items the test can add to while the hub polls it."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = [("1", "first post", "")]

    def add(self, guid: str, title: str, *, author_uri: str = "") -> None:
        """A new item on top; ``author_uri``: its author (Atom ``author/uri``), what "Block <author>" blocks."""
        self.items.insert(0, (guid, title, author_uri))

    def __call__(self, request: Request) -> Response:
        body = "".join(
            f"<item><guid>{guid}</guid><title>{title}</title><description>{title}</description>"
            f"<pubDate>Mon, 23 Nov 2026 {10 + n // 60:02d}:{n % 60:02d}:00 GMT</pubDate>"
            + (f"<atom:author><atom:uri>{author_uri}</atom:uri></atom:author>" if author_uri else "")
            + "</item>"
            for n, (guid, title, author_uri) in enumerate(reversed(self.items))
        )
        xml = ('<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
               f"<title>Live feed</title>{body}</channel></rss>")  # fmt: skip
        return Response(xml, content_type="application/rss+xml")


@pytest.fixture
def hub(tmp_path, httpserver):
    """The embedded hub with alice following a live feed; yields (base url, feed, restart)."""
    _require_chromium()
    feed = LiveFeed()
    httpserver.expect_request("/feed.xml").respond_with_handler(feed)
    env = embedded_env(tmp_path)
    manage("migrate", "--noinput", env=env)
    manage("shell", "-c", (
        "from django.contrib.auth.models import User; from aggregator.following.subscriptions import subscribe;"
        f"subscribe(user=User.objects.create_user('alice', 'alice@example.org', '{PASSWORD}'),"
        f" address='{httpserver.url_for('/feed.xml')}')"
    ), env=env)  # fmt: skip
    port = free_port()
    state = {"server": start_serve(port=port, env=env)}

    def restart(while_down=None):
        print(stop(state["server"])[-2000:])
        if while_down:
            while_down(env)
        state["server"] = start_serve(port=port, env=env)

    yield f"http://127.0.0.1:{port}", feed, restart
    print(stop(state["server"])[-3000:])


def serve_with_alice(tmp_path, **environment: str):
    """The embedded hub, migrated, with alice (``PASSWORD``) following nothing; ``environment``: more settings.
    Returns (base url, the server process, its environment)."""
    env = {**embedded_env(tmp_path), **environment}
    manage("migrate", "--noinput", env=env)
    manage("shell", "-c", "from django.contrib.auth.models import User;"
           f"User.objects.create_user('alice', 'alice@example.org', '{PASSWORD}')", env=env)  # fmt: skip
    port = free_port()
    return f"http://127.0.0.1:{port}", start_serve(port=port, env=env), env


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(browser, base: str, *, username: str = "alice", **context_options):
    """A new browser context (``context_options``: Playwright's, e.g. ``java_script_enabled=False``) where alice
    (or ``username``, with ``PASSWORD``) is logged in and on her timeline."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.goto(base + "/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.wait_for_timeout(500)  # let the stream connect
    return context, page


def refresh_now(context, base: str) -> None:
    """Press "Refresh now" on the source page, in another tab: the poll runs in the hub.

    The tab stays open: closing it while the POST is in flight hung ``page.close()`` (Chromium 156)."""
    other = context.new_page()
    other.goto(base + "/subscriptions/")
    other.click("a:has-text('Live feed')")
    other.click("button:has-text('Refresh now')")
    other.wait_for_selector("text=Refreshed.")  # the poll ran and the hub answered


def test_a_new_post_appears_without_reloading(hub, browser):
    base, feed, _ = hub
    context, page = log_in(browser, base)
    assert page.locator("article.post h2").all_inner_texts() == ["first post"]
    feed.add("2", "second post")
    refresh_now(context, base)
    page.wait_for_selector("article.post h2:has-text('second post')", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == ["second post", "first post"]
    assert page.locator(".sidebar a.all .count").inner_text() == "2"


def test_a_reader_scrolled_down_gets_a_new_posts_button_instead_of_a_jump(hub, browser):
    base, feed, _ = hub
    context, page = log_in(browser, base)
    page.set_viewport_size({"width": 800, "height": 300})
    page.evaluate("document.body.style.minHeight = '5000px'; window.scrollTo(0, 1500)")
    feed.add("2", "while scrolled")
    refresh_now(context, base)
    page.wait_for_selector("button.new-posts:has-text('1 new post')", timeout=10_000)
    assert page.locator("article.post h2").all_inner_texts() == ["first post"]  # nothing moved
    page.click("button.new-posts")
    assert page.locator("article.post h2").all_inner_texts() == ["while scrolled", "first post"]


def test_after_a_server_restart_the_page_catches_up_once(hub, browser):
    base, feed, restart = hub
    _, page = log_in(browser, base)
    feed.add("2", "posted while down")

    def poll_while_the_web_process_is_down(env):
        manage("shell", "-c", "from aggregator.models import Source; from aggregator.ingest.polling import poll_source;"
               "[poll_source(source_id=s.pk) for s in Source.objects.all()]", env=env)  # fmt: skip

    restart(while_down=poll_while_the_web_process_is_down)
    page.wait_for_selector("article.post h2:has-text('posted while down')", timeout=20_000)
    time.sleep(1)  # any duplicate would arrive now
    assert page.locator("article.post h2").all_inner_texts() == ["posted while down", "first post"]


def test_reading_in_one_tab_updates_the_unread_counts_in_another(hub, browser):
    base, _, _ = hub
    context, page = log_in(browser, base)
    source_count = page.locator(".sidebar [data-count-source]")
    assert page.locator(".sidebar a.all .count").inner_text() == "1" and source_count.inner_text() == "1"
    other = context.new_page()
    other.goto(base + "/")
    other.click("button.mark-read")
    page.wait_for_function("document.querySelector('.sidebar a.all .count').textContent === ''", timeout=10_000)
    assert source_count.inner_text() == ""
    assert not page.title().startswith("(")  # "(1) All posts" lost its count
