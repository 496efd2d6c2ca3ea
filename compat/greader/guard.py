"""The one guard of every Google Reader API endpoint: method, the app session (``Authorization: GoogleLogin
auth=...``), the write token ``T`` on writes, and our refusals turned into a 4xx with a JSON ``detail``.

Apps authenticate by header, never by cookie, so there is no CSRF to check; a write still needs ``T`` (from
``reader/api/0/token``), as Google Reader asked, so a leaked read-only URL cannot change anything.
"""

import functools

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.csrf import csrf_exempt

from accounts.app_passwords import user_for_app_session
from compat.greader.streams import GReaderError
from timelines.cursor import BadCursor

_WRITE_SALT = "chorus.compat.greader.write"


def write_token(session_key: str) -> str:
    return salted_hmac(_WRITE_SALT, session_key, algorithm="sha256").hexdigest()


def refusal(detail: str, status: int = 400, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def session_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "googlelogin" or not rest.strip().lower().startswith("auth="):
        return ""
    return rest.strip()[len("auth="):]


def endpoint(*methods: str, write: bool = False):
    """Wrap a view ``view(request, *args)``: the person is ``request.user`` when it runs."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                return refusal(f"use {' or '.join(methods)}", status=405, Allow=", ".join(methods))
            key = session_key(request)
            user = user_for_app_session(key) if key else None
            if user is None:
                return refusal("sign in first: accounts/ClientLogin, then Authorization: GoogleLogin auth=<Auth>",
                               status=401)  # fmt: skip
            if write and not constant_time_compare(request.POST.get("T", request.GET.get("T", "")), write_token(key)):
                return refusal("missing or stale write token T: ask reader/api/0/token", status=401,
                               **{"X-Reader-Google-Bad-Token": "true"})  # fmt: skip
            request.user = user
            try:
                return view(request, *args, **kwargs)
            except GReaderError as error:
                return refusal(error.detail, status=error.status)
            except BadCursor as error:
                return refusal(f"bad continuation: {error}")

        return guarded

    return wrap


def ok() -> HttpResponse:
    return HttpResponse("OK", content_type="text/plain; charset=utf-8")
