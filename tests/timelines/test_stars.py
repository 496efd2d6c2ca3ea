"""Stars: through the page's form (no JavaScript), the API, the count, and the exports (JSON, private Atom feed,
the whole history as JSON Lines)."""

import json
from xml.etree import ElementTree

import pytest

from aggregator.models import Post
from timelines import stars

from tests.timelines import search_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    return search_table.seed()  # k3 and r1 starred


def post_id(guid: str) -> int:
    return Post.objects.get(guid=guid).pk


def test_the_star_form_stars_and_unstars_and_returns_to_the_page(client, alice):
    client.force_login(alice)
    response = client.post("/starred/toggle/", {"post_id": post_id("k1"), "starred": "1", "next": "/?source=1"})
    assert response.status_code == 302 and response["Location"] == "/?source=1"
    assert stars.starred_count(user=alice) == 3
    client.post("/starred/toggle/", {"post_id": post_id("k1"), "starred": "0"})
    assert stars.starred_count(user=alice) == 2
    offsite = client.post("/starred/toggle/", {"post_id": post_id("k1"), "next": "https://evil.example/"})
    assert offsite["Location"] == "/starred/"


def test_the_starred_view_counts_and_lists_newest_first_with_the_timeline_fragment(client, alice):
    client.force_login(alice)
    page = client.get("/starred/").content.decode()
    assert '<span class="count" data-count-starred>2</span>' in page
    assert page.index(f'id="post-{post_id("r1")}"') < page.index(f'id="post-{post_id("k3")}"')
    assert "★ Starred" in page and 'aria-pressed="true"' in page
    timeline = client.get("/").content.decode()
    assert timeline.count("★ Starred") == 2 and timeline.count("☆ Star") == 5


def test_the_api_stars_unstars_and_pages_like_the_timeline(client, alice):
    client.force_login(alice)
    made = client.post("/api/v1/starred", {"post": post_id("k1")}, content_type="application/json")
    assert made.status_code == 201 and made.json() == {"post": post_id("k1"), "starred": True, "count": 3}
    first = client.get("/api/v1/starred", {"limit": 2}).json()
    assert [item["title"] for item in first["items"]] == ["The river runs", "Les crêpes"] and first["count"] == 3
    rest = client.get("/api/v1/starred", {"limit": 2, "before": first["next"]}).json()
    assert [item["title"] for item in rest["items"]] == ["Café crème at dawn"] and rest["next"] is None
    gone = client.delete(f"/api/v1/starred/{post_id('k1')}")
    assert gone.status_code == 200 and gone.json()["count"] == 2


def test_nobody_stars_a_post_they_cannot_see(client, alice):
    client.force_login(alice)
    response = client.post("/api/v1/starred", {"post": post_id("b1")}, content_type="application/json")
    assert response.status_code == 404 and "no such post" in response.json()["detail"]
    bad = client.post("/api/v1/starred", {"post": "many"}, content_type="application/json")
    assert bad.status_code == 400 and "post" in bad.json()["detail"]


def test_stars_export_as_json_and_a_private_atom_feed(client, alice):
    client.force_login(alice)
    exported = json.loads(b"".join(client.get("/starred/export.json").streaming_content))
    assert [item["title"] for item in exported["items"]] == ["The river runs", "Les crêpes"]
    feed_url = f"/starred/feed/{stars.feed_token(user=alice)}/"
    client.logout()
    feed = ElementTree.fromstring(b"".join(client.get(feed_url).streaming_content))
    titles = [e.text for e in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert titles[1:] == ["The river runs", "Les crêpes"]
    forged = f"/starred/feed/{alice.pk}.{'A' * 27}/"
    assert client.get(forged).status_code == 404 and client.get("/starred/feed/nothing/").status_code == 404
    alice.set_password("a new one")
    alice.save()
    assert client.get(feed_url).status_code == 404  # a new password revokes the old address


def test_the_whole_history_exports_as_json_lines(client, alice):
    client.force_login(alice)
    response = client.get("/history/export.jsonl")
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert response["Content-Type"] == "application/x-ndjson"
    assert [line["id"] for line in lines] == [post_id(g) for g in ("r3", "r2", "r1", "k4", "k3", "k2", "k1")]
    assert {line["title"]: (line["read"], line["starred"]) for line in lines}["The river runs"] == (True, True)
