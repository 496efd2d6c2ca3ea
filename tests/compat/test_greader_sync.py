"""The request sequences of NetNewsWire, ReadYou and Reeder syncs, replayed against the Google Reader API.

NetNewsWire (github.com/Ranchero-Software/NetNewsWire,
``Modules/Account/Sources/Account/ReaderAPI/ReaderAPICaller.swift``): long hex item ids (``%.16llx``) on
edit-tag, ``n=1000`` id lists followed by their ``c`` continuation, ``ot`` for the account-wide sync, a ``T`` on
every POST. ReadYou (github.com/ReadYouApp/ReadYou,
``app/src/main/java/me/ash/reader/infrastructure/rss/provider/greader/GoogleReaderAPI.kt``): decimal item ids
as ``stream/items/ids`` gave them, ``output=json`` everywhere, quickadd in query and form. Reeder publishes no
source: its test replays the calls FreshRSS's Google Reader API documentation lists for such apps
(github.com/FreshRSS/FreshRSS, ``docs/en/developers/06_GoogleReader_API.md``: unread counts, stream contents
paged by continuation, mark-all-as-read with ``ts``, tag renames), not a recorded Reeder trace.
"""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.app_passwords import issue_app_password
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest
from aggregator.models import Source, Subscription, SubscriptionTag
from timelines.models import TimelineEntry
from timelines.selectors import timeline_for
from timelines.stars import starred_for

from tests.compat.greader_app import KEPT_UNREAD, READ, READING_LIST, STARRED, GReaderApp
from tests.servers.feeds import RSS, rss

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"  # tests/conftest.py's people
START = datetime(2026, 11, 1, tzinfo=UTC)


def followed(user, name: str, posts: int, *, tags=()) -> Source:
    source, _ = Source.objects.get_or_create(address=f"https://{name}.example/feed",
                                             defaults={"url": f"https://{name}.example/feed", "title": name})  # fmt: skip
    subscription = Subscription.objects.create(user=user, source=source)
    for tag in tags:
        SubscriptionTag.objects.create(subscription=subscription, name=tag)
    ingest(source, [Entry(guid=f"{name}-{n}", title=f"{name} {n}", content_html=f"<p>{name} {n}</p>",
                          url=f"https://{name}.example/{n}", published=START + timedelta(minutes=n))
                    for n in range(posts)])  # fmt: skip
    return source


@pytest.fixture
def alices_river(alice):
    return followed(alice, "carol", 3, tags=["friends"]), followed(alice, "dave", 2)


def starred_on_the_page(user) -> set[int]:
    rows, _ = starred_for(user=user, limit=200)
    return {star.post_id for star in rows}


def unread_on_the_page(user) -> set[str]:
    return {e.post.title for e in timeline_for(user=user, unread_only=True, limit=200).entries}


def test_netnewswire_sync(alice, alices_river, httpserver):
    carol, dave = alices_river
    app = GReaderApp()
    login = app.login("alice", PASSWORD)
    assert login.status_code == 200 and login.content.decode().startswith("SID=")
    assert all(len(line.split("=")) == 2 for line in login.content.decode().splitlines())  # NNW splits on "="

    tags = app.get("tag/list", {"output": "json"}).json()["tags"]
    assert {"id": "user/-/label/friends", "label": "friends", "type": "folder"} in tags
    subscriptions = app.get("subscription/list", {"output": "json"}).json()["subscriptions"]
    by_id = {s["id"]: s for s in subscriptions}
    assert by_id[f"feed/{carol.pk}"]["categories"] == [{"id": "user/-/label/friends", "label": "friends"}]
    assert by_id[f"feed/{dave.pk}"]["url"] == "https://dave.example/feed"

    unread = app.get("stream/items/ids", {"n": 1000, "output": "json", "s": READING_LIST, "xt": READ}).json()
    assert len(unread["itemRefs"]) == 5 and "continuation" not in unread
    assert app.get("stream/items/ids", {"n": 1000, "output": "json", "s": STARRED}).json()["itemRefs"] == []
    since = int((START + timedelta(minutes=1, seconds=30)).timestamp())
    recent = app.get("stream/items/ids", {"n": 1000, "output": "json", "ot": since, "s": READING_LIST}).json()
    assert len(recent["itemRefs"]) == 1  # published from minute 1:30 on: carol 2 only
    per_feed = app.get("stream/items/ids", {"n": 1000, "output": "json", "s": f"feed/{dave.pk}"}).json()
    assert len(per_feed["itemRefs"]) == 2

    ids = [int(ref["id"]) for ref in unread["itemRefs"]]
    long_ids = [("i", f"tag:google.com,2005:reader/item/{pk:016x}") for pk in ids]
    contents = app.post("stream/items/contents", [("output", "json"), *long_ids]).json()
    items = contents["items"]
    assert len(items) == 5 and {item["id"] for item in items} == {value for _, value in long_ids}
    carol_0 = next(item for item in items if item["title"] == "carol 0")
    assert carol_0["origin"] == {"streamId": f"feed/{carol.pk}", "title": "carol", "htmlUrl": "https://carol.example/feed"}
    assert carol_0["summary"]["content"] == "<p>carol 0</p>" and carol_0["alternate"][0]["href"] == "https://carol.example/0"
    assert set(carol_0["categories"]) == {READING_LIST, "user/-/label/friends"}
    assert carol_0["published"] == int(START.timestamp())

    assert app.post("edit-tag", [long_ids[0], long_ids[1], ("a", READ)]).content == b"OK"
    assert len(unread_on_the_page(alice)) == 3  # read in the app: read on the page
    assert app.post("edit-tag", [long_ids[0], ("r", READ)]).status_code == 200
    assert len(unread_on_the_page(alice)) == 4

    # starring, as NetNewsWire sends it: edit-tag a/r with long ids, then the starred ids on the next sync
    assert app.post("edit-tag", [long_ids[2], long_ids[3], ("a", STARRED)]).content == b"OK"
    assert starred_on_the_page(alice) == {ids[2], ids[3]}  # starred in the app: starred on the page
    starred = app.get("stream/items/ids", {"n": 1000, "output": "json", "s": STARRED}).json()
    assert [int(ref["id"]) for ref in starred["itemRefs"]] == [ids[2], ids[3]]  # newest first, as the reading list
    again = app.post("stream/items/contents", [("output", "json"), long_ids[2], long_ids[4]]).json()["items"]
    assert [STARRED in item["categories"] for item in again] == [True, False]
    assert app.post("edit-tag", [long_ids[2], ("r", STARRED)]).content == b"OK"
    assert starred_on_the_page(alice) == {ids[3]}
    assert [int(r["id"]) for r in app.get("stream/items/ids", {"n": 1000, "s": STARRED}).json()["itemRefs"]] == [ids[3]]

    httpserver.expect_request("/erin.xml").respond_with_data(rss(("e1", "erin one")), content_type=RSS)
    added = app.post("subscription/quickadd", {"quickadd": httpserver.url_for("/erin.xml")}).json()
    erin = Subscription.objects.get(user=alice, source__url=httpserver.url_for("/erin.xml"))
    assert added["numResults"] == 1 and added["streamId"] == f"feed/{erin.source_id}"
    listed = app.get("subscription/list", {"output": "json"}).json()["subscriptions"]
    assert added["streamId"] in {s["id"] for s in listed}
    edit = app.post("subscription/edit", {"s": added["streamId"], "ac": "edit", "a": "user/-/label/blogs", "t": "Erin"})
    assert edit.status_code == 200
    erin.refresh_from_db()
    assert erin.title == "Erin" and list(erin.tags.values_list("name", flat=True)) == ["blogs"]
    moved = app.post("subscription/edit", {"s": added["streamId"], "ac": "edit", "r": "user/-/label/blogs",
                                           "a": "user/-/label/friends"})  # fmt: skip
    assert moved.status_code == 200 and list(erin.tags.values_list("name", flat=True)) == ["friends"]
    assert app.post("subscription/edit", {"s": added["streamId"], "ac": "unsubscribe"}).status_code == 200
    assert not Subscription.objects.filter(pk=erin.pk).exists()


def test_readyou_sync_with_an_app_password(alice, alices_river, httpserver):
    carol, dave = alices_river
    app = GReaderApp()
    login = app.login("alice@example.org", issue_app_password(user=alice, name="ReadYou"), output="json")
    assert login.status_code == 200 and set(login.json()) == {"SID", "LSID", "Auth"}
    assert app.get("user-info", {"output": "json"}).json() == {
        "userId": str(alice.pk), "userName": "alice", "userProfileId": str(alice.pk), "userEmail": "alice@example.org"}
    assert len(app.get("subscription/list", {"output": "json"}).json()["subscriptions"]) == 2

    unread = app.get("stream/items/ids", {"output": "json", "s": READING_LIST, "xt": READ, "n": 2}).json()
    pages = [unread]
    while "continuation" in pages[-1]:
        pages.append(app.get("stream/items/ids", {"output": "json", "s": READING_LIST, "xt": READ, "n": 2,
                                                  "c": pages[-1]["continuation"]}).json())  # fmt: skip
    decimal_ids = [ref["id"] for page in pages for ref in page["itemRefs"]]
    assert len(pages) == 3 and len(set(decimal_ids)) == 5

    titles = [item["title"] for item in app.post("stream/items/contents", [("i", i) for i in decimal_ids],
                                                 query="?output=json").json()["items"]]  # fmt: skip
    assert titles == ["carol 2", "dave 1", "carol 1", "dave 0", "carol 0"]  # newest first, as asked

    app.post("edit-tag", [("i", decimal_ids[0]), ("i", decimal_ids[1]), ("a", READ)], query="?output=json")
    read = app.get("stream/items/ids", {"output": "json", "s": READ, "n": 100}).json()["itemRefs"]
    assert [ref["id"] for ref in read] == decimal_ids[:2]
    read_too = app.get("stream/items/ids", {"output": "json", "s": READING_LIST, "it": READ, "n": 100}).json()
    assert [ref["id"] for ref in read_too["itemRefs"]] == decimal_ids[:2]
    friends_unread = app.get("stream/items/ids", {"output": "json", "s": "user/-/label/friends", "xt": READ}).json()
    assert len(friends_unread["itemRefs"]) == 2  # carol 1 and 0: carol 2 was just read (and dave 1)
    app.post("edit-tag", [("i", decimal_ids[0]), ("a", KEPT_UNREAD)])
    assert "carol 2" in unread_on_the_page(alice)

    httpserver.expect_request("/frank.xml").respond_with_data(rss(("f1", "frank one")), content_type=RSS)
    url = httpserver.url_for("/frank.xml")
    added = app.post("subscription/quickadd", {"quickadd": url}, query=f"?output=json&quickadd={url}").json()
    assert added["numResults"] == 1 and Subscription.objects.filter(user=alice, source__url=url).exists()


def test_reeder_sync(alice, alices_river):
    carol, dave = alices_river
    app = GReaderApp()
    assert app.login("alice", PASSWORD).status_code == 200
    counts = {c["id"]: c["count"] for c in app.get("unread-count", {"output": "json"}).json()["unreadcounts"]}
    assert counts == {f"feed/{carol.pk}": 3, f"feed/{dave.pk}": 2, "user/-/label/friends": 3, READING_LIST: 5}

    first = app.get(f"stream/contents/feed/{carol.pk}", {"n": 2, "r": "o", "output": "json"}).json()
    assert [item["title"] for item in first["items"]] == ["carol 0", "carol 1"]
    rest = app.get(f"stream/contents/feed/{carol.pk}", {"n": 2, "r": "o", "c": first["continuation"]}).json()
    assert [item["title"] for item in rest["items"]] == ["carol 2"] and "continuation" not in rest
    labelled = app.get("stream/contents/user/-/label/friends", {"n": 10, "xt": READ}).json()
    assert [item["title"] for item in labelled["items"]] == ["carol 2", "carol 1", "carol 0"]

    carol_1 = next(item for item in first["items"] if item["title"] == "carol 1")
    ts = carol_1["timestampUsec"]  # what the app showed: carol 2 arrived later and stays unread
    assert app.post("mark-all-as-read", {"s": "user/-/label/friends", "ts": ts}).content == b"OK"
    assert unread_on_the_page(alice) == {"carol 2", "dave 0", "dave 1"}
    app.post("mark-all-as-read", {"s": READING_LIST})
    assert unread_on_the_page(alice) == set()

    assert app.post("rename-tag", {"s": "user/-/label/friends", "dest": "user/-/label/pals"}).status_code == 200
    assert list(SubscriptionTag.objects.filter(subscription__user=alice).values_list("name", flat=True)) == ["pals"]
    assert app.post("disable-tag", {"s": "user/-/label/pals"}).status_code == 200
    assert not SubscriptionTag.objects.filter(subscription__user=alice).exists()
    assert Subscription.objects.filter(user=alice).count() == 2  # the follows stay


def test_every_item_id_form_names_the_same_post(alice, alices_river):
    app = GReaderApp()
    app.login("alice", PASSWORD)
    post_id = TimelineEntry.objects.filter(user=alice).values_list("post_id", flat=True).first()
    forms = [f"tag:google.com,2005:reader/item/{post_id:016x}", f"{post_id:016x}", str(post_id)]
    for form in forms:
        (item,) = app.post("stream/items/contents", [("i", form)]).json()["items"]
        assert item["id"] == forms[0]


def test_the_starred_stream_pages_and_filters_like_the_others(alice, alices_river):
    carol, dave = alices_river
    app = GReaderApp()
    app.login("alice", PASSWORD)
    post_ids = list(TimelineEntry.objects.filter(user=alice).order_by("published").values_list("post_id", flat=True))
    assert app.post("edit-tag", [*(("i", str(pk)) for pk in post_ids), ("a", STARRED)]).status_code == 200
    assert starred_on_the_page(alice) == set(post_ids)
    first = app.get("stream/contents/" + STARRED, {"n": 3}).json()
    assert [item["title"] for item in first["items"]] == ["carol 2", "dave 1", "carol 1"]
    assert all(STARRED in item["categories"] for item in first["items"])
    rest = app.get("stream/contents/" + STARRED, {"n": 3, "c": first["continuation"]}).json()
    assert [item["title"] for item in rest["items"]] == ["dave 0", "carol 0"] and "continuation" not in rest
    oldest = app.get("stream/items/ids", {"s": STARRED, "r": "o", "n": 2}).json()["itemRefs"]
    assert [int(ref["id"]) for ref in oldest] == post_ids[:2]
    app.post("edit-tag", [("i", str(post_ids[0])), ("a", READ)])  # carol 0 read
    unread = app.get("stream/contents/" + STARRED, {"xt": READ, "n": 10}).json()["items"]
    assert "carol 0" not in [item["title"] for item in unread] and len(unread) == 4
    friends = app.get("stream/items/ids", {"s": "user/-/label/friends", "it": STARRED, "n": 10}).json()["itemRefs"]
    assert len(friends) == 3  # carol's, the one source tagged friends
    only_dave = app.get("stream/items/ids", {"s": f"feed/{dave.pk}", "it": STARRED, "n": 10}).json()["itemRefs"]
    assert len(only_dave) == 2
    both = app.post("edit-tag", [("i", str(post_ids[0])), ("a", STARRED), ("r", STARRED)])
    assert both.status_code == 400
    assert app.post("edit-tag", [("i", str(2**40)), ("a", STARRED)]).status_code == 200  # unknown ids: left alone
    assert starred_on_the_page(alice) == set(post_ids)
