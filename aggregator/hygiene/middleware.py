"""One check for every request, pages and API alike: no C0 control characters in what a person sends.

A NUL reached PostgreSQL from a query parameter, a form field or a JSON field and answered 500 ("text fields
cannot contain NUL"); other controls are stored and then break XML exports. Checking each form and schema
would miss the next field (and allauth's and the admin's forms), so the request is checked once, before any
view: the path, the query string, form fields (not uploaded files: those are read by their own parsers) and
every key and string of a JSON body. A refusal is a 400 with the field named: JSON ``detail`` under the API,
a page with the message elsewhere.
"""

import json
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string

from aggregator.hygiene.controls import first_control, has_controls

# Paths apps call, answered in JSON: the APIs, and the OAuth endpoints behind the Authorize page (itself a page).
JSON_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/oauth/userinfo")


def _json_strings(value, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_strings(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else key
            yield name, key
            yield from _json_strings(item, name)


def _fields(request: HttpRequest) -> Iterator[tuple[str, str]]:
    """(where, text) of everything the request carries as text."""
    yield "path", request.path
    for name, values in request.GET.lists():
        yield f"query parameter {name!r}", name
        for value in values:
            yield f"query parameter {name!r}", value
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.content_type or ""
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            body = json.loads(request.body)
        except ValueError:
            return  # not JSON: the API answers that itself
        yield from ((f"field {where!r}" if where else "body", text) for where, text in _json_strings(body))
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, values in request.POST.lists():
            yield f"field {name!r}", name
            for value in values:
                yield f"field {name!r}", value


def refusal(request: HttpRequest) -> str:
    """Why the request is refused, or "" when it carries no control character (nor a form nobody can read)."""
    try:
        for where, text in _fields(request):
            if has_controls(text):
                return f"{where}: control characters are not allowed ({first_control(text)})"
    except MultiPartParserError as error:
        return f"body: not a readable form ({error})"
    return ""


class RefuseControlCharacters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A cookie is sent back by the browser, not typed: one with a control character is a forged one and
        # is treated as absent (a session key with a NUL would otherwise reach the database).
        for name in [name for name, value in request.COOKIES.items() if has_controls(name + value)]:
            del request.COOKIES[name]
        reason = refusal(request)
        if not reason:
            return self.get_response(request)
        if request.path.startswith(JSON_PREFIXES):
            # ``detail`` as our API words errors, ``error`` as the Mastodon API under the same prefix does
            return JsonResponse({"detail": reason, "error": reason}, status=400)
        page = render_to_string("refused.html", {"reason": reason}, request=request)
        return HttpResponse(page, status=400)
