"""Pages: the person's tracks and what matched them (all tracks, or one)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from aggregator.hygiene.redirects import redirect_back
from timelines.cursor import BadCursor
from tracks import selectors, services
from tracks.models import Track
from tracks.text import MAX_QUERY_LENGTH

PAGE_SIZE = 30


@login_required
def tracks(request, track_id: int | None = None):
    if request.method == "POST" and track_id is None:
        try:
            made = services.track_create(user=request.user, query=request.POST.get("query", ""))
        except services.TrackError as error:
            messages.error(request, str(error))
            return redirect("tracks")
        return redirect("track", made.pk)
    track = None
    if track_id is not None and (track := selectors.track_of(user=request.user, track_id=track_id)) is None:
        raise Http404("no such track")
    try:
        page = selectors.matches_for(user=request.user, track_id=track_id, limit=PAGE_SIZE,
                                     before=request.GET.get("before") or None)  # fmt: skip
    except BadCursor:
        return HttpResponseBadRequest("That page link is broken; go back to the first page.")
    return render(request, "tracks/tracks.html", {
        "track": track, "tracks": selectors.tracks_for(user=request.user), "page": page,
        "unread": selectors.unread_matches_count(user=request.user, track_id=track_id),
        "max_query_length": MAX_QUERY_LENGTH, "here": request.get_full_path(), "alerts": Track.Alert.choices,
    })  # fmt: skip


@login_required
@require_POST
def track_remove(request, track_id: int):
    services.track_delete(user=request.user, track_id=track_id)
    return redirect("tracks")


@login_required
@require_POST
def track_alert(request, track_id: int):
    """How this track's matches reach the person's notification destinations."""
    try:
        if services.track_set_alert(user=request.user, track_id=track_id, alert=request.POST.get("alert", "")) is None:
            raise Http404("no such track")
    except services.TrackError as error:
        messages.error(request, str(error))
    return redirect("track", track_id=track_id)


@login_required
@require_POST
def tracks_read(request):
    track_id = request.POST.get("track", "")
    if request.POST.get("all") == "1":
        services.mark_all_matches_read(user=request.user, track_id=int(track_id) if track_id.isdigit() else None)
    elif request.POST.get("post_id", "").isdigit():
        services.mark_matches_read(user=request.user, post_ids=[int(request.POST["post_id"])],
                                   read=request.POST.get("read", "1") == "1")  # fmt: skip
    return redirect_back(request, "tracks")
