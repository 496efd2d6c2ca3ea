"""Pictures in real headless Chromium against the embedded hub: a feed's icon becomes its source's picture, a
source without one shows generated initials (never an empty slot or a broken image), and no reading page makes
the browser contact any host but the hub, however many remote images its posts carry."""

from urllib.parse import urlsplit

import pytest

from tests.browser import create_user, follow, log_in, wait_for_js
from tests.servers.pictures import solid_png

HANDLE = "@alice@social.example"
ICON = solid_png(32, 32, (230, 120, 20))
PHOTO = solid_png(120, 80, (30, 110, 200))
ALL_PICTURES_SHOWN = ("[...document.images].length > 0 && [...document.images].every("
                      "(img) => img.complete && img.naturalWidth > 0)")  # fmt: skip


def subscribes(username: str, address: str) -> tuple[str, ...]:
    """A seed command: ``username`` (who exists) follows ``address``."""
    return ("shell", "-c", "from django.contrib.auth.models import User; "
            "from aggregator.following.subscriptions import subscribe; "
            f"subscribe(user=User.objects.get(username='{username}'), address='{address}')")  # fmt: skip


def atom_with_icon(title: str, icon: str, entries: str) -> str:
    return (f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>urn:{title}</id><title>{title}</title>'
            f"<icon>{icon}</icon>{entries}</feed>")  # fmt: skip


def rss_with(title: str, *descriptions: str) -> str:
    items = "".join(f"<item><guid>{title}-{n}</guid><title>{title} post {n}</title>"
                    f"<description><![CDATA[{text}]]></description>"
                    f"<pubDate>Mon, 23 Nov 2026 1{n}:00:00 GMT</pubDate></item>" for n, text in enumerate(descriptions))  # fmt: skip
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{items}</channel></rss>'


@pytest.fixture
def pictured_hub(embedded_hub, httpserver):
    """alice follows a feed with an Atom icon and one without any picture."""
    entry = "<entry><id>urn:o:1</id><title>Orange news</title><updated>2026-11-23T09:00:00Z</updated></entry>"
    httpserver.expect_request("/orange.xml").respond_with_data(
        atom_with_icon("Orange Juice", "/orange-icon.png", entry), content_type="application/atom+xml")
    httpserver.expect_request("/orange-icon.png").respond_with_data(ICON, content_type="image/png")
    httpserver.expect_request("/plain.xml").respond_with_data(rss_with("Zebra Weekly", "<p>no picture here</p>"),
                                                              content_type="application/rss+xml")  # fmt: skip
    seed = [follow("alice", httpserver.url_for("/orange.xml")), subscribes("alice", httpserver.url_for("/plain.xml"))]
    return embedded_hub(seed=seed)


def test_a_feeds_icon_becomes_its_picture_and_a_source_without_one_shows_initials(pictured_hub, browser, tmp_path):
    base = pictured_hub.base
    context, page = log_in(browser, base)
    pictures: dict[str, tuple[str, bytes]] = {}
    page.on("response", lambda r: "/avatar" in r.url and pictures.setdefault(r.url, (r.headers["content-type"], r.body())))
    page.reload()
    wait_for_js(page, ALL_PICTURES_SHOWN)  # every picture loaded: none empty, none broken
    sidebar = page.locator(".sidebar img.avatar")
    assert sidebar.count() == 2 and page.locator("article.post img.avatar").count() == 2
    by_title = {link.inner_text().strip(): link.locator("img.avatar").get_attribute("src")
                for link in page.locator(".sidebar li a:has(img.avatar)").all()}  # fmt: skip
    orange = next(src for title, src in by_title.items() if title.startswith("Orange Juice"))
    zebra = next(src for title, src in by_title.items() if title.startswith("Zebra Weekly"))
    assert pictures[base + orange] == ("image/png", ICON)  # the feed's own icon, served by the hub
    kind, svg = pictures[base + zebra]
    assert kind == "image/svg+xml" and b">ZW</text>" in svg
    for img in page.locator("img").all():  # a size on every picture: nothing shifts as they load
        assert img.get_attribute("width") and img.get_attribute("height")
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(tmp_path / f"pictures-{width}x{height}.png"), full_page=True)
    print("screenshots in", tmp_path)


@pytest.fixture
def remote_images_hub(embedded_hub, httpserver):
    """alice (``HANDLE`` verified) follows a feed whose posts carry remote images, one of them mentioning her."""
    remote = f"http://localhost:{httpserver.port}"  # another host than the hub's 127.0.0.1, as the internet would be
    photo = f'<img src="{remote}/photo.png" alt="a photo" width="120" height="80">'
    descriptions = (
        f"<p>{HANDLE} look at this {photo}</p>",
        f'<p>pictures everywhere <img src="{remote}/photo.png" srcset="{remote}/photo.png 1x, {remote}/photo2.png 2x">'
        f'<video src="{remote}/clip.mp4" poster="{remote}/photo.png" controls></video></p>',
        f'<p>pictures relative <img src="/photo.png"> and hostile <img src="{remote}/evil.svg"></p>',
    )
    httpserver.expect_request("/pictures.xml").respond_with_data(rss_with("Pictures", *descriptions),
                                                                 content_type="application/rss+xml")  # fmt: skip
    for path in ("/photo.png", "/photo2.png"):
        httpserver.expect_request(path).respond_with_data(PHOTO, content_type="image/png")
    httpserver.expect_request("/evil.svg").respond_with_data(b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                                                             content_type="image/svg+xml")  # fmt: skip
    seed = [create_user("alice"), ("verify_identity", "alice", "fediverse", HANDLE),
            subscribes("alice", httpserver.url_for("/pictures.xml"))]  # fmt: skip
    return embedded_hub(seed=seed)


def test_no_reading_page_makes_the_browser_contact_another_host(remote_images_hub, browser, httpserver, tmp_path):
    base = remote_images_hub.base
    context, page = log_in(browser, base)
    page.click("article.post button.star >> nth=0")  # something on the starred page
    page.wait_for_load_state("networkidle")
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    page.on("websocket", lambda socket: requested.append(socket.url))
    for path in ("/", "/search/?q=pictures", "/starred/", "/replies/"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("article.post").count() > 0, path
        photos = page.locator("article.post .content img[alt='a photo']")
        if photos.count():
            photos.first.scroll_into_view_if_needed()  # lazy pictures load once near the viewport
            wait_for_js(page, "document.querySelector(\"article.post .content img[alt='a photo']\").naturalWidth === 120")
        page.screenshot(path=str(tmp_path / f"{path.strip('/').split('/')[0] or 'timeline'}.png"), full_page=True)
    hub = urlsplit(base).netloc
    assert requested and {urlsplit(url).netloc for url in requested} == {hub}, sorted(set(requested))
    proxied = [url for url in requested if "/images/" in url]
    assert proxied  # the pictures came, through the hub's proxy
    fetched_by_hub = {request.path for request, _ in httpserver.log}
    assert "/photo.png" in fetched_by_hub and "/clip.mp4" not in fetched_by_hub  # media waits for play
