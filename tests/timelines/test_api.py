"""The JSON API under /api/v1/: tokens, shapes, pagination, scoping and readable errors."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import issue_token, revoke_token
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source, Subscription, SubscriptionTag
from timelines.cursor import encode_cursor

from tests.conftest import fixture_bytes
from tests.servers.feeds import RSS, rss

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, alice, django_capture_on_commit_callbacks):
    token = issue_token(user=alice, name="tests")

    def call(method: str, path: str, body=None, *, as_token: str | None = None, **params):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {as_token or token}"}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        elif params:
            kwargs["data"] = params
        with django_capture_on_commit_callbacks(execute=True):  # as if the request's transaction committed
            return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def followed_source(user, name: str, posts: int, *, tags=()) -> Source:
    source = Source.objects.create(address=f"https://{name}.example/feed", url=f"https://{name}.example/feed", title=name)
    subscription = Subscription.objects.create(user=user, source=source)
    for tag in tags:
        SubscriptionTag.objects.create(subscription=subscription, name=tag)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ingest(source, [Entry(guid=f"{name}-{n}", title=f"{name} {n}", content_html=f"<p>{name} {n}</p>",
                                 published=start + timedelta(minutes=n)) for n in range(posts)])  # fmt: skip
    return source


def test_requests_without_a_token_get_a_readable_401(client):
    response = client.get("/api/v1/timeline")
    assert response.status_code == 401 and "Bearer" in response.json()["detail"]


def test_a_revoked_token_is_refused(api, alice):
    token = issue_token(user=alice)
    assert api("get", "/timeline", as_token=token).status_code == 200
    revoke_token(user=alice, token_id=ApiToken.objects.get(prefix=token[7:15]).pk)
    assert api("get", "/timeline", as_token=token).status_code == 401


def test_issue_token_prints_a_working_token(api, alice, capsys):
    call_command("issue_token", "alice")
    token = capsys.readouterr().out.strip()
    assert api("get", "/subscriptions", as_token=token).status_code == 200


def test_the_timeline_pages_through_every_post_once_newest_first(api, alice):
    followed_source(alice, "carol", 30)
    followed_source(alice, "dave", 25)
    seen, cursor = [], None
    while True:
        page = api("get", "/timeline", limit=20, **({"before": cursor} if cursor else {})).json()
        seen += page["items"]
        cursor = page["next"]
        if not cursor:
            break
    assert len(seen) == 55 and len({p["id"] for p in seen}) == 55
    published = [p["published"] for p in seen]
    assert published == sorted(published, reverse=True)


def test_a_post_has_the_documented_shape(api, alice):
    followed_source(alice, "carol", 1)
    post = api("get", "/timeline").json()["items"][0]
    assert {"id", "url", "source", "author", "content_html", "text", "published", "in_reply_to"} <= post.keys()
    source_id = post["source"]["id"]
    assert post["source"] == {"id": source_id, "kind": "rss", "title": "carol", "avatar": f"/sources/{source_id}/avatar"}
    assert set(post["author"]) == {"name", "handle", "uri"}
    assert post["text"] == "carol 0"


def test_the_timeline_filters_by_tag_and_by_source(api, alice):
    carol = followed_source(alice, "carol", 3, tags=["friends"])
    followed_source(alice, "dave", 4)
    by_tag = api("get", "/timeline", tag="friends").json()["items"]
    by_source = api("get", "/timeline", source=carol.pk).json()["items"]
    assert {p["source"]["title"] for p in by_tag} == {"carol"} and len(by_tag) == 3
    assert [p["id"] for p in by_source] == [p["id"] for p in by_tag]


@pytest.mark.parametrize("params", [{"limit": -1}, {"limit": 0}, {"limit": 100000}, {"limit": "many"},
                                    {"before": "not-a-cursor"}, {"before": "x" * 5000}, {"source": "abc"}])
def test_bad_query_parameters_get_a_readable_400(api, alice, params):
    response = api("get", "/timeline", **params)
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]


@pytest.mark.parametrize("body", [{"address": ""}, {"address": "x" * 5000}, {"address": 12}, {"tags": ["a"]},
                                  {"address": "https://a.example", "tags": "notalist"}])
def test_bad_subscription_bodies_get_a_readable_400(api, body):
    response = api("post", "/subscriptions", body)
    assert response.status_code == 400 and response.json()["detail"]


def test_a_malformed_json_body_gets_a_400(client, alice):
    token = issue_token(user=alice)
    response = client.post("/api/v1/subscriptions", data="{nope", content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert response.status_code == 400


def test_following_through_the_api(api, httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    response = api("post", "/subscriptions", {"address": httpserver.url_for("/feed.xml"), "tags": ["news"]})
    assert response.status_code == 201
    body = response.json()
    assert body["tags"] == ["news"] and body["source"]["url"] == httpserver.url_for("/feed.xml")
    listed = api("get", "/subscriptions").json()  # the first poll ran once the subscription was committed
    assert [s["id"] for s in listed] == [body["id"]]
    assert listed[0]["source"]["status"] == "ok" and listed[0]["unread"] == 1
    assert api("delete", f"/subscriptions/{body['id']}").status_code == 204
    assert api("get", "/subscriptions").json() == []


def test_following_an_address_without_a_feed_explains_why(api, httpserver):
    httpserver.expect_request("/").respond_with_data("<html>hi</html>", content_type="text/html")
    response = api("post", "/subscriptions", {"address": httpserver.url_for("/")})
    assert response.status_code == 400 and "no RSS or Atom feed" in response.json()["detail"]


def test_unread_counts_leave_out_what_a_block_hides_until_it_is_undone(api, alice):
    carol = followed_source(alice, "carol", 3, tags=("friends",))
    dave = followed_source(alice, "dave", 2)
    assert api("get", "/unread").json()["total"] == 5
    block = api("post", "/blocks", {"kind": "source", "value": str(carol.pk)}).json()[0]
    assert api("get", "/unread").json() == {"total": 2, "sources": {str(dave.pk): 2}, "tags": {"friends": 0}}
    assert api("delete", f"/blocks/{block['id']}").status_code == 204
    assert api("get", "/unread").json()["sources"] == {str(carol.pk): 3, str(dave.pk): 2}


def test_following_an_internal_address_is_refused(api, settings):
    settings.CHORUS_FETCH_ALLOW_PRIVATE = False
    response = api("post", "/subscriptions", {"address": "http://169.254.169.254/latest/meta-data/"})
    assert response.status_code == 400 and "169.254.169.254" in response.json()["detail"]


def test_nobody_sees_or_refreshes_another_persons_sources(api, alice, bob):
    bobs = followed_source(bob, "secret", 2)
    assert api("get", f"/sources/{bobs.pk}").status_code == 404
    assert api("post", f"/sources/{bobs.pk}/refresh").status_code == 404
    assert api("get", "/timeline", source=bobs.pk).json()["items"] == []
    bobs_subscription = Subscription.objects.get(user=bob)
    assert api("delete", f"/subscriptions/{bobs_subscription.pk}").status_code == 404


def test_refresh_now_polls_the_source(api, alice, httpserver):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "one")), content_type=RSS)
    source = Source.objects.create(address=httpserver.url_for("/feed.xml"), url=httpserver.url_for("/feed.xml"))
    Subscription.objects.create(user=alice, source=source)
    response = api("post", f"/sources/{source.pk}/refresh")
    assert response.status_code == 202
    assert api("get", f"/sources/{source.pk}").json()["status"] == "ok"
    assert len(api("get", "/timeline").json()["items"]) == 1


def test_read_state_one_post_and_all_up_to_what_was_shown(api, alice):
    carol = followed_source(alice, "carol", 5)
    items = api("get", "/timeline").json()["items"]
    assert api("post", "/read", {"post_ids": [items[0]["id"]]}).json() == {"updated": 1}
    assert api("get", "/unread").json()["total"] == 4
    shown = items[0]
    up_to = encode_cursor(datetime.fromisoformat(shown["published"]), shown["id"])
    # A post arrives after the page was drawn: "mark all read" must leave it unread.
    ingest(carol, [Entry(guid="late", title="late", published=datetime(2026, 12, 1, tzinfo=UTC))])
    assert api("post", "/read", {"all": True, "up_to": up_to}).json() == {"updated": 4}
    unread = api("get", "/timeline", unread=True).json()["items"]
    assert [p["title"] for p in unread] == ["late"]
    assert api("get", "/unread").json() == {"total": 1, "sources": {str(carol.pk): 1}, "tags": {}}
    assert api("post", "/read", {"post_ids": [items[0]["id"]], "read": False}).json() == {"updated": 1}


def test_mark_all_read_needs_to_know_what_was_shown(api):
    response = api("post", "/read", {"all": True})
    assert response.status_code == 400 and "up_to" in response.json()["detail"]


def test_the_openapi_schema_is_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/timeline", "/api/v1/subscriptions", "/api/v1/subscriptions/{subscription_id}",
                 "/api/v1/sources/{source_id}/refresh", "/api/v1/read"):  # fmt: skip
        assert path in schema["paths"]


def test_every_published_operation_keeps_its_path_method_and_operation_id(client):
    """Clients generate code from the schema: moving a module must not rename what they call."""
    schema = client.get("/api/v1/openapi.json").json()
    served = {(path, method, operation["operationId"]) for path, methods in schema["paths"].items()
              for method, operation in methods.items()}  # fmt: skip
    published = json.loads(fixture_bytes("openapi_operations.json"))
    missing = [entry for entry in published if (entry["path"], entry["method"], entry["operationId"]) not in served]
    assert len(published) >= 31 and missing == []


def test_tags_and_title_are_edited_through_the_api(api, alice, bob):
    carol = followed_source(alice, "carol", 1, tags=["old"])
    subscription_id = Subscription.objects.get(user=alice, source=carol).pk
    response = api("patch", f"/subscriptions/{subscription_id}", {"tags": ["friends", "astro"], "title": " Carol  C. "})
    assert response.status_code == 200
    assert response.json()["tags"] == ["astro", "friends"] and response.json()["title"] == "Carol C."
    too_many = api("patch", f"/subscriptions/{subscription_id}", {"tags": [f"t{n}" for n in range(20)] + ["x" * 101]})
    assert too_many.status_code == 400 and too_many.json()["detail"]
    bobs = Subscription.objects.get(user=bob, source=followed_source(bob, "dave", 0)).pk
    assert api("patch", f"/subscriptions/{bobs}", {"tags": ["mine"]}).status_code == 404


def test_a_client_catches_up_on_what_it_missed_with_an_after_cursor(api, alice):
    carol = followed_source(alice, "carol", 3)
    newest = api("get", "/timeline", limit=1).json()["items"][0]
    seen_up_to = encode_cursor(datetime.fromisoformat(newest["published"]), newest["id"])
    later = timezone.now() - timedelta(hours=1)  # after carol's posts, and not in the future (that is clamped)
    ingest(carol, [Entry(guid=f"late-{n}", title=f"late {n}", published=later + timedelta(minutes=n))
                          for n in range(5)])  # fmt: skip
    caught_up, cursor = [], seen_up_to
    while cursor:
        page = api("get", "/timeline", after=cursor, limit=2).json()
        caught_up += [p["title"] for p in page["items"]]
        cursor = page["next"]
        if not page["items"]:
            break
    assert caught_up == [f"late {n}" for n in range(5)]  # no gap, no duplicate, oldest first
    assert api("get", "/timeline", after=seen_up_to, before=seen_up_to).status_code == 400
