"""Server-rendered pages: accounts, the timeline, following, source status — readable without JavaScript."""

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser as BaseParser

import pytest
from django.core import mail

from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Post, Source, Subscription, SubscriptionTag
from timelines.models import TimelineEntry

from tests.servers.feeds import RSS, rss

pytestmark = pytest.mark.django_db


class HTMLParser(BaseParser):
    """The attributes (``data-done`` as a list: a post has several) and the text of a piece of HTML."""

    def __init__(self):
        super().__init__()
        self.attrs: dict = {"data-done": []}
        self.text = ""

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "data-done":
                self.attrs[name].append(value)
            else:
                self.attrs.setdefault(name, value)

    def handle_data(self, data):
        self.text += data


def follow(user, name: str, posts: int, *, tag: str | None = None) -> Source:
    source = Source.objects.create(address=f"https://{name}.example/feed", url=f"https://{name}.example/feed", title=name)
    subscription = Subscription.objects.create(user=user, source=source)
    if tag:
        SubscriptionTag.objects.create(subscription=subscription, name=tag)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    ingest(source, [Entry(guid=f"{name}-{n}", title=f"{name} post {n}", content_html=f"<p>body {n}</p>",
                                 published=start + timedelta(hours=n)) for n in range(posts)])  # fmt: skip
    return source


class TestAccounts:
    def test_a_person_signs_up_and_lands_on_their_timeline(self, client):
        response = client.post("/accounts/signup/", {"email": "erin@example.org", "username": "erin",
                                                     "password1": "a long passphrase 42", "password2": "a long passphrase 42"})  # fmt: skip
        assert response.status_code == 302
        assert client.get("/").status_code == 200

    def test_log_in_and_log_out(self, client, alice):
        response = client.post("/accounts/login/", {"login": "alice", "password": "correct horse battery"})
        assert response.status_code == 302 and client.get("/").status_code == 200
        client.post("/accounts/logout/")
        assert client.get("/").status_code == 302

    def test_a_wrong_password_is_refused(self, client, alice):
        response = client.post("/accounts/login/", {"login": "alice", "password": "wrong"})
        assert response.status_code == 200 and "not correct" in response.content.decode()
        assert client.get("/").status_code == 302

    def test_password_reset_sends_a_working_link(self, client, alice):
        client.post("/accounts/password/reset/", {"email": "alice@example.org"})
        assert len(mail.outbox) == 1
        link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail.outbox[0].body).group(0)
        response = client.get(link, follow=True)
        assert response.status_code == 200
        form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
        response = client.post(form_url, {"password1": "a brand new secret 9", "password2": "a brand new secret 9"})
        assert response.status_code == 302
        assert client.login(username="alice", password="a brand new secret 9")

    def test_pages_need_a_login(self, client):
        for path in ("/", "/subscriptions/", "/settings/tokens/"):
            assert client.get(path).status_code == 302


class TestTimeline:
    def test_the_river_merges_sources_newest_first(self, client, alice):
        follow(alice, "carol", 2)
        follow(alice, "dave", 2)
        client.force_login(alice)
        html = client.get("/").content.decode()
        titles = re.findall(r"(carol|dave) post (\d)", html)
        assert titles[:4] == [("dave", "1"), ("carol", "1"), ("dave", "0"), ("carol", "0")]

    def test_unread_counts_per_source_and_tag(self, client, alice):
        follow(alice, "carol", 3, tag="friends")
        follow(alice, "dave", 2)
        client.force_login(alice)
        html = client.get("/").content.decode()
        assert re.search(r'friends <span class="count" data-count-tag="friends">3</span>', html)
        assert re.search(r'dave\s*<span class="count" data-count-source="\d+">2</span>', html)
        assert "(5) All posts" in html

    def test_filters_by_tag_and_source(self, client, alice):
        follow(alice, "carol", 2, tag="friends")
        dave = follow(alice, "dave", 2)
        client.force_login(alice)
        assert "dave post" not in client.get("/?tag=friends").content.decode()
        assert "carol post" not in client.get(f"/?source={dave.pk}").content.decode()

    def test_older_posts_are_reached_by_a_keyset_link(self, client, alice):
        follow(alice, "carol", 45)
        client.force_login(alice)
        first = client.get("/").content.decode()
        older = re.search(r'href="(\?before=[^"]+)" rel="next"', first).group(1)
        second = client.get("/" + older.replace("&amp;", "&")).content.decode()
        assert "carol post 44" in first and "carol post 14" not in first
        assert "carol post 14" in second and "carol post 44" not in second

    def test_a_broken_cursor_is_a_clear_400(self, client, alice):
        client.force_login(alice)
        assert client.get("/?before=garbage").status_code == 400

    def test_mark_one_read_and_all_read_up_to_what_was_shown(self, client, alice):
        carol = follow(alice, "carol", 3)
        client.force_login(alice)
        html = client.get("/").content.decode()
        up_to = re.search(r'name="up_to" value="([^"]+)"', html).group(1)
        post_id = TimelineEntry.objects.filter(user=alice).order_by("-published").first().post_id
        client.post("/read/", {"post_id": post_id, "next": "/"})
        assert TimelineEntry.objects.filter(user=alice, is_read=False).count() == 2
        ingest(carol, [Entry(guid="new", title="arrived later", published=datetime(2026, 12, 1, tzinfo=UTC))])
        client.post("/read/all/", {"up_to": up_to, "next": "/"})
        assert list(TimelineEntry.objects.filter(user=alice, is_read=False).values_list("post__title", flat=True)) == [
            "arrived later"
        ]

    def test_post_content_is_shown_sanitized_and_titles_escaped(self, client, alice):
        source = follow(alice, "carol", 0)
        ingest(source, [Entry(guid="x", title="<b>bold</b>", content_html='<p>ok</p><script>alert(1)</script>',
                                     url="javascript:alert(1)")])  # fmt: skip
        client.force_login(alice)
        html = client.get("/").content.decode()
        assert "<p>ok</p>" in html and "<script>alert(1)" not in html and "javascript:alert" not in html

    def test_hostile_names_stay_text_in_every_attribute_and_menu_of_a_post(self, client, alice):
        hostile = """"'><img src=x onerror=alert(1)>"""
        source = follow(alice, "carol", 0)
        Source.objects.filter(pk=source.pk).update(title=hostile)
        ingest(source, [Entry(guid="x", title=hostile, author_name=hostile, author_handle=hostile, content_html="<p>ok</p>")])
        client.force_login(alice)
        html = client.get("/").content.decode()
        assert "<img src=x" not in html and "onerror=alert(1)>" not in html
        article = re.search(r'<article class="post[^"]*"(.*?)</article>', html, re.S).group(0)
        parsed = HTMLParser()
        parsed.feed(article)
        handle = Post.objects.get(guid="x").author_handle  # as ingest kept it (quotes and all)
        assert '"' in handle and parsed.attrs["data-author"] == handle.lower()
        assert parsed.attrs["data-done"] == [f"Blocked {handle}", f"Muted {hostile}", "Muted the word"]
        assert f"Block {handle}" in parsed.text and f"Mute {hostile}" in parsed.text

    def test_the_river_never_shows_another_persons_posts(self, client, alice, bob):
        follow(bob, "secret", 2)
        client.force_login(alice)
        assert "secret post" not in client.get("/").content.decode()


class TestFollowing:
    def test_the_follow_box_follows_and_shows_the_source_status(self, client, alice, httpserver, committed):
        httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "hello there")), content_type=RSS)
        client.force_login(alice)
        with committed():
            response = client.post("/follow/", {"address": httpserver.url_for("/feed.xml"), "tags": "news, friends"})
        source = Source.objects.get(url=httpserver.url_for("/feed.xml"))
        assert response.url == f"/?source={source.pk}"  # following lands on the source's posts
        html = client.get(response.url).content.decode()
        assert "Following Test feed" in html and "hello there" in html
        status = client.get(f"/sources/{source.pk}/").content.decode()
        for shown in ("Last fetch", "Next fetch", "ok", "news", "friends"):
            assert shown in status

    def test_the_follow_box_explains_a_failure(self, client, alice, httpserver):
        httpserver.expect_request("/").respond_with_data("<html>hi</html>", content_type="text/html")
        client.force_login(alice)
        html = client.post("/follow/", {"address": httpserver.url_for("/")}, follow=True).content.decode()
        assert "Could not follow" in html and "no RSS or Atom feed" in html

    def test_a_failing_source_shows_its_last_error(self, client, alice, httpserver, committed):
        httpserver.expect_request("/feed.xml").respond_with_data(rss(("a", "x")), content_type=RSS)
        client.force_login(alice)
        with committed():
            client.post("/follow/", {"address": httpserver.url_for("/feed.xml")})
        source = Source.objects.get()
        httpserver.clear()
        httpserver.expect_request("/feed.xml").respond_with_data("down", status=500)
        response = client.post(f"/sources/{source.pk}/refresh/", follow=True)
        html = response.content.decode()
        assert "Last error" in html and "500" in html and "failing" in html

    def test_someone_elses_source_page_is_not_found(self, client, alice, bob):
        source = follow(bob, "secret", 1)
        client.force_login(alice)
        assert client.get(f"/sources/{source.pk}/").status_code == 404
        assert client.post(f"/sources/{source.pk}/refresh/").status_code == 404

    def test_forms_are_protected_against_csrf(self, alice):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(alice)
        assert client.post("/follow/", {"address": "https://example.org/"}).status_code == 403
