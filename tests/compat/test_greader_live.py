"""A post read in an app is read on every open page of the person, live: the same unread.counts event."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from aggregator.content.entry import Entry
from timelines.models import TimelineEntry

from tests.compat.greader_app import READ, GReaderApp
from tests.timelines.test_stream import bearer, connect, followed, store

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer reads the database from other threads


def test_reading_in_an_app_updates_the_open_pages_counts(alice):
    carol, headers = followed(alice), bearer(alice)
    app = GReaderApp()

    @database_sync_to_async
    def read_in_the_app():
        app.login("alice", "correct horse battery")
        post_id = TimelineEntry.objects.get(user=alice, post__title="carol one").post_id
        return app.post("edit-tag", [("i", f"tag:google.com,2005:reader/item/{post_id:016x}"), ("a", READ)])

    async def scenario():
        page, connected = await connect(headers)
        assert connected
        await store(carol, [Entry(guid="c1", title="carol one"), Entry(guid="c2", title="carol two")])
        assert [(await page.receive_json_from(timeout=5))["type"] for _ in range(2)] == ["post.new"] * 2
        assert (await read_in_the_app()).status_code == 200
        counts = await page.receive_json_from(timeout=5)
        assert counts == {"type": "unread.counts", "total": 1, "sources": {str(carol.pk): 1}, "tags": {}}
        await page.disconnect()

    async_to_sync(scenario)()
