"""The Mastodon paths beside our own API: no collisions, JSON everywhere, bad input refused clearly."""

import pytest

from accounts.tokens import issue_token
from aggregator.models import Post
from compat.mastodon.ids import status_id

from tests.timelines.test_api import followed_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(alice):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice)}"}


@pytest.mark.parametrize("path", ["/api/v1/nothing/here", "/api/v2/nothing", "/api/v1/push/subscription"])
def test_a_path_nobody_serves_answers_json_404(client, auth, path):
    response = client.get(path, **auth)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"]


def test_notifications_are_mastodons_and_our_settings_moved(client, auth):
    assert client.get("/api/v1/notifications", **auth).json() == []
    refused = client.put("/api/v1/notifications", {"method": "none"}, content_type="application/json", **auth)
    assert refused.status_code == 405 and refused.json()["detail"]
    assert client.get("/api/v1/notification-settings", **auth).json()["method"] == "none"


def test_our_own_paths_still_answer_first(client, auth):
    assert "items" in client.get("/api/v1/timeline", **auth).json()
    assert client.get("/api/v1/blocks", **auth).json() == []


@pytest.mark.parametrize("query", [{"max_id": "x" * 50}, {"min_id": "12"}, {"since_id": "-1"}])
def test_a_malformed_id_is_a_json_404_not_a_500(client, auth, alice, query):
    followed_source(alice, "carol", 2)
    response = client.get("/api/v1/timelines/home", query, **auth)
    assert response.status_code == 404 and "status id" in response.json()["detail"]


def test_limits_are_clamped_and_words_refused(client, auth, alice):
    followed_source(alice, "carol", 45)
    assert len(client.get("/api/v1/timelines/home", {"limit": "100000"}, **auth).json()) == 40
    assert len(client.get("/api/v1/timelines/home", {"limit": "-5"}, **auth).json()) == 1
    assert client.get("/api/v1/timelines/home", {"limit": "many"}, **auth).status_code == 400


def test_a_person_cannot_read_anothers_status(client, auth, alice, bob):
    post = Post.objects.get(source=followed_source(bob, "dave", 1))
    response = client.get(f"/api/v1/statuses/{status_id(post.published, post.pk)}", **auth)
    assert response.status_code == 404
