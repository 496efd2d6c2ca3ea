"""One decorator for every Mastodon API view: the method, the bearer token and its scopes, the parameters
(query string, form or JSON body alike, as Mastodon reads them), and errors as JSON (``error``, as Mastodon
writes it, and ``detail``, as our own API does). No view answers HTML."""

import functools
import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.oauth2_backends import get_oauthlib_core

from accounts.tokens import live_token, looks_like_api_token
from aggregator.fetch import FetchError
from aggregator.following.subscriptions import SubscriptionError
from compat.mastodon.ids import BadId
from timelines.cursor import BadCursor

MAX_PARAM_LENGTH = 4096


class ApiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def error_response(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"error": detail, "detail": detail}, status=status)


class Params:
    """A request's parameters: the query string, then the body (form or JSON). ``name[]`` and ``name`` are one
    list; nested objects (``home[last_read_id]``) are read with ``nested``."""

    def __init__(self, request: HttpRequest):
        self._lists: dict[str, list[str]] = {}
        for key, values in request.GET.lists():
            self._add(key, values)
        content_type = request.content_type or ""
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if content_type.startswith("application/json") and request.body:
                self._add_json(request.body)
            elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                for key, values in request.POST.lists():
                    self._add(key, values)

    def _add(self, key: str, values: list) -> None:
        name = key[:-2] if key.endswith("[]") else key
        self._lists.setdefault(name, []).extend(
            value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict) else str(value).lower()
            if isinstance(value, bool) else str(value) for value in values if value is not None)  # fmt: skip

    def _add_json(self, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object")
        for key, value in data.items():
            if isinstance(value, dict):
                for inner, inner_value in value.items():
                    self._add(f"{key}[{inner}]", [inner_value])
            else:
                self._add(key, value if isinstance(value, list) else [value])

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._lists.get(name)
        if not values:
            return default
        if len(values[0]) > MAX_PARAM_LENGTH:
            raise ApiError(422, f"{name}: too long (at most {MAX_PARAM_LENGTH} characters)")
        return values[0]

    def getlist(self, name: str) -> list[str]:
        return [v for v in self._lists.get(name, []) if len(v) <= MAX_PARAM_LENGTH][:200]

    def nested(self, name: str, key: str) -> str | None:
        return self.get(f"{name}[{key}]")

    def int(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name}: not a whole number") from None
        return max(low, min(value, high))

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.get(name)
        return default if raw is None else raw.lower() in ("1", "true", "on", "yes")


def scope_granted(granted: set[str], needed: str) -> bool:
    """Mastodon's scopes: ``read`` grants every ``read:...``, ``write`` every ``write:...``; ``follow`` is the
    older name of the follow, block and mute scopes."""
    if needed in granted or needed.split(":")[0] in granted:
        return True
    return "follow" in granted and needed.split(":")[-1] in ("follows", "blocks", "mutes")


def carries_app_token(request: HttpRequest) -> bool:
    """The request carries a bearer token that is not one of our API tokens: an OAuth token of a Mastodon app.
    (Where a path is both ours and Mastodon's, this decides whose answer it gets.)"""
    header = request.headers.get("Authorization", "")
    return header.lower().startswith("bearer ") and not looks_like_api_token(header[7:].strip())


def _authenticate(request: HttpRequest) -> tuple[object | None, set[str]]:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None, set()
    raw = header[7:].strip()
    api_token = live_token(raw) if looks_like_api_token(raw) else None
    if api_token is not None:  # our own API tokens carry every scope
        return api_token.user, {"read", "write", "follow", "push", "profile"}
    valid, oauth = get_oauthlib_core().verify_request(request, scopes=[])
    if not valid or oauth.user is None or not oauth.user.is_active:
        return None, set()
    request.oauth_token = oauth.access_token
    return oauth.user, set(oauth.access_token.scope.split())


def endpoint(*methods: str, scope: str | None = None, public: bool = False) -> Callable:
    """``scope``: what the method needs (``read:statuses``); ``public``: no token needed (instance, apps)."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = error_response(405, f"{request.method} is not allowed here")
                response["Allow"] = ", ".join(methods)
                return response
            user, scopes = _authenticate(request)
            if user is not None:
                request.user = user
            elif not public:
                return error_response(401, "The access token is invalid (Authorization: Bearer <token>)")
            if scope is not None and user is not None and not scope_granted(scopes, scope):
                return error_response(403, f"This action is outside the authorized scopes (needs {scope})")
            try:
                request.params = Params(request)
                result = view(request, *args, **kwargs)
            except ApiError as error:
                return error_response(error.status, error.detail)
            except (BadId, BadCursor) as error:
                return error_response(404, str(error))
            except (SubscriptionError, FetchError) as error:
                return error_response(422, str(error))
            if isinstance(result, HttpResponse):
                return result
            return JsonResponse(result, safe=False)

        return wrapped

    return decorate


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Every API path nobody answers: JSON, never the HTML 404 page."""
    return error_response(404, "Record not found: this endpoint is not implemented by Chorus")
