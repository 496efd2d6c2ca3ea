"""Search: one table of queries with the same answers on PostgreSQL and on SQLite, highlight, paging, scope."""

import json

import pytest

from timelines.search.highlight import mark_html, mark_text
from timelines.search.selectors import search_for
from tracks.services import track_create

from tests.servers.processes import embedded_env, manage
from tests.timelines import search_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_history():
    return search_table.seed()


@pytest.mark.parametrize(("q", "expected"), search_table.QUERIES, ids=[q for q, _ in search_table.QUERIES])
def test_the_operator_table_on_postgresql(alice_history, q, expected):
    assert [r.post.guid for r in search_for(user=alice_history, q=q).results] == expected


def test_sqlite_gives_the_same_answers_as_postgresql(alice_history, tmp_path, embedded_databases):
    embedded_databases.copy_to(tmp_path)
    out = manage("shell", "-v", "0", "-c", "from tests.timelines.search_table import main; main()",
                 env=embedded_env(tmp_path))  # fmt: skip
    on_sqlite = json.loads(out.strip().splitlines()[-1])
    assert on_sqlite == search_table.answers(alice_history) == dict(search_table.QUERIES)


def test_found_words_are_marked_in_text_and_html_without_touching_tags():
    words = frozenset({"cafe", "run"})
    assert mark_text("Café <b> & runs", words, "en") == "<mark>Café</mark> &lt;b&gt; &amp; <mark>runs</mark>"
    html = '<p title="cafe">A <a href="https://x.example/cafe">café</a> &amp; cafés</p>'
    assert mark_html(html, words) == (
        '<p title="cafe">A <a href="https://x.example/cafe"><mark>café</mark></a> &amp; cafés</p>'
    )


def test_results_page_by_the_timelines_cursor_without_repeats(alice_history):
    first = search_for(user=alice_history, q="cream", limit=2)
    assert [r.post.guid for r in first.results] == ["r2", "k4"] and first.next_cursor
    second = search_for(user=alice_history, q="cream", limit=2, before=first.next_cursor)
    assert [r.post.guid for r in second.results] == ["k1"] and second.next_cursor is None


def test_track_matches_are_searched_too_and_a_post_in_both_shows_once(alice_history):
    assert "b1" not in [r.post.guid for r in search_for(user=alice_history, q="cream").results]
    track_create(user=alice_history, query="cream")  # its history: her posts again, and bob's source's b1
    assert [r.post.guid for r in search_for(user=alice_history, q="cream").results] == ["r2", "k4", "b1", "k1"]


def test_the_api_answers_like_the_timeline_with_marked_words(client, alice_history):
    client.force_login(alice_history)
    body = client.get("/api/v1/search", {"q": "croissant", "limit": 5}).json()
    assert [item["title"] for item in body["items"]] == ["Café crème at dawn"] and body["next"] is None
    item = body["items"][0]
    assert "<mark>croissant</mark>" in item["marked"]["content_html"] and item["read"] is True
    assert item["starred"] is False and item["source"]["title"] == "Kitchen notes"


@pytest.mark.parametrize(("params", "detail"), [
    ({"q": "before:yesterday"}, "before: wants a date"),
    ({"q": "is:everything"}, "is: is unread or starred"),
    ({"q": "x" * 501}, "q:"),
    ({"q": "cafe", "before": "not-a-cursor"}, "bad cursor"),
    ({"q": "cafe", "limit": -1}, "limit:"),
])  # fmt: skip
def test_bad_searches_are_a_readable_400(client, alice_history, params, detail):
    client.force_login(alice_history)
    response = client.get("/api/v1/search", params)
    assert response.status_code == 400 and detail in response.json()["detail"]


def test_control_characters_in_a_search_are_refused_by_the_shared_guard_never_a_500(client, alice_history):
    client.force_login(alice_history)
    response = client.get("/api/v1/search", {"q": "croiss\x00ant cafe\x07"})
    assert response.status_code == 400 and response.json()["detail"]
    assert 400 <= client.get("/search/", {"q": "caf\x00e"}).status_code < 500


def test_the_search_page_shows_results_in_the_timeline_fragment_and_errors_as_a_message(client, alice_history):
    client.force_login(alice_history)
    page = client.get("/search/", {"q": "croissant"}).content.decode()
    assert 'class="post' in page and "<mark>croissant</mark>" in page and 'class="inline star-form"' in page
    assert "Save as a track" in page
    assert "before: wants a date" in client.get("/search/", {"q": "before:soon"}).content.decode()
    assert "Save as a track" not in client.get("/search/", {"q": "author:ada"}).content.decode()


def test_every_page_has_the_search_box(client, alice_history):
    client.force_login(alice_history)
    for path in ("/", "/tracks/", "/starred/", "/subscriptions/"):
        assert 'name="q" type="search"' in client.get(path).content.decode(), path
