"""Mastodon.py signs in to the embedded hub through our own pages in real headless Chromium (the OAuth code flow
an app runs: our sign-in, our Authorize page, the code back at the app's loopback address), then uses the token
as an app does: home page by page, a post and a reply, a follow found by search, a mention notification, and
the user stream (server-sent events) carrying what arrives after it opened."""

import html
import os
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from mastodon import Mastodon, StreamListener

from tests.browser import PASSWORD, LiveFeed, follow, refresh_now
from tests.servers.feeds import RSS, rss
from tests.servers.processes import free_port

HANDLE = "@alice@social.example"  # verified for alice: a post naming it is a mention
SCOPES = ["read", "write", "follow"]
WAIT = 15  # seconds a stream event may take to arrive before the test fails


@pytest.fixture
def hub(embedded_hub, httpserver):
    """The embedded hub (its public address its own, so posts have permalinks) where alice follows carol's live
    feed; erin's blog waits to be found. Yields (base url, carol's feed, erin's feed url, the app's callback)."""
    carol = LiveFeed()
    for n in range(2, 7):
        carol.add(str(n), f"carol's post {n}")
    httpserver.expect_request("/carol.xml").respond_with_handler(carol)
    httpserver.expect_request("/erin.xml").respond_with_data(rss(("e1", "erin writes"), title="Erin's blog"),
                                                             content_type=RSS)  # fmt: skip
    httpserver.expect_request("/app/callback").respond_with_data("You may close this page.")
    port = free_port()
    seed = [follow("alice", httpserver.url_for("/carol.xml")), ("verify_identity", "alice", "fediverse", HANDLE)]
    base = embedded_hub(seed=seed, port=port, CHORUS_PUBLIC_URL=f"http://127.0.0.1:{port}").base
    return base, carol, httpserver.url_for("/erin.xml"), httpserver.url_for("/app/callback")


def sign_in_through_our_pages(browser, base: str, callback: str, shots: Path):
    """Mastodon.py registers, Chromium opens its authorization address, alice signs in and presses Authorize;
    the app reads the code at its loopback callback and logs in. Returns (the app, the browser context)."""
    client_id, client_secret = Mastodon.create_app("Mastodon.py in Chromium", scopes=SCOPES, redirect_uris=callback,
                                                   api_base_url=base)  # fmt: skip
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base, version_check_mode="none")
    address = api.auth_request_url(redirect_uris=callback, scopes=SCOPES, state="s-42", allow_http=True)
    context = browser.new_context()
    page = context.new_page()
    page.goto(address)
    assert urlsplit(page.url).path == "/accounts/login/"  # a stranger signs in first
    page.screenshot(path=str(shots / "mastodon-app-sign-in.png"), full_page=True)
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Authorize Mastodon.py in Chromium?')")
    assert "Read your timeline" in page.inner_text("ul.scopes")
    page.screenshot(path=str(shots / "mastodon-app-authorize.png"), full_page=True)
    page.click("button[name=allow]")
    page.wait_for_url(callback + "?**")
    query = parse_qs(urlsplit(page.url).query)
    assert query["state"] == ["s-42"]
    api.log_in(code=query["code"][0], redirect_uri=callback, scopes=SCOPES, allow_http=True)
    return api, context


def text_of(status: dict) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", status["content"])).strip()


class Listener(StreamListener):
    """Records the stream's events; ``opened`` is set at the stream's first line (the hub has subscribed it)."""

    def __init__(self):
        self.opened = threading.Event()
        self.updates: list[dict] = []
        self.notifications: list[dict] = []
        self.arrived = threading.Condition()

    def handle_heartbeat(self):
        self.opened.set()

    def on_update(self, status):
        with self.arrived:
            self.updates.append(status)
            self.arrived.notify_all()

    def on_notification(self, notification):
        with self.arrived:
            self.notifications.append(notification)
            self.arrived.notify_all()

    def wait(self, predicate) -> None:
        with self.arrived:
            assert self.arrived.wait_for(predicate, timeout=WAIT), (self.updates, self.notifications)


def test_mastodon_py_signs_in_through_our_pages_then_reads_posts_follows_and_streams(hub, browser, tmp_path):
    base, carol, erin, callback = hub
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS", tmp_path))
    api, context = sign_in_through_our_pages(browser, base, callback, shots)
    assert api.account_verify_credentials()["username"] == "alice"
    refresh_now(context, base)  # the hub polls carol's feed

    page = api.timeline_home(limit=2)
    seen = list(page)
    while page := api.fetch_next(page):
        seen.extend(page)
    assert [text_of(status) for status in seen] == [f"carol's post {n}" for n in (6, 5, 4, 3, 2)] + ["first post"]

    mine = api.status_post("hello from Mastodon.py")
    answer = api.status_post("I agree", in_reply_to_id=seen[0]["id"])
    assert answer["in_reply_to_id"] == seen[0]["id"] and answer["in_reply_to_account_id"] == seen[0]["account"]["id"]
    profile = context.new_page()
    profile.goto(base + "/people/alice/")
    assert "hello from Mastodon.py" in profile.inner_text(".h-feed") and "I agree" in profile.inner_text(".h-feed")
    assert api.status(mine["id"])["url"].startswith(base + "/")

    found = api.search_v2(erin, resolve=True)["accounts"]
    assert [account["display_name"] for account in found] == ["Erin's blog"]
    assert api.account_follow(found[0]["id"])["following"] is True
    subscriptions = context.new_page()
    subscriptions.goto(base + "/subscriptions/")
    assert "Erin's blog" in subscriptions.inner_text("main")

    listener = Listener()
    stream = api.stream_user(listener, run_async=True, reconnect_async=False)
    try:
        assert listener.opened.wait(WAIT)
        carol.add("7", f"{HANDLE} what do you think?")
        carol.add("8", "carol's post 8")
        refresh_now(context, base)
        listener.wait(lambda: len(listener.updates) >= 2 and listener.notifications)
    finally:
        stream.close()
    assert {text_of(status) for status in listener.updates} >= {"carol's post 8", f"{HANDLE} what do you think?"}
    assert listener.notifications[0]["type"] == "mention"
    notes = api.notifications(types=["mention"])
    assert [text_of(note["status"]) for note in notes] == [f"{HANDLE} what do you think?"]
