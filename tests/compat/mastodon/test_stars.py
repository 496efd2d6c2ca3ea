"""Favourites and bookmarks through Mastodon.py are our stars (timelines.stars): one star under both names,
paged like home, seen on our own API and pages."""

import pytest
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from aggregator.models import Post
from compat.mastodon.ids import post_id_of, status_id
from timelines.stars import starred_for

from tests.timelines.test_api import followed_source

pytestmark = pytest.mark.django_db(transaction=True)


def starred_here(user) -> set[int]:
    rows, _ = starred_for(user=user, limit=200)
    return {star.post_id for star in rows}


def test_favourite_and_bookmark_are_the_same_star(app_for, alice):
    followed_source(alice, "carol", 3)
    api = app_for()
    newest, middle, oldest = api.timeline_home(limit=3)
    assert not newest["favourited"] and not newest["bookmarked"]
    faved = api.status_favourite(newest["id"])
    assert faved["favourited"] is True and faved["bookmarked"] is True
    assert starred_here(alice) == {post_id_of(newest["id"])}  # starred in the app: starred on our pages
    assert api.status_bookmark(oldest["id"])["favourited"] is True
    assert [s["id"] for s in api.favourites()] == [newest["id"], oldest["id"]]
    assert [s["id"] for s in api.bookmarks()] == [newest["id"], oldest["id"]]
    home = {s["id"]: s for s in api.timeline_home(limit=3)}
    assert [home[s["id"]]["bookmarked"] for s in (newest, middle, oldest)] == [True, False, True]
    assert api.status(oldest["id"])["favourited"] is True

    unbookmarked = api.status_unbookmark(newest["id"])  # undoing either name takes the one star away
    assert unbookmarked["favourited"] is False and unbookmarked["bookmarked"] is False
    assert [s["id"] for s in api.favourites()] == [oldest["id"]]
    assert api.status_unfavourite(oldest["id"])["bookmarked"] is False
    assert api.bookmarks() == [] and starred_here(alice) == set()


def test_favourites_page_with_max_id_since_id_min_id_and_link_headers(app_for, alice):
    followed_source(alice, "carol", 7)
    api = app_for()
    statuses = api.timeline_home(limit=7)
    for status in statuses:
        api.status_favourite(status["id"])
    first = api.favourites(limit=3)
    seen = list(first)
    page = first
    while (page := api.fetch_next(page)) :
        seen.extend(page)
    assert [s["id"] for s in seen] == [s["id"] for s in statuses]  # newest post first, as home
    newer = api.favourites(min_id=seen[3]["id"], limit=2)
    assert [s["id"] for s in newer] == [seen[1]["id"], seen[2]["id"]]
    since = api.bookmarks(since_id=seen[3]["id"], limit=40)
    assert [s["id"] for s in since] == [s["id"] for s in seen[:3]]
    older = api.bookmarks(max_id=seen[4]["id"])
    assert [s["id"] for s in older] == [s["id"] for s in seen[5:]]
    assert api.fetch_previous(first) == []  # nothing newer than the newest


def test_starring_needs_a_post_the_person_sees_and_the_scope(app_for, alice, bob):
    daves = followed_source(bob, "dave", 1)  # bob's follow, not alice's
    followed_source(alice, "carol", 1)
    api = app_for()
    dave_post = Post.objects.get(source=daves)
    with pytest.raises(MastodonNotFoundError):
        api.status_favourite(status_id(dave_post.published, dave_post.pk))
    assert starred_here(alice) == set()
    reader = app_for(scopes=("read",))
    (status,) = reader.timeline_home()
    with pytest.raises(MastodonAPIError) as refused:
        reader.status_bookmark(status["id"])
    assert refused.value.args[1] == 403
    assert starred_here(alice) == set()
