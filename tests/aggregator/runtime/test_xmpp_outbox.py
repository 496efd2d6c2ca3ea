"""The listener's outbox: a quiet source's item leaves at once, a busy source's items leave together when its
task has committed; and the worker's notice on real Redis (aggregator/runtime/xmpp_outbox.py)."""

import asyncio

import pytest

from aggregator.runtime import xmpp_outbox as outbox_module
from aggregator.runtime.xmpp_outbox import HISTORY_PAGE, Outbox, answering
from aggregator.tasks import store_xmpp_items

from tests.servers.processes import require_production_services
from tests.servers.xmpp_clients import atom_entry

ALICE = 7


def _item(item_id: str, version: str = "") -> list[str]:
    return [item_id, f"<entry>{item_id}{version}</entry>", "alice@example.org"]


class Sent:
    """What the outbox handed to the worker, as (source id, item ids, notify channel)."""

    def __init__(self):
        self.calls: list[tuple[int, list[str], str]] = []
        self.items: list[list[list[str]]] = []

    async def __call__(self, source_id: int, items: list[list[str]], notify: str) -> None:
        self.calls.append((source_id, [item[0] for item in items], notify))
        self.items.append(items)


def _as_a_worker(*args) -> None:
    """Run the store task's body in this thread, as a worker would, leaving no connection behind."""
    from django.db import connections

    try:
        store_xmpp_items(*args)
    finally:
        connections.close_all()


async def _subscribed(redis_url: str, channel: str) -> None:
    """Until Redis counts a subscriber of ``channel`` (the outbox's listener)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        while not dict(await client.pubsub_numsub(channel)).get(channel.encode()):
            await asyncio.sleep(0.01)
    finally:
        await client.aclose()


def _run(scenario):
    return asyncio.run(asyncio.wait_for(scenario(), 10))


def test_a_quiet_sources_item_leaves_at_once_with_the_listeners_channel():
    async def scenario():
        sent = Sent()
        outbox = Outbox(sent, redis_url="redis://127.0.0.1:6379/0")
        outbox.add(ALICE, [_item("a1")])
        await asyncio.sleep(0)
        return sent.calls, outbox.channel

    calls, channel = _run(scenario)
    assert calls == [(ALICE, ["a1"], channel)] and channel.startswith(outbox_module.CHANNEL_PREFIX)


def test_items_pushed_while_a_task_is_in_flight_leave_together_when_it_has_committed():
    async def scenario():
        sent = Sent()
        outbox = Outbox(sent, redis_url="redis://127.0.0.1:6379/0")
        outbox.add(ALICE, [_item("a1")])
        outbox.add(ALICE, [_item("a2")])
        outbox.add(ALICE, [_item("a3", "v1")])
        outbox.add(ALICE, [_item("a3", "v2")])  # an edit before the batch left: one item, the last version
        outbox.add(ALICE + 1, [_item("b1")])  # the sentinel: a quiet source's item leaves at once
        while not any(source == ALICE + 1 for source, _, _ in sent.calls):
            await asyncio.sleep(0)
        before = list(sent.calls)  # what was to leave before the sentinel has left
        outbox.stored(ALICE)
        await asyncio.sleep(0)
        return before, sent

    before, sent = _run(scenario)
    assert [(source, ids) for source, ids, _ in before] == [(ALICE, ["a1"]), (ALICE + 1, ["b1"])]
    assert [ids for source, ids, _ in sent.calls if source == ALICE] == [["a1"], ["a2", "a3"]]
    assert sent.items[-1][1][1] == "<entry>a3v2</entry>"


def test_sources_do_not_wait_for_each_other():
    async def scenario():
        sent = Sent()
        outbox = Outbox(sent, redis_url="redis://127.0.0.1:6379/0")
        outbox.add(ALICE, [_item("a1")])
        outbox.add(ALICE + 1, [_item("b1")])
        await asyncio.sleep(0)
        return sent.calls

    assert [(source, ids) for source, ids, _ in _run(scenario)] == [(ALICE, ["a1"]), (ALICE + 1, ["b1"])]


def test_a_full_buffer_leaves_without_waiting():
    async def scenario():
        sent = Sent()
        outbox = Outbox(sent, redis_url="redis://127.0.0.1:6379/0")
        outbox.add(ALICE, [_item("first")])
        outbox.add(ALICE, [_item(f"a{n}") for n in range(HISTORY_PAGE)])
        await asyncio.sleep(0)
        return sent.calls

    assert [len(ids) for _, ids, _ in _run(scenario)] == [1, HISTORY_PAGE]


def test_a_notice_that_never_comes_holds_a_source_back_only_until_the_timeout(monkeypatch):
    monkeypatch.setattr(outbox_module, "STORED_TIMEOUT", 0.1)

    async def scenario():
        sent = Sent()
        outbox = Outbox(sent, redis_url="redis://127.0.0.1:6379/0")
        outbox.add(ALICE, [_item("a1")])
        outbox.add(ALICE, [_item("a2")])
        await asyncio.sleep(0.03)
        waiting = len(sent.calls)
        await asyncio.sleep(0.2)
        return waiting, sent.calls

    waiting, calls = _run(scenario)
    assert waiting == 1 and [ids for _, ids, _ in calls] == [["a1"], ["a2"]]


def test_without_notices_a_task_is_done_when_the_hand_off_returns():
    async def scenario():
        sent = Sent()
        outbox = Outbox(sent, redis_url="")  # tasks run eagerly: the hand-off returns after the commit
        outbox.add(ALICE, [_item("a1")])
        outbox.add(ALICE, [_item("a2")])
        await asyncio.sleep(0.01)
        return sent.calls, outbox.in_flight

    calls, in_flight = _run(scenario)
    assert [(ids, notify) for _, ids, notify in calls] == [(["a1"], ""), (["a2"], "")] and not in_flight


@pytest.mark.django_db(transaction=True)
def test_the_worker_tells_the_listener_when_the_items_are_committed(bob):
    """The real notice path: a store task with the outbox's channel -> Redis pub/sub -> ``Outbox.stored``."""
    from xml.etree import ElementTree

    from django.conf import settings

    from aggregator.following.subscriptions import subscribe
    from aggregator.models import Post

    require_production_services()
    source = subscribe(user=bob, address="xmpp:alice@example.org").source
    payload = ElementTree.tostring(atom_entry(title="hi", body="<p>hello</p>", entry_id="n1"), encoding="unicode")

    async def scenario():
        sent = Sent()
        outbox = Outbox(sent, redis_url=settings.REDIS_URL)
        listening = asyncio.get_running_loop().create_task(outbox.listen())
        await _subscribed(settings.REDIS_URL, outbox.channel)
        outbox.add(source.pk, [["n1", payload, "alice@example.org"]])
        outbox.add(source.pk, [_item("n2")])  # waits for n1's task
        await asyncio.sleep(0)
        _, items_sent, channel = sent.calls[0]
        await asyncio.to_thread(_as_a_worker, source.pk, [["n1", payload, "alice@example.org"]], True, channel)
        for _ in range(100):
            if len(sent.calls) == 2:
                break
            await asyncio.sleep(0.02)
        listening.cancel()
        return sent.calls

    calls = _run(scenario)
    assert [ids for _, ids, _ in calls] == [["n1"], ["n2"]]
    assert Post.objects.filter(source=source, guid="n1").exists()


def test_a_task_that_stores_nothing_still_answers():
    """An error before the commit (or nothing to commit) must not hold the source back until the timeout."""
    import redis
    from django.conf import settings

    require_production_services()
    channel = f"{outbox_module.CHANNEL_PREFIX}test-{id(object())}"
    with redis.Redis.from_url(settings.REDIS_URL).pubsub() as pubsub:
        pubsub.subscribe(channel)
        pubsub.get_message(timeout=1)  # the subscription's confirmation
        with pytest.raises(RuntimeError), answering(channel, source_id=ALICE):
            raise RuntimeError("the database is down")
        with answering("", source_id=ALICE) as on_commit:  # a history page: nobody is listening
            assert on_commit is None
        message = pubsub.get_message(timeout=2)
        assert message and message["data"] == str(ALICE).encode()
        assert pubsub.get_message(timeout=0.1) is None
