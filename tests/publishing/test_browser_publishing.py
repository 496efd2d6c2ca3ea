"""Posting in real headless Chromium against the embedded hub: the compose box counts characters live (as the
server counts them), a post lands on the person's public profile, and the pages fit a phone."""

import os
import socket
from pathlib import Path

import pytest

from tests.browser import create_user, log_in, wait_for_js
from tests.servers.processes import free_port


@pytest.fixture
def hub(embedded_hub):
    """The embedded hub with alice; its public address is its own (permalinks and the feed are absolute)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return embedded_hub(seed=[create_user("alice")], port=port, CHORUS_PUBLIC_URL=f"http://127.0.0.1:{port}").base


def shoot(page, name: str, directory: Path) -> None:
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(directory / f"{name}-{width}.png"), full_page=True)


def test_the_compose_box_counts_live_and_a_post_appears_on_the_profile(hub, browser, tmp_path):
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS", tmp_path))
    context, page = log_in(browser, hub)
    page.fill("form.compose textarea", "hello \U0001f468\u200d\U0001f469\u200d\U0001f467 world")
    wait_for_js(page, "document.querySelector('[data-chars-left]').textContent === '127'")
    page.fill("form.compose textarea", "x" * 141)
    wait_for_js(page, "document.querySelector('form.compose button').disabled === true")
    assert page.inner_text("[data-chars-left]") == "-1"
    page.fill("form.compose textarea", "My first post on Chorus, see https://example.org/")
    page.click("form.compose button[type=submit]")
    page.wait_for_url(hub + "/")
    page.goto(hub + "/people/alice/")
    assert "My first post on Chorus" in page.inner_text(".h-feed")
    assert page.locator("link[rel=alternate][type='application/atom+xml']").count() == 1
    shoot(page, "profile", shots)
    page.click(".h-entry a.u-url")
    assert "My first post on Chorus" in page.inner_text(".h-entry .e-content")
    shoot(page, "permalink", shots)
    page.click(".h-entry a:text('Reply')")
    assert page.input_value("form.compose textarea").startswith("@alice@")
    shoot(page, "compose", shots)


FOLLOWS_BOB = ("shell", "-c", (
    "from django.contrib.auth.models import User; from aggregator.models import Subscription;"
    "from publishing.microblogs import microblog_for;"
    "bob = User.objects.create_user('bob', 'bob@example.org', 'x', first_name='Bob');"
    "Subscription.objects.create(user=User.objects.get(username='alice'), source=microblog_for(bob).source)"
))  # fmt: skip


def test_the_compose_box_completes_the_handles_of_people_one_follows(embedded_hub, browser, tmp_path):
    shots = Path(os.environ.get("CHORUS_SCREENSHOTS", tmp_path))
    port = free_port()
    base = embedded_hub(seed=[create_user("alice"), FOLLOWS_BOB], port=port,
                        CHORUS_PUBLIC_URL=f"http://127.0.0.1:{port}").base  # fmt: skip
    _, page = log_in(browser, base)
    box = page.locator("form.compose textarea")
    box.click()
    box.press_sequentially("Lunch, @bo")
    page.wait_for_selector("form.compose ul.completions button.completion")
    assert page.locator("ul.completions .handle").all_inner_texts() == [f"@bob@127.0.0.1:{port}"]
    shoot(page, "compose-completion", shots)
    page.click("ul.completions button.completion")
    wait_for_js(page, "document.querySelector('form.compose ul.completions').hidden")
    assert box.input_value() == f"Lunch, @bob@127.0.0.1:{port} "
    box.press_sequentially("@b")
    page.wait_for_selector("form.compose ul.completions button.completion")
    box.press_sequentially("zz")  # nobody followed starts so: the list goes
    wait_for_js(page, "document.querySelector('form.compose ul.completions').hidden")
    page.goto(base + "/people/bob/followers/")
    assert page.inner_text("[data-remote-count]") == "0" and page.inner_text("ul.followers") == "alice"
    shoot(page, "followers", shots)
