"""Apps and OAuth 2 for Mastodon clients, on django-oauth-toolkit (checked with 3.4): register an app, our
sign-in then an Authorize page, the token (authorization code, PKCE when the app sends a challenge), revoke, and
the server metadata. Tokens are listed and revoked under Settings beside our API tokens."""

import json
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView, RevokeTokenView, TokenView

from compat.mastodon.endpoint import ApiError, endpoint, error_response
from compat.mastodon.ids import self_account_id
from compat.models import AppScopes

OOB = "urn:ietf:wg:oauth:2.0:oob"
# Schemes a browser would run or read instead of handing to an app: never a redirect target.
REFUSED_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "blob", "about", "filesystem", "view-source"})
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]{0,40}$")
MAX_REDIRECT_URIS = 10
APPS_PER_ADDRESS_PER_HOUR = 30


def checked_redirect_uris(raw) -> list[str]:
    """Redirect URIs as Mastodon takes them (one string, space or newline separated, or a list): out-of-band,
    an app's own scheme (``tusky://oauth``) or http(s) with a host. Raises ``ApiError``."""
    uris = " ".join(raw).split() if isinstance(raw, list) else (raw or "").split()
    if not uris:
        raise ApiError(422, "redirect_uris: give at least one (or urn:ietf:wg:oauth:2.0:oob)")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ApiError(422, f"redirect_uris: at most {MAX_REDIRECT_URIS}")
    for uri in uris:
        if uri == OOB:
            continue
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        if len(uri) > 2000 or not _SCHEME.match(scheme) or scheme in REFUSED_SCHEMES or parts.fragment:
            raise ApiError(422, f"redirect_uris: {uri[:100]!r} is not an app's or a web address")
        if scheme in ("http", "https") and not parts.hostname:
            raise ApiError(422, f"redirect_uris: {uri[:100]!r} has no host")
    return uris


def checked_scopes(raw: str | None) -> list[str]:
    scopes = (raw or "read").split()
    unknown = [scope for scope in scopes if scope not in settings.OAUTH2_PROVIDER["SCOPES"]]
    if unknown or not scopes:
        raise ApiError(422, f"scopes: unknown scope {' '.join(unknown)[:100]!r}")
    return scopes


def _limit_registrations(request: HttpRequest) -> None:
    key = f"mastodon-apps:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > APPS_PER_ADDRESS_PER_HOUR:
        raise ApiError(429, "too many apps registered from this address; try again later")


@endpoint("POST", public=True)
def register_app(request):
    """``POST /api/v1/apps``: the client secret is shown once here and stored hashed."""
    params = request.params
    name = (params.get("client_name") or "").strip()
    if not name or len(name) > 255:
        raise ApiError(422, "client_name: give the app's name (at most 255 characters)")
    uris = checked_redirect_uris(params.getlist("redirect_uris") or params.get("redirect_uri"))
    scopes = checked_scopes(params.get("scopes"))
    _limit_registrations(request)
    secret = generate_client_secret()
    with transaction.atomic():
        app = get_application_model().objects.create(
            name=name, client_type="confidential", authorization_grant_type="authorization-code",
            redirect_uris=" ".join(uris), client_secret=secret, hash_client_secret=True,
        )  # fmt: skip
        AppScopes.objects.create(application=app, scopes=" ".join(scopes))
    return {**_app_json(app, scopes=scopes), "client_id": app.client_id, "client_secret": secret,
            "client_secret_expires_at": 0}  # fmt: skip


def _app_json(app, *, scopes: list[str]) -> dict:
    uris = app.redirect_uris.split()
    return {"id": str(app.pk), "name": app.name, "website": None, "redirect_uri": "\n".join(uris),
            "redirect_uris": uris, "scopes": scopes, "vapid_key": ""}  # fmt: skip


@endpoint("GET")
def verify_app(request):
    token = getattr(request, "oauth_token", None)
    if token is None or token.application is None:
        raise ApiError(404, "this token belongs to no app")
    return _app_json(token.application, scopes=token.scope.split())


class Authorize(AuthorizationView):
    """Our sign-in first (LoginRequiredMixin), then the Authorize page. Apps redirect to what they registered:
    their own scheme, http(s), or out-of-band (the code is shown on the page to copy into the app)."""

    template_name = "compat/authorize.html"

    def redirect(self, redirect_to, application):
        if redirect_to.startswith(OOB):
            query = parse_qs(urlsplit(redirect_to).query)
            return render(self.request, "compat/authorized_oob.html", {
                "code": (query.get("code") or [""])[0], "error": (query.get("error") or [""])[0],
                "application": application,
            })  # fmt: skip
        allowed = {urlsplit(uri).scheme.lower() for uri in (application.redirect_uris.split() if application else [])}
        return OAuth2ResponseRedirect(redirect_to, sorted(allowed - REFUSED_SCHEMES) or ["https"])


def _as_form(request: HttpRequest) -> None:
    """Mastodon takes a JSON body on its OAuth endpoints too; the toolkit reads a form."""
    if (request.content_type or "").startswith("application/json"):
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        request.POST = QueryDict(urlencode({k: v for k, v in data.items() if isinstance(v, str | int)}))


def _post_only(request: HttpRequest) -> JsonResponse | None:
    if request.method == "POST":
        return None
    response = error_response(405, f"{request.method} is not allowed here")
    response["Allow"] = "POST"
    return response


@csrf_exempt
def token(request: HttpRequest):
    if refused := _post_only(request):
        return refused
    _as_form(request)
    response = TokenView.as_view()(request)
    if response.status_code == 200:
        body = json.loads(response.content)
        body.setdefault("created_at", int(time.time()))
        response.content = json.dumps(body).encode()
    return response


@csrf_exempt
def revoke(request: HttpRequest):
    if refused := _post_only(request):
        return refused
    _as_form(request)
    response = RevokeTokenView.as_view()(request)
    if response.status_code == 200:
        return JsonResponse({})
    return response


@endpoint("GET", "POST", scope="profile")
def userinfo(request):
    """OpenID Connect claims about the person, as Mastodon's ``/oauth/userinfo`` gives them (``profile`` scope)."""
    user = request.user
    return {
        "iss": request.build_absolute_uri("/"), "sub": self_account_id(user.pk),
        "name": user.get_full_name() or user.get_username(), "preferred_username": user.get_username(),
        "profile": request.build_absolute_uri(reverse("profile", args=[user.get_username()])),
    }  # fmt: skip


def server_metadata(request: HttpRequest) -> JsonResponse:
    """RFC 8414 metadata, as Mastodon publishes it."""
    absolute = request.build_absolute_uri
    return JsonResponse({
        "issuer": absolute("/"),
        "authorization_endpoint": absolute(reverse("mastodon_authorize")),
        "token_endpoint": absolute(reverse("mastodon_token")),
        "revocation_endpoint": absolute(reverse("mastodon_revoke")),
        "userinfo_endpoint": absolute(reverse("mastodon_userinfo")),
        "app_registration_endpoint": absolute(reverse("mastodon_apps")),
        "scopes_supported": list(settings.OAUTH2_PROVIDER["SCOPES"]),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": "https://docs.joinmastodon.org/",
    })  # fmt: skip
