"""One sentence for a person whose sign-in with a provider failed, from what allauth knows of the failure."""

import requests
from allauth.socialaccount.providers.base import AuthError
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from openid.consumer.discover import DiscoveryFailure

_MAX_DETAIL = 200


def describe_problem(*, provider, error=None, exception: BaseException | None = None, context: dict) -> str:
    """What went wrong, in words fit for the sign-in error page (never a stack trace or a secret)."""
    name = getattr(provider, "name", None) or "The provider"
    if exception is not None:
        return _from_exception(name, exception)
    if error == AuthError.CANCELLED:
        return f"Signing in with {name} was cancelled."
    if error == AuthError.DENIED:
        return f"{name} refused the sign-in."
    if "state_id" in context and context.get("state") is None:
        return (
            "This sign-in does not match one started in this browser: it may have expired, been used already, "
            "or been started in another window. Start again from the sign-in page."
        )
    code = _provider_error_code(context)
    if code:
        return f"{name} answered with the error “{code}”."
    return f"{name} did not confirm the sign-in."


def _from_exception(name: str, exception: BaseException) -> str:
    if isinstance(exception, requests.ConnectionError | requests.Timeout):
        return f"{name} could not be reached. It may be down: try again later, or sign in another way."
    if isinstance(exception, requests.HTTPError) and exception.response is not None:
        return f"{name} answered with an error (HTTP {exception.response.status_code}). Try again later."
    if isinstance(exception, requests.RequestException):
        return f"{name} sent an answer Chorus could not understand. Try again later."
    if isinstance(exception, OAuth2Error):
        return f"{name} did not accept the sign-in (the one-time code could not be exchanged). Start again."
    if isinstance(exception, DiscoveryFailure):
        return f"No OpenID provider was found at that address ({_short(exception)})."
    return f"Signing in with {name} failed ({type(exception).__name__})."


def _provider_error_code(context: dict) -> str:
    view = context.get("callback_view")
    request = getattr(view, "request", None)
    return _short(request.GET.get("error", "")) if request is not None else ""


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"
