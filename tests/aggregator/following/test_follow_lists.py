"""Importing follow lists from other services (Mastodon's following CSV, an X archive's following.js, OPML):
the background import, its live progress, its summary, its lease when a worker dies."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.tokens import issue_token
from aggregator import tasks
from aggregator.asgi import application
from aggregator.content.entry import Entry
from aggregator.following import follow_lists, subscriptions
from aggregator.following.follow_lists import (
    FollowListError,
    read_follow_list,
    read_mastodon_following,
    read_x_following,
)
from aggregator.following.imports import (
    MAX_RESTARTS,
    recover_stale_imports,
    requeue_lost_imports,
    run_import,
    start_import,
)
from aggregator.following.opml import read_opml
from aggregator.following.subscriptions import follow_opml_feeds
from aggregator.ingest.pipeline import ingest
from aggregator.models import FollowImport, Source, Subscription
from aggregator.networks.x import budget, client
from timelines.models import TimelineEntry

from tests.servers.fediverse_server import mastodon
from tests.servers.processes import ROOT
from tests.servers.xapi import TOKEN, XApi, XPost

pytestmark = pytest.mark.django_db

NETWORKS = ROOT / "aggregator" / "networks"
MASTODON_CSV = (NETWORKS / "fediverse" / "testdata" / "following_accounts.csv").read_bytes()
X_FOLLOWING = (NETWORKS / "x" / "testdata" / "following.js").read_bytes()


@pytest.fixture(autouse=True)
def _fresh_budget():
    for endpoint in (client.USERS, client.USERS_BY_ID, client.TWEETS):
        budget.forget(endpoint)


def test_a_mastodon_export_gives_each_account_once_and_says_which_rows_are_not_accounts():
    found = read_mastodon_following(MASTODON_CSV)
    assert found.kind == "mastodon"
    assert found.accounts == ["@bob@other.example", "@carol@mastodon.example"]
    assert found.rejected == [("not an address", "not a user@server address")]


def test_an_old_mastodon_export_without_a_header_is_read_too():
    assert read_follow_list(b"bob@other.example\ncarol@mastodon.example\n").accounts == [
        "@bob@other.example", "@carol@mastodon.example",
    ]  # fmt: skip


def test_an_x_archive_gives_account_ids_once():
    found = read_follow_list(X_FOLLOWING)
    assert found.kind == "x" and found.accounts == ["1460000000000000001", "783214"]
    assert len(found.rejected) == 1 and found.rejected[0][1] == "no X account id"


@pytest.mark.parametrize(("body", "expected"), [
    (b"window.YTD.following.part0 = [{", "not JSON"),
    (b'window.YTD.following.part0 = {"a": 1}', "expected a list"),
    (b"name,url\nCarol,https://carol.example/feed\n", "no user@server addresses"),
    (b"<html><body>a page</body></html>", "not a valid OPML file"),
    (b"<!DOCTYPE opml [<!ENTITY a 'aaaa'>]><opml/>", "declares XML entities"),  # entity declarations
    (b"<?xml version='1.0'?><opml version='2.0'><body/></opml>", "lists nothing to follow"),
])  # fmt: skip
def test_files_that_are_not_follow_lists_are_refused(body, expected, alice):
    with pytest.raises(FollowListError, match=expected):
        start_import(user=alice, body=body)
    assert not FollowImport.objects.exists()


def test_an_oversized_list_is_refused_whole_with_a_clear_message():
    body = "\n".join(f"user{n}@host.example" for n in range(follow_lists.MAX_ACCOUNTS + 1)).encode()
    with pytest.raises(FollowListError, match="more than 5,000 accounts; nothing was imported"):
        read_mastodon_following(body)
    items = [{"following": {"accountId": str(n)}} for n in range(follow_lists.MAX_ACCOUNTS + 1)]
    with pytest.raises(FollowListError, match="more than 5,000"):
        read_x_following(b"window.YTD.following.part0 = " + json.dumps(items).encode())


def imported(user, body: bytes, committed) -> FollowImport:
    """Start an import and let it run, as the worker would after the request's commit."""
    with committed():
        job = start_import(user=user, body=body)
    job.refresh_from_db()
    return job


def test_importing_a_mastodon_list_follows_each_account_and_reports_the_rest(httpserver, settings, alice, committed):
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver)
    body = f"Account address,Show boosts\nalice@{host},true\nnobody@{host},true\nnot an address,true\n".encode()
    first = imported(alice, body, committed)
    assert first.status == FollowImport.Status.DONE and first.done == first.total == 3 and first.body == b""
    assert first.followed == [f"@alice@{host}"] and first.already_followed == []
    assert [address for address, _ in first.failed] == ["not an address", f"@nobody@{host}"]
    assert "knows no account" in first.failed[1][1]
    again = imported(alice, body, committed)
    assert again.followed == [] and again.already_followed == [f"@alice@{host}"]
    assert Subscription.objects.filter(user=alice).count() == 1


def test_importing_an_x_archive_follows_the_accounts_the_api_knows(httpserver, settings, alice, committed):
    xapi = XApi(httpserver)
    settings.X_BEARER_TOKEN, settings.X_API_BASE = TOKEN, xapi.base
    xapi.add("carol_c", id="1460000000000000001").posts.append(XPost(101, "hello"))
    job = imported(alice, X_FOLLOWING, committed)
    assert job.followed == ["@carol_c"]
    assert ["X account 783214", "Not Found Error"] in job.failed
    source = Source.objects.get()
    assert source.address == "x:carol_c" and source.posts.count() == 1  # polled after the commit
    lookup = next(r for r in xapi.requests if r.path == "/2/users")
    assert lookup.args["ids"] == "1460000000000000001,783214"


def test_importing_an_x_archive_without_a_token_says_why_for_each_account(settings, alice, committed):
    settings.X_BEARER_TOKEN = ""
    job = imported(alice, X_FOLLOWING, committed)
    assert job.followed == [] and len(job.failed) == 3 and job.status == FollowImport.Status.DONE
    assert "X_BEARER_TOKEN" in job.failed[-1][1] and not Source.objects.exists()


def test_a_bad_file_is_refused_before_anything_is_stored(alice):
    with pytest.raises(FollowListError):
        start_import(user=alice, body=b"window.YTD.following.part0 = nope")
    assert not FollowImport.objects.exists()


def test_the_api_imports_a_follow_list_and_refuses_other_files(client, alice, bob, httpserver, settings,
                                                               django_capture_on_commit_callbacks):  # fmt: skip
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}
    upload = SimpleUploadedFile("following_accounts.csv", f"alice@{host}\nnobody@{host}\n".encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/follow-lists", {"file": upload}, **auth)
    assert response.status_code == 202 and response.json()["status"] == "queued" and response.json()["total"] == 2
    job_id = response.json()["id"]
    shown = client.get(f"/api/v1/follow-lists/{job_id}", **auth).json()
    assert shown["status"] == "done" and shown["followed"] == 1 and shown["failed"] == 1
    assert shown["failures"][0]["address"] == f"@nobody@{host}"
    bobs = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=bob, name='tests')}"}
    assert client.get(f"/api/v1/follow-lists/{job_id}", **bobs).status_code == 404  # not bob's to see
    bad = SimpleUploadedFile("following.js", b"window.YTD.following.part0 = nope", content_type="text/javascript")
    response = client.post("/api/v1/follow-lists", {"file": bad}, **auth)
    assert response.status_code == 400 and "not JSON" in response.json()["detail"]
    assert subscriptions.export_opml(user=alice).count(b"<outline") == 1


@pytest.mark.django_db(transaction=True)  # real commits: the import runs after one, the socket reads from another thread
def test_the_persons_open_pages_hear_the_import_progress_live(httpserver, settings, alice):
    settings.CHORUS_WEBFINGER_SCHEME = "http"
    host = mastodon(httpserver)
    body = "\n".join([f"alice@{host}", f"nobody@{host}", f"ghost@{host}"]).encode()
    headers = [(b"authorization", f"Bearer {issue_token(user=alice)}".encode())]

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/stream/", headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        await database_sync_to_async(start_import)(user=alice, body=body)
        seen = []
        while not seen or seen[-1]["status"] != "done":
            event = await communicator.receive_json_from(timeout=10)
            if event["type"] == "import.progress":
                seen.append(event["import"])
        await communicator.disconnect()
        return seen

    seen = async_to_sync(scenario)()
    assert [e["done"] for e in seen] == [0, 1, 2, 3, 3] and seen[0]["status"] == "running"
    assert seen[-1]["followed"] == 1 and seen[-1]["failed"] == 2 and len(seen[-1]["failures"]) == 2


def test_the_import_page_is_the_importers_only_and_a_bad_file_imports_nothing(client, alice, bob):
    client.force_login(alice)
    bad = SimpleUploadedFile("following.js", b"window.YTD.following.part0 = nope", content_type="text/javascript")
    response = client.post("/subscriptions/import-list/", {"file": bad}, follow=True)
    assert "Nothing was imported: following.js is not valid" in response.content.decode()
    job = start_import(user=alice, body=b"bob@other.example\n")  # queued: the test transaction never commits
    page = client.get(f"/subscriptions/imports/{job.pk}/").content.decode()
    assert 'max="1" value="0"' in page and "imports.js" in page
    client.force_login(bob)
    assert client.get(f"/subscriptions/imports/{job.pk}/").status_code == 404  # never another person's data


def opml_of(count: int, *, first: int = 0, extra: str = "") -> bytes:
    outlines = "".join(f'<outline type="rss" text="Feed {n}" xmlUrl="https://feed{n}.example/rss"/>'
                       for n in range(first, first + count))  # fmt: skip
    return (f'<?xml version="1.0"?><opml version="2.0"><head><title>export</title></head><body>'
            f'<outline text="news">{outlines}</outline>{extra}</body></opml>').encode()  # fmt: skip


def test_a_5000_feed_opml_file_is_imported_in_the_background_with_a_correct_summary(alice, committed):
    imported(alice, opml_of(1_000), committed)  # alice follows 1,000 of them already
    hostile = "".join(f'<outline text="bad {n}" xmlUrl="javascript:alert({n})"/>' for n in range(5))
    hostile += "".join(f'<outline text="local {n}" xmlUrl="file:///etc/passwd{n}"/>' for n in range(5))
    started = time.monotonic()
    job = imported(alice, opml_of(4_990, extra=hostile), committed)
    print(f"5,000-feed OPML import: {time.monotonic() - started:.1f} s")
    assert job.kind == "opml" and job.status == FollowImport.Status.DONE and job.done == job.total == 5_000
    assert len(job.followed) == 3_990 and len(job.already_followed) == 1_000 and len(job.failed) == 10
    assert job.failed[0] == ["javascript:alert(0)", "refused: only http and https URLs are fetched, not javascript URLs"]
    assert job.failed[-1] == ["file:///etc/passwd4", "refused: only http and https URLs are fetched, not file URLs"]
    assert Subscription.objects.filter(user=alice, tags__name="news").count() == 4_990
    assert Source.objects.filter(next_poll_at__isnull=False).count() == 4_990  # the scheduler fetches them


def test_an_import_runs_in_slices_and_each_resumes_where_the_last_stopped(alice):
    job = start_import(user=alice, body=opml_of(20))  # queued: the test transaction never commits
    first = run_import(import_id=job.pk, slice_seconds=0)  # at least one batch (here one feed), then queued again
    assert first.status == FollowImport.Status.QUEUED and first.done == 1 and first.followed == ["https://feed0.example/rss"]
    assert FollowImport.objects.get().lease_until is None
    rest = run_import(import_id=job.pk)  # what the re-queued task does
    assert rest.status == FollowImport.Status.DONE and rest.done == 20 and rest.restarts == 0
    assert rest.followed == [f"https://feed{n}.example/rss" for n in range(20)] and rest.already_followed == []


def die_mid_import(job: FollowImport, *, minutes_ago: int = 6) -> None:
    """What a worker killed mid-slice leaves behind: the import running, its lease no longer renewed."""
    FollowImport.objects.filter(pk=job.pk).update(status=FollowImport.Status.RUNNING,
                                                  lease_until=timezone.now() - timedelta(minutes=minutes_ago))  # fmt: skip


def test_an_import_whose_worker_was_killed_is_resumed_and_finishes(alice, committed):
    job = start_import(user=alice, body=opml_of(300))
    run_import(import_id=job.pk, slice_seconds=0)  # a first slice followed 3 feeds and saved that
    die_mid_import(job)  # the next slice's worker claimed it, followed 3 more, and was killed before saving
    with transaction.atomic():
        follow_opml_feeds(user=alice, feeds=read_opml(opml_of(3, first=3)).feeds)
    with committed():
        assert recover_stale_imports() == [job.pk]  # queued again; after the commit a worker resumes it
    job.refresh_from_db()
    assert job.status == FollowImport.Status.DONE and job.done == job.total == 300 and job.restarts == 1
    assert job.already_followed == [f"https://feed{n}.example/rss" for n in (3, 4, 5)]  # the dead worker's
    assert len(job.followed) == 297 and len(set(job.followed + job.already_followed)) == 300 and job.failed == []
    assert Subscription.objects.filter(user=alice).count() == 300


def test_an_import_whose_message_was_lost_is_sent_again_by_the_sweep_and_runs_once(alice, settings, committed):
    settings.CHORUS_QUEUED_JOB_GRACE_SECONDS = 120
    job = start_import(user=alice, body=opml_of(3))  # never committed here: its message was never sent, as lost
    assert FollowImport.objects.get().status == FollowImport.Status.QUEUED
    assert requeue_lost_imports() == []  # within the grace period a worker may still be on its way
    later = timezone.now() + timedelta(seconds=121)
    with committed():
        assert requeue_lost_imports(now=later) == [job.pk]
        assert requeue_lost_imports(now=later) == []  # a second sweeper at the same time sends nothing more
    job.refresh_from_db()
    assert job.status == FollowImport.Status.DONE and len(job.followed) == 3
    assert run_import(import_id=job.pk) is None  # the original message, arriving late, finds nothing to do


def test_the_celery_sweep_task_sends_a_lost_import_again(alice, settings, committed):
    settings.CHORUS_QUEUED_JOB_GRACE_SECONDS = 0
    job = start_import(user=alice, body=opml_of(2))
    FollowImport.objects.filter(pk=job.pk).update(queued_at=timezone.now() - timedelta(seconds=1))
    with committed():
        assert tasks.recover_stale_imports() == 1
    assert FollowImport.objects.get().status == FollowImport.Status.DONE


def test_an_import_with_a_live_lease_is_left_to_its_worker(alice):
    job = start_import(user=alice, body=opml_of(3))
    FollowImport.objects.filter(pk=job.pk).update(status=FollowImport.Status.RUNNING,
                                                  lease_until=timezone.now() + timedelta(minutes=1))  # fmt: skip
    assert recover_stale_imports() == []
    assert FollowImport.objects.get().status == FollowImport.Status.RUNNING


def test_an_import_whose_workers_keep_dying_fails_and_says_why(alice):
    job = start_import(user=alice, body=opml_of(3))
    FollowImport.objects.filter(pk=job.pk).update(restarts=MAX_RESTARTS, done=1)
    die_mid_import(job, minutes_ago=10)
    assert recover_stale_imports() == []
    job.refresh_from_db()
    assert job.status == FollowImport.Status.FAILED and job.body == b"" and job.finished_at is not None
    assert job.error.startswith(f"the worker running it stopped {MAX_RESTARTS + 1} times (last heard from at ")
    assert "1 of 3 entries were handled" in job.error and "import the file again" in job.error


def test_an_opml_import_reuses_known_and_moved_sources_and_backfills_their_posts(alice, committed):
    known = Source.objects.create(address="https://carol.example/feed", url="https://carol.example/feed", title="Carol")
    moved = Source.objects.create(address="https://dave.example/old", url="https://dave.example/new", title="Dave")
    for source in (known, moved):
        ingest(source, [Entry(guid="1", title="hello", published=datetime(2026, 11, 20, tzinfo=UTC))])
    body = (b'<opml version="2.0"><body><outline xmlUrl="HTTPS://CAROL.example/feed"/>'
            b'<outline xmlUrl="https://dave.example/new"/><outline xmlUrl="https://erin.example/feed"/></body></opml>')
    job = imported(alice, body, committed)
    assert len(job.followed) == 3 and Source.objects.count() == 3
    assert set(Subscription.objects.filter(user=alice).values_list("source_id", flat=True)) >= {known.pk, moved.pk}
    assert TimelineEntry.objects.filter(user=alice).count() == 2  # the posts the two known sources had
