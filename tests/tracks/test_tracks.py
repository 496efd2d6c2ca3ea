"""Tracks: tokenizing and phrase matching (pure), matching new posts from anything Chorus ingests, blocks,
the pages and the API, and ``track.match`` over a real socket after the commit. Real PostgreSQL and Redis."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.identities import identity_create
from aggregator.content.entry import Entry
from aggregator.ingest.pipeline import ingest, retract
from aggregator.models import Post, Source, Subscription
from publishing.posting import post_create
from replies.models import KnownPost, Reply
from timelines.blocks import block_create, block_delete
from timelines.stars import star, unstar
from tracks.index import VERSION_KEY
from tracks.matching import find_matches, store_matches
from tracks.models import Track, TrackMatch
from tracks.selectors import matches_for, tracks_for, unread_matches_count
from tracks.services import MAX_TRACKS, TrackError, mark_matches_read, track_create, track_delete
from tracks.text import MARK_PLANES, TrackQueryError, mark_class, matches, parse_track, tokenize

from tests.replies import test_replies
from tests.replies.test_replies_stream import connect  # a real socket on /ws/stream/ with a Bearer token
from tests.timelines.test_stream import before_sentinel

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
api = test_replies.api  # the fixture: alice's Bearer-token API client, on_commit callbacks run


def hits(query: str, text: str) -> bool:
    return matches(parse_track(query).terms, tokenize(text))


# --- pure: tokens and phrases ---------------------------------------------------------------------------------


MATCHING = [
    ("python", "I like Python."),
    ("PYTHON", "python 3.13 is out"),
    ("python", "new release #Python"),  # a word sees the hashtag's word
    ("#python", "new release #PYTHON today"),
    ("café", "Un CAFÉ, s'il vous plaît"),
    ("café", "Cafe\u0301 au lait"),  # decomposed é (NFKC)
    ("ｐｙｔｈｏｎ", "python"),  # full-width letters
    ("straße", "STRASSE gesperrt"),  # casefold
    ("हिन्दी", "मैं हिन्दी बोलता हूँ"),  # vowel signs do not split the word
    ("東京", "明日は東京タワーに行く"),  # Han/kana: characters in order, no spaces needed
    ('"big apple"', "The Big Apple, at night"),
    ('"big apple"', "so big. Apple said"),  # punctuation between words is no gap of words
    ("node.js", "Node.js 22 released"),
    ("rust wasm", "wasm tooling in Rust"),  # several words: all of them, any order
    ('"new york" #nyc', "New York rain #NYC"),
    ("python", "#python\nnext line"),
    ("c", "I write C# daily"),  # "C#" is no hashtag: the word c
    ("apple big tart", "a big apple tart"),  # three words: the key, a second and a third, any order
]  # fmt: skip
NOT_MATCHING = [
    ("cat", "concatenate the files"),  # inside a word
    ("cat", "two cats"),  # no stemming: whole words only
    ("python", "pythonic code"),
    ("#python", "python without the tag"),  # a hashtag track needs the tag
    ("#python", "#pythonic"),
    ('"big apple"', "apple big"),  # phrase: in order
    ('"big apple"', "big red apple"),  # phrase: next to each other
    ("rust wasm", "rust only"),  # several words: all required
    ("#part", "see https://example.org/page#part"),  # a URL fragment is no hashtag
    ("#39", "it&#39;s"),
    ("東京", "京東"),
    ("apple big tart", "a big apple pie"),  # the key and the second word, not the third
    ("apple banana tart", "banana tart"),  # the second and the third, not the key
]  # fmt: skip


@pytest.mark.parametrize(("query", "text"), MATCHING)
def test_it_matches(query, text):
    assert hits(query, text)


@pytest.mark.parametrize(("query", "text"), NOT_MATCHING)
def test_it_does_not_match(query, text):
    assert not hits(query, text)


def test_the_planes_scanned_for_combining_marks_hold_all_of_them():
    import sys

    every_plane = (range(sys.maxunicode + 1),)
    assert mark_class(MARK_PLANES) == mark_class(every_plane)


@pytest.mark.django_db
def test_the_index_finds_what_the_terms_match_and_nothing_else(alice):
    """The same tables through ``find_matches``: the in-process index (a track under its key token, then its
    second token) and the batch's set intersections give the answer ``matches`` gives, each post on its own."""
    cases = [(query, text, True) for query, text in MATCHING] + [(query, text, False) for query, text in NOT_MATCHING]
    normalized = {parse_track(query).normalized for query, _, _ in cases}  # ("python" and "PYTHON" are one)
    tracks = {track_create(user=alice, query=query).pk: query for query in sorted(normalized)}
    posts = [Post(pk=n, title="", text=text) for n, (_, text, _) in enumerate(cases, start=1)]
    found = find_matches(posts=posts)
    assert {user_id for user_id, _ in found} == {alice.pk}
    for n, (query, text, expected) in enumerate(cases, start=1):
        got = {tracks[track_id] for (_, post_id), hits in found.items() if post_id == n for track_id in hits}
        assert (parse_track(query).normalized in got) == expected, (query, text, got)


def test_a_track_is_normalized_with_a_key_every_match_contains():
    parsed = parse_track('  Hello "New  York" #NYC node.js ')
    assert parsed.terms == (("hello",), ("new", "york"), ("#nyc",), ("node", "js"))
    assert parsed.key == "#nyc"  # a hashtag first: rarer than any word
    assert parse_track("the telescope of").key == "telescope"  # else the longest word
    assert parsed.normalized == 'hello "new york" #nyc "node js"'
    assert parse_track('python "python"').terms == (("python",),)


@pytest.mark.parametrize("query", ["", "   ", "!!! ---", "x" * 201, " ".join(f"w{n}" for n in range(11)), "a" * 101])
def test_tracks_that_cannot_be_matched_or_are_too_big_are_refused(query):
    with pytest.raises(TrackQueryError):
        parse_track(query)


# --- matching ingest ------------------------------------------------------------------------------------------


@pytest.fixture
def carol_source(db):
    return Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="carol")


def post(guid: str, html: str, *, minutes: int = 0, **fields) -> Entry:
    fields.setdefault("author_handle", "@carol@carol.example")
    return Entry(guid=guid, content_html=html, published=START + timedelta(minutes=minutes),
                 base_url="https://carol.example/feed", **fields)  # fmt: skip


def matched(user, **filters) -> list[str]:
    return [m.post.guid for m in matches_for(user=user, **filters).matches]


@pytest.mark.django_db
def test_a_post_from_a_source_alice_does_not_follow_reaches_her_track(alice, bob, carol_source):
    track = track_create(user=alice, query="#comet")
    track_create(user=bob, query="telescope")
    assert not Subscription.objects.filter(user=alice).exists()
    ingest(carol_source, [
        post("1", "<p>Look up tonight <a href='/tags/comet'>#<span>Comet</span></a></p>", minutes=1),
        post("2", "<p>no tag: comet</p>", minutes=2),
        post("3", "<p>new telescope and #comet</p>", minutes=3),
    ])  # fmt: skip
    assert matched(alice) == ["3", "1"] and matched(alice, track_id=track.pk) == ["3", "1"]
    assert matched(bob) == ["3"]
    assert unread_matches_count(user=alice) == 2 and [t.unread for t in tracks_for(user=alice)] == [2]


@pytest.mark.django_db
def test_a_post_two_tracks_match_is_one_match_in_both_tracks(alice, carol_source):
    rust, wasm = track_create(user=alice, query="rust"), track_create(user=alice, query="wasm")
    ingest(carol_source, [post("1", "<p>Rust and WASM</p>"), post("2", "<p>only rust</p>", minutes=1)])
    page = matches_for(user=alice)
    assert [(m.post.guid, m.track_ids) for m in page.matches] == [("2", [rust.pk]), ("1", [rust.pk, wasm.pk])]
    assert matched(alice, track_id=wasm.pk) == ["1"] and unread_matches_count(user=alice) == 2
    assert [t.unread for t in tracks_for(user=alice)] == [2, 1]  # rust, wasm
    assert mark_matches_read(user=alice, post_ids=[page.matches[1].post_id]) == 1  # one post, read in both tracks
    assert [t.unread for t in tracks_for(user=alice)] == [1, 0] and unread_matches_count(user=alice) == 1
    assert track_delete(user=alice, track_id=rust.pk)
    # the post only rust matched went with it; the post wasm matched too stays in the river, read
    assert matched(alice) == ["1"] and [m.is_read for m in matches_for(user=alice).matches] == [True]
    assert TrackMatch.objects.filter(user=alice, first=True).count() == 1


@pytest.mark.django_db
def test_matching_a_batch_takes_one_statement_whatever_the_number_of_tracks(alice, bob, carol_source):
    for person in (alice, bob):
        Track.objects.bulk_create([
            Track(user=person, query=f"word{n}", normalized=f"word{n}", terms=[[f"word{n}"]], key_token=f"word{n}")
            for n in range(MAX_TRACKS - 1)
        ])  # fmt: skip
    track_create(user=alice, query='"big apple"')
    batch = [post(str(n), f"<p>the big apple {n} word7</p>", minutes=n) for n in range(40)]
    ingest(carol_source, batch[:1])
    with CaptureQueriesContext(connection) as queries:
        ingest(carol_source, batch[1:])
    track_sql = [q["sql"] for q in queries if "tracks_" in q["sql"] or _matching_execute(q["sql"])]
    # no query for the 399 candidate tracks (the index is in memory); the matches: one statement (with the
    # search index's rows)
    assert len(track_sql) == 1, track_sql
    assert TrackMatch.objects.filter(user=alice).count() == 80  # "big apple" and word7: a row each
    assert TrackMatch.objects.filter(user=alice, first=True).count() == 40 and unread_matches_count(user=alice) == 40
    assert TrackMatch.objects.filter(user=bob).count() == 40
    assert len(find_matches(posts=[])) == 0


def _matching_execute(sql: str) -> bool:
    """A prepared batch write other than the store's insert of the new posts (``chorus_insert_posts``)."""
    return sql.startswith("EXECUTE chorus_") and not sql.startswith("EXECUTE chorus_insert_posts(")


@pytest.mark.django_db
def test_replies_known_posts_and_track_matches_of_a_batch_are_one_statement(alice, bob, carol_source):
    identity_create(user=alice, kind="fediverse", value="alice@example.social", verified=True)
    track_create(user=bob, query="#comet")
    ingest(carol_source, [post("0", "<p>warm-up @alice@example.social #comet</p>")])
    batch = [post(str(n), f"<p>@alice@example.social look #comet {n}</p>", minutes=n,
                  author_handle="@alice@example.social" if n % 2 else "@carol@carol.example") for n in range(1, 9)]
    with CaptureQueriesContext(connection) as queries:
        ingest(carol_source, batch)
    sent = [q["sql"] for q in queries if not q["sql"].startswith("PREPARE")]  # (once a session per combination)
    matching = [sql for sql in sent if _matching_execute(sql) or "replies_" in sql or "tracks_" in sql]
    assert len(matching) == 1, matching  # replies (carol's posts), known posts (alice's own) and bob's matches
    assert Reply.objects.filter(user=alice).count() == 5  # the warm-up and carol's 4 of the batch
    assert KnownPost.objects.filter(user=alice).count() == 4  # her 4 posts, by GUID (they have no link)
    assert TrackMatch.objects.filter(user=bob).count() == 9


@pytest.mark.django_db
def test_a_post_matched_again_keeps_one_match_with_every_track(alice, carol_source):
    rust, wasm = track_create(user=alice, query="rust"), track_create(user=alice, query="wasm")
    made = Post.objects.get(pk=ingest(carol_source, [post("1", "<p>Rust and WASM</p>")]).created[0])
    store_matches(matches=[(rust.pk, made), (wasm.pk, made)])  # both rows are there: nothing new
    assert [(m.post.guid, m.track_ids) for m in matches_for(user=alice).matches] == [("1", [rust.pk, wasm.pk])]
    TrackMatch.objects.filter(track=wasm).delete()
    store_matches(matches=[(rust.pk, made), (wasm.pk, made)])
    assert [(m.post.guid, m.track_ids) for m in matches_for(user=alice).matches] == [("1", [rust.pk, wasm.pk])]
    assert list(TrackMatch.objects.filter(post=made).order_by("track_id").values_list("first", flat=True)) == [
        True, False]  # fmt: skip


@pytest.mark.django_db
def test_a_track_written_by_another_process_is_seen_once_the_index_version_changes(alice, carol_source):
    ingest(carol_source, [post("0", "<p>comet</p>")])  # this process has loaded its index
    Track.objects.bulk_create([Track(user=alice, query="comet", normalized="comet", terms=[["comet"]],
                                     key_token="comet")])  # no signal here: as if written elsewhere  # fmt: skip
    cache.set(VERSION_KEY, "the other process's new version")
    ingest(carol_source, [post("1", "<p>a comet</p>", minutes=1)])
    assert matched(alice) == ["1"]


@pytest.mark.django_db
def test_tracks_of_a_deleted_person_never_break_ingest(alice, bob, carol_source):
    track_create(user=bob, query="comet")
    track_create(user=alice, query="comet")
    ingest(carol_source, [post("0", "<p>comet</p>")])
    bob_id, alices = bob.pk, track_create(user=alice, query="#comet")
    bob.delete()  # his tracks go by cascade, and the index is told
    ingest(carol_source, [post("1", "<p>comet again</p>", minutes=1)])
    # a track deleted behind the index's back (no signal): matching checks that what it matched still exists
    Track.objects.filter(pk=alices.pk)._raw_delete(Track.objects.db)
    ingest(carol_source, [post("2", "<p>#comet</p>", minutes=2)])
    assert matched(alice) == ["2", "1", "0"] and not TrackMatch.objects.filter(user_id=bob_id).exists()
    assert [m.track_ids for m in matches_for(user=alice).matches][0] == [Track.objects.get(user=alice).pk]


@pytest.mark.django_db
def test_updated_and_retracted_posts(alice, carol_source):
    track_create(user=alice, query="comet")
    ingest(carol_source, [post("1", "<p>a comet</p>")])
    ingest(carol_source, [post("1", "<p>a comet, edited</p>")])  # an edit is no new match
    assert TrackMatch.objects.count() == 1
    retract(carol_source, ["1"])
    assert matched(alice) == [] and unread_matches_count(user=alice) == 0


@pytest.mark.django_db
def test_blocks_hide_track_matches_until_undone(alice, carol_source):
    track_create(user=alice, query="comet")
    ingest(carol_source, [
        post("spam", "<p>comet coins, buy</p>", author_handle="@Spammer"),
        post("ok", "<p>the comet tonight</p>", minutes=1),
        post("crypto", "<p>comet CRYPTO</p>", minutes=2),
    ])  # fmt: skip
    assert matched(alice) == ["crypto", "ok", "spam"] and unread_matches_count(user=alice) == 3  # kept from here
    [author] = block_create(user=alice, kind="author", value="@spammer")
    [word] = block_create(user=alice, kind="word", value="Crypto")
    assert matched(alice) == ["ok"] and unread_matches_count(user=alice) == 1
    assert [t.unread for t in tracks_for(user=alice)] == [1]
    ingest(carol_source, [post("spam2", "<p>more comet</p>", minutes=3, author_handle="@SPAMMER")])
    assert matched(alice) == ["ok"]
    [source] = block_create(user=alice, kind="source", value=str(carol_source.pk))
    assert matched(alice) == []
    assert unread_matches_count(user=alice) == 0
    for block in (author, word, source):
        block_delete(user=alice, block_id=block.pk)
    assert matched(alice) == ["spam2", "crypto", "ok", "spam"] and unread_matches_count(user=alice) == 4


@pytest.mark.django_db
def test_a_person_has_at_most_so_many_tracks_each_once(alice):
    Track.objects.bulk_create([
        Track(user=alice, query=f"w{n}", normalized=f"w{n}", terms=[[f"w{n}"]], key_token=f"w{n}")
        for n in range(MAX_TRACKS - 1)
    ])  # fmt: skip
    with pytest.raises(TrackError, match="already track"):
        track_create(user=alice, query="W7")
    track_create(user=alice, query="Python")
    with pytest.raises(TrackError, match="at most 200 tracks"):
        track_create(user=alice, query="django")


# --- API and pages ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_tracks_api_creates_lists_pages_marks_read_and_deletes(api, alice, bob, carol_source):
    made = api("post", "/tracks", {"query": "#Comet"})
    assert made.status_code == 201 and made.json()["normalized"] == "#comet"
    bobs = track_create(user=bob, query="comet")
    ingest(carol_source, [post(str(n), f"<p>#comet {n}</p>", minutes=n) for n in range(3)])
    first = api("get", "/tracks/matches", limit=2).json()
    assert [item["text"] for item in first["items"]] == ["#comet 2", "#comet 1"] and first["unread"] == 3
    assert first["items"][0]["tracks"] == [made.json()["id"]] and first["items"][0]["read"] is False
    assert {"id", "url", "source", "author", "content_html", "published", "in_reply_to"} <= first["items"][0].keys()
    rest = api("get", "/tracks/matches", limit=2, before=first["next"]).json()
    assert [item["text"] for item in rest["items"]] == ["#comet 0"] and rest["next"] is None
    assert api("post", "/tracks/read", {"post_ids": [first["items"][0]["id"]]}).json() == {"updated": 1}
    assert api("get", "/tracks").json()[0]["unread"] == 2
    assert api("get", "/tracks/matches", track=made.json()["id"], unread="true").json()["unread"] == 2
    assert api("get", "/tracks/matches", track=bobs.pk).status_code == 404  # bob's track is not hers
    assert api("delete", f"/tracks/{bobs.pk}").status_code == 404
    assert api("delete", f"/tracks/{made.json()['id']}").status_code == 204
    assert api("get", "/tracks").json() == [] and api("get", "/tracks/matches").json()["items"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "detail"), [
    ({"query": ""}, "query"),
    ({"query": "x" * 201}, "query"),
    ({"query": "!!!"}, "nothing to track"),
    ({"query": 5}, "query"),
    ({}, "query"),
])  # fmt: skip
def test_the_tracks_api_refuses_bad_input_with_a_clear_message(api, body, detail):
    answer = api("post", "/tracks", body)
    assert answer.status_code == 400 and detail in answer.json()["detail"]


@pytest.mark.django_db
def test_the_tracks_api_refuses_bad_cursors_and_limits(api):
    assert api("get", "/tracks/matches", before="nonsense!").status_code == 400
    assert api("get", "/tracks/matches", limit=-1).status_code == 400
    assert api("get", "/tracks/matches", limit=10**6).status_code == 400


@pytest.mark.django_db
def test_the_tracks_pages_show_matches_counts_and_take_new_tracks(client, alice, bob, carol_source):
    client.force_login(alice)
    answer = client.post("/tracks/", {"query": '"big apple"'})
    track = Track.objects.get(user=alice)
    assert answer.status_code == 302 and answer["Location"] == f"/tracks/{track.pk}/"
    ingest(carol_source, [post("1", "<p>The <b>Big Apple</b> at night</p>")])
    page = client.get(f"/tracks/{track.pk}/").content.decode()
    assert "at night" in page and "data-tracks-live" in page and 'data-count-track="' in page
    assert 'data-count-tracks>1<' in client.get("/").content.decode()  # the navigation's unread count
    assert "at most 200 characters" in client.post("/tracks/", {"query": "x" * 300}, follow=True).content.decode()
    client.post("/tracks/read/", {"all": "1", "track": str(track.pk)})
    assert unread_matches_count(user=alice) == 0
    client.force_login(bob)
    assert client.get(f"/tracks/{track.pk}/").status_code == 404


def test_a_track_offers_no_block_menu_on_the_readers_own_posts(client, alice, carol_source):
    client.force_login(alice)
    track = track_create(user=alice, query="lighthouse")
    ingest(carol_source, [post("1", "<p>A lighthouse at dawn</p>")])
    own = post_create(user=alice, text="My lighthouse photos")
    articles = dict(re.findall(r'<article [^>]*data-post-id="(\d+)"(.*?)</article>', client.get(f"/tracks/{track.pk}/")
                               .content.decode(), re.S))  # fmt: skip
    carols = Post.objects.get(source=carol_source).pk
    assert set(articles) == {str(carols), str(own.pk)}
    assert 'class="spam"' in articles[str(carols)] and 'class="spam"' not in articles[str(own.pk)]


# --- live: track.match over /ws/stream/ after the commit ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_track_match_arrives_live_after_the_commit_and_not_for_blocked_posts(alice, bob, carol_source):
    track = track_create(user=alice, query="#comet")
    block_create(user=alice, kind="author", value="@spammer")
    track_create(user=bob, query="comet")
    dave = Source.objects.create(address="https://dave.example/feed", url="https://dave.example/feed", title="dave")
    Subscription.objects.create(user=alice, source=dave)  # the sentinel's feed (alice does not follow carol)

    @database_sync_to_async
    def store_and_check_nothing_before_commit(communicator):
        with transaction.atomic():
            ingest(carol_source, [post("spam", "<p>#comet coins</p>", author_handle="@Spammer"),
                                         post("ok", "<p>tonight #Comet</p>", minutes=1)])  # fmt: skip
            assert async_to_sync(communicator.receive_nothing)(timeout=0.3)  # inside the transaction: nothing

    async def scenario():
        alices, bobs = await connect(alice), await connect(bob)
        await store_and_check_nothing_before_commit(alices)
        event = await alices.receive_json_from(timeout=5)
        assert event["type"] == "track.match" and event["cursor"]
        assert event["tracks"] == [{"id": track.pk, "query": "#comet"}] and event["post"]["text"] == "tonight #Comet"
        assert {"id", "url", "source", "author", "content_html", "text", "published", "in_reply_to"} <= event["post"].keys()
        assert await before_sentinel(alices, dave) == []  # not the blocked spam, and no post.new: not her feed
        texts = [(await bobs.receive_json_from(timeout=5))["post"]["text"] for _ in range(2)]
        assert texts == ["#comet coins", "tonight #Comet"]  # bob blocked nobody; oldest first
        await alices.disconnect()
        await bobs.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_the_navigations_counts_follow_every_write_at_once(client, alice, carol_source):
    """Starred and unread-match counts are kept between the writes that change them; each write counts again."""

    def nav() -> tuple[str, str]:
        page = client.get("/").content.decode()
        return (re.search(r"data-count-starred>([^<]*)<", page).group(1),
                re.search(r"data-count-tracks>([^<]*)<", page).group(1))  # fmt: skip

    client.force_login(alice)
    Subscription.objects.create(user=alice, source=carol_source)
    track = track_create(user=alice, query="comet")
    assert nav() == ("", "")
    ingest(carol_source, [post("1", "<p>A comet tonight</p>")])
    first = Post.objects.get(guid="1")
    assert nav() == ("", "1")
    star(user=alice, post_id=first.pk)
    assert nav() == ("1", "1")
    mark_matches_read(user=alice, post_ids=[first.pk])
    assert nav() == ("1", "")
    mark_matches_read(user=alice, post_ids=[first.pk], read=False)
    ingest(carol_source, [post("2", "<p>Another comet</p>", minutes=1)])
    assert nav() == ("1", "2")
    unstar(user=alice, post_id=first.pk)
    track_delete(user=alice, track_id=track.pk)
    assert nav() == ("", "")
