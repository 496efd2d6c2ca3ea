"""What the reading flow's browser tests share: sizes, alice's page on the river, the API as the page sees it."""

from tests.browser import log_in

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
POSTS = 12


def reader(browser, base, size):
    context, page = log_in(browser, base)
    page.set_viewport_size(SIZES[size])
    page.evaluate("window.__samePage = true")  # gone if anything navigates
    return context, page


def api(page, path: str, method: str = "GET", body: dict | None = None):
    """An API call from the page, with its session (what the page's own scripts would see)."""
    return page.evaluate(
        """async ([path, method, body]) => {
      const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
      const response = await fetch(path, { method, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: body ? JSON.stringify(body) : undefined });
      return response.status === 204 ? null : response.json();
    }""",
        [path, method, body],
    )


def read_state(page) -> dict[str, bool]:
    return {item["title"]: item["read"] for item in api(page, "/api/v1/timeline?limit=50")["items"]}


def wait_until_read(page, title: str, read: bool = True) -> None:
    """Until the timeline API says ``title`` is read (or unread): the page's own request may still be on its
    way, and nothing in the page says when the hub wrote it, so the page asks the API until it agrees."""
    page.evaluate(
        """async ([title, read]) => {
      const ends = performance.now() + 10000;
      while (performance.now() < ends) {
        const page = await (await fetch("/api/v1/timeline?limit=50", { credentials: "same-origin" })).json();
        if (page.items.some((item) => item.title === title && item.read === read)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the API never said ${title} is ${read ? "read" : "unread"}`);
    }""",
        [title, read],
    )


def wait_until_starred(page, titles: list[str]) -> None:
    """Until the starred API lists exactly ``titles``: the star button and the count change before the hub
    answers (optimistically), so neither says the star was written."""
    page.evaluate(
        """async (titles) => {
      const ends = performance.now() + 10000;
      let seen = [];
      while (performance.now() < ends) {
        const page = await (await fetch("/api/v1/starred", { credentials: "same-origin" })).json();
        seen = page.items.map((item) => item.title);
        if (JSON.stringify(seen) === JSON.stringify(titles)) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the starred API said ${JSON.stringify(seen)}`);
    }""",
        titles,
    )


def post(page, title: str):
    return page.locator("article.post", has=page.locator(f"a.title:text-is('{title}')"))


def mute_and_undo(page, target, *, while_muted=None, after_undo=None) -> None:
    """Mute the source from the post ``target``: its posts leave in place and the hub has the block; Undo brings
    them back and the hub drops it. ``while_muted()`` and ``after_undo()`` check more at those two moments."""
    shown = page.locator("article.post:visible").count()
    target.locator("summary:has-text('Block')").click()
    target.locator("button:has-text('Mute Live feed')").click()
    bar = page.locator(".undo-bar")
    bar.locator("button:text-is('Undo')").wait_for()
    assert bar.inner_text().startswith("Muted Live feed.")
    assert page.locator("article.post:visible").count() == 0
    assert [block["kind"] for block in api(page, "/api/v1/blocks")] == ["source"]
    if while_muted:
        while_muted()
    bar.locator("button:text-is('Undo')").click()
    page.wait_for_selector(".toast:has-text('undone')")  # said once the hub answered
    assert page.locator("article.post:visible").count() == shown and bar.count() == 0
    assert api(page, "/api/v1/blocks") == []
    if after_undo:
        after_undo()
