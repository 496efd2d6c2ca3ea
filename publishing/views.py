"""Pages: the public microblog (profile, permalinks, Atom feed, followers) and the compose form."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.models import Identity
from aggregator.hygiene.redirects import redirect_back
from aggregator.models import Post
from publishing import addresses, feed, posting, selectors, webmentions
from publishing.webmention_endpoint import advertise
from timelines.cursor import BadCursor

FEED_ENTRIES = 20
PAGE_SIZE = 20


def _person(username: str):
    person = selectors.person_named(username)
    if person is None:
        raise Http404("No such person here.")
    return person


def profile(request, username: str):
    """Public: the person's posts, name, verified identities (each linked rel="me"), follower count."""
    person = _person(username)
    try:
        page = selectors.posts_of(user=person, before=request.GET.get("before") or None, limit=PAGE_SIZE)
    except BadCursor:
        return HttpResponseBadRequest("That page link is broken; go back to the first page.")
    own = {addresses.profile_url(username), addresses.handle(username)[1:]}
    verified = [identity for identity in Identity.objects.filter(user=person, verified=True).order_by("kind", "value")
                if identity.value not in own]  # fmt: skip
    return advertise(render(request, "publishing/profile.html", {
        "person": person, "identities": verified, "page": page, "feed_url": addresses.feed_url(username),
        "profile_url": addresses.profile_url(username), "handle": addresses.handle(username),
        "xmpp_uri": addresses.xmpp_node_uri(username), "followers_count": selectors.followers_count(user=person),
        "following_count": selectors.following_count(user=person), "max_chars": settings.CHORUS_POST_MAX_CHARS,
        "webmention_url": webmentions.endpoint_url(),
    }))  # fmt: skip


def permalink(request, username: str, slug: str):
    person = _person(username)
    post = selectors.post_of(user=person, slug=slug)
    if post is None:
        raise Http404("No such post.")
    if post.retracted_at is not None:
        return render(request, "publishing/gone.html", {"person": person}, status=410)
    above, below = selectors.thread_of(post)
    return advertise(render(request, "publishing/post.html", {
        "person": person, "post": post, "above": above, "below": below,
        "feed_url": addresses.feed_url(username), "profile_url": addresses.profile_url(username),
        "webmention_url": webmentions.endpoint_url(),
    }))  # fmt: skip


def atom(request, username: str):
    person = _person(username)
    posts = selectors.posts_of(user=person, limit=FEED_ENTRIES, with_deleted=True).posts
    response = HttpResponse(feed.atom_feed(user=person, posts=posts), content_type=feed.CONTENT_TYPE)
    response["Link"] = f'<{addresses.hub_url()}>; rel="hub", <{addresses.feed_url(username)}>; rel="self"'
    return response


def followers(request, username: str):
    person = _person(username)
    return render(request, "publishing/followers.html", {
        "person": person, "followers": selectors.local_followers(user=person),
        "followers_count": selectors.followers_count(user=person),
        "remote_count": selectors.remote_followers_count(user=person),
    })  # fmt: skip


@login_required
def compose(request):
    """The compose form on a page of its own (a reply: the post answered shown above it, its author pre-filled)."""
    if request.method == "POST":
        text, in_reply_to = request.POST.get("text", ""), request.POST.get("in_reply_to", "")
        try:
            posting.post_create(user=request.user, text=text, in_reply_to=in_reply_to or None)
        except posting.PostError as error:
            messages.error(request, str(error))
            return render(request, "publishing/compose.html", _compose_context(request, text, in_reply_to), status=400)
        messages.success(request, "Posted.")
        return redirect_back(request, "timeline")
    in_reply_to = request.GET.get("in_reply_to", "")
    answered = _answered(request, in_reply_to)
    text = f"{answered.author_handle} " if answered is not None and answered.author_handle.startswith("@") else ""
    return render(request, "publishing/compose.html", _compose_context(request, text, in_reply_to))


def _answered(request, in_reply_to: str) -> Post | None:
    if not in_reply_to.isdigit():
        return None
    try:
        posting.reply_target(user=request.user, in_reply_to=in_reply_to)
    except posting.PostError:
        return None
    return Post.objects.filter(pk=int(in_reply_to)).select_related("source").first()


def _compose_context(request, text: str, in_reply_to: str) -> dict:
    return {"text": text, "in_reply_to": in_reply_to, "answered": _answered(request, in_reply_to),
            "max_chars": settings.CHORUS_POST_MAX_CHARS}  # fmt: skip


@login_required
@require_POST
def delete(request, post_id: int):
    try:
        posting.post_delete(user=request.user, post_id=post_id)
    except posting.PostNotFound as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Deleted.")
    return redirect_back(request, "profile", request.user.get_username())
