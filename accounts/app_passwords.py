"""App passwords and app sign-in: how a client app (a Google Reader API reader) proves who it acts for.

An app signs in with a login (username or email address) and either the account's password or an app password
made under Settings, so people who sign in with OpenID can use apps too. The attempt goes through allauth's
account adapter, so the sign-in limits of ``signin_limits`` apply exactly as on the sign-in page. App passwords
are checked by ``AppPasswordBackend`` only when the caller asks for it: the sign-in page never accepts them.

A successful sign-in gets an app session key: the account, the app password used (or none), and a MAC over
them and the current password hash or app password hash. Changing the password, revoking the app password or
deactivating the account ends every app session made with it; nothing is stored per session.
"""

import secrets
from dataclasses import dataclass

from allauth.account.adapter import get_adapter
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import AppPassword
from accounts.tokens import secret_hash

_SESSION_SALT = "chorus.accounts.app_session"
MAX_SECRET_LENGTH = 1024


class SignInLimited(Exception):
    """Too many failed sign-ins from this address or for this account: try again later."""


@dataclass(frozen=True)
class AppSession:
    user: AbstractBaseUser
    key: str


def issue_app_password(*, user: AbstractBaseUser, name: str = "") -> str:
    """Create an app password and return it; it is shown once and never stored."""
    raw = "-".join(secrets.token_hex(4) for _ in range(4))  # typed on phones: hex groups, no look-alikes
    AppPassword.objects.create(user=user, name=name[:100], key_hash=secret_hash(raw), prefix=raw[:8])
    return raw


def revoke_app_password(*, user: AbstractBaseUser, app_password_id: int) -> bool:
    """Revoke one of the person's app passwords; sessions signed in with it end at once."""
    return AppPassword.objects.filter(pk=app_password_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ) == 1


def live_app_passwords(*, user: AbstractBaseUser):
    return AppPassword.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


class AppPasswordBackend:
    """Django authentication backend for app passwords; acts only on ``authenticate(..., app=True)``."""

    def authenticate(self, request, username: str | None = None, password: str | None = None, app: bool = False,
                     **credentials):  # fmt: skip
        if not app or not username or not password or len(password) > MAX_SECRET_LENGTH:
            return None
        found = AppPassword.objects.select_related("user").filter(
            Q(user__username__iexact=username) | Q(user__email__iexact=username),
            key_hash=secret_hash(password), revoked_at__isnull=True,
        ).first()  # fmt: skip
        if found is None or not found.user.is_active:
            return None
        AppPassword.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        found.user.app_password = found
        return found.user

    def get_user(self, user_id):
        return None  # never a session on the pages


def app_sign_in(request: HttpRequest, *, login: str, secret: str) -> AppSession | None:
    """Check an app's credentials under the sign-in limits; a session, or None when they are wrong.
    Raises ``SignInLimited`` when this address or this account has failed too often."""
    if not login or not secret or len(login) > 254 or len(secret) > MAX_SECRET_LENGTH:
        return None
    try:
        user = get_adapter(request).authenticate(request, username=login, password=secret, app=True)
    except ValidationError as error:
        raise SignInLimited(" ".join(error.messages)) from None
    if user is None or not user.is_active:
        return None
    app_password = getattr(user, "app_password", None)
    if app_password is None:
        return AppSession(user=user, key=_signed_key(user.pk, 0, user.password))
    return AppSession(user=user, key=_signed_key(user.pk, app_password.pk, app_password.key_hash))


def user_for_app_session(key: str) -> AbstractBaseUser | None:
    """The active person an app session key was given to, while the credential it was made with still holds
    (one query: every request of an app asks)."""
    try:
        user_id, app_password_id, _ = key.split("/", 2)
        user_id, app_password_id = int(user_id), int(app_password_id)
    except (AttributeError, ValueError):
        return None
    if app_password_id:
        app_password = (AppPassword.objects.select_related("user")
                        .filter(pk=app_password_id, user_id=user_id, revoked_at__isnull=True, user__is_active=True)
                        .first())  # fmt: skip
        user, held = (app_password.user, app_password.key_hash) if app_password else (None, "")
    else:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        held = user.password if user else ""
    if user is None:
        return None
    return user if constant_time_compare(key, _signed_key(user.pk, app_password_id, held)) else None


def _signed_key(user_id: int, app_password_id: int, held: str) -> str:
    """``held``: the secret's hash the session was made with, so changing it ends the session."""
    payload = f"{user_id}/{app_password_id}"
    return f"{payload}/{salted_hmac(_SESSION_SALT, f'{payload}/{held}', algorithm='sha256').hexdigest()}"
