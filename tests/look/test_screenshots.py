"""Screenshots of every page at desktop and phone size in both themes, for a person to look at.

They go to ``$CHORUS_SCREENS`` if set (a folder outside the repository, or the ignored ``var/``), else to the
test's temporary folder; the test prints where. What it checks itself: every page answered and has its landmarks.
"""

import os
from pathlib import Path

from tests.browser import wait_for_js
from tests.look.conftest import DESKTOP, PHONES


def _show_lazy_pictures(page) -> None:
    """Pictures below the fold load as a person scrolls to them (``loading="lazy"``); a full-page screenshot
    does not scroll, and would show their empty boxes. Pictures not drawn (in a folded menu) never load. A loaded
    picture is painted once decoded (``decoding="async"``), which the screenshot does not wait for either."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    wait_for_js(page, "[...document.images].every((image) => image.complete || !image.getClientRects().length)")
    page.evaluate("Promise.all([...document.images].filter((image) => image.complete && image.naturalWidth)"
                  ".map((image) => image.decode().catch(() => null)))")  # fmt: skip
    page.evaluate("window.scrollTo(0, 0)")


def test_every_page_is_photographed_in_both_themes_at_both_sizes(walk, tmp_path):
    folder = Path(os.environ.get("CHORUS_SCREENS") or tmp_path / "screens")
    folder.mkdir(parents=True, exist_ok=True)
    missing_landmarks = []
    for theme in ("light", "dark"):
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONES[1])):
            for name, page in walk(theme=theme, viewport=viewport):
                page.wait_for_load_state("load")
                _show_lazy_pictures(page)
                page.screenshot(path=folder / f"{name}-{size}-{theme}.png", full_page=True)
                if name == "timeline" and size == "phone":  # and with its menu unfolded
                    page.click(".menu-button")
                    page.screenshot(path=folder / f"timeline-menu-{size}-{theme}.png", full_page=True)
                elif name == "timeline":  # and with the Settings menu open
                    page.click(".settings-menu > summary")
                    page.screenshot(path=folder / f"timeline-settings-{size}-{theme}.png")
                if page.locator("main").count() != 1 or page.locator("header, [role=banner]").count() < 1:
                    missing_landmarks.append(f"{name} ({size}, {theme})")
    print(f"screenshots in {folder}")
    assert len(list(folder.glob("*.png"))) >= 4 * 25
    assert missing_landmarks == []
