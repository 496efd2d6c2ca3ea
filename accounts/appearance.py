"""A browser's theme: light, dark or the system's (the default), remembered in a cookie.

The choice is rendered as ``data-theme`` on ``<html>`` by the server, so the page is drawn in it from the first
paint without any inline script (the Content-Security-Policy forbids one). It belongs to the browser, not the
account: it works signed out too, and a phone and a laptop may differ.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

THEMES = {"system": "Same as the system", "light": "Light", "dark": "Dark"}
COOKIE = "chorus_theme"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie (Chromium caps it at 400 days)


def theme_of(request: HttpRequest | None) -> str:
    """The theme chosen in this browser ("system" when none, or when the cookie holds anything else)."""
    chosen = request.COOKIES.get(COOKIE, "") if request is not None else ""
    return chosen if chosen in THEMES else "system"


def remember_theme(response: HttpResponse, theme: str) -> None:
    """Make ``theme`` (one of ``THEMES``) this browser's choice; "system" forgets the cookie."""
    if theme == "system":
        response.delete_cookie(COOKIE, samesite="Lax")
    else:
        response.set_cookie(COOKIE, theme, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                            secure=settings.SESSION_COOKIE_SECURE)  # fmt: skip
