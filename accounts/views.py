"""Settings pages: the Settings page (appearance), API tokens, app passwords, sign-in methods."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_access_token_model

from accounts.app_passwords import issue_app_password, live_app_passwords, revoke_app_password
from accounts.appearance import THEMES, remember_theme, theme_of
from accounts.logins import password_remove
from accounts.models import ApiToken
from accounts.tokens import issue_token, revoke_token
from aggregator.hygiene.redirects import redirect_back


def _secrets_page(request, *, template: str, issue, listed: dict, **context):
    """A settings page listing the person's live secrets of one kind, making a new one on POST (shown once)."""
    new_secret = issue(user=request.user, name=request.POST.get("name", "").strip()) if request.method == "POST" else None
    return render(request, template, {**listed, "new_secret": new_secret, **context})


def settings_page(request):
    """Where every setting is listed, and this browser's theme chosen (signed out too: it is the browser's)."""
    return render(request, "accounts/settings.html", {"themes": THEMES, "theme": theme_of(request)})


@require_POST
def theme(request):
    chosen = request.POST.get("theme", "")
    if chosen not in THEMES:
        messages.error(request, "Choose one of the themes listed.")
        return redirect("settings")
    response = redirect_back(request, "settings")
    remember_theme(response, chosen)
    return response


@login_required
def tokens(request):
    live = ApiToken.objects.filter(user=request.user, revoked_at__isnull=True).order_by("-created_at")
    app_tokens = (get_access_token_model().objects.filter(user=request.user, expires__gt=timezone.now())
                  .select_related("application").order_by("-created"))  # fmt: skip
    return _secrets_page(request, template="accounts/tokens.html", issue=issue_token,
                         listed={"tokens": live, "app_tokens": app_tokens})


@login_required
@require_POST
def revoke(request, token_id: int):
    if revoke_token(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked.")
    return redirect("tokens")


@login_required
def app_passwords(request):
    return _secrets_page(request, template="accounts/app_passwords.html", issue=issue_app_password,
                         listed={"app_passwords": live_app_passwords(user=request.user)},
                         server=request.build_absolute_uri("/api/greader"))  # fmt: skip


@login_required
@require_POST
def revoke_app_password_view(request, app_password_id: int):
    if revoke_app_password(user=request.user, app_password_id=app_password_id):
        messages.success(request, "App password revoked.")
    return redirect("app_passwords")


@login_required
@require_POST
def revoke_app(request, token_id: int):
    """An app's OAuth token (Mastodon client API); its refresh token goes with it."""
    token = get_access_token_model().objects.filter(pk=token_id, user=request.user).first()
    if token is not None:
        token.revoke()
        messages.success(request, "App access revoked.")
    return redirect("tokens")


@login_required
def logins(request):
    """Sign-in methods live on allauth's connections page (linked logins, link another, unlink)."""
    return redirect("socialaccount_connections")


@login_required
@require_POST
def remove_password(request):
    if not request.user.has_usable_password():
        messages.info(request, "This account has no password.")
    elif password_remove(user=request.user):
        update_session_auth_hash(request, request.user)  # this session stays signed in
        messages.success(request, "Password removed: sign in with one of your linked logins from now on.")
    else:
        messages.error(request, "The password stays: it is the only way in to this account.")
    return redirect("socialaccount_connections")
