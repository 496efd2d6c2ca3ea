"""Links shown to people come from stored rows, and only http(s) ones reach a page's href/src or an API's post:
ingest keeps no other (tests/aggregator/ingest/test_ingest.py), and rendering checks them again, whatever a row
holds (written before a fix, by hand, or by a path that skipped ingest's checks)."""

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from accounts.identities import identity_create
from accounts.tokens import issue_token
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Post, Source, Subscription
from compat.mastodon.ids import status_id
from publishing.posting import post_create
from timelines import stars
from tracks.services import track_create

from tests.compat.greader_app import READING_LIST, GReaderApp

pytestmark = pytest.mark.django_db

SCRIPT_LINKS = {"url": "javascript:alert(1)", "author_uri": "JaVaScRiPt:alert(2)", "in_reply_to": "jav\tascript:alert(3)"}
NAVIGATED = {"href", "src", "srcset", "action", "formaction", "poster", "cite", "data-url"}  # data-url: the `o` key
_SPACE_AND_CONTROLS = "".join(chr(n) for n in range(0x21))
_TABS_AND_NEWLINES = str.maketrans("", "", "\t\n\r")


def is_script_link(value: str) -> bool:
    """As a browser reads a URL: spaces and controls around it, and tabs and newlines anywhere in it, go."""
    url = value.translate(_TABS_AND_NEWLINES).strip(_SPACE_AND_CONTROLS).lower()
    return url.startswith(("javascript:", "vbscript:", "data:"))


class Links(HTMLParser):
    """The values of the attributes a browser opens or loads (character references decoded), of HTML or a feed."""

    def __init__(self):
        super().__init__()
        self.values: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.values += [value for name, value in attrs if name in NAVIGATED and value]

    handle_startendtag = handle_starttag


def script_links_in_markup(markup: str) -> list[str]:
    links = Links()
    links.feed(markup)
    return [value for value in links.values if is_script_link(value)]


def script_links_in_json(data) -> list[str]:
    if isinstance(data, dict):
        return [found for value in data.values() for found in script_links_in_json(value)]
    if isinstance(data, list):
        return [found for value in data for found in script_links_in_json(value)]
    return [data] if isinstance(data, str) and is_script_link(data) else []


@pytest.fixture
def carol(alice):
    source = Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="carol")
    Subscription.objects.create(user=alice, source=source)
    return source


@pytest.fixture
def teapot(alice, carol):
    """carol's post "A teapot": on alice's timeline, in her replies (it names her), her track's matches and her
    stars; then its links are rewritten behind ingest's back."""
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    track = track_create(user=alice, query="teapot")
    [post_id] = ingest(carol, [Entry(guid="c1", title="A teapot", content_html="<p>teapot @alice@example.social</p>",
                                     url="https://carol.example/1", author_uri="https://carol.example/",
                                     base_url=carol.url)]).created  # fmt: skip
    stars.star(user=alice, post_id=post_id)
    Post.objects.filter(pk=post_id).update(**SCRIPT_LINKS)
    return Post.objects.get(pk=post_id), track


def test_no_page_links_to_a_script_address_a_stored_post_holds(client, alice, teapot):
    post, track = teapot
    client.force_login(alice)
    pages = ["/", f"/?source={post.source_id}", "/search/?q=teapot", "/starred/", f"/posts/html/?ids={post.pk}",
             "/replies/", "/tracks/", f"/tracks/{track.pk}/"]  # fmt: skip
    for path in pages:
        shown = client.get(path).content.decode()
        assert f'data-post-id="{post.pk}"' in shown, path  # the post is there
        assert script_links_in_markup(shown) == [], path


def test_no_api_gives_a_script_address_a_stored_post_holds(client, alice, teapot):
    post, track = teapot
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice)}"}
    ours = ["/api/v1/timeline", "/api/v1/replies", "/api/v1/tracks/matches", "/api/v1/starred", "/api/v1/search?q=teapot"]
    status = status_id(post.published, post.pk)
    mastodon = ["/api/v1/timelines/home", f"/api/v1/statuses/{status}", f"/api/v1/accounts/{post.source_id}/statuses",
                "/api/v1/notifications", "/api/v1/favourites", "/api/v1/bookmarks"]  # fmt: skip
    for path in ours + mastodon:
        answer = client.get(path, **bearer)
        assert answer.status_code == 200 and "A teapot" in answer.content.decode(), path  # the post is there
        assert script_links_in_json(answer.json()) == [], path
    reader = GReaderApp()
    assert reader.login("alice", "correct horse battery").status_code == 200
    items = reader.get(f"stream/contents/{READING_LIST}", {"output": "json"}).json()["items"]
    assert [item["title"] for item in items] == ["A teapot"] and script_links_in_json(items) == []


def test_no_export_or_feed_gives_a_script_address_a_stored_post_holds(client, alice, teapot):
    client.force_login(alice)
    starred = json.loads(streamed(client.get("/starred/export.json")))
    history = [json.loads(line) for line in streamed(client.get("/history/export.jsonl")).splitlines()]
    for exported in (starred["items"], history):
        assert [item["title"] for item in exported] == ["A teapot"] and script_links_in_json(exported) == []
    feed = streamed(client.get(f"/starred/feed/{stars.feed_token(user=alice)}/"))
    assert "A teapot" in feed and script_links_in_markup(feed) == []


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_a_thread_links_no_script_address_its_stored_posts_hold(client, alice, carol):
    """alice's post answers carol's and carol answers back: the post's own page shows both, and the profile
    and the Atom feed show alice's, each with its links."""
    [asked] = ingest(carol, [Entry(title="Tea?", content_html="<p>tea?</p>", url="https://carol.example/tea",
                                   base_url=carol.url)]).created  # fmt: skip
    mine = post_create(user=alice, text="Always tea", in_reply_to=asked)
    [answer] = ingest(carol, [Entry(guid="c2", title="Agreed", content_html="<p>agreed</p>", in_reply_to=mine.url,
                                    url="https://carol.example/agreed", base_url=carol.url)]).created  # fmt: skip
    Post.objects.filter(pk__in=[asked, answer]).update(url=SCRIPT_LINKS["url"], author_uri=SCRIPT_LINKS["author_uri"])
    permalink = client.get(urlsplit(mine.url).path).content.decode()
    assert "tea?" in permalink and "Always tea" in permalink and "agreed" in permalink  # the whole thread
    assert script_links_in_markup(permalink) == []
    Post.objects.filter(pk=mine.pk).update(url=SCRIPT_LINKS["url"], in_reply_to=SCRIPT_LINKS["in_reply_to"])
    for path in [urlsplit(mine.url).path, "/people/alice/", "/people/alice/feed.atom"]:
        shown = client.get(path).content.decode()
        assert "Always tea" in shown and script_links_in_markup(shown) == [], path


def test_replying_to_a_post_whose_only_address_is_a_script_guid_links_no_script(client, alice, carol):
    """A feed item whose permalink guid is a ``javascript:`` address keeps it as its identity, never as its link;
    a reply to it names it (Atom's ``ref``) but links to nothing, and apps are given no such address."""
    [guided] = ingest(carol, [Entry(guid="javascript:alert(4)", title="No link", content_html="<p>hi</p>",
                                    base_url=carol.url)]).created  # fmt: skip
    mine = post_create(user=alice, text="A reply", in_reply_to=guided)
    assert Post.objects.get(pk=guided).url == "" and mine.in_reply_to == "javascript:alert(4)"
    for path in [urlsplit(mine.url).path, "/people/alice/", "/people/alice/feed.atom"]:
        shown = client.get(path).content.decode()
        assert "A reply" in shown and script_links_in_markup(shown) == [], path
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice)}"}
    published = Post.objects.get(pk=guided).published
    status = client.get(f"/api/v1/statuses/{status_id(published, guided)}", **bearer).json()
    assert "No link" in status["content"] and script_links_in_json(status) == []
