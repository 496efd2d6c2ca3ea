"""Schemathesis over every operation of /api/v1/openapi.json, against the real app (WSGI, in process) on
PostgreSQL, as a person with data: no request it generates may answer 5xx, and answers match the schema.

Bounded and deterministic: a fixed number of examples per operation, derandomized, so a run is the same run.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from accounts import identities
from accounts.tokens import issue_token
from aggregator.content.entry import Entry
from aggregator.following.subscriptions import update_subscription
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source, Subscription
from timelines import blocks
from tracks import services as tracks

MAX_EXAMPLES = 25


# The schema is read from the app itself (no database needed for it); one test per operation.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def token(alice) -> str:
    """alice follows a source with posts, tracks a word, blocks a word and names an identity."""
    source = Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed")
    subscription = Subscription.objects.create(user=alice, source=source, title="Carol")
    update_subscription(user=alice, subscription_id=subscription.pk, tags=["news"])
    tracks.track_create(user=alice, query="chorus")
    ingest(source, [Entry(guid=f"p{n}", title=f"post {n}", content_html=f"<p>chorus {n}</p>") for n in range(3)])
    blocks.block_create(user=alice, kind="word", value="spam")
    identities.identity_create(user=alice, kind="url", value="https://alice.example/")
    return issue_token(user=alice)


def test_the_schema_lists_every_operation():
    assert len(list(schema.get_all_operations())) >= 30


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_no_generated_request_answers_a_server_error(case, token, app_keeps_the_test_connection):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, content_type_conformance, response_schema_conformance],
    )
