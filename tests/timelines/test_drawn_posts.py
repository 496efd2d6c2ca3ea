"""Posts kept drawn (aggregator/templatetags/drawn_posts.py): a kept drawing is the very fragment Jinja2 draws
for that page, and any change to what the post shows draws it again."""

from datetime import timedelta

import pytest
from django.utils import timezone
from markupsafe import escape

from aggregator.models import Post
from aggregator.templatetags import drawn_posts

from tests.timelines.test_pages import follow

pytestmark = pytest.mark.django_db

PAGE = {"csrf_token": escape("token-of-page-one"), "here": escape("/?tag=News&unread=1")}  # as the page passes them


def fresh(post_id: int) -> Post:
    """The post as a page reads it: new objects, as from a new query."""
    return Post.objects.select_related("source").get(pk=post_id)


def drawn(post: Post, *, is_read: bool = False, starred: bool = False, **page) -> str:
    return drawn_posts.post(post, is_read=is_read, starred=starred, **(page or PAGE))


def drawn_by_jinja(post: Post, *, is_read: bool = False, starred: bool = False, **page) -> str:
    return drawn_posts._draw(post, is_read=is_read, starred=starred, **(page or PAGE))


@pytest.fixture
def post_id(alice) -> int:
    follow(alice, "blog", 1)
    return Post.objects.get().pk


def test_a_kept_drawing_is_what_jinja_draws_for_the_page(post_id):
    first = drawn(fresh(post_id))
    kept = len(drawn_posts._kept)
    again = drawn(fresh(post_id))
    assert again == first == drawn_by_jinja(fresh(post_id)) and len(drawn_posts._kept) == kept
    assert 'value="token-of-page-one"' in again and 'value="/?tag=News&amp;unread=1"' in again
    other_page = {"csrf_token": escape("token-of-page-two"), "here": escape("/starred/")}
    assert drawn(fresh(post_id), **other_page) == drawn_by_jinja(fresh(post_id), **other_page)
    assert "token-of-page-one" not in drawn(fresh(post_id), **other_page)


@pytest.mark.parametrize("change", ["title", "content", "author", "source title", "picture", "read", "starred", "time"])
def test_any_change_to_what_a_post_shows_draws_it_again(post_id, change):
    before = drawn(fresh(post_id))
    post = fresh(post_id)
    state = {}
    if change == "title":
        post.title = "A new title"
    elif change == "content":
        post.content_html = "<p>edited body</p>"
    elif change == "author":
        post.author_name = "Carol"
    elif change == "source title":
        post.source.title = "Renamed blog"
    elif change == "picture":
        post.source.picture_url = "https://blog.example/icon.png"
    elif change == "read":
        state = {"is_read": True}
    elif change == "starred":
        state = {"starred": True}
    elif change == "time":
        post.published = timezone.now() - timedelta(minutes=3)
    after = drawn(post, **state)
    assert after != before and after == drawn_by_jinja(post, **state)


def test_what_is_kept_stays_within_its_bounds(alice, monkeypatch):
    follow(alice, "long", 6)
    monkeypatch.setattr(drawn_posts, "KEPT_CHARS", 0)  # every new drawing pushes out the older ones
    for post in Post.objects.select_related("source"):
        assert drawn(post) == drawn_by_jinja(post)
        assert len(drawn_posts._kept) == 0 and drawn_posts._chars == 0
    monkeypatch.setattr(drawn_posts, "KEPT_CHARS", 10**9)
    monkeypatch.setattr(drawn_posts, "KEPT", 2)
    for post in Post.objects.select_related("source"):
        drawn(post)
    assert len(drawn_posts._kept) == 2
    assert drawn_posts._chars == sum(drawn_posts._size(key, kept) for key, kept in drawn_posts._kept.items())
