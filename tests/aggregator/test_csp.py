"""The Content-Security-Policy header on our HTML pages (what the browser makes of it: test_browser_csp.py)."""

import pytest

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/subscriptions/", "/tracks/", "/replies/", "/settings/tokens/", "/api/v1/docs"])
def test_signed_in_pages_carry_the_policy(client, alice, path):
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    policy = directives(response)
    assert policy["script-src"] == "script-src 'self'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["img-src"] == "img-src 'self' data:"  # pictures come from the hub: its image proxy, its avatars
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_the_sign_in_page_carries_the_policy(client):
    assert directives(client.get("/accounts/login/"))["script-src"] == "script-src 'self'"


def test_the_api_docs_page_loads_swagger_from_our_own_files(client, alice):
    client.force_login(alice)
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn.jsdelivr.net" not in page
