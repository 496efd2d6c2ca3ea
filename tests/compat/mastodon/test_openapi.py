"""Our Mastodon answers against the public Mastodon API description (abraham/mastodon-openapi, the operations we
implement: tests/fixtures/mastodon_openapi/), with schemathesis, as an app holding an OAuth token got through our
pages: no request answers 5xx, statuses are ones the description documents, bodies validate against it.

Bounded and deterministic (a fixed number of derandomized examples per operation). Generated path ids rarely name
anything, so a second test calls every operation with a path id once with real ids, so that real accounts, statuses,
lists and notifications are validated too."""

from pathlib import Path

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aggregator.models import Post
from compat.mastodon.ids import status_id
from compat.mastodon.reading import list_id_of
from publishing import posting
from replies.models import Reply

from tests.compat.mastodon.oauth_flow import register, token_for
from tests.timelines.test_api import followed_source

MAX_EXAMPLES = 15
DESCRIPTION = Path(__file__).resolve().parents[2] / "fixtures" / "mastodon_openapi" / "schema.json"
SCOPES = "read write follow profile"
# Where the description is wrong for real Mastodon, and so not held against us:
# - GET /api/v1/filters answers a list of V1::Filter (its own text says "List of [V1::Filter]"); the schema
#   says one object.
WRONG_SCHEMA = {("GET", "/api/v1/filters")}


def documented_status(ctx, response, case):
    """The description's statuses, and 400: Mastodon answers a missing or invalid parameter with 400 and a JSON
    ``error`` (``Api::ErrorHandling``, app/controllers/concerns/api/error_handling.rb in mastodon/mastodon), a
    status the description lists nowhere. Chorus answers 400 the same way, and for control characters anywhere
    in a request (aggregator/hygiene)."""
    if response.status_code == 400:
        assert response.json()["error"], "a 400 names its reason in `error`"
        return None
    return status_code_conformance(ctx, response, case)


def schema_conformance(ctx, response, case):
    if (case.operation.method.upper(), case.operation.path) in WRONG_SCHEMA:
        return None
    return response_schema_conformance(ctx, response, case)


CHECKS = [not_a_server_error, documented_status, content_type_conformance, schema_conformance]

schema = schemathesis.openapi.from_path(DESCRIPTION)
schema.app = get_wsgi_application()  # as from_wsgi sets it: calls go to the app in process


@pytest.fixture
def river(alice) -> dict:
    """alice follows carol (tagged friends) and dave, carol's posts are replies to her, she wrote a post."""
    carol = followed_source(alice, "carol", 3, tags=["friends"])
    followed_source(alice, "dave", 2)
    for post in Post.objects.filter(source=carol):
        Reply.objects.create(user=alice, post=post, published=post.published)
    own = posting.post_create(user=alice, text="hello from alice")
    return {"carol": carol, "own": own}


@pytest.fixture
def token(client, alice, river) -> str:
    """An OAuth token as an app gets it: registered, authorized by alice on our page, exchanged with PKCE."""
    app = register(client, scopes=SCOPES)
    client.force_login(alice)
    token = token_for(client, app, scopes=SCOPES)
    client.logout()
    return token


def test_the_description_lists_the_operations_we_implement():
    assert len(list(schema.get_all_operations())) >= 60


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_generated_requests_get_answers_the_description_allows(case, token, app_keeps_the_test_connection):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


def real_ids(alice, river) -> dict[str, str]:
    post = Post.objects.filter(source=river["carol"]).latest("published")
    reply = Reply.objects.filter(user=alice).latest("published")
    return {"id": str(river["carol"].pk), "status": status_id(post.published, post.pk),
            "notification": status_id(reply.published, reply.post_id), "list_id": list_id_of("friends")}  # fmt: skip


def test_real_objects_validate(token, alice, river, app_keeps_the_test_connection):
    ids = real_ids(alice, river)
    checked = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in sorted(operations, key=lambda op: op.path.endswith("/unfollow")):  # carol stays followed
        path = operation.path
        if "{" not in path or operation.method.upper() == "DELETE":
            continue
        if path.startswith("/api/v1/statuses/"):
            value = ids["status"]
        elif path.startswith("/api/v1/notifications/"):
            value = ids["notification"]
        elif path.startswith("/api/v1/lists/") or path.startswith("/api/v1/timelines/list/"):
            value = ids["list_id"]
        else:
            value = ids["id"]
        name = path.split("{", 1)[1].split("}", 1)[0]
        case = operation.Case(path_parameters={name: value}, headers={"Authorization": f"Bearer {token}"})
        response = case.call_and_validate(checks=CHECKS)
        assert response.status_code == 200, (path, response.text[:300])
        checked += 1
    assert checked >= 15
