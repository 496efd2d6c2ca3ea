"""The Content-Security-Policy in real Chromium: no page of ours breaks it, and live posts still arrive.

Chromium fires ``securitypolicyviolation`` on the document for every blocked script, handler, style, picture or
connection; a recorder installed before any page script collects them, and console errors are kept too.
"""

import pytest

from tests.browser import LiveFeed, follow, log_in, refresh_now, wait_for_js, wait_for_stream

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}`);
});
"""

SIGNED_IN_PAGES = ["/", "/subscriptions/", "/replies/", "/tracks/", "/identities/", "/blocks/", "/people/alice/",
                   "/settings/tokens/", "/settings/logins/", "/settings/notifications/", "/accounts/3rdparty/",
                   "/accounts/email/", "/accounts/password/change/", "/api/v1/docs"]  # fmt: skip
SIGNED_OUT_PAGES = ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]


@pytest.fixture
def hub(embedded_hub, httpserver):
    feed = LiveFeed()  # its own path: the seeded database is shared by every hub with the same seed
    # a post with a picture from its own site: it loads through the hub's image proxy
    feed.add("2", f"with a picture &lt;img src=&quot;{httpserver.url_for('/picture.png')}&quot;&gt;")
    httpserver.expect_request("/csp-feed.xml").respond_with_handler(feed)
    httpserver.expect_request("/picture.png").respond_with_data(PNG, content_type="image/png")
    return embedded_hub(seed=[follow("alice", httpserver.url_for("/csp-feed.xml"))]), feed


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")  # fmt: skip


def watch(context) -> list[str]:
    """Record CSP violations on every page of ``context`` (from the next navigation on) and console errors."""
    context.add_init_script(RECORD_VIOLATIONS)
    errors: list[str] = []
    context.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def visit(page, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.__cspViolations")


def test_no_page_of_ours_reports_a_violation(hub, browser):
    running, _ = hub
    context, page = log_in(browser, running.base)
    console_errors = watch(context)
    violations = {}
    for path in SIGNED_IN_PAGES:
        violations[path] = visit(page, running.base + path)
    page.goto(running.base + "/subscriptions/")
    page.click("a:has-text('Live feed')")
    violations["source"] = visit(page, page.url)
    docs = visit(page, running.base + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=10_000)  # Swagger UI ran and drew the operations
    violations["/api/v1/docs"] = docs + page.evaluate("window.__cspViolations")
    signed_out = browser.new_context()
    console_errors += watch(signed_out)
    other = signed_out.new_page()
    for path in SIGNED_OUT_PAGES:
        violations[path] = visit(other, running.base + path)
    assert {path: found for path, found in violations.items() if found} == {}
    assert [error for error in console_errors if "Content Security Policy" in error] == []


def test_a_live_post_is_inserted_under_the_policy(hub, browser):
    running, feed = hub
    context, page = log_in(browser, running.base)
    console_errors = watch(context)
    page.reload()
    wait_for_stream(page)
    page.locator("article.post img").first.wait_for()
    # a post's picture from another site still loads, through the proxy (waited for: it may arrive after the page)
    wait_for_js(page, "(() => { const img = document.querySelector('article.post img');"
                      " return img.complete && img.naturalWidth > 0; })()")  # fmt: skip
    feed.add("3", "a live post")
    refresh_now(context, running.base)
    page.wait_for_selector("article.post h2:has-text('a live post')", timeout=10_000)
    assert page.evaluate("window.__cspViolations") == []
    assert [error for error in console_errors if "Content Security Policy" in error] == []
