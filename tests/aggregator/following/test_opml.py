"""OPML import and export: other readers' exports, folders are tags, lossless round trips, hostile files
(entity declarations, too many or too deeply nested outlines). Imports go through the one background path
(``imports.start_import``)."""

import time
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tokens import issue_token
from aggregator.following import subscriptions
from aggregator.following.follow_lists import FollowListError
from aggregator.following.imports import start_import
from aggregator.following.opml import MAX_DEPTH, MAX_OUTLINES, OPMLError, read_opml
from aggregator.models import FollowImport, Source, Subscription

from tests.aggregator.following.test_follow_lists import imported
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

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

REFUSED_SCHEME = "refused: only http and https URLs are fetched, not {} URLs"

# Each reader's export (written by hand from the OPML spec and what that reader emits): the follow list it
# gives, {feed url: (title, tags)}, and what is reported as not followed.
READERS = {
    "feedly.opml": ({  # OPML 1.0 label; text == title; a feed in two folders; an empty folder; &#39;
        "https://news.ycombinator.com/rss": ("Hacker News", {"Tech", "Friends"}),
        "https://lwn.net/headlines/rss": ("LWN.net", {"Tech"}),
        "https://carol.example.com/feed.xml": ("Carol's notes", {"Friends"}),
    }, []),
    "inoreader.xml": ({  # &amp; in titles and URLs; a feed outside any folder
        "https://daringfireball.net/feeds/main": ("Daring Fireball", {"Blogs"}),
        "https://dave.example.org/atom.xml?lang=en&full=1": ("Dave & co", {"Blogs"}),
        "https://social.example/@alice.rss": ("alice@social.example", {"Mastodon"}),
        "https://www.python.org/blogs/feed/": ("Python", set()),
    }, []),
    "netnewswire.opml": ({  # tabs, a comment, version="RSS", description="", non-ASCII folder and title
        "https://daringfireball.net/feeds/json": ("Daring Fireball", set()),
        "https://feedpress.me/sixcolors?type=xml": ("Six Colors", {"Apple"}),
        "https://inessential.com/xml/rss.xml": ("inessential", {"Apple"}),
        "https://www.lemonde.fr/rss/une.xml": ("Le Monde — À la une", {"Café & Crème"}),
    }, []),
    "miniflux.opml": ({  # an "All" category; title before text; Japanese names
        "https://jvns.ca/atom.xml": ("Julia Evans", {"All"}),
        "https://miniflux.app/feed.xml": ("Miniflux", {"All"}),
        "https://tech.example.jp/feed": ("技術ブログ", {"日本語"}),
    }, []),
    "freshrss.opml.xml": ({  # no title attribute; namespaced frss: attributes; category paths; HTML in a name
        "https://lobste.rs/rss": ("Lobsters", {"Uncategorized"}),
        "https://www.quantamagazine.org/feed/": ("Quanta Magazine", {"Science", "Physics", "Reading"}),
        "http://export.arxiv.org/rss/astro-ph": ("arXiv astro-ph", {"Science"}),
        "https://scraped.example/news": ("A page without a feed", {"Scraped"}),
    }, []),
    "thunderbird.opml": ({  # ISO-8859-1 bytes, &#252; references, the account as the outer folder, fz: attributes
        "https://hacks.mozilla.org/feed/": ("Mozilla Hacks", {"Blogs & News Feeds"}),
        "https://www.tagesschau.de/xml/rss2/": ("Tagesschau - Übersicht", {"Blogs & News Feeds"}),
        "https://tram.example.de/feed": ("Straßenbahn", {"Blogs & News Feeds", "Grüne Nachrichten"}),
    }, []),
    "theoldreader.opml": ({  # duplicate feed in two folders; HTML entities and a bare & (not XML); no type
        "https://xkcd.com/rss.xml": ("xkcd.com", {"Comics", "Favorites"}),
        "https://eric.example.net/rss?format=xml&page=1": ("Ericés Blog — notes", {"Favorites"}),
        "https://bare.example.org/feed": ("https://bare.example.org/feed", set()),  # untitled: shown by its address
    }, [
        ("javascript:alert(document.cookie)", REFUSED_SCHEME.format("javascript")),
        ("https://untitled.example/", "a site without a feed address (no xmlUrl)"),
    ]),
}  # fmt: skip


def follow_list(user) -> dict[str, tuple[str, set[str]]]:
    return {s.source.url: (s.display_title, {t.name for t in s.tags.all()})
            for s in Subscription.objects.filter(user=user).select_related("source")}  # fmt: skip


def test_nested_outlines_and_category_paths_become_tags_and_bad_urls_are_reported():
    document = read_opml(READER_EXPORT)
    by_url = {feed.url: feed for feed in document.feeds}
    assert by_url["https://carol.example.com/feed.xml"].tags == ["Friends"]
    assert by_url["https://dave.example.org/atom.xml"].tags == ["Friends", "Close"]
    news = by_url["http://news.example.net/rss"]
    assert news.title == "Loud news" and news.tags == ["Tech", "Python", "News"]  # titles are text
    assert [address for address, _ in document.rejected] == ["javascript:alert(1)", "file:///etc/passwd"]


@pytest.mark.parametrize("name", sorted(READERS))
def test_another_readers_export_is_imported_with_its_folders_as_tags(name, alice, committed):
    expected, rejected = READERS[name]
    job = imported(alice, fixture_bytes(f"opml/{name}"), committed)
    assert job.status == FollowImport.Status.DONE and job.kind == "opml"
    assert follow_list(alice) == expected
    assert sorted(job.followed) == sorted(expected) and job.already_followed == []
    assert [tuple(pair) for pair in job.failed] == rejected
    again = imported(alice, fixture_bytes(f"opml/{name}"), committed)
    assert again.followed == [] and sorted(again.already_followed) == sorted(expected)


@pytest.mark.parametrize("name", sorted(READERS))
def test_a_readers_export_round_trips_through_chorus_losslessly(name, alice, bob, committed):
    imported(alice, fixture_bytes(f"opml/{name}"), committed)
    exported = subscriptions.export_opml(user=alice, now=NOW)
    imported(bob, exported, committed)
    assert follow_list(bob) == follow_list(alice)
    assert subscriptions.export_opml(user=bob, now=NOW) == exported.replace(b"alice's", b"bob's")


def test_chorus_export_round_trips_losslessly_with_renamed_feeds_and_tags(alice, bob, committed):
    imported(alice, READER_EXPORT, committed)
    carol = Subscription.objects.get(user=alice, source__url="https://carol.example.com/feed.xml")
    subscriptions.update_subscription(user=alice, subscription_id=carol.pk, title="Carol (uni)",
                                      tags=["Friends", "Uni"])  # fmt: skip
    exported = subscriptions.export_opml(user=alice, now=NOW)
    job = imported(bob, exported, committed)
    assert len(job.followed) == 3 and job.failed == [] and Source.objects.count() == 3  # bob shares the sources
    assert follow_list(bob) == follow_list(alice)
    assert follow_list(bob)["https://carol.example.com/feed.xml"] == ("Carol (uni)", {"Friends", "Uni"})
    assert subscriptions.export_opml(user=bob, now=NOW) == exported.replace(b"alice's", b"bob's")
    assert exported.count(b'xmlUrl="https://carol.example.com/feed.xml"') == 2  # under each of its tags


def test_an_import_keeps_the_persons_name_for_a_feed_chorus_knows_by_another(alice, committed):
    Source.objects.create(address="https://carol.example.com/feed.xml", url="https://carol.example.com/feed.xml",
                          title="Carol's microblog")  # fmt: skip
    imported(alice, READER_EXPORT, committed)
    assert follow_list(alice)["https://carol.example.com/feed.xml"][0] == "Carol"
    assert Source.objects.get(url="https://carol.example.com/feed.xml").title == "Carol's microblog"


def test_import_follows_everything_without_fetching_and_reports_a_summary(alice, committed):
    job = imported(alice, READER_EXPORT, committed)
    assert len(job.followed) == 3 and job.already_followed == [] and len(job.failed) == 2
    assert Source.objects.filter(next_poll_at__isnull=False, last_fetch_at=None).count() == 3  # the scheduler's


def test_entity_declarations_are_refused():
    xxe = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.example/feed"/></body></opml>"""
    with pytest.raises(OPMLError, match="entities"):
        read_opml(xxe)


def test_too_many_outlines_are_refused_before_anything_is_imported(alice):
    outlines = "".join(f'<outline type="rss" text="f{n}" xmlUrl="https://f{n}.example/feed"/>' for n in range(50_000))
    body = f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'.encode()
    with pytest.raises(FollowListError, match=f"more than {MAX_OUTLINES:,} outlines; nothing was imported"):
        start_import(user=alice, body=body)
    assert not FollowImport.objects.exists() and not Subscription.objects.exists()


def test_outlines_in_another_namespace_count_too():
    outlines = '<o:outline text="x">' * (MAX_DEPTH + 1) + "</o:outline>" * (MAX_DEPTH + 1)
    body = f'<o:opml xmlns:o="http://opml.org/spec2" version="2.0"><o:body>{outlines}</o:body></o:opml>'.encode()
    with pytest.raises(OPMLError, match=f"nested more than {MAX_DEPTH}"):
        read_opml(body)


def test_deep_nesting_is_refused_quickly():
    body = ('<?xml version="1.0"?><opml version="2.0"><body>' + '<outline text="x">' * 100_000
            + "</outline>" * 100_000 + "</body></opml>").encode()  # fmt: skip
    with pytest.raises(OPMLError, match=f"nested more than {MAX_DEPTH}"):
        read_opml(body)


def test_malformed_files_are_refused_before_the_lenient_parser_sees_them():
    # 5 MiB of "<" kept Python's HTML tokenizer (under listparser) busy for 20 s
    started = time.monotonic()
    with pytest.raises(OPMLError, match="not a valid OPML file"):
        read_opml(b'<opml version="2.0"><body><outline text="' + b"<" * (5 * 1024 * 1024 - 100))
    assert time.monotonic() - started < 3


def test_a_file_that_is_not_opml_says_so():
    with pytest.raises(OPMLError, match="not a valid OPML file"):
        read_opml(b"<html><body>hello")
    with pytest.raises(OPMLError, match="no <opml> document"):
        read_opml(b'<rss version="2.0"><channel><title>a feed, not a list</title></channel></rss>')


def test_import_and_export_through_the_api(client, alice, committed):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice)}"}
    upload = SimpleUploadedFile("subs.opml", READER_EXPORT, content_type="text/x-opml")
    with committed():
        response = client.post("/api/v1/opml", {"file": upload}, **auth)
    assert response.status_code == 202 and response.json()["kind"] == "opml" and response.json()["total"] == 5
    shown = client.get(f"/api/v1/follow-lists/{response.json()['id']}", **auth).json()
    assert shown["status"] == "done" and shown["followed"] == 3 and shown["failed"] == 2
    exported = client.get("/api/v1/opml", **auth)
    assert exported["Content-Type"].startswith("text/x-opml")
    feeds = {feed.url: sorted(feed.tags) for feed in read_opml(exported.content).feeds}
    assert feeds["https://dave.example.org/atom.xml"] == ["Close", "Friends"]  # listed under both tags
    assert len(feeds) == 3


def test_the_opml_endpoint_refuses_hostile_files_and_other_lists_with_a_readable_400(client, alice):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice)}"}
    upload = SimpleUploadedFile("x.opml", b'<!DOCTYPE o [<!ENTITY a "b">]><opml/>', content_type="text/x-opml")
    response = client.post("/api/v1/opml", {"file": upload}, **auth)
    assert response.status_code == 400 and "entities" in response.json()["detail"]
    csv = SimpleUploadedFile("following_accounts.csv", b"bob@other.example\n", content_type="text/csv")
    response = client.post("/api/v1/opml", {"file": csv}, **auth)
    assert response.status_code == 400
    assert response.json()["detail"] == "expected an OPML file; this file reads as a Mastodon following CSV"
    assert not FollowImport.objects.exists()


def test_the_subscriptions_page_imports_opml_in_the_background_and_exports_it(client, alice, committed):
    client.force_login(alice)
    upload = SimpleUploadedFile("subs.opml", READER_EXPORT, content_type="text/x-opml")
    with committed():
        response = client.post("/subscriptions/import-list/", {"file": upload})
    job = FollowImport.objects.get(user=alice)
    assert response.status_code == 302 and response["Location"] == f"/subscriptions/imports/{job.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert 'id="import-followed">3<' in html and 'id="import-failed">2<' in html and "javascript:alert(1)" in html
    assert client.post("/subscriptions/import/", {"file": upload}).status_code == 404  # the old twin is gone
    exported = client.get("/subscriptions/export.opml")
    assert {feed.url for feed in read_opml(exported.content).feeds} == {
        "https://carol.example.com/feed.xml", "https://dave.example.org/atom.xml", "http://news.example.net/rss"}
