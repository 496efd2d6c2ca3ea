"""The ways a person signs in to their account: a password and any number of linked logins (OpenID Connect
providers, OpenID URLs). Linking and unlinking logins is allauth's (Settings → Sign-in methods); it refuses to
unlink the last login of an account without a password. Removing the password is the other direction."""

from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import AbstractBaseUser


def password_remove(*, user: AbstractBaseUser) -> bool:
    """Remove the password, only while a linked login remains as a way in. Returns whether it was removed."""
    if not user.has_usable_password() or not SocialAccount.objects.filter(user=user).exists():
        return False
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return True
