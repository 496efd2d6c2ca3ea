"""What one person may ask of a shared hub: a capped follow list, one import under way at a time, and lists
that come a page at a time (API, subscriptions page, sidebar)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.tokens import issue_token
from aggregator.following import subscriptions
from aggregator.following.imports import ImportUnderWay, start_import
from aggregator.models import FollowImport, Source, Subscription, SubscriptionTag

from tests.servers.feeds import RSS, rss

pytestmark = pytest.mark.django_db


def follows(user, count: int, *, first: int = 0, tag: str = "") -> list[Subscription]:
    """``count`` feeds followed by ``user``, titled so that they sort in number order."""
    made = []
    for n in range(first, first + count):
        url = f"https://feed{n:05}.example/rss"
        source, _ = Source.objects.get_or_create(address=url, defaults={"url": url, "title": f"Feed {n:05}"})
        subscription = Subscription.objects.create(user=user, source=source)
        if tag:
            SubscriptionTag.objects.create(subscription=subscription, name=f"{tag}{n:05}")
        made.append(subscription)
    return made


def opml_of(count: int, *, first: int = 0) -> bytes:
    outlines = "".join(f'<outline type="rss" text="Feed {n}" xmlUrl="https://feed{n:05}.example/rss"/>'
                       for n in range(first, first + count))  # fmt: skip
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'.encode()


class TestCap:
    def test_the_follow_box_refuses_past_the_cap_and_says_why(self, httpserver, settings, client, alice):
        settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON = 3
        follows(alice, 3)
        httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "hello")), content_type=RSS)
        client.force_login(alice)
        page = client.post("/follow/", {"address": httpserver.url_for("/feed.xml")}, follow=True).content.decode()
        assert "you follow 3 sources, the most this hub allows one person; unfollow some to follow more" in page
        assert Subscription.objects.filter(user=alice).count() == 3
        assert not Source.objects.filter(url=httpserver.url_for("/feed.xml")).exists()  # nothing polled for nobody

    def test_the_api_answers_400_with_the_reason_and_following_again_what_one_follows_still_works(
        self, httpserver, settings, client, alice, bob
    ):
        settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON = 1
        httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "hello")), content_type=RSS)
        httpserver.expect_request("/other.xml").respond_with_data(rss(("b", "hi")), content_type=RSS)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}

        def follow(path: str):
            return client.post("/api/v1/subscriptions", {"address": httpserver.url_for(path)},
                               content_type="application/json", **headers)  # fmt: skip

        assert follow("/feed.xml").status_code == 201
        assert follow("/feed.xml").status_code == 201  # idempotent: no new subscription, nothing to refuse
        refused = follow("/other.xml")
        assert refused.status_code == 400 and "the most this hub allows one person" in refused.json()["detail"]
        subscriptions.subscribe(user=bob, address=httpserver.url_for("/other.xml"))  # bob's own cap is untouched

    def test_an_import_follows_up_to_the_cap_and_reports_the_rest_as_failed(self, settings, alice, committed):
        settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON = 5
        follows(alice, 2)  # feeds 0 and 1: already followed, so they take no room
        with committed():
            job = start_import(user=alice, body=opml_of(6))
        job.refresh_from_db()
        assert job.status == FollowImport.Status.DONE and job.done == job.total == 6
        assert job.already_followed == ["https://feed00000.example/rss", "https://feed00001.example/rss"]
        assert job.followed == [f"https://feed{n:05}.example/rss" for n in (2, 3, 4)]
        assert job.failed == [["https://feed00005.example/rss", subscriptions.over_cap_reason()]]
        assert Subscription.objects.filter(user=alice).count() == 5
        assert not Source.objects.filter(address="https://feed00005.example/rss").exists()

    def test_a_mastodon_import_past_the_cap_says_why_for_each_account(self, settings, alice, committed):
        settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON = 0
        with committed():
            job = start_import(user=alice, body=b"bob@other.example\ncarol@mastodon.example\n")
        job.refresh_from_db()
        assert job.failed == [["@bob@other.example", subscriptions.over_cap_reason()],
                              ["@carol@mastodon.example", subscriptions.over_cap_reason()]]  # fmt: skip


class TestOneImportAtATime:
    def test_a_second_import_is_refused_while_the_first_is_queued_or_running(self, alice, bob):
        first = start_import(user=alice, body=opml_of(3))  # queued: the test's transaction never commits
        with pytest.raises(ImportUnderWay, match=rf"your import #{first.pk} is still under way \(0 of 3 entries"):
            start_import(user=alice, body=opml_of(2))
        FollowImport.objects.filter(pk=first.pk).update(status=FollowImport.Status.RUNNING)
        with pytest.raises(ImportUnderWay):
            start_import(user=alice, body=opml_of(2))
        start_import(user=bob, body=opml_of(2))  # someone else's import is theirs
        FollowImport.objects.filter(pk=first.pk).update(status=FollowImport.Status.DONE, finished_at=timezone.now())
        start_import(user=alice, body=opml_of(2))  # the first ended: the next one may start

    def test_the_api_answers_409_and_the_page_says_so(self, client, alice):
        start_import(user=alice, body=opml_of(3))
        headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}
        upload = SimpleUploadedFile("list.opml", opml_of(2), content_type="text/x-opml")
        answer = client.post("/api/v1/follow-lists", {"file": upload}, **headers)
        assert answer.status_code == 409 and "is still under way" in answer.json()["detail"]
        client.force_login(alice)
        upload = SimpleUploadedFile("list.opml", opml_of(2), content_type="text/x-opml")
        page = client.post("/subscriptions/import-list/", {"file": upload}, follow=True).content.decode()
        assert "Nothing was imported: your import #" in page and "is still under way" in page
        assert FollowImport.objects.filter(user=alice).count() == 1


class TestPages:
    def test_the_api_list_comes_a_page_at_a_time_with_a_next_link(self, client, alice, bob):
        follows(alice, 5)
        follows(bob, 1, first=7)
        headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}
        first = client.get("/api/v1/subscriptions?limit=2", **headers)
        assert [s["title"] for s in first.json()] == ["Feed 00000", "Feed 00001"]
        assert first["Link"].startswith("<http://testserver/api/v1/subscriptions?limit=2&cursor=")
        assert first["Link"].endswith('>; rel="next"') and first["X-Next-Cursor"] in first["Link"]
        seen = [s["title"] for s in first.json()]
        cursor = first["X-Next-Cursor"]
        while cursor:
            page = client.get("/api/v1/subscriptions", {"limit": 2, "cursor": cursor}, **headers)
            seen += [s["title"] for s in page.json()]
            cursor = page.get("X-Next-Cursor")
        assert seen == [f"Feed {n:05}" for n in range(5)]  # each once, never bob's
        whole = client.get("/api/v1/subscriptions", **headers)  # a small list: one plain list, as before
        assert len(whole.json()) == 5 and "Link" not in whole

    @pytest.mark.parametrize("cursor", ["nope", "WzEsMl0", "eyJhIjogMX0", "W10"])
    def test_a_bad_cursor_or_limit_is_a_400(self, client, alice, cursor):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}
        answer = client.get("/api/v1/subscriptions", {"cursor": cursor}, **headers)
        assert answer.status_code == 400 and answer.json()["detail"] == "cursor is malformed"
        assert client.get("/api/v1/subscriptions", {"limit": 100_000}, **headers).status_code in (400, 422)

    def test_the_subscriptions_page_shows_a_hundred_then_a_next_page(self, client, alice):
        follows(alice, 150)
        client.force_login(alice)
        first = client.get("/subscriptions/").content.decode()
        assert "Feed 00099" in first and "Feed 00100" not in first and "You follow 150 sources (at most 5000)" in first
        next_url = re.search(r'href="(\?after=[^"]+)" rel="next"', first).group(1)
        second = client.get("/subscriptions/" + next_url).content.decode()
        assert "Feed 00100" in second and "Feed 00149" in second and "Feed 00099" not in second
        assert 'rel="next"' not in second
        assert client.get("/subscriptions/?after=broken").status_code == 400

    def test_the_sidebar_is_bounded_with_a_link_to_the_rest(self, client, alice):
        follows(alice, 130, tag="t")
        client.force_login(alice)
        html = client.get("/").content.decode()
        assert len(re.findall(r"data-count-source=", html)) == 100 and len(re.findall(r"data-count-tag=", html)) == 100
        assert "More sources…" in html and "More tags…" in html
        late = Subscription.objects.get(user=alice, source__title="Feed 00120")
        assert "<h1>Feed 00120</h1>" in client.get(f"/?source={late.source_id}").content.decode()  # not in the sidebar

    def test_a_short_list_has_no_more_link(self, client, alice):
        follows(alice, 3, tag="t")
        client.force_login(alice)
        html = client.get("/").content.decode()
        assert len(re.findall(r"data-count-source=", html)) == 3 and "More sources" not in html and "More tags" not in html
