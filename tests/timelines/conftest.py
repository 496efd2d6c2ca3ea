"""The reading flow's browser tests share alice's hub: a feed of twelve posts she follows."""

import pytest

from tests.browser import LiveFeed, follow
from tests.timelines.river import POSTS


@pytest.fixture
def reader_hub(embedded_hub, httpserver):
    """alice follows a feed of twelve posts ("post 1" oldest .. "post 12"), each linking to its original."""
    feed = LiveFeed()
    feed.items.clear()
    for n in range(1, POSTS + 1):
        feed.add(str(n), f"post {n}", link=httpserver.url_for(f"/articles/{n}"))
    # a feed path of its own: seeded databases are made once per seed and shared (tests/browser.py)
    httpserver.expect_request("/reading.xml").respond_with_handler(feed)
    return embedded_hub(seed=[follow("alice", httpserver.url_for("/reading.xml"))]).base, feed
