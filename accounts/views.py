"""Settings pages: API tokens, sign-in methods."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_access_token_model

from accounts.logins import password_remove
from accounts.models import ApiToken
from accounts.tokens import issue_token, revoke_token


@login_required
def tokens(request):
    new_token = None
    if request.method == "POST":
        new_token = issue_token(user=request.user, name=request.POST.get("name", "").strip())
    return render(request, "accounts/tokens.html", {
        "tokens": ApiToken.objects.filter(user=request.user, revoked_at__isnull=True).order_by("-created_at"),
        "new_token": new_token,
        "app_tokens": get_access_token_model().objects.filter(user=request.user, expires__gt=timezone.now())
        .select_related("application").order_by("-created"),
    })  # fmt: skip


@login_required
@require_POST
def revoke(request, token_id: int):
    if revoke_token(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked.")
    return redirect("tokens")


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
