"""Notification destinations in real headless Chromium against the embedded hub (`manage.py serve`): a person
adds an Apprise URL, sees it only masked, and the "Send a test" button's message reaches a loopback ntfy-shaped
server, sent by the hub's own runner, off the request; the page then says "sent". It fits a phone's width."""

import os
from pathlib import Path

import pytest

from tests.browser import create_user, log_in
from tests.servers.notify_peers import HttpPeer

SECRET_TOPIC = "alice-s3cret-topic"


@pytest.fixture
def peer():
    with HttpPeer() as running:
        yield running


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_a_destination_is_added_masked_and_its_test_arrives(embedded_hub, browser, peer, tmp_path, width, height):
    base = embedded_hub(seed=[create_user("alice")], CHORUS_FETCH_ALLOW_PRIVATE="true").base
    _, page = log_in(browser, base, viewport={"width": width, "height": height})
    page.goto(base + "/settings/notifications/")
    page.fill("#destination-name", "My phone")
    page.fill("#destination-url", f"ntfy://127.0.0.1:{peer.port}/{SECRET_TOPIC}")
    page.check(".destination-add input[value=track]")
    page.click(".destination-add button[type=submit]")
    page.wait_for_selector(".destination strong:has-text('My phone')")
    assert page.locator(".destination code").inner_text() == f"ntfy://127.0.0.1:{peer.port}/al…"
    assert SECRET_TOPIC not in page.content()

    page.click(".destination button[value=test]")
    [message] = peer.received.wait_for(1)
    assert message.fields["topic"] == SECRET_TOPIC and message.fields["title"] == "Chorus test message"
    page.reload()
    assert page.locator(".destination .ok").inner_text() == "sent"
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS", tmp_path))
    page.screenshot(path=str(shots / f"notifications-{width}x{height}.png"), full_page=True)
    # nothing of this page's own content runs off a phone's screen (the top bar is the base template's; the strip of
    # Settings links scrolls sideways inside itself)
    wide = ("[...document.querySelectorAll('.narrow *')].filter(e => !e.closest('.settings-links')"
            " && e.getBoundingClientRect().right > innerWidth)")
    assert page.evaluate(f"{wide}.map(e => e.tagName + '.' + e.className)") == []
