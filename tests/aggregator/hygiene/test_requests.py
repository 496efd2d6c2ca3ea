"""Control characters and foreign redirects in what people send (HOSTILE.md 39 and 46), through the real
middleware, views and API on PostgreSQL (where a NUL in a query used to answer 500)."""

import json

import pytest
from django.urls import reverse

from accounts.models import Identity
from accounts.tokens import issue_token
from aggregator.models import Source, Subscription
from timelines.models import Block
from tracks.models import Track

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(alice):
    source = Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed")
    return Subscription.objects.create(user=alice, source=source, title="Carol")


@pytest.fixture
def api(client, alice):
    token = issue_token(user=alice)
    return lambda method, path, body=None: getattr(client, method)(
        path, data=json.dumps(body) if body is not None else None, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip


def nothing_stored(alice, subscription) -> bool:
    subscription.refresh_from_db()
    return (subscription.title == "Carol" and not subscription.tags.exists() and not Track.objects.exists()
            and not Block.objects.exists() and not Identity.objects.exists())  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("patch", "/api/v1/subscriptions/{id}", {"title": "Car\u0000ol"}, "title"),
    ("patch", "/api/v1/subscriptions/{id}", {"tags": ["news", "ne\u0000ws"]}, "tags[1]"),
    ("post", "/api/v1/subscriptions", {"address": "https://dave.example/\u0000", "tags": []}, "address"),
    ("post", "/api/v1/tracks", {"query": "chorus\u0000"}, "query"),
    ("post", "/api/v1/blocks", {"kind": "word", "value": "spam\u0000"}, "value"),
    ("post", "/api/v1/identities", {"kind": "url", "value": "https://alice.example/\u0001"}, "value"),
    ("put", "/api/v1/notification-settings", {"method": "none", "time_zone": "Europe/Paris\u0000"}, "time_zone"),
])  # fmt: skip
def test_a_control_character_in_an_api_field_is_refused_with_a_400_naming_it(api, alice, subscription, method,
                                                                              path, body, field):  # fmt: skip
    response = api(method, path.format(id=subscription.pk), body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"field '{field}': control characters are not allowed (U+000")
    assert nothing_stored(alice, subscription)


@pytest.mark.parametrize("query", ["tag=news%00", "source=1%00", "before=%00", "tag%00=news"])
def test_a_control_character_in_an_api_query_is_refused(api, query):
    response = api("get", f"/api/v1/timeline?{query}")
    assert response.status_code == 400 and "control characters are not allowed (U+0000)" in response.json()["detail"]


def test_tab_newline_and_carriage_return_are_ordinary_text(api, alice, subscription):
    response = api("patch", f"/api/v1/subscriptions/{subscription.pk}", {"title": "Carol\tand\r\nDave"})
    assert response.status_code == 200 and response.json()["title"] == "Carol and Dave"  # whitespace is folded, not refused


@pytest.mark.parametrize(("url_name", "form"), [
    ("follow", {"address": "https://dave.example/feed", "tags": "news\x00"}),
    ("tracks", {"query": "chorus\x00"}),
    ("blocks", {"kind": "word", "value": "spam\x00"}),
    ("identities", {"kind": "url", "value": "https://alice.example/\x00"}),
])  # fmt: skip
def test_a_control_character_in_a_page_form_is_refused_with_a_message(client, alice, subscription, url_name, form):
    client.force_login(alice)
    response = client.post(reverse(url_name), form)
    assert response.status_code == 400
    assert "control characters are not allowed (U+0000)" in response.content.decode()
    assert nothing_stored(alice, subscription)


def test_a_control_character_in_the_tags_form_changes_nothing(client, alice, subscription):
    client.force_login(alice)
    response = client.post(reverse("subscription_tags", args=[subscription.pk]), {"tags": "a\x00b"})
    assert response.status_code == 400 and "field &#x27;tags&#x27;" in response.content.decode()
    assert nothing_stored(alice, subscription)


@pytest.mark.parametrize("path", ["/?tag=news%00", "/tracks/?q=%00", "/replies/?before=%01", "/people/al%00ice/"])
def test_a_control_character_in_a_page_query_or_path_is_refused(client, alice, path):
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code == 400 and "control characters are not allowed" in response.content.decode()


def test_a_forged_session_cookie_with_a_nul_is_treated_as_absent(client):
    forged = 'sessionid="abcdefgh\\000ijklmnopqrstuvwxyz"'  # Django's cookie parser turns the escape into a NUL
    response = client.get("/", HTTP_COOKIE=forged)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


# --- next: only a path of this site ---------------------------------------------------------------------

OFFSITE = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "https:evil.example",
           "http://testserver/elsewhere", "javascript:alert(1)"]  # fmt: skip

# Every form that goes back to its `next`: the URL's name, a form it takes, and where it goes without a `next`.
GOING_BACK = [
    ("subscription_tags", {"tags": "news"}, "subscriptions"), ("mark_read", {"post_id": "1"}, "timeline"),
    ("mark_all_read", {"up_to": ""}, "timeline"), ("reading_settings", {"unread_only": "1"}, "reading_settings"),
    ("replies_read", {"all": "1"}, "replies"), ("blocks", {"kind": "word", "value": "spam"}, "blocks"),
    ("tracks_read", {"all": "1"}, "tracks"), ("compose", {"text": "Hello"}, "timeline"),
    ("post_delete", {}, "profile"), ("star_toggle", {"post_id": "1"}, "starred"),
    ("theme", {"theme": "dark"}, "settings"),
]  # fmt: skip


def go_back(client, alice, subscription, url_name: str, form: dict):
    client.force_login(alice)
    args = {"subscription_tags": [subscription.pk], "post_delete": [1]}.get(url_name, [])
    return client.post(reverse(url_name, args=args), form)


@pytest.mark.parametrize("target", OFFSITE)
@pytest.mark.parametrize(("url_name", "form", "fallback"), GOING_BACK, ids=[view for view, _, _ in GOING_BACK])
def test_a_next_that_leaves_the_site_is_not_followed(client, alice, subscription, url_name, form, fallback, target):
    response = go_back(client, alice, subscription, url_name, {**form, "next": target})
    fallback_args = [alice.get_username()] if fallback == "profile" else []
    assert response.status_code == 302 and response["Location"] == reverse(fallback, args=fallback_args)


@pytest.mark.parametrize(("url_name", "form", "fallback"), GOING_BACK, ids=[view for view, _, _ in GOING_BACK])
def test_a_next_on_this_site_is_followed(client, alice, subscription, url_name, form, fallback):
    response = go_back(client, alice, subscription, url_name, {**form, "next": "/?tag=news"})
    assert response.status_code == 302 and response["Location"] == "/?tag=news"


def test_the_tags_form_follows_a_next_on_this_site_after_saving(client, alice, subscription):
    client.force_login(alice)
    response = client.post(reverse("subscription_tags", args=[subscription.pk]),
                           {"tags": "news", "next": "/?tag=news"})  # fmt: skip
    assert response.status_code == 302 and response["Location"] == "/?tag=news"
    assert list(subscription.tags.values_list("name", flat=True)) == ["news"]


def test_the_tags_form_of_someone_elses_subscription_is_a_404_and_redirects_nowhere(client, bob, subscription):
    client.force_login(bob)
    for subscription_id in (subscription.pk, subscription.pk + 1000):
        response = client.post(reverse("subscription_tags", args=[subscription_id]),
                               {"tags": "mine", "next": "https://evil.example/"})  # fmt: skip
        assert response.status_code == 404
    assert not subscription.tags.exists()
