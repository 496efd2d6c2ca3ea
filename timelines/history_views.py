"""Pages of a person's history: search, the starred posts (and starring without JavaScript), the exports."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from aggregator.hygiene.redirects import redirect_back
from timelines import stars
from timelines.cursor import BadCursor
from timelines.search.highlight import mark_html, mark_text
from timelines.search.query import MAX_QUERY_LENGTH
from timelines.search.selectors import SearchQueryError, search_for
from timelines.search.text import language
from timelines.serializers import post_json
from timelines.views import PAGE_SIZE

EXPORT_CHUNK = 500


def _mark(post, words: frozenset[str]) -> None:
    """The post's title and content with the searched words marked, for ``timelines/_post.jinja``."""
    lang = language(post.language)
    post.marked_title = mark_text(post.title, words, lang)
    post.marked_content = mark_html(post.content_html, words, lang)


@login_required
def search(request):
    q = request.GET.get("q", "")[: MAX_QUERY_LENGTH + 1]
    context = {"q": q, "results": [], "next_url": "", "error": "", "here": request.get_full_path()}
    if q.strip():
        try:
            page = search_for(user=request.user, q=q, before=request.GET.get("before") or None, limit=PAGE_SIZE)
        except SearchQueryError as error:
            context["error"] = str(error)
        except BadCursor:
            return HttpResponseBadRequest("That page link is broken; go back to the first page.")
        else:
            words = frozenset(page.query.highlighted())
            for result in page.results:
                _mark(result.post, words)
            context["results"] = page.results
            if page.next_cursor:
                context["next_url"] = "?" + urlencode({"q": q, "before": page.next_cursor})
            context["trackable"] = page.query.words_only
    return render(request, "timelines/search.html", context)


@login_required
def starred(request):
    try:
        rows, next_cursor = stars.starred_for(user=request.user, before=request.GET.get("before") or None,
                                              limit=PAGE_SIZE)  # fmt: skip
    except BadCursor:
        return HttpResponseBadRequest("That page link is broken; go back to the first page.")
    feed = reverse("starred_feed", args=[stars.feed_token(user=request.user)])
    return render(request, "timelines/starred.html", {
        "rows": rows, "count": stars.starred_count(user=request.user), "here": request.get_full_path(),
        "next_url": "?" + urlencode({"before": next_cursor}) if next_cursor else "",
        "feed_url": request.build_absolute_uri(feed),
    })  # fmt: skip


@login_required
@require_POST
def star_toggle(request):
    post_id = request.POST.get("post_id", "")
    if not post_id.isdigit():
        messages.error(request, "Say which post to star.")
    elif request.POST.get("starred", "1") == "1":
        try:
            stars.star(user=request.user, post_id=int(post_id))
        except stars.StarError:
            messages.error(request, "That post is not among yours.")
    else:
        stars.unstar(user=request.user, post_id=int(post_id))
    return redirect_back(request, "starred")


def _json_lines(rows):
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


@login_required
def starred_export(request):
    """Every star as one JSON document (the post as the API gives it, and when it was starred)."""
    items = [{**post_json(star.post), "starred_at": star.created_at.isoformat()}
             for star in stars.all_starred(user=request.user)]  # fmt: skip
    response = StreamingHttpResponse([json.dumps({"items": items}, ensure_ascii=False)],
                                     content_type="application/json")  # fmt: skip
    response["Content-Disposition"] = 'attachment; filename="chorus-starred.json"'
    return response


@login_required
def history_export(request):
    """The person's whole history, JSON Lines: every post of their timeline with its read and starred state."""
    response = StreamingHttpResponse(_json_lines(stars.history_rows(user=request.user)),
                                     content_type="application/x-ndjson")  # fmt: skip
    response["Content-Disposition"] = 'attachment; filename="chorus-history.jsonl"'
    return response


def starred_feed(request, token: str):
    """An Atom feed of a person's stars, for their other readers: private by the token in its address."""
    user = stars.user_for_feed_token(token)
    if user is None:
        raise Http404("no such feed")
    feed = Atom1Feed(title=f"{user.get_username()}'s starred posts · Chorus", link=request.build_absolute_uri("/"),
                     description="", feed_url=request.build_absolute_uri())  # fmt: skip
    for number, star in enumerate(stars.all_starred(user=user)):
        if number >= 200:
            break
        post = star.post
        link = post.shown_url
        feed.add_item(title=post.title or post.text[:80] or link, link=link or request.build_absolute_uri("/"),
                      description=post.content_html, unique_id=f"chorus-post-{post.pk}", pubdate=post.published,
                      author_name=post.author_name or post.source.display_title, updateddate=star.created_at)  # fmt: skip
    return StreamingHttpResponse([feed.writeString("utf-8")], content_type="application/atom+xml; charset=utf-8")
