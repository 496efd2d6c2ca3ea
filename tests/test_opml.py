"""OPML import and export: nested outlines are tags, round trips, hostile files (HOSTILE.md 12, 14)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tokens import issue_token
from aggregator import subscriptions
from aggregator.models import Source, Subscription
from aggregator.opml import MAX_DEPTH, MAX_OUTLINES, OPMLError, read_opml

pytestmark = pytest.mark.django_db

# What a typical reader export looks like (folders as outlines with only text, feeds with xmlUrl/htmlUrl).
READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions from another reader</title></head>
  <body>
    <outline text="Friends" title="Friends">
      <outline type="rss" text="Carol" title="Carol" xmlUrl="https://carol.example.com/feed.xml" htmlUrl="https://carol.example.com/"/>
      <outline text="Close">
        <outline type="rss" text="Dave &amp; co" xmlUrl="https://dave.example.org/atom.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="&lt;b&gt;Loud&lt;/b&gt; news" xmlUrl="feed://news.example.net/rss" category="/Tech/Python,/News"/>
    <outline type="rss" text="evil" xmlUrl="javascript:alert(1)"/>
    <outline type="rss" text="local" xmlUrl="file:///etc/passwd"/>
  </body>
</opml>"""


def test_nested_outlines_become_tags_and_bad_urls_are_reported():
    document = read_opml(READER_EXPORT)
    by_url = {feed.url: feed for feed in document.feeds}
    assert by_url["https://carol.example.com/feed.xml"].tags == ["Friends"]
    assert by_url["https://dave.example.org/atom.xml"].tags == ["Friends", "Close"]
    news = by_url["http://news.example.net/rss"]
    assert news.title == "Loud news" and news.tags == ["Python", "News"]  # titles are text (HOSTILE.md 20)
    assert [address for address, _ in document.rejected] == ["javascript:alert(1)", "file:///etc/passwd"]


def test_import_follows_everything_and_reports_a_summary(alice):
    summary = subscriptions.import_opml(user=alice, body=READER_EXPORT)
    assert len(summary.followed) == 3 and summary.already_followed == [] and len(summary.failed) == 2
    again = subscriptions.import_opml(user=alice, body=READER_EXPORT)
    assert again.followed == [] and len(again.already_followed) == 3
    assert Source.objects.filter(next_poll_at__isnull=False).count() == 3  # the scheduler fetches them next


def test_export_round_trips_losslessly(alice, bob):
    subscriptions.import_opml(user=alice, body=READER_EXPORT)
    exported = subscriptions.export_opml(user=alice)
    subscriptions.import_opml(user=bob, body=exported)

    def follow_list(user):
        return sorted((s.source.url, s.display_title, tuple(sorted(t.name for t in s.tags.all())))
                      for s in Subscription.objects.filter(user=user))  # fmt: skip

    assert follow_list(bob) == follow_list(alice)
    assert Source.objects.count() == 3  # bob shares alice's sources


def test_entity_declarations_are_refused():
    xxe = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.example/feed"/></body></opml>"""
    with pytest.raises(OPMLError, match="entities"):
        read_opml(xxe)


def test_too_many_outlines_are_refused_before_anything_is_imported(alice):
    outlines = "".join(f'<outline type="rss" text="f{n}" xmlUrl="https://f{n}.example/feed"/>' for n in range(50_000))
    body = f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'.encode()
    with pytest.raises(OPMLError, match=str(MAX_OUTLINES)):
        subscriptions.import_opml(user=alice, body=body)
    assert not Subscription.objects.exists()


def test_deep_nesting_is_refused_quickly():
    body = ('<?xml version="1.0"?><opml version="2.0"><body>' + '<outline text="x">' * 100_000
            + "</outline>" * 100_000 + "</body></opml>").encode()  # fmt: skip
    with pytest.raises(OPMLError, match=f"nested more than {MAX_DEPTH}"):
        read_opml(body)


def test_a_file_that_is_not_opml_says_so():
    with pytest.raises(OPMLError, match="not a valid OPML file"):
        read_opml(b"<html><body>hello")


def test_import_and_export_through_the_api(client, alice):
    token = issue_token(user=alice)
    upload = SimpleUploadedFile("subs.opml", READER_EXPORT, content_type="text/x-opml")
    response = client.post("/api/v1/opml", {"file": upload}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["followed"] == 3 and len(response.json()["failed"]) == 2
    exported = client.get("/api/v1/opml", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert exported["Content-Type"].startswith("text/x-opml")
    feeds = {feed.url: sorted(feed.tags) for feed in read_opml(exported.content).feeds}
    assert feeds["https://dave.example.org/atom.xml"] == ["Close", "Friends"]  # listed under both tags
    assert len(feeds) == 3


def test_a_hostile_upload_gets_a_readable_400(client, alice):
    token = issue_token(user=alice)
    upload = SimpleUploadedFile("x.opml", b'<!DOCTYPE o [<!ENTITY a "b">]><opml/>', content_type="text/x-opml")
    response = client.post("/api/v1/opml", {"file": upload}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400 and "entities" in response.json()["detail"]


def test_import_and_export_from_the_subscriptions_page(client, alice):
    client.force_login(alice)
    upload = SimpleUploadedFile("subs.opml", READER_EXPORT, content_type="text/x-opml")
    html = client.post("/subscriptions/import/", {"file": upload}, follow=True).content.decode()
    assert "3 followed, 0 already followed, 2 failed" in html and "javascript:alert(1)" in html
    exported = client.get("/subscriptions/export.opml")
    assert {feed.url for feed in read_opml(exported.content).feeds} == {
        "https://carol.example.com/feed.xml", "https://dave.example.org/atom.xml", "http://news.example.net/rss"}
