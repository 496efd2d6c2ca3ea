"""Dark mode: the system's choice by default, a choice made on the Settings page remembered by the browser and
drawn from the first paint (no script), on every page."""

from tests.browser import log_in
from tests.look.conftest import DESKTOP

BACKGROUND = "getComputedStyle(document.body).backgroundColor"


def lightness(css_colour: str) -> float:
    """0 (black) to 1 (white): the mean of an ``rgb(r, g, b)`` colour's channels."""
    channels = css_colour[css_colour.index("(") + 1 : css_colour.index(")")].replace(",", " ").split()[:3]
    return sum(float(channel) for channel in channels) / 765


def test_the_system_theme_decides_on_every_page(walk):
    backgrounds = {}
    for theme in ("light", "dark"):
        for name, page in walk(theme=theme):
            backgrounds[(name, theme)] = lightness(page.evaluate(BACKGROUND))
    assert [key for key, value in backgrounds.items() if key[1] == "light" and value < .9] == []
    assert [key for key, value in backgrounds.items() if key[1] == "dark" and value > .15] == []


def choose(page, base: str, theme: str) -> None:
    page.goto(base + "/settings/")
    page.check(f"input[name=theme][value={theme}]")
    page.click(".theme-choice button[type=submit]")
    page.wait_for_url(base + "/settings/")


def test_a_chosen_theme_beats_the_systems_and_is_remembered(look_hub, browser):
    base = look_hub.base
    context, page = log_in(browser, base, color_scheme="light", viewport=DESKTOP)
    choose(page, base, "dark")
    assert page.locator("html").get_attribute("data-theme") == "dark"
    for path in ("/", "/subscriptions/", "/no/such/page/"):
        page.goto(base + path)
        assert lightness(page.evaluate(BACKGROUND)) < .15, path
    # the next visit draws the first frame dark: the choice is in the served HTML, not applied by a script
    served = page.request.get(base + "/tracks/").text()
    assert '<html lang="en" data-theme="dark">' in served
    page.emulate_media(color_scheme="dark")
    choose(page, base, "light")
    page.goto(base + "/")
    assert lightness(page.evaluate(BACKGROUND)) > .9
    choose(page, base, "system")
    page.goto(base + "/")
    assert page.locator("html").get_attribute("data-theme") is None
    assert lightness(page.evaluate(BACKGROUND)) < .15  # the system's dark again


def test_the_choice_works_signed_out_and_without_javascript(look_hub, browser):
    context = browser.new_context(color_scheme="dark", java_script_enabled=False)
    page = context.new_page()
    choose(page, look_hub.base, "light")
    page.goto(look_hub.base + "/accounts/login/")
    assert lightness(page.evaluate(BACKGROUND)) > .9


def test_a_theme_that_is_not_offered_is_refused(look_hub, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(look_hub.base + "/settings/")
    page.evaluate("document.querySelector('input[name=theme][value=dark]').value = 'neon'")
    page.check("input[name=theme][value=neon]")
    page.click(".theme-choice button[type=submit]")
    assert "Choose one of the themes listed." in page.locator(".messages").inner_text()
    assert page.locator("html").get_attribute("data-theme") is None


def test_the_api_docs_render_with_the_network_cut(look_hub, browser):
    context, page = log_in(browser, look_hub.base)
    elsewhere = []

    def only_the_hub(route):
        if route.request.url.startswith(look_hub.base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_hub)
    page.goto(look_hub.base + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=10_000)  # Swagger UI ran and drew the operations
    assert page.locator(".swagger-ui .opblock").count() > 10
    assert elsewhere == []
