"""``db.by_pk``: one row through a fixed statement gives what a queryset gives (with ``related``, what
``select_related`` gives)."""

from datetime import UTC, datetime

import pytest

from aggregator.db.by_pk import by_pk
from aggregator.models import Source, WebSubSubscription

pytestmark = pytest.mark.django_db


def test_it_gives_the_row_as_the_queryset_does_and_none_when_missing():
    pushed = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    source = Source.objects.create(address="xmpp:alice@example.org?;node=urn:xmpp:microblog:0", kind=Source.Kind.XMPP,
                                   title="Alice", push_jid="alice@example.org", last_push_at=pushed)  # fmt: skip
    loaded = by_pk(Source, source.pk)
    expected = Source.objects.get(pk=source.pk)
    assert {f.attname: getattr(loaded, f.attname) for f in Source._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in Source._meta.concrete_fields
    }
    assert loaded.last_push_at == pushed and not loaded._state.adding
    loaded.title = "Alice's microblog"
    loaded.save(update_fields=["title"])  # an instance as loaded: it saves as an update
    assert Source.objects.get(pk=source.pk).title == "Alice's microblog"
    assert by_pk(Source, source.pk + 1000) is None


def test_with_related_it_reads_the_row_a_key_points_at_in_the_same_statement(django_assert_num_queries):
    source = Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="Carol")
    subscription = WebSubSubscription.objects.create(source=source, hub_url="https://hub.example/", topic_url=source.url,
                                                     callback_token="t0ken", secret="s3cret")  # fmt: skip
    with django_assert_num_queries(1):
        loaded = by_pk(WebSubSubscription, subscription.pk, related="source")
        assert loaded.source.title == "Carol"
    expected = WebSubSubscription.objects.select_related("source").get(pk=subscription.pk)
    for model, mine, theirs in [(WebSubSubscription, loaded, expected), (Source, loaded.source, expected.source)]:
        assert {f.attname: getattr(mine, f.attname) for f in model._meta.concrete_fields} == {
            f.attname: getattr(theirs, f.attname) for f in model._meta.concrete_fields
        }
    assert by_pk(WebSubSubscription, subscription.pk + 1000, related="source") is None
