"""The form a person sees when a first OpenID Connect or OpenID sign-in cannot create the account by itself."""

from allauth.account.models import EmailAddress
from allauth.socialaccount.forms import SignupForm
from django.contrib.auth import get_user_model

from accounts.adapters import username_problem


class SocialSignupForm(SignupForm):
    """allauth's social sign-up form, saying up front (before anything is submitted) what needs fixing:
    a missing or taken username, a missing email, an email that already belongs to an account."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.problems = [] if self.is_bound else self._problems_with_suggestions()

    def _problems_with_suggestions(self) -> list[str]:
        problems = []
        email = (self.initial.get("email") or "").strip()
        provider = self.sociallogin.provider.name
        if not email:
            problems.append(f"{provider} did not give an email address: enter yours.")
        elif _email_in_use(email):
            problems.append(
                f"An account already uses {email}. If it is yours, sign in to it first (with its password or a "
                f"login already linked to it), then link {provider} under Settings → Sign-in methods. "
                "Or use another email address for a new account."
            )
        problem = username_problem(self.initial.get("username") or "")
        if problem:
            problems.append(problem)
        return problems


def _email_in_use(email: str) -> bool:
    return (EmailAddress.objects.filter(email__iexact=email).exists()
            or get_user_model().objects.filter(email__iexact=email).exists())  # fmt: skip
