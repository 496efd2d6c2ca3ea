"""Reading preferences (view, order, unread only, marking read as one goes), the post fragments live pages
insert, relative times, and what blocking says; through the pages and the API."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from timelines.cursor import RIVER_START
from timelines.models import Block, ReadingPrefs, TimelineEntry
from timelines.selectors import cursor_of
from timelines.services import mark_read
from timelines.templatetags.chorus import ago

from tests.timelines.test_pages import follow

pytestmark = pytest.mark.django_db

def titles(html: str) -> list[str]:
    return re.findall(r"<h2>([^<]+)</h2>", html)


def test_without_a_choice_the_river_is_expanded_newest_first_and_marks_read_on_j(client, alice):
    client.force_login(alice)
    assert client.get("/api/v1/reading-prefs").json() == {
        "view": "expanded", "oldest_first": False, "unread_only": False, "read_on_move": True, "read_on_scroll": False}
    follow(alice, "blog", 3)
    html = client.get("/").content.decode()
    assert titles(html) == ["blog post 2", "blog post 1", "blog post 0"]
    assert 'class="river"' in html and 'data-read-on-move="1"' in html and 'data-read-on-scroll="0"' in html
    assert not ReadingPrefs.objects.exists()  # nothing stored until the person changes something


def test_oldest_first_pages_forward_in_time(client, alice):
    client.force_login(alice)
    follow(alice, "blog", 70)
    client.patch("/api/v1/reading-prefs", {"oldest_first": True}, content_type="application/json")
    first = client.get("/").content.decode()
    assert titles(first)[:2] == ["blog post 0", "blog post 1"] and len(titles(first)) == 30
    newer = re.search(r'<a class="older" href="([^"]+)" rel="next">Newer posts</a>', first).group(1)
    second = client.get("/" + newer.replace("&amp;", "&")).content.decode()
    assert titles(second)[0] == "blog post 30" and titles(second)[-1] == "blog post 59"
    api = client.get("/api/v1/timeline", {"oldest_first": "true", "limit": 5}).json()
    assert [item["title"] for item in api["items"]] == [f"blog post {n}" for n in range(5)]


def test_unread_only_is_remembered_and_the_address_can_still_say_otherwise(client, alice):
    client.force_login(alice)
    follow(alice, "blog", 3)
    mark_read(user=alice, post_ids=TimelineEntry.objects.filter(post__title="blog post 1").values_list("post_id", flat=True))
    response = client.post("/reading/", {"unread_only": "1", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert titles(client.get("/").content.decode()) == ["blog post 2", "blog post 0"]
    assert titles(client.get("/?unread=0").content.decode()) == ["blog post 2", "blog post 1", "blog post 0"]
    mark_read(user=alice, post_ids=TimelineEntry.objects.filter(user=alice).values_list("post_id", flat=True))
    html = client.get("/").content.decode()
    assert titles(html) == [] and re.search(r'<p class="caught-up" role="status">All caught up', html)


def test_a_live_page_catches_up_from_its_newest_post_or_the_rivers_or_its_start(client, alice):
    """Where live.js asks what came after the page was drawn: its newest post; with nothing unread shown, the
    newest post of the river; an empty river from its start (before it, nothing new could be missed)."""

    def catch_up_from() -> str:
        return re.search(r'data-catch-up-from="([^"]*)"', client.get("/").content.decode()).group(1)

    client.force_login(alice)
    assert catch_up_from() == RIVER_START
    follow(alice, "blog", 3)
    newest = TimelineEntry.objects.get(user=alice, post__title="blog post 2")
    assert catch_up_from() == cursor_of(newest)
    client.post("/reading/", {"unread_only": "1", "next": "/"})
    mark_read(user=alice, post_ids=TimelineEntry.objects.filter(user=alice).values_list("post_id", flat=True))
    assert catch_up_from() == cursor_of(newest)


def test_the_preferences_page_saves_every_field(client, alice):
    client.force_login(alice)
    form = {"view": "titles", "oldest_first": ["0", "1"], "unread_only": ["0"], "read_on_move": ["0"],
            "read_on_scroll": ["0", "1"]}  # the hidden "0", then the checkbox's "1" when it is ticked
    client.post("/reading/", form)
    assert client.get("/api/v1/reading-prefs").json() == {
        "view": "titles", "oldest_first": True, "unread_only": False, "read_on_move": False, "read_on_scroll": True}
    page = client.get("/reading/").content.decode()
    assert 'value="titles" checked' in page and 'name="read_on_scroll" value="1" checked' in page
    assert 'class="river titles"' in client.get("/").content.decode()


def test_bad_preferences_are_refused_and_change_nothing(client, alice):
    client.force_login(alice)
    response = client.patch("/api/v1/reading-prefs", {"view": "cards"}, content_type="application/json")
    assert response.status_code == 400 and "view" in response.json()["detail"]
    client.post("/reading/", {"view": "cards"})
    assert client.get("/api/v1/reading-prefs").json()["view"] == "expanded"


def test_post_fragments_are_the_river_posts_of_this_person_only(client, alice, bob):
    client.force_login(alice)
    follow(alice, "mine", 2)
    theirs = follow(bob, "theirs", 1)
    mine = list(TimelineEntry.objects.filter(user=alice).order_by("post_id").values_list("post_id", flat=True))
    foreign = TimelineEntry.objects.get(user=bob, source=theirs).post_id
    html = client.get("/posts/html/", {"ids": f"{mine[1]},{foreign},{mine[0]},x"}).content.decode()
    assert re.findall(r'data-post-id="(\d+)"', html) == [str(mine[1]), str(mine[0])]  # as asked, bob's left out
    page = client.get("/").content.decode()
    one = re.search(rf'<article class="post unread" id="post-{mine[0]}".*?</article>', html, re.S).group(0)
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub("", one) in token.sub("", page)  # the very same markup as the page's (the token aside)


def test_relative_times_say_how_long_ago():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    said = [ago(now - timedelta(seconds=s), now) for s in (5, 180, 7200, 86400 * 1.5, 86400 * 3, 86400 * 45)]
    assert said == ["just now", "3 min ago", "2 h ago", "1 day ago", "3 days ago", "22 Oct 2026"]
    ahead = [ago(now + timedelta(seconds=s), now) for s in (5, 180, 7200, 86400 * 1.5, 86400 * 3, 86400 * 45)]
    assert ahead == ["in a moment", "in 3 min", "in 2 h", "in 1 day", "in 3 days", "20 Jan 2027"]


def test_muting_a_source_says_muted_with_its_name(client, alice):
    client.force_login(alice)
    source = follow(alice, "Example blog", 1)
    response = client.post("/blocks/", {"kind": "source", "value": str(source.pk), "next": "/"}, follow=True)
    assert "Muted Example blog. Undo it under Blocks." in response.content.decode()
    client.post("/blocks/", {"kind": "word", "value": "Crypto"})
    page = client.get("/blocks/").content.decode()
    assert "Muted source <strong>Example blog</strong>" in page and "Muted word <strong>crypto</strong>" in page
    assert Block.objects.filter(user=alice).count() == 2
