"""Pages: the replies view, the person's identities, their blocks, notification settings (the public profile
rel="me" points to is publishing's)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import identities, verification
from accounts.models import Identity
from aggregator.hygiene.redirects import redirect_back
from replies import destinations, notification_settings, selectors, services
from replies.forms import NotificationSettingsForm
from replies.models import Destination
from timelines import blocks
from timelines.cursor import BadCursor

PAGE_SIZE = 30


@login_required
def replies(request):
    try:
        page = selectors.replies_for(user=request.user, before=request.GET.get("before") or None, limit=PAGE_SIZE)
    except BadCursor:
        return HttpResponseBadRequest("That page link is broken; go back to the first page.")
    return render(request, "replies/replies.html", {
        "page": page,
        "unread": selectors.unread_replies_count(user=request.user),
        "identities": identities.identities_for(user=request.user),
        "here": request.get_full_path(),
    })  # fmt: skip


@login_required
@require_POST
def replies_read(request):
    if request.POST.get("all") == "1":
        services.mark_all_replies_read(user=request.user)
    elif request.POST.get("post_id", "").isdigit():
        services.mark_replies_read(user=request.user, post_ids=[int(request.POST["post_id"])],
                                   read=request.POST.get("read", "1") == "1")  # fmt: skip
    return redirect_back(request, "replies")


@login_required
def identity_list(request):
    if request.method == "POST":
        try:
            identities.identity_create(user=request.user, kind=request.POST.get("kind", ""),
                                       value=request.POST.get("value", ""))  # fmt: skip
        except identities.IdentityError as error:
            messages.error(request, str(error))
        return redirect("identities")
    return render(request, "replies/identities.html", {
        "identities": identities.identities_for(user=request.user), "kinds": Identity.Kind.choices,
        "profile_url": _profile_url(request),
    })  # fmt: skip


@login_required
@require_POST
def identity_verify(request, identity_id: int):
    """Check a handle now, or (XMPP) confirm it with the code the hub sent to it."""
    identity = get_object_or_404(Identity, user=request.user, pk=identity_id)
    try:
        if identity.kind == Identity.Kind.XMPP:
            ok = verification.confirm_xmpp_code(identity=identity, code=request.POST.get("code", ""))
        else:
            ok = verification.verify_identity(identity=identity, profile_url=_profile_url(request))
    except identities.IdentityError as error:
        messages.error(request, str(error))
    else:
        (messages.success if ok else messages.error)(request, "Verified." if ok else identity.last_check_error)
    return redirect("identities")


@login_required
@require_POST
def identity_send_code(request, identity_id: int):
    identity = get_object_or_404(Identity, user=request.user, pk=identity_id)
    try:
        verification.request_xmpp_code(identity=identity)
    except identities.IdentityError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The hub is sending a code to {identity.value}; enter it below.")
    return redirect("identities")


@login_required
def notification_settings_page(request):
    prefs = notification_settings.notification_settings_for(user=request.user)
    form = NotificationSettingsForm(request.POST or None, user=request.user, instance=prefs)
    if request.method == "POST" and form.is_valid():
        try:
            notification_settings.notification_settings_update(user=request.user, **form.cleaned_data)
        except notification_settings.NotificationSettingsError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Saved.")
            return redirect("notification_settings")
    return render(request, "replies/notifications.html", {
        "form": form, "destinations": destinations.destinations_for(user=request.user),
        "events": Destination.Event.choices, "adding": request.session.pop("destination_form", None),
    })  # fmt: skip


@login_required
@require_POST
def destination_add(request):
    """The "Add a destination" form; on a problem the page shows it and keeps what was typed (but the URL)."""
    name, events = request.POST.get("name", ""), request.POST.getlist("events")
    try:
        destinations.destination_create(user=request.user, name=name, url=request.POST.get("url", ""), events=events)
    except destinations.DestinationProblem as error:
        messages.error(request, f"Not added: {error}")
        request.session["destination_form"] = {"name": name[:100], "events": events[:8]}
    else:
        messages.success(request, f"Added “{name.strip()}”. Send a test to check it.")
    return redirect("notification_settings")


@login_required
@require_POST
def destination_change(request, destination_id: int):
    """Per destination: its events (Save), Resume, Pause, Send a test, Remove."""
    action = request.POST.get("action", "")
    try:
        if action == "test":
            destinations.destination_test(user=request.user, destination_id=destination_id)
            messages.info(request, "Test message queued: its result shows beside the destination.")
        elif action == "remove":
            destinations.destination_delete(user=request.user, destination_id=destination_id)
        elif action in ("pause", "resume"):
            destinations.destination_update(user=request.user, destination_id=destination_id, paused=action == "pause")
        else:
            destinations.destination_update(user=request.user, destination_id=destination_id,
                                            events=request.POST.getlist("events"))  # fmt: skip
            messages.success(request, "Saved.")
    except destinations.DestinationProblem as error:
        messages.error(request, str(error))
    except Destination.DoesNotExist:
        raise Http404("no such destination") from None
    return redirect("notification_settings")


@login_required
@require_POST
def identity_remove(request, identity_id: int):
    identities.identity_delete(user=request.user, identity_id=identity_id)
    return redirect("identities")


@login_required
def block_list(request):
    if request.method == "POST":  # the spam button on a post, or the form on this page
        try:
            made = blocks.block_create(user=request.user, kind=request.POST.get("kind", ""),
                                       value=request.POST.get("value", ""))  # fmt: skip
        except blocks.BlockError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, blocks.done_message(made) + " Undo it under Blocks.")
        return redirect_back(request, "blocks")
    return render(request, "replies/blocks.html", {"blocks": blocks.labelled(blocks.blocks_for(user=request.user))})


@login_required
@require_POST
def block_undo(request, block_id: int):
    blocks.block_delete(user=request.user, block_id=block_id)
    return redirect("blocks")


def _profile_url(request) -> str:
    return request.build_absolute_uri(reverse("profile", args=[request.user.get_username()]))
