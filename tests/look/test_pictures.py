"""A post's picture as a reader sees it: whole, undistorted, never taller than a screenful (the look feed's
square picture, declared 1200 x 800)."""

from tests.browser import log_in, wait_for_js
from tests.look.conftest import DESKTOP, PHONES

PICTURE = "article.post .content img"
CAP_PX = 512  # min(32rem, 80vh): 32rem at the pages' 16 px root size, below 80% of either viewport's height
DRAWN = f"""(() => {{
  const img = document.querySelector("{PICTURE}");
  const box = img.getBoundingClientRect(), style = getComputedStyle(img);
  return {{width: box.width, height: box.height, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
           fit: style.objectFit, column: img.parentElement.getBoundingClientRect().width}};
}})()"""


def drawn_picture(browser, base: str, viewport: dict) -> dict:
    context, page = log_in(browser, base, viewport=viewport)
    page.locator(PICTURE).scroll_into_view_if_needed()
    wait_for_js(page, f"document.querySelector('{PICTURE}').matches('.fitted')")  # loaded, and look.js saw it
    drawn = page.evaluate(DRAWN)
    context.close()
    return drawn


def test_a_tall_picture_is_capped_at_a_screenful_and_shown_whole_on_a_desktop(look_hub, browser):
    drawn = drawn_picture(browser, look_hub.base, DESKTOP)
    assert drawn["naturalWidth"] == drawn["naturalHeight"] and drawn["column"] > CAP_PX + 100  # square, wide column
    assert abs(drawn["height"] - CAP_PX) < 1  # as wide as the column it would be a screen tall
    # Once loaded the box is the square itself, no wider (no empty band at its right), scaled whole, not cropped
    assert abs(drawn["width"] - drawn["height"]) < 1 and drawn["fit"] == "contain"


def test_on_a_phone_the_picture_is_as_wide_as_the_post(look_hub, browser):
    drawn = drawn_picture(browser, look_hub.base, PHONES[1])
    assert abs(drawn["width"] - drawn["column"]) < 1 and abs(drawn["height"] - drawn["width"]) < 1
    assert drawn["height"] < CAP_PX


def test_a_picture_drawn_smaller_than_it_is_opens_whole_on_a_click_and_escape_closes_it(look_hub, browser):
    context, page = log_in(browser, look_hub.base, viewport=PHONES[1])
    picture = page.locator(PICTURE)
    picture.scroll_into_view_if_needed()
    wait_for_js(page, f"document.querySelector('{PICTURE}').complete")
    in_post = picture.bounding_box()
    picture.click()
    whole = page.locator("dialog.picture-viewer[open] img")
    wait_for_js(page, "document.querySelector('dialog.picture-viewer[open] img')?.complete")
    box = whole.bounding_box()
    assert box["width"] > in_post["width"] and abs(box["width"] - box["height"]) < 1  # the square, whole
    assert abs(box["width"] - PHONES[1]["width"]) < 1  # as large as the screen allows (it is 512 px)
    assert whole.get_attribute("src") == look_hub.base + picture.get_attribute("src")  # through the image proxy
    assert whole.get_attribute("alt") == "a photo"
    page.keyboard.press("j")  # the reader's keys wait while the picture is open
    assert not page.locator("article.post.selected").count()
    page.keyboard.press("Escape")
    assert not page.locator("dialog.picture-viewer[open]").count()
    page.keyboard.press("j")  # and act again once it is closed
    wait_for_js(page, "document.querySelectorAll('article.post.selected').length === 1")
    context.close()


def test_a_picture_shown_whole_already_opens_nothing(look_hub, browser):
    context, page = log_in(browser, look_hub.base, viewport=DESKTOP)  # 512 px, at its own size on a desktop
    picture = page.locator(PICTURE)
    picture.scroll_into_view_if_needed()
    wait_for_js(page, f"document.querySelector('{PICTURE}').complete")
    picture.click()
    assert not page.locator("dialog.picture-viewer").count()
    context.close()


def test_the_keyboard_reaches_a_shrunk_picture_opens_it_with_enter_and_gets_back_to_it(look_hub, browser):
    context, page = log_in(browser, look_hub.base, viewport=PHONES[1])
    picture = page.locator(PICTURE)
    picture.scroll_into_view_if_needed()
    wait_for_js(page, f"document.querySelector('{PICTURE}').classList.contains('enlargeable')")
    assert picture.get_attribute("role") == "button" and picture.get_attribute("aria-label") == "Show whole: a photo"
    post = page.locator("article.post", has=page.locator(".content img"))
    for _ in range(page.locator("article.post").count()):  # j until the picture's post is the selected one, whose
        page.keyboard.press("j")  # original the reader's Enter would open
        if "selected" in post.get_attribute("class"):
            break
    assert "selected" in post.get_attribute("class") and "unread" in post.get_attribute("class")
    picture.focus()
    page.keyboard.press("Enter")
    wait_for_js(page, "document.querySelector('dialog.picture-viewer[open] img')?.complete")
    # Enter opened the picture and nothing else: no tab with the original, the post still unread
    assert len(context.pages) == 1 and "unread" in post.get_attribute("class")
    page.keyboard.press("Escape")
    assert not page.locator("dialog.picture-viewer[open]").count()
    assert page.evaluate(f"document.activeElement === document.querySelector('{PICTURE}')")
    page.keyboard.press(" ")
    assert page.locator("dialog.picture-viewer[open]").count() == 1
    context.close()


def test_a_picture_shown_whole_is_no_button(look_hub, browser):
    context, page = log_in(browser, look_hub.base, viewport=DESKTOP)
    page.locator(PICTURE).scroll_into_view_if_needed()
    wait_for_js(page, f"document.querySelector('{PICTURE}').complete")
    attributes = page.evaluate(f"['tabindex', 'role', 'aria-label'].map((a) => document.querySelector('{PICTURE}').getAttribute(a))")
    assert attributes == [None, None, None]
    context.close()


def test_a_picture_is_no_button_while_its_post_is_folded_and_one_again_once_it_opens(look_hub, browser):
    context, page = log_in(browser, look_hub.base, viewport=PHONES[1])
    page.locator(PICTURE).scroll_into_view_if_needed()
    wait_for_js(page, f"document.querySelector('{PICTURE}').matches('.enlargeable')")
    page.locator("button[data-pref=view]").click()  # titles only, in place: each post one row, its picture not drawn
    wait_for_js(page, f"!document.querySelector('{PICTURE}').matches('.enlargeable, [tabindex], [role]')")
    page.locator("article.post", has=page.locator(".content img")).locator("h2").click()  # opens in place
    wait_for_js(page, f"document.querySelector('{PICTURE}').matches('.enlargeable[role=button][tabindex=\"0\"]')")
    context.close()


def test_a_picture_declared_smaller_than_it_is_keeps_its_declared_size_once_loaded(look_hub, browser):
    """A post that shows the square as a 120 px thumbnail (its own width and height) arrives live."""
    context, page = log_in(browser, look_hub.base, viewport=DESKTOP)
    page.locator(PICTURE).scroll_into_view_if_needed()
    wait_for_js(page, f"document.querySelector('{PICTURE}').matches('.fitted')")
    page.evaluate(f"""(() => {{
      const thumbnail = document.querySelector('{PICTURE}').cloneNode();
      thumbnail.className = ""; thumbnail.id = "thumbnail"; thumbnail.width = 120; thumbnail.height = 120;
      document.querySelector('{PICTURE}').after(thumbnail);
    }})()""")
    wait_for_js(page, "document.getElementById('thumbnail').matches('.fitted')")
    box = page.locator("#thumbnail").bounding_box()
    assert (round(box["width"]), round(box["height"])) == (120, 120)
    context.close()
