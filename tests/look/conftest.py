"""The look tests' hub: alice's pages filled (tests/look/pages.py), and a walk over them in one browser context."""

import pytest

from tests.browser import log_in
from tests.look.pages import seed_command, serve_feed, signed_in_pages, signed_out_pages

PHONES = [{"width": 360, "height": 740}, {"width": 390, "height": 844}]
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def look_hub(embedded_hub, httpserver):
    return embedded_hub(seed=[seed_command(serve_feed(httpserver))])


@pytest.fixture
def walk(look_hub, browser):
    """``walk(theme=None, viewport=DESKTOP)`` yields (name, page) on every page, signed in then signed out, in a
    browser whose system theme is ``theme`` ("light"/"dark", or Chromium's default)."""

    def pages(*, theme: str | None = None, viewport: dict = DESKTOP):
        options = {"viewport": viewport, "color_scheme": theme or "no-preference"}
        context, page = log_in(browser, look_hub.base, **options)
        for name, url in signed_in_pages(look_hub.base, look_hub).items():
            page.goto(url)
            yield name, page
        context.close()
        context = browser.new_context(**options)
        page = context.new_page()
        for name, url in signed_out_pages(look_hub.base).items():
            page.goto(url)
            yield name, page
        context.close()

    return pages
