"""A worker process: Django set up, it calls ``aggregator.ingest.pipeline.ingest`` directly, as a Celery ingest
task would (no broker hop: the latency measured starts at the commit), and sends the bare layer's baselines.
Commands (one JSON line each): ``posts``, ``bare_send``, ``bare_fanout``, ``serialize_probe``, ``stop``."""

import asyncio
import json
import sys
import time
import traceback

from live_parts.common import bare_layer, setup_child_django
from live_parts.probe import Probe
from live_parts.processes import protocol_out


def run(args) -> None:
    out = protocol_out()
    setup_child_django()
    Worker().serve(out)


class Worker:
    def __init__(self) -> None:
        self.probe = Probe()
        self.probe.start()
        self.loop = asyncio.new_event_loop()  # for the bare-layer baselines: one persistent loop and layer
        self.layer = bare_layer()

    def serve(self, out) -> None:
        commands = {"posts": self.posts, "bare_send": self.bare_send, "bare_fanout": self.bare_fanout,
                    "serialize_probe": self.serialize_probe}  # fmt: skip
        print(json.dumps({"ready": True}), file=out)
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd["cmd"] == "stop":
                break
            try:
                handler = commands.get(cmd["cmd"])
                answer = handler(cmd) if handler else {"error": f"unknown command {cmd['cmd']}"}
            except Exception as error:  # noqa: BLE001 - reported to the parent, which stops the run
                traceback.print_exc()
                answer = {"error": repr(error)}
            print(json.dumps(answer), file=out)
        self.loop.run_until_complete(self.layer.flush())

    # -- chorus: ingest

    def posts(self, cmd) -> dict:
        """``count`` posts at ``rate`` per second, ``batch`` entries per ingest call, round-robin over ``sources``."""
        from aggregator import events
        from aggregator.models import Source

        sources = {s.pk: s for s in Source.objects.filter(pk__in=cmd["sources"])}
        order = [sources[pk] for pk in cmd["sources"]]
        interval = cmd["batch"] / cmd["rate"]
        calls = int(cmd["count"]) // cmd["batch"]
        records, started = [], time.time()
        for n in range(calls):
            delay = started + n * interval - time.time()
            if delay > 0:
                time.sleep(delay)
            records.append(self.ingest_one(order[n % len(order)], cmd["run"], n, cmd["batch"]))
        seconds = time.time() - started
        events.flush()  # the last posts' batches: their timestamps are part of the answer
        return {"records": records, "seconds": seconds}

    def ingest_one(self, source, run: str, n: int, batch: int) -> dict:
        from django.db import connection

        from aggregator.content.entry import Entry
        from aggregator.ingest.pipeline import ingest

        entries = [Entry(guid=f"{run}-{n}-{k}", url=f"https://example.org/{run}/{n}/{k}", title=f"post {n}.{k}",
                         author_name="Bench", content_html=f"<p>live post {n}.{k} of run {run}, "
                         f"<a href='https://example.org/'>a link</a> and <b>some</b> text.</p>")
                   for k in range(batch)]  # fmt: skip
        record = {"source": source.pk, "call": time.time()}
        self.probe.current = record
        with connection.execute_wrapper(self.probe.statement):
            result = ingest(source, entries)
        record["return"] = time.time()
        self.probe.current = None
        record.pop("hooked", None)
        record["ids"] = result.created
        return record

    # -- baselines: the bare layer

    async def _send_groups(self, groups: list[str], message: dict, layer=None) -> None:
        for group in groups:
            await (layer or self.layer).group_send(group, message)

    def bare_send(self, cmd) -> dict:
        """Messages at a fixed rate, each group_sent to its groups: on one long-lived event loop, or through
        async_to_sync per message (a fresh loop and Redis connection each time, as events did before fix B)."""
        from asgiref.sync import async_to_sync

        plan, rate, count = cmd["plan"], cmd["rate"], cmd["count"]
        started, cpu = time.time(), time.process_time()
        sent = 0
        for seq in range(count):
            delay = started + seq / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            groups = plan[seq % len(plan)]
            message = {"type": "bench.ping", "seq": seq, "t": time.time()}
            if cmd.get("async_to_sync"):
                async_to_sync(self._send_groups)(groups, message)
            else:
                self.loop.run_until_complete(self._send_groups(groups, message))
            sent += len(groups)
        return {"sent": sent, "seconds": time.time() - started, "cpu": time.process_time() - cpu}

    def bare_fanout(self, cmd) -> dict:
        """One message to many groups: group_send loop (fresh or long-lived loop), or pipelined, or one group."""
        groups, variant = cmd["groups"], cmd["variant"]
        started = time.time()
        message = {"type": "bench.ping", "seq": cmd["seq"], "t": started}
        # "loop" is the shape of events before fix B: async_to_sync -> a new loop and Redis connection
        if variant == "loop":
            from asgiref.sync import async_to_sync

            async_to_sync(self._send_groups)(groups, message)
        elif variant == "persistent":  # the same loop of group_send, on a long-lived loop and connection
            self.loop.run_until_complete(self._send_groups(groups, message))
        elif variant == "pipeline":  # group_send_many: serialize once, one round trip carrying every PUBLISH
            self.loop.run_until_complete(self.layer.group_send_many([(group, message) for group in groups]))
        elif variant == "onegroup":  # a per-source group: one PUBLISH, the web process fans out locally
            self.loop.run_until_complete(self.layer.group_send(cmd["source_group"], message))
        return {"start": started, "end": time.time()}

    # -- the pieces of the post.new event, measured apart

    def serialize_probe(self, cmd) -> dict:
        """The cost of the pieces of ``timelines.delivery._announce`` for one post, measured apart (same
        functions, this process; the post query is one ingest no longer makes: it passes the posts it made)."""
        from channels.layers import get_channel_layer

        from aggregator.events import EVENT_MESSAGE_TYPE
        from aggregator.models import Post, Subscription
        from timelines.cursor import encode_cursor
        from timelines.serializers import post_json

        timings = {}
        t = time.perf_counter()
        subscribers = list(
            Subscription.objects.filter(source_id=cmd["source"]).values_list("user_id", flat=True)
        )
        timings["subscribers_query_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        post = Post.objects.select_related("source").get(pk=cmd["post"])
        timings["post_query_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        event = {
            "type": "post.new",
            "post": post_json(post),
            "cursor": encode_cursor(post.published, post.pk),
        }
        timings["post_json_ms"] = (time.perf_counter() - t) * 1000
        message = {"type": EVENT_MESSAGE_TYPE, "event": event}
        django_layer = get_channel_layer()
        t = time.perf_counter()
        for _ in subscribers:
            django_layer.serialize(message)
        timings["serialize_all_ms"] = (time.perf_counter() - t) * 1000
        timings["subscribers"] = len(subscribers)
        timings["message_bytes"] = len(django_layer.serialize(message))
        return timings
