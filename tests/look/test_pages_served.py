"""What the look needs from the server: the error pages with DEBUG off, the app manifest and its icons, and the
theme choice (a cookie rendered into <html>)."""

import json
import struct
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import bad_request, server_error

STATIC = Path(__file__).resolve().parents[2] / "static"
pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_styled_404(client, alice):
    client.force_login(alice)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "This page is not here" in response.content.decode() and 'class="topbar"' in response.content.decode()


def test_the_500_page_asks_the_database_nothing(django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500 and "Something went wrong on the hub" in page and "/static/chorus.css" in page


def test_a_bad_request_is_the_styled_400(rf, alice):
    request = rf.get("/")
    request.user = alice
    response = bad_request(request, exception=None)
    assert response.status_code == 400 and "That request could not be read" in response.content.decode()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_the_manifest_is_served_as_one_and_its_icons_have_their_sizes(client):
    response = client.get("/static/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(b"".join(response.streaming_content) if response.streaming else response.content)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    purposes = set()
    for icon in manifest["icons"]:
        purposes.add(icon["purpose"])
        if icon["type"] == "image/png":
            width, height = png_size(STATIC / icon["src"])
            assert icon["sizes"] == f"{width}x{height}"
    assert {"any", "maskable"} <= purposes
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}
    assert png_size(STATIC / "icons" / "apple-touch-icon.png") == (180, 180)


def test_every_page_links_the_manifest_and_icons(client):
    page = client.get("/accounts/login/").content.decode()
    for link in ('rel="manifest" href="/static/manifest.webmanifest"', 'rel="apple-touch-icon"',
                 'rel="icon" href="/static/icons/chorus.svg" type="image/svg+xml"'):  # fmt: skip
        assert link in page


def test_a_theme_is_remembered_by_the_browser_and_rendered_into_the_page(client):
    response = client.post("/settings/theme/", {"theme": "dark", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert response.cookies["chorus_theme"].value == "dark" and response.cookies["chorus_theme"]["httponly"]
    assert '<html lang="en" data-theme="dark">' in client.get("/accounts/login/").content.decode()
    client.post("/settings/theme/", {"theme": "system"})
    assert '<html lang="en">' in client.get("/accounts/login/").content.decode()


def test_a_theme_choice_never_redirects_to_another_site_and_refuses_unknown_themes(client):
    response = client.post("/settings/theme/", {"theme": "light", "next": "https://evil.example/"})
    assert response["Location"] == "/settings/"
    response = client.post("/settings/theme/", {"theme": "neon"}, follow=True)
    assert "Choose one of the themes listed." in response.content.decode()
    assert "chorus_theme" not in response.cookies or not response.cookies["chorus_theme"].value
    client.cookies["chorus_theme"] = "<script>"
    assert '<html lang="en">' in client.get("/accounts/login/").content.decode()


def test_a_form_without_its_csrf_token_gets_the_styled_page(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/settings/tokens/", {"name": "no token"})
    assert response.status_code == 403 and "This form has expired" in response.content.decode()
