"""Tags are one whatever their case ("Tech" and "tech"), spelled as first given, and the migration merges the
duplicates already stored; an OPML import's summary counts the feeds whose first fetch failed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from aggregator.following import subscriptions
from aggregator.ingest.polling import poll_source
from aggregator.models import Source, Subscription, SubscriptionTag
from timelines.selectors import tagged_source_ids, tags_for

from tests.aggregator.following.test_follow_lists import imported
from tests.servers.feeds import RSS, rss
from tests.timelines.test_pages import follow

pytestmark = pytest.mark.django_db


def tags_of(user) -> dict[str, list[str]]:
    return {s.source.title: sorted(t.name for t in s.tags.all()) for s in Subscription.objects.filter(user=user)}


def test_a_tag_in_another_case_is_the_same_tag_spelled_as_first_given(alice, bob):
    blog, news = follow(alice, "blog", 1, tag="Tech"), follow(alice, "news", 1)
    subscriptions.update_subscription(user=alice, subscription_id=Subscription.objects.get(source=news).pk,
                                      tags=["tech", "World"])  # fmt: skip
    subscriptions.update_subscription(user=alice, subscription_id=Subscription.objects.get(source=blog).pk,
                                      tags=["TECH", "tech"])  # fmt: skip
    assert tags_of(alice) == {"blog": ["Tech"], "news": ["Tech", "World"]}
    assert tags_for(user=alice) == ["Tech", "World"]
    assert sorted(tagged_source_ids(user=alice, tag="tech")) == sorted([blog.pk, news.pk])
    follow(bob, "bobs", 1, tag="tech")  # another person's spelling is their own
    assert tags_for(user=bob) == ["tech"]
    assert subscriptions.rename_tag(user=alice, old="WORLD", new="tech") == 1  # merged into the existing one
    assert tags_of(alice) == {"blog": ["Tech"], "news": ["Tech"]}


def test_the_timeline_of_a_tag_answers_to_any_case(client, alice):
    follow(alice, "blog", 2, tag="Tech")
    client.force_login(alice)
    html = client.get("/?tag=tech").content.decode()
    assert html.count('<article class="post') == 2


def test_an_opml_import_spells_a_tag_as_the_person_already_does(alice, committed, httpserver):
    follow(alice, "blog", 1, tag="Tech")
    opml = (b'<opml version="2.0"><body><outline text="TECH"><outline type="rss" text="a" xmlUrl="https://a.example/f"/>'
            b'<outline type="rss" text="b" xmlUrl="https://b.example/f" category="/tech,/News"/></outline></body></opml>')
    imported(alice, opml, committed)
    assert tags_of(alice) == {"blog": ["Tech"], "a": ["Tech"], "b": ["News", "Tech"]}


@pytest.mark.django_db(transaction=True)
def test_the_migration_merges_tags_that_differ_only_in_case(django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate([("aggregator", "0009_post_language")])
    old = executor.loader.project_state([("aggregator", "0009_post_language")]).apps
    user = old.get_model("auth", "User").objects.create(username="erin")
    source_model, subscription_model = old.get_model("aggregator", "Source"), old.get_model("aggregator", "Subscription")
    tag_model = old.get_model("aggregator", "SubscriptionTag")
    rows = []
    for name, spellings in (("one", ["Tech", "tech", "TECH"]), ("two", ["tech", "News"])):
        source = source_model.objects.create(address=f"https://{name}.example/f", url=f"https://{name}.example/f", title=name)
        subscription = subscription_model.objects.create(user_id=user.pk, source=source)
        rows += [tag_model.objects.create(subscription=subscription, name=spelling) for spelling in spellings]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    merged = {(t.subscription.source.title, t.name) for t in SubscriptionTag.objects.select_related("subscription__source")}
    assert merged == {("one", "Tech"), ("two", "Tech"), ("two", "News")}
    with pytest.raises(Exception, match="unique"):  # the database now refuses a second case on one subscription
        SubscriptionTag.objects.create(subscription_id=rows[0].subscription_id, name="tEcH")


def test_the_import_summary_counts_feeds_whose_first_fetch_failed(client, alice, committed, httpserver):
    httpserver.expect_request("/good.xml").respond_with_data(rss(("1", "hello")), content_type=RSS)
    for n in range(4):
        httpserver.expect_request(f"/gone-{n}.xml").respond_with_data("no such feed", status=404)
    urls = [httpserver.url_for("/good.xml")] + [httpserver.url_for(f"/gone-{n}.xml") for n in range(4)]
    urls.append("https://never-fetched.example/feed")
    outlines = "".join(f'<outline type="rss" text="f{n}" xmlUrl="{url}"/>' for n, url in enumerate(urls))
    job = imported(alice, f'<opml version="2.0"><body>{outlines}</body></opml>'.encode(), committed)
    assert len(job.followed) == 6 and job.failed == []
    for source in Source.objects.exclude(address__startswith="https://never-fetched"):
        poll_source(source_id=source.pk)  # what the scheduler does after the import
    client.force_login(alice)
    html = client.get(f"/subscriptions/imports/{job.pk}/").content.decode()
    assert 'id="fetch-ok">1<' in html and 'id="fetch-failing">4<' in html and 'id="fetch-pending">1<' in html
    assert html.count("<li><strong>http") == 4 and "404" in html
    assert 'data-pending="1"' in html  # the page keeps listening for the last one
