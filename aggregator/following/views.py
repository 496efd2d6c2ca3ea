"""Pages for following and for a source's status. Thin: permission-checked fetch, one service call."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from aggregator.celery import app as celery_app
from aggregator.fetch import FetchError
from aggregator.following import avatars, import_summary, imports
from aggregator.following import subscriptions as services
from aggregator.following.follow_lists import MAX_IMPORT_BYTES, FollowListError
from aggregator.hygiene.redirects import redirect_back
from aggregator.images.views import image_response
from aggregator.models import FollowImport, Source, Subscription
from aggregator.networks.rss.discover import DiscoveryError
from replies.models import Reply
from timelines.cursor import BadCursor
from timelines.selectors import subscription_count, subscriptions_page, unread_counts_for
from tracks.models import TrackMatch

PAGE_SIZE = 100
_PICTURE_CACHE = "private, max-age=3600"
_PICTURE_CACHE_VERSIONED = "private, max-age=604800"


def _tags_from(text: str) -> list[str]:
    return [tag for tag in text.split(",") if tag.strip()]


@login_required
@require_POST
def follow(request):
    address = request.POST.get("address", "").strip()
    if not address:
        messages.error(request, "Type what to follow: a site or feed URL, @user@server, a Bluesky handle, a JID "
                                "or @name on X.")
        return redirect("timeline")
    try:
        subscription = services.subscribe(user=request.user, address=address[:2048],
                                          tags=_tags_from(request.POST.get("tags", "")))  # fmt: skip
    except (DiscoveryError, FetchError, services.SubscriptionError) as error:
        messages.error(request, f"Could not follow {address}: {error}")
        return redirect("timeline")
    messages.success(request, f"Following {subscription.display_title}.")
    return redirect(f"{reverse('timeline')}?{urlencode({'source': subscription.source_id})}")  # its posts


@login_required
def subscription_list(request):
    try:
        page = subscriptions_page(user=request.user, after=request.GET.get("after") or None, limit=PAGE_SIZE)
    except BadCursor:
        return HttpResponseBadRequest("That page link is broken; go back to the first page.")
    return render(request, "aggregator/subscriptions.html", {
        "subscriptions": page.subscriptions,
        "unread": unread_counts_for(user=request.user),
        "count": subscription_count(user=request.user),
        "max_subscriptions": settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON,
        "next_url": f"?{urlencode({'after': page.next_cursor})}" if page.next_cursor else "",
    })  # fmt: skip


@login_required
@require_POST
def subscription_tags(request, subscription_id: int):
    get_object_or_404(Subscription, pk=subscription_id, user=request.user)
    try:
        services.update_subscription(user=request.user, subscription_id=subscription_id,
                          tags=_tags_from(request.POST.get("tags", "")))  # fmt: skip
    except services.SubscriptionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Tags saved.")
    return redirect_back(request, "subscriptions")


@login_required
@require_POST
def unfollow(request, subscription_id: int):
    subscription = get_object_or_404(Subscription.objects.select_related("source"), pk=subscription_id, user=request.user)
    services.unsubscribe(user=request.user, subscription_id=subscription.pk)
    messages.success(request, f"Unfollowed {subscription.display_title}.")
    return redirect("subscriptions")


@login_required
def source_detail(request, source_id: int):
    subscription = get_object_or_404(
        Subscription.objects.select_related("source").prefetch_related("tags"), source_id=source_id, user=request.user
    )
    return render(request, "aggregator/source.html", {"subscription": subscription, "source": subscription.source})


@login_required
@require_POST
def refresh(request, source_id: int):
    source = get_object_or_404(Source, pk=source_id, subscriptions__user=request.user)
    if services.request_refresh(source_id=source.pk):
        # Embedded mode runs the task inline, so the poll has already happened.
        messages.success(request, "Refreshed." if celery_app.conf.task_always_eager else "Refresh queued.")
    else:
        messages.info(request, "This source is being fetched right now.")
    return redirect("source", source_id=source.pk)


@login_required
def opml_export(request):
    response = HttpResponse(services.export_opml(user=request.user), content_type="text/x-opml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chorus-subscriptions.opml"'
    return response


@login_required
@require_POST
def follow_list_import(request):
    """OPML, a Mastodon following CSV or an X following.js: checked now, followed in the background."""
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose an OPML file, a Mastodon following_accounts.csv or an X archive's following.js.")
        return redirect("subscriptions")
    try:
        job = imports.start_import(user=request.user, body=upload.read(MAX_IMPORT_BYTES + 1))
    except FollowListError as error:
        messages.error(request, f"Nothing was imported: {error}")
        return redirect("subscriptions")
    return redirect("follow_list_import_status", import_id=job.pk)


@login_required
def follow_list_import_status(request, import_id: int):
    job = get_object_or_404(FollowImport, pk=import_id, user=request.user)
    ended = job.status in (FollowImport.Status.DONE, FollowImport.Status.FAILED)
    return render(request, "aggregator/follow_import.html", {
        "job": job, "ended": ended, "first_fetches": import_summary.first_fetches(job) if ended else None,
    })  # fmt: skip


def _shows_posts_of(user, source_id: int) -> bool:
    """Whether the person follows the source or has one of its posts among their replies or track matches (both
    reach beyond what they follow): the pages that show a post show its source's picture."""
    return (
        Subscription.objects.filter(user=user, source_id=source_id).exists()
        or Reply.objects.filter(user=user, post__source_id=source_id).exists()
        or TrackMatch.objects.filter(user=user, post__source_id=source_id).exists()
    )


@login_required
def source_avatar(request, source_id: int):
    """The source's picture (learned by ``avatars``, else generated), served from here to those it shows posts
    to. Pages ask for it with ``?v=``, which changes with the picture, so it may be cached for long."""
    if not _shows_posts_of(request.user, source_id):
        raise Http404("no such source among yours")
    source = get_object_or_404(Source, pk=source_id)
    cache_for = _PICTURE_CACHE_VERSIONED if request.GET.get("v") else _PICTURE_CACHE
    return image_response(avatars.picture_of(source), cache_control=cache_for)


@login_required
def preview_avatar(request):
    """The picture of an account a follow preview shows (``?t=``: the preview's signed token)."""
    try:
        picture = avatars.preview_picture(request.GET.get("t", ""))
    except signing.BadSignature:
        return HttpResponse("this preview's picture link expired or is not Chorus'\n", status=404,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    return image_response(picture, cache_control=_PICTURE_CACHE)
