"""Settings pages: API tokens, sign-in methods."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.app_passwords import issue_app_password, live_app_passwords, revoke_app_password
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
    })  # fmt: skip


@login_required
@require_POST
def revoke(request, token_id: int):
    if revoke_token(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked.")
    return redirect("tokens")


@login_required
def app_passwords(request):
    new_password = None
    if request.method == "POST":
        new_password = issue_app_password(user=request.user, name=request.POST.get("name", "").strip())
    return render(request, "accounts/app_passwords.html", {
        "app_passwords": live_app_passwords(user=request.user), "new_password": new_password,
        "server": request.build_absolute_uri("/api/greader"),
    })  # fmt: skip


@login_required
@require_POST
def revoke_app_password_view(request, app_password_id: int):
    if revoke_app_password(user=request.user, app_password_id=app_password_id):
        messages.success(request, "App password revoked.")
    return redirect("app_passwords")


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
