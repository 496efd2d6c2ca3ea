"""The JSON API under /api/v1/: schema derived from these typed functions (django-ninja).

Every handler is thin: scope to the authenticated person, call one selector or service, turn domain errors
into a 4xx with a readable ``detail``.
"""

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, django_auth

from accounts.tokens import user_for_token
from aggregator.fetch import FetchError
from aggregator.following.api import router as subscriptions_router
from publishing.api import router as publishing_router
from replies.api import router as replies_router
from timelines.api import router as timeline_router
from timelines.cursor import BadCursor
from timelines.history_api import router as history_router
from tracks.api import router as tracks_router


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class ChorusAPI(NinjaAPI):
    """operationIds are part of the published schema (clients generate code from them): a router keeps the
    prefix its operations were published with when its module moves (django-ninja derives it from the module)."""

    def get_openapi_operation_id(self, operation) -> str:
        module = operation.view_func.__module__
        prefix = PUBLISHED_PREFIXES.get(module) or module.replace(".", "_")
        return f"{prefix}_{operation.view_func.__name__}"


PUBLISHED_PREFIXES = {"aggregator.following.api": "aggregator_api_subscriptions"}

api = ChorusAPI(
    title="Chorus API",
    version="1",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    auth=[BearerToken(), django_auth],
)


def _readable(errors: list[dict]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", [])[1:] if part not in ("body", "payload"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid"))
    return "; ".join(parts) or "invalid request"


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return api.create_response(request, {"detail": _readable(exc.errors), "errors": exc.errors}, status=400)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(request, {"detail": "authentication required (Authorization: Bearer <token>)"},
                               status=401)  # fmt: skip


@api.exception_handler(BadCursor)
def _bad_cursor(request, exc: BadCursor):
    return api.create_response(request, {"detail": f"bad cursor: {exc}"}, status=400)


@api.exception_handler(FetchError)
def _fetch_error(request, exc: FetchError):
    return api.create_response(request, {"detail": str(exc)}, status=400)


api.add_router("/", subscriptions_router)
api.add_router("/", timeline_router)
api.add_router("/", replies_router)
api.add_router("/", tracks_router)
api.add_router("/", history_router)
api.add_router("/", publishing_router)
