"""Importing a follow list, in real headless Chromium against the embedded hub (`manage.py serve`): the
progress bar moves live over the WebSocket and the page ends with the summary."""

import json
import time

import pytest
from werkzeug import Request, Response

from tests.browser import create_user, log_in, wait_for_js
from tests.servers.fediverse_server import MASTODON_RSS

KNOWN = 10
LOOKUP_SECONDS = 0.3  # each WebFinger answer takes this long: the import lasts a few seconds


def slow_mastodon(httpserver) -> str:
    """A Mastodon-like server knowing user0..user9, slow to answer WebFinger."""
    host = f"127.0.0.1:{httpserver.port}"

    def webfinger(request: Request) -> Response:
        time.sleep(LOOKUP_SECONDS)
        user = request.args.get("resource", "").removeprefix("acct:").split("@")[0]
        if user not in {f"user{n}" for n in range(KNOWN)}:
            return Response(status=404)
        links = [{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"http://{host}/@{user}"}]
        return Response(json.dumps({"subject": f"acct:{user}@{host}", "links": links}),
                        content_type="application/jrd+json")  # fmt: skip

    def profile(request: Request) -> Response:
        if request.path.endswith(".rss"):
            return Response(MASTODON_RSS, content_type="application/rss+xml")
        link = f'<link rel="alternate" type="application/rss+xml" href="{request.path}.rss">'
        return Response(f"<html><head>{link}</head></html>", content_type="text/html")

    httpserver.expect_request("/.well-known/webfinger").respond_with_handler(webfinger)
    for n in range(KNOWN):
        httpserver.expect_request(f"/@user{n}").respond_with_handler(profile)
        httpserver.expect_request(f"/@user{n}.rss").respond_with_handler(profile)
    return host


@pytest.fixture
def hub(embedded_hub, httpserver):
    """The embedded hub with alice and no subscriptions; yields (base url, the Mastodon-like host)."""
    host = slow_mastodon(httpserver)
    return embedded_hub(seed=[create_user("alice")], CHORUS_WEBFINGER_SCHEME="http").base, host


def test_an_import_moves_its_progress_bar_live_and_ends_with_a_summary(hub, browser):
    base, host = hub
    _, page = log_in(browser, base)
    page.goto(base + "/subscriptions/")
    rows = [f"user{n}@{host}" for n in range(KNOWN)] + [f"ghost@{host}", "not an address"]
    form = "form[action$='/subscriptions/import-list/']"
    page.set_input_files(f"{form} input[type=file]", files=[{
        "name": "following_accounts.csv", "mimeType": "text/csv",
        "buffer": ("Account address,Show boosts\n" + "\n".join(f"{row},true" for row in rows)).encode(),
    }])  # fmt: skip
    page.click(f"{form} button")
    page.wait_for_url("**/subscriptions/imports/*/")
    page.evaluate("window.notReloaded = true")
    shown_at_load = page.evaluate("document.getElementById('import-progress').value")
    assert shown_at_load < len(rows) - 3
    # the bar moves while the page stays the same page: the events arrive over the socket
    wait_for_js(page, f"window.notReloaded && document.getElementById('import-progress').value >= {shown_at_load + 3}",
                timeout=20_000)  # fmt: skip
    page.wait_for_selector("h2:has-text('Not followed')", timeout=30_000)  # reloaded once it ended: the summary
    assert page.locator("#import-followed").inner_text() == str(KNOWN)
    assert page.locator("#import-failed").inner_text() == "2"
    failures = page.locator("ul.failures li").all_inner_texts()
    assert any("ghost" in line and "knows no account" in line for line in failures)
    assert any(line.startswith("not an address") for line in failures)


def upload_opml(page, base: str, outlines: str) -> None:
    """Import an OPML file through the subscriptions page's form; the page is then the import's page."""
    page.goto(base + "/subscriptions/")
    opml = f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'
    page.set_input_files("form[action$='/subscriptions/import-list/'] input[type=file]", files=[
        {"name": "subscriptions.opml", "mimeType": "text/x-opml", "buffer": opml.encode()},
    ])  # fmt: skip
    page.click("form[action$='/subscriptions/import-list/'] button")
    page.wait_for_url("**/subscriptions/imports/*/")


# Every value the progress bar shows, on every load of the page (it reloads once the import ended).
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("import-progress");
  if (!bar) return;
  const note = () => sessionStorage.setItem("shown", (sessionStorage.getItem("shown") || "") + bar.value + ",");
  note();
  new MutationObserver(note).observe(bar, {attributes: true, attributeFilter: ["value"]});
});
"""


def test_a_5000_feed_opml_import_shows_its_progress_and_summary(hub, browser):
    base, _ = hub
    context, page = log_in(browser, base)
    # port 9 (discard) refuses at once: the hub's polls of these feeds fail fast and reach nobody
    feeds = [f'<outline text="Feed {n}" xmlUrl="http://127.0.0.1:9/feed/{n}"/>' for n in range(4_990)]
    upload_opml(page, base, "".join(feeds[:500]))  # alice follows 500 of them already
    page.wait_for_selector("#import-status:has-text('Done')", timeout=60_000)
    hostile = [f'<outline text="bad {n}" xmlUrl="javascript:alert({n})"/>' for n in range(10)]
    context.add_init_script(RECORD_PROGRESS)
    upload_opml(page, base, f'<outline text="all">{"".join(feeds)}</outline>' + "".join(hostile))
    assert page.locator("h1").inner_text() == "Importing your OPML file"
    assert page.evaluate("document.getElementById('import-progress').max") == 5_000
    page.wait_for_selector("#import-status:has-text('Done')", timeout=120_000)
    assert page.locator("#import-followed").inner_text() == "4490"
    assert page.locator("#import-already").inner_text() == "500"
    assert page.locator("#import-failed").inner_text() == "10"
    assert page.evaluate("document.getElementById('import-progress').value") == 5_000
    failures = page.locator("ul.failures li").all_inner_texts()
    assert len(failures) == 10 and failures[0] == "javascript:alert(0): refused: only http and https URLs are " \
        "fetched, not javascript URLs"
    shown = [int(value) for value in page.evaluate("sessionStorage.getItem('shown')").strip(",").split(",")]
    print(f"progress bar values shown: {shown}")
    assert any(10 < value < 5_000 for value in shown), shown  # seen part way (10: the refused, counted first)
    assert shown == sorted(shown) and shown[-1] == 5_000  # it only ever moved forward
