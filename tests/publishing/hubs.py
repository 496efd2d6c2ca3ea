"""What the two-hub federation tests share: a hub's JSON API read over HTTP, a post written in the browser."""

import json
import urllib.request


def api(hub, path: str) -> dict:
    with urllib.request.urlopen(hub.base + path, timeout=10) as response:
        return json.loads(response.read())


def post(page, base: str, text: str) -> None:
    """Write ``text`` in the compose box of ``page``'s timeline on the hub at ``base``."""
    page.goto(base + "/")
    page.fill("form.compose textarea", text)
    page.click("form.compose button[type=submit]")
    page.wait_for_url(base + "/")
