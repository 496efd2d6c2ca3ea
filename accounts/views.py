"""Settings pages: API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .models import ApiToken
from .tokens import issue_token, revoke_token


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
