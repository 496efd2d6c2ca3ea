"""The project's channel layers: Channels' own, plus ``group_send_many(messages)``, a batch of
``(group, message)`` pairs sent at once. ``aggregator.events.publisher`` sends everything through it.

- ``PipelinedRedisPubSubChannelLayer`` (production): each distinct message of a batch is serialized once and
  the batch's PUBLISHes leave in one pipelined round trip per shard, instead of one awaited round trip each
  behind the shard's lock, which made a large fan-out wait on Redis once per follower. A message going to
  several groups in a row (a post to its followers) is one ``EVAL`` that publishes it to each, not one command
  per group: redis-py packs and parses, and Redis reads, one command instead of hundreds.
- ``InMemoryChannelLayer`` (embedded ``serve``): the consumers' queues belong to the event loop the web
  server runs on, so a batch sent from any other thread or loop is handed to that loop.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import urlsplit

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection

log = logging.getLogger(__name__)

Batch = Sequence[tuple[str, dict]]
PIPELINE_CHUNK = 2000  # PUBLISHes per round trip: bounds the buffer of a very large batch
# ARGV: the message, then the channels to publish it on, in order (channels are not keys: no KEYS)
PUBLISH_TO_EACH = "for i = 2, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[1]) end return #ARGV - 1"

# The pipelined send reaches into channels_redis' pub/sub layer: its per-loop layer (``_get_layer``), channel
# names and shards (``_get_group_channel_name``, ``_get_shard``) and a shard's lock and client (``_lock``,
# ``_ensure_redis``, ``_redis``), as ``RedisSingleShardConnection.publish`` uses them. Checked with channels_redis
# 4.3.0 (pinned below 5 in pyproject.toml; tests/test_stream.py and tests/test_live_production.py send through
# it). Should a release drop any of them, ``group_send_many`` falls back to the public ``group_send``, one awaited
# PUBLISH each: slower for a big fan-out, never wrong.
PIPELINE_INTERNALS = (
    hasattr(RedisPubSubChannelLayer, "_get_layer")
    and all(hasattr(RedisPubSubLoopLayer, name) for name in ("_get_shard", "_get_group_channel_name"))
    and hasattr(RedisSingleShardConnection, "_ensure_redis")
)
if not PIPELINE_INTERNALS:
    log.warning("channels_redis has changed: live events are sent one PUBLISH at a time (see aggregator.events.layers)")


def default_prefix(hosts) -> str:
    """``chorus<db>``: Redis pub/sub channel names are global to the server whatever the database number, so
    two hubs (or test runs) on different databases of one Redis server must not share channel names."""
    first = hosts[0] if hosts else ""
    database = urlsplit(first).path.strip("/") if isinstance(first, str) else ""
    return f"chorus{database or 0}"


class PipelinedRedisPubSubChannelLayer(RedisPubSubChannelLayer):
    """channels_redis' pub/sub layer with ``group_send_many``; its ``prefix`` defaults to ``default_prefix``."""

    def __init__(self, *args, hosts=None, prefix: str | None = None, pipelined: bool = PIPELINE_INTERNALS,
                 **kwargs) -> None:  # fmt: skip
        super().__init__(*args, hosts=hosts, prefix=prefix or default_prefix(hosts), **kwargs)
        self.pipelined = pipelined and PIPELINE_INTERNALS

    async def group_send_many(self, messages: Batch) -> None:
        """PUBLISH every pair: what ``group_send`` does for each, serialized once per distinct message."""
        if not self.pipelined:
            for group, message in messages:
                await self.group_send(group, message)
            return
        layer = self._get_layer()  # this event loop's connections (channels_redis keeps one set per loop)
        payloads: dict[int, bytes] = {}
        by_shard = defaultdict(list)
        for group, message in messages:
            payload = payloads.get(id(message))
            if payload is None:
                payload = payloads[id(message)] = self.serialize(message)
            channel = layer._get_group_channel_name(group)
            by_shard[layer._get_shard(channel)].append((channel, payload))
        for shard, publishes in by_shard.items():
            for start in range(0, len(publishes), PIPELINE_CHUNK):
                async with shard._lock:  # as RedisSingleShardConnection.publish does
                    shard._ensure_redis()
                    async with shard._redis.pipeline(transaction=False) as pipe:
                        for payload, channels in _runs(publishes[start : start + PIPELINE_CHUNK]):
                            if len(channels) == 1:
                                pipe.publish(channels[0], payload)
                            else:
                                pipe.eval(PUBLISH_TO_EACH, 0, payload, *channels)
                        await pipe.execute()


def _runs(publishes: list[tuple[str, bytes]]) -> list[tuple[bytes, list[str]]]:
    """``(channel, payload)`` pairs as runs of one payload over consecutive channels, in the same order: each
    channel still gets its messages in the order of the batch (a script runs whole, in pipeline order)."""
    runs: list[tuple[bytes, list[str]]] = []
    for channel, payload in publishes:
        if runs and runs[-1][0] is payload:
            runs[-1][1].append(channel)
        else:
            runs.append((payload, [channel]))
    return runs


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    """Channels' in-memory layer whose ``group_send_many`` may be called from any thread or event loop."""

    _home: asyncio.AbstractEventLoop | None = None  # the loop the consumers run on

    async def group_add(self, group: str, channel: str) -> None:
        self._home = asyncio.get_running_loop()
        await super().group_add(group, channel)

    async def group_send_many(self, messages: Batch) -> None:
        home = self._home
        if home is None or home.is_closed():
            return  # no consumer ever joined a group in this process: nobody to tell
        if home is asyncio.get_running_loop():
            await self._send_here(messages)
        else:  # asyncio queues are not thread-safe: put into them from their own loop
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._send_here(messages), home))

    async def _send_here(self, messages: Batch) -> None:
        for group, message in messages:
            await self.group_send(group, message)
