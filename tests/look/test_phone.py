"""Every page on a phone: nothing wider than the screen, the menu behind its button, touch targets a thumb can hit,
and the sticky top bar never over what it scrolls to."""

from tests.browser import log_in, wait_for_js
from tests.look.conftest import PHONES

# The page is no wider than the screen: no sideways scrolling (the root scroller's width is the viewport's)
WIDER_THAN_SCREEN = "document.documentElement.scrollWidth > window.innerWidth"
# Controls visible on the page that are shorter than 44 CSS pixels (links inside running text are exempt)
SMALL_TARGETS = """
[...document.querySelectorAll("button, select, summary, input:not([type=hidden], [type=checkbox], [type=radio]),"
  + " .main-nav a, .settings-panel a, .sidebar a, .settings-nav a, .post footer a")]
  .filter((el) => el.checkVisibility() && el.getBoundingClientRect().height < 44)
  .map((el) => `${el.tagName.toLowerCase()}.${el.className} "${(el.textContent || el.name || "").trim().slice(0, 30)}"`
    + ` ${Math.round(el.getBoundingClientRect().height)}px`)
"""


def test_no_page_scrolls_sideways_at_360_and_390_pixels(walk):
    too_wide = {}
    for viewport in PHONES:
        for name, page in walk(viewport=viewport):
            if page.evaluate(WIDER_THAN_SCREEN):
                too_wide[f"{name} at {viewport['width']}"] = page.evaluate("document.documentElement.scrollWidth")
    assert too_wide == {}, too_wide


def test_touch_targets_are_at_least_44_pixels_on_every_page(walk):
    small = {}
    for name, page in walk(viewport=PHONES[0]):
        if found := page.evaluate(SMALL_TARGETS):
            small[name] = found
    assert small == {}, small


def test_the_menu_button_unfolds_the_navigation_and_the_sources(look_hub, browser):
    context, page = log_in(browser, look_hub.base, viewport=PHONES[1])
    nav, sidebar, button = page.locator("nav.main-nav"), page.locator(".reader > .sidebar"), page.locator(".menu-button")
    assert not nav.is_visible() and not sidebar.is_visible() and button.get_attribute("aria-expanded") == "false"
    topbar_height = page.locator(".topbar").bounding_box()["height"]
    assert topbar_height <= 64  # one row: brand, search, menu
    button.click()
    assert nav.is_visible() and sidebar.is_visible() and button.get_attribute("aria-expanded") == "true"
    assert page.locator(".sidebar a:has-text('Long reads')").is_visible()  # tags and sources with their counts
    assert not page.evaluate(WIDER_THAN_SCREEN)
    page.locator(".settings-menu > summary").click()
    page.locator(".settings-panel a:has-text('Blocks and mutes')").click()
    page.wait_for_url("**/blocks/")
    assert not page.locator("nav.main-nav").is_visible()  # folded again on the next page
    page.locator(".menu-button").click()
    page.keyboard.press("Escape")
    assert not page.locator("nav.main-nav").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('menu-button')")


def test_without_javascript_the_phone_menu_stays_unfolded(look_hub, browser):
    context, page = log_in(browser, look_hub.base, viewport=PHONES[0], java_script_enabled=False)
    assert page.locator("nav.main-nav").is_visible() and page.locator(".reader > .sidebar").is_visible()
    assert not page.evaluate(WIDER_THAN_SCREEN)


def test_a_post_scrolled_to_is_not_under_the_sticky_bar(look_hub, browser):
    for viewport in PHONES[1], {"width": 800, "height": 600}:  # the bar wraps to two rows at 800 px
        context, page = log_in(browser, look_hub.base, viewport=viewport)
        last = page.locator("article.post").last
        page.goto(f"{look_hub.base}/#{last.get_attribute('id')}")
        wait_for_js(page, "window.scrollY > 0")
        bar_bottom = page.locator(".topbar").bounding_box()["height"]
        assert last.bounding_box()["y"] >= bar_bottom
        context.close()
