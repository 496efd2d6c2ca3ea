"""Signing in with OpenID Connect and OpenID 2.0 as a person does: real headless Chromium, the embedded hub
(`manage.py serve`) configured through CHORUS_OIDC_PROVIDERS, and real providers on loopback: two instances of
npm oidc-provider (tests/servers/oidc) and a python3-openid OpenID 2.0 provider."""

import json

import pytest

from tests.browser import require_chromium
from tests.servers.oidc_provider import OIDCProvider, client, require_oidc_provider
from tests.servers.openid_provider import OpenIDProvider
from tests.servers.processes import free_port

SECRET = "browser-test-secret"
CAROL = {"email": "carol@example.org", "email_verified": True, "preferred_username": "carol", "name": "Carol C"}


@pytest.fixture(scope="module")
def hub_port():
    return free_port()


@pytest.fixture(scope="module")
def oidc_providers(hub_port):
    """Two independent issuers, "Acme ID" and "Umbrella ID", that both know carol."""
    require_chromium()
    require_oidc_provider()
    started = {}
    for pid in ("acme", "umbrella"):
        callback = f"http://127.0.0.1:{hub_port}/accounts/oidc/{pid}/login/callback/"
        started[pid] = OIDCProvider(clients=[client(client_id=pid, secret=SECRET, redirect_uri=callback)],
                                    accounts={"carol": CAROL}).start()  # fmt: skip
    yield started
    for provider in started.values():
        provider.stop()


@pytest.fixture
def hub(embedded_hub, hub_port, oidc_providers):
    """The embedded hub with Acme, Umbrella and a provider that is down, all from CHORUS_OIDC_PROVIDERS; yields
    (base url, the hub)."""
    configured = [{"id": pid, "name": f"{pid.title()} ID", "issuer": p.issuer, "client_id": pid, "secret": SECRET}
                  for pid, p in oidc_providers.items()]  # fmt: skip
    configured.append({"id": "down", "name": "Down ID", "issuer": f"http://127.0.0.1:{free_port()}",
                       "client_id": "down", "secret": SECRET})  # fmt: skip
    running = embedded_hub(port=hub_port, CHORUS_OIDC_PROVIDERS=json.dumps(configured))
    return running.base, running


def usernames(hub) -> list[str]:
    return [name for (name,) in hub.sql("SELECT username FROM auth_user ORDER BY id")]


def pass_provider_pages(page, *, login: str = "carol") -> None:
    """oidc-provider's development pages: sign in (any password), then consent."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "whatever")
    page.click("button[type=submit]")
    page.click("button:has-text('Continue')")


def sign_in_with(browser, base: str, provider: str):
    page = browser.new_context().new_page()
    page.goto(base + "/accounts/login/")
    page.click(f"button:has-text('Sign in with {provider}')")
    pass_provider_pages(page)
    page.wait_for_url(base + "/")
    return page


def test_a_first_sign_in_creates_the_account_and_the_second_lands_in_it(hub, browser):
    base, running = hub
    first = sign_in_with(browser, base, "Acme ID")
    assert first.locator("button:has-text('Log out carol')").count() == 1
    first.click(".settings-menu > summary")  # Log out is in the Settings menu
    first.click("button:has-text('Log out carol')")
    first.wait_for_url(base + "/accounts/login/")
    second = sign_in_with(browser, base, "Acme ID")  # a new browser: the provider asks again
    assert second.locator("button:has-text('Log out carol')").count() == 1
    assert usernames(running) == ["carol"]


def test_a_second_provider_is_linked_and_then_leads_into_the_same_account(hub, browser):
    base, running = hub
    page = sign_in_with(browser, base, "Acme ID")
    page.goto(base + "/settings/tokens/")
    page.click(".settings-nav a:has-text('Sign-in methods')")
    page.click("button:has-text('Link Umbrella ID')")
    pass_provider_pages(page)
    page.wait_for_url(base + "/accounts/3rdparty/")
    linked = page.locator(".linked-logins li strong").all_inner_texts()
    assert sorted(linked) == ["Acme ID", "Umbrella ID"]
    other = sign_in_with(browser, base, "Umbrella ID")
    assert other.locator("button:has-text('Log out carol')").count() == 1
    # Remove Acme: Umbrella remains, and then the last login of an account without a password stays.
    page.click(".linked-logins li[data-provider=acme] button:has-text('Remove')")
    assert page.locator(".linked-logins li strong").all_inner_texts() == ["Umbrella ID"]
    page.click(".linked-logins li[data-provider=umbrella] button:has-text('Remove')")
    assert "no password" in page.locator(".errorlist").inner_text().lower()
    assert page.locator(".linked-logins li strong").all_inner_texts() == ["Umbrella ID"]
    assert usernames(running) == ["carol"]


def test_denied_consent_brings_the_person_back_signed_out(hub, browser):
    base, running = hub
    page = browser.new_context().new_page()
    page.goto(base + "/accounts/login/")
    page.click("button:has-text('Sign in with Acme ID')")
    page.fill("input[name=login]", "carol")
    page.fill("input[name=password]", "whatever")
    page.click("button[type=submit]")
    page.click("a:has-text('Cancel')")  # on the consent page
    page.wait_for_url(base + "/accounts/3rdparty/login/cancelled/")
    assert "Sign-in cancelled" in page.locator("h1").inner_text()
    page.goto(base + "/")
    assert page.url.startswith(base + "/accounts/login/")
    assert usernames(running) == []


def test_a_provider_that_is_down_gets_a_clear_page(hub, browser):
    base, running = hub
    page = browser.new_context().new_page()
    page.goto(base + "/accounts/login/")
    with page.expect_response(lambda r: "/accounts/oidc/down/login/" in r.url) as answer:
        page.click("button:has-text('Sign in with Down ID')")
    assert answer.value.status == 401
    assert "Down ID could not be reached" in page.locator(".signin-problem").inner_text()
    assert usernames(running) == []


def test_a_legacy_openid_sign_in_creates_the_account(hub, browser):
    base, running = hub
    op = OpenIDProvider({"erin": {"email": "erin@example.org", "fullname": "Erin E"}}).start()
    try:
        page = browser.new_context().new_page()
        page.goto(base + "/accounts/login/")
        page.fill(".openid-url input[name=openid]", op.identity_url("erin"))
        page.click(".openid-url button[type=submit]")
        page.wait_for_url(base + "/")
        assert page.locator("button:has-text('Log out erin')").count() == 1
    finally:
        op.stop()
    assert running.sql("SELECT email FROM auth_user") == [("erin@example.org",)]  # one account, with her address
