"""Rate limits and a clear page (never a 500) around allauth's OpenID Connect and OpenID 2.0 views.

allauth turns most failures into its authentication-error page itself, but not an issuer that cannot be
reached while its discovery document is fetched (when a sign-in starts, and again when the callback builds its
token client): those ``requests`` errors escape the view. They are caught here, for these views only.
"""

import requests
from allauth.core import ratelimit
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid.provider import OpenIDProvider

_STARTS = {"openid_connect_login", "openid_login"}
_CALLBACKS = {"openid_connect_callback", "openid_callback"}
_PROVIDER_FAILURES = (requests.RequestException, OAuth2Error)


def _url_name(request) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match else None


class SignInProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Each sign-in started (POST) and each callback counts against the ``social_login`` rate."""
        name = _url_name(request)
        if name in _CALLBACKS or (name in _STARTS and request.method == "POST"):
            return ratelimit.consume_or_429(request, action="social_login", limit_get=True)
        return None

    def process_exception(self, request, exception):
        name = _url_name(request)
        if name not in _STARTS | _CALLBACKS or not isinstance(exception, _PROVIDER_FAILURES):
            return None
        provider_id = request.resolver_match.kwargs.get("provider_id")
        if provider_id:
            try:
                provider = get_adapter(request).get_provider(request, provider_id)
            except SocialApp.DoesNotExist:
                return None
        else:
            provider = OpenIDProvider(request)
        return render_authentication_error(request, provider, exception=exception)
