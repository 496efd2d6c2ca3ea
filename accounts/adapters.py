"""Sign-in decisions for OpenID Connect and OpenID 2.0 logins (allauth's social account adapter).

- A login lands in an existing account only when it is already linked to it, or (auto-link) when the provider
  says the email address is verified *and* exactly one account holds that same address verified. An address
  only one side has verified could belong to someone else, so that person gets the sign-up form instead,
  which says the address is taken.
- A new account gets the email and a suggested username from the claims; when either is missing, invalid or
  taken, the person gets the sign-up form with the problem shown, never a silently invented name.
"""

import logging
import re

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from allauth.account.utils import user_email, user_username
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.signin_errors import describe_problem

logger = logging.getLogger(__name__)

_NOT_IN_USERNAMES = re.compile(r"[^\w.@+-]+")


def claim_is_true(value: object) -> bool:
    """An ``email_verified`` claim counts only when it says true: JSON ``true`` or the string ``"true"``."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def suggested_username(*, preferred: str | None, email: str | None) -> str:
    """A username from the claims: the preferred username, else the email's local part, cleaned to what
    usernames may hold; empty when there is nothing to go on."""
    for candidate in (preferred, (email or "").partition("@")[0]):
        cleaned = _NOT_IN_USERNAMES.sub("", (candidate or "").strip())[:150]
        if cleaned:
            return cleaned
    return ""


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot be used for a new account (empty, invalid or taken), or None."""
    if not username:
        return "Your provider did not suggest a username: choose one."
    try:
        get_account_adapter().clean_username(username)
    except ValidationError as error:
        return f"The username “{username}” cannot be used: {' '.join(error.messages)}"
    return None


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def populate_user(self, request, sociallogin, data):
        # Providers send email_verified as true, "true", "false" or not at all: only a true value counts.
        for address in sociallogin.email_addresses:
            address.verified = claim_is_true(address.verified)
        user = super().populate_user(request, sociallogin, data)
        user_username(user, suggested_username(preferred=data.get("username"), email=user_email(user)))
        return user

    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        """Create the account without a form only when the suggested username is free and valid (allauth
        itself sends the person to the form when the email is missing or taken)."""
        return super().is_auto_signup_allowed(request, sociallogin) and not username_problem(
            user_username(sociallogin.user) or ""
        )

    def authenticate_by_email(self, sociallogin):
        """The one account a provider-verified address may sign in to, with that address, or None."""
        for address in sociallogin.email_addresses:
            if not claim_is_true(address.verified) or not self.can_authenticate_by_email(sociallogin, address.email):
                continue
            owners = set(
                EmailAddress.objects.filter(email__iexact=address.email, verified=True).values_list("user_id", flat=True)
            )
            if len(owners) == 1:
                user = get_user_model().objects.filter(pk=owners.pop()).first()
                if user is not None:
                    return user, address.email
        return None

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        """Log the failure and put a sentence for the person into the error page's context."""
        problem = describe_problem(provider=provider, error=error, exception=exception, context=extra_context or {})
        logger.warning("sign-in with %s failed: %s (%r)", getattr(provider, "id", provider), problem, exception)
        if extra_context is not None:
            extra_context["problem"] = problem
