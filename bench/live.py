"""Live delivery latency: from the ingest commit to the WebSocket frame in a client, beside the bare channel layer.

    .venv/bin/python bench/live.py [--clients 200] [--rate 100] [--seconds 10] [--sources 20] [--follows 1]
                                   [--workers 2] [--batch 1] [--followers 1000] [--fanout-reps 5] [--profile-web]

Production shape, separate processes besides Redis and PostgreSQL:
- web: uvicorn serving ``aggregator.asgi:application`` (the project's ASGI app, RedisPubSubChannelLayer);
- workers (``--workers``, default 2: Celery's default concurrency on this 2-CPU machine): Python processes with
  Django set up that call ``aggregator.ingest.pipeline.ingest`` directly, as a Celery ingest task would (no broker
  hop: the latency measured starts at the commit, after the task has run);
- clients: one asyncio process holding every WebSocket (``websockets``, ``Authorization: Bearer``);
- this process: sets up the database, starts the others, and computes the figures.

The worker records for each post the wall-clock time right after the COMMIT (an ``on_commit`` hook registered
before ``announce_new_posts``' one, so it runs first) and the client records the time the frame arrives; all
processes are on the same host, so ``time.time()`` is one clock. Same run, same transport:
- baseline: bare ``RedisPubSubChannelLayer.group_send`` from the worker process -> ``receive`` in the clients
  process, at the same message rate (one group; then the same fan-out shape as the WebSocket case);
- stream: ``--clients`` connected users, each following ``--follows`` of ``--sources`` sources; ``--rate`` new
  posts/s (one entry per ``store_entries`` call) for ``--seconds``: commit -> frame p50/p99 and lost frames;
- fan-out: ``--followers`` connected followers of one source, one post: commit -> last frame, repeated; beside
  it the bare layer delivering one message to as many groups four ways (a ``group_send`` loop in a fresh loop,
  as ``events`` did before fix B, or on a long-lived loop; ``group_send_many``, pipelined; or one shared group).
Each case also prints where the time goes (timestamps taken around ``store_entries``, the COMMIT,
``events.publish`` and ``events._deliver``, which are wrapped in the worker process only) and the CPU seconds
of every process. ``--profile-web`` adds a cProfile of the web process during the fan-out posts.
Goals: p50 <= 20 ms, p99 <= 100 ms; one post to 1,000 connected followers delivered to all within 1 s.

Channel names on Redis pub/sub are global (not per database number), so every process of this benchmark
uses the channel-layer prefix ``chorus_bench_live`` instead of the default ``asgi``: nothing it publishes can
reach another run's or the test suite's sockets. That is the only setting changed from production.
"""

import argparse
import asyncio
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from _setup import REPO_ROOT, banner, median, percentile, setup_django, verdict

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
FORBIDDEN_REDIS_DBS = {"15"}  # the test suite's
PREFIX = "chorus_bench_live"
GOAL_P50_MS = 20.0
GOAL_P99_MS = 100.0
GOAL_FANOUT_S = 1.0
USERNAME = "bench-live-{:04d}"
STREAM_SOURCE = "bench-live://stream/{}"
FANOUT_SOURCE = "bench-live://fanout"


def redis_url() -> str:
    url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    if urlsplit(url).path.lstrip("/") in FORBIDDEN_REDIS_DBS:
        raise SystemExit(f"refusing Redis {url}: database 15 belongs to the test suite; set BENCH_REDIS_URL")
    return url


def _use_bench_prefix() -> None:
    """Before Django reads its settings: the production channel layer, with this benchmark's own prefix."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    import aggregator.settings as settings_module

    layer = settings_module.CHANNEL_LAYERS["default"]
    if not layer["BACKEND"].endswith("RedisPubSubChannelLayer"):
        raise SystemExit(f"expected the Redis pub/sub channel layer, settings give {layer['BACKEND']}")
    layer.setdefault("CONFIG", {})["prefix"] = PREFIX


def bare_layer():
    """The production layer class (channels_redis' pub/sub layer plus ``group_send_many``), outside Django."""
    from aggregator.events.layers import PipelinedRedisPubSubChannelLayer

    return PipelinedRedisPubSubChannelLayer(hosts=[redis_url()], prefix=PREFIX)


# --- child processes: line protocol ------------------------------------------------------------------------


def _protocol_out():
    """The real stdout carries protocol lines only; anything else printed goes to stderr (the child's log)."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return out


class Child:
    """One subprocess: JSON commands on its stdin, one JSON answer line each on its stdout."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: str):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, env=env, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log)  # fmt: skip
        self.buffer = b""

    def request(self, command: dict, timeout: float = 60.0) -> dict:
        self.send(command)
        return self.read(timeout)

    def send(self, command: dict) -> None:
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads), from /proc."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def read(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"{self.name}: no answer within {timeout:.0f} s; log: {self.tail()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise RuntimeError(f"{self.name} exited ({self.proc.poll()}); log: {self.tail()}")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.name}: {answer['error']}")
        return answer

    def tail(self) -> str:
        self.log.flush()
        return Path(self.log_path).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


# --- role: web ---------------------------------------------------------------------------------------------


def role_web(args) -> None:
    _use_bench_prefix()
    import uvicorn

    if args.profile_out:  # --profile-web: cProfile the event loop thread between SIGUSR1 and SIGUSR2
        import cProfile

        profiler = cProfile.Profile()
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())

        def stop(*_):
            profiler.disable()
            profiler.dump_stats(args.profile_out)

        signal.signal(signal.SIGUSR2, stop)

    # What `uvicorn aggregator.asgi:application --port P` runs (that CLI calls uvicorn.run with these values).
    uvicorn.run("aggregator.asgi:application", host="127.0.0.1", port=args.port, log_level="warning")


# --- role: worker ------------------------------------------------------------------------------------------


class Probe:
    """Timestamps of one store_entries call: commit, announce steps. Wraps functions in this process only.

    ``events.publish`` queues and returns; the publisher thread sends later (``events._deliver``), maybe
    several posts' messages in one batch: each event is traced back to its record by identity."""

    def __init__(self):
        self.current: dict | None = None
        self.by_event: dict[int, dict] = {}  # id(event dict) -> its record, until its batch has been sent
        from aggregator import events

        real_publish, real_deliver = events.publish, events._deliver

        def publish(batch):
            if self.current is not None:
                self.current["send_many"] = time.time()
                for _, message in batch:
                    self.by_event[id(message.get("event"))] = self.current
            return real_publish(batch)

        async def deliver(layer, batch):
            keys = {id(message.get("event")) for _, message in batch} & self.by_event.keys()
            records = [self.by_event[key] for key in keys]
            started = time.time()
            try:
                return await real_deliver(layer, batch)
            finally:
                ended = time.time()
                for record in records:
                    record.update(loop_start=started, loop_end=ended, group_sends=len(batch))
                for key in keys:
                    self.by_event.pop(key, None)

        events.publish, events._deliver = publish, deliver

    def commit_hook(self, execute, sql, params, many, context):
        """First statement inside the transaction: register an on_commit hook ahead of the announcement's."""
        from django.db import connection, transaction

        record = self.current
        if record is not None and "hooked" not in record and connection.in_atomic_block:
            record["hooked"] = True
            transaction.on_commit(lambda: record.__setitem__("commit", time.time()))
        started = time.time()
        try:
            return execute(sql, params, many, context)
        finally:
            if record is not None and "commit" not in record:  # statements of the transaction only
                record["statements"] = record.get("statements", 0) + 1
                record["db"] = record.get("db", 0.0) + time.time() - started
                record["last_statement"] = time.time()


def role_worker(args) -> None:
    out = _protocol_out()
    _use_bench_prefix()
    import django

    django.setup()
    from django.db import connection

    from aggregator import events
    from aggregator.content.entry import Entry
    from aggregator.ingest.pipeline import ingest
    from aggregator.models import Source

    probe = Probe()
    loop = asyncio.new_event_loop()  # for the bare-layer baselines: one persistent loop and layer
    layer = bare_layer()
    print(json.dumps({"ready": True}), file=out)

    def store_one(source, run: str, n: int, batch: int) -> dict:
        entries = [Entry(guid=f"{run}-{n}-{k}", url=f"https://example.org/{run}/{n}/{k}", title=f"post {n}.{k}",
                         author_name="Bench", content_html=f"<p>live post {n}.{k} of run {run}, "
                         f"<a href='https://example.org/'>a link</a> and <b>some</b> text.</p>")
                   for k in range(batch)]  # fmt: skip
        record = {"source": source.pk, "call": time.time()}
        probe.current = record
        with connection.execute_wrapper(probe.commit_hook):
            result = ingest(source, entries)
        record["return"] = time.time()
        probe.current = None
        record.pop("hooked", None)
        record["ids"] = result.created
        return record

    def posts(cmd) -> dict:
        sources = {s.pk: s for s in Source.objects.filter(pk__in=cmd["sources"])}
        order = [sources[pk] for pk in cmd["sources"]]
        interval = cmd["batch"] / cmd["rate"]
        calls = int(cmd["count"]) // cmd["batch"]
        records, started = [], time.time()
        for n in range(calls):
            due = started + n * interval
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            records.append(store_one(order[n % len(order)], cmd["run"], n, cmd["batch"]))
        seconds = time.time() - started
        events.flush()  # the last posts' batches: their timestamps are part of the answer
        return {"records": records, "seconds": seconds}

    async def send_groups(groups: list[str], message: dict) -> None:
        for group in groups:
            await layer.group_send(group, message)

    def bare_send(cmd) -> dict:
        """Messages at a fixed rate, each group_sent to its groups: on one long-lived event loop, or through
        async_to_sync per message (a fresh loop and Redis connection each time, as events.send_many did before fix B)."""
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
                async_to_sync(send_groups)(groups, message)
            else:
                loop.run_until_complete(send_groups(groups, message))
            sent += len(groups)
        return {"sent": sent, "seconds": time.time() - started, "cpu": time.process_time() - cpu}

    def bare_fanout(cmd) -> dict:
        """One message to many groups: group_send loop (fresh or long-lived loop), or pipelined, or one group."""
        groups, variant = cmd["groups"], cmd["variant"]
        message = {"type": "bench.ping", "seq": cmd["seq"], "t": 0.0}

        async def sequential(the_layer):
            for group in groups:
                await the_layer.group_send(group, message)

        started = time.time()
        message["t"] = started
        # "loop" is the shape of events.send_many before fix B: async_to_sync -> a new loop and Redis connection
        if variant == "loop":
            from asgiref.sync import async_to_sync

            async_to_sync(sequential)(layer)
        elif variant == "persistent":  # the same loop of group_send, on a long-lived loop and connection
            loop.run_until_complete(sequential(layer))
        elif variant == "pipeline":  # group_send_many: serialize once, one round trip carrying every PUBLISH
            loop.run_until_complete(layer.group_send_many([(group, message) for group in groups]))
        elif variant == "onegroup":  # a per-source group: one PUBLISH, the web process fans out locally
            loop.run_until_complete(layer.group_send(cmd["source_group"], message))
        return {"start": started, "end": time.time()}

    def serialize_probe(cmd) -> dict:
        """The cost of the pieces of _announce for one post, measured apart (same functions, this process)."""
        from channels.layers import get_channel_layer

        from aggregator.events import EVENT_MESSAGE_TYPE
        from aggregator.models import Post, Subscription
        from timelines.cursor import encode_cursor
        from timelines.serializers import post_json

        django_layer = get_channel_layer()
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
        t = time.perf_counter()
        for _ in subscribers:
            django_layer.serialize(message)
        timings["serialize_all_ms"] = (time.perf_counter() - t) * 1000
        timings["subscribers"] = len(subscribers)
        timings["message_bytes"] = len(django_layer.serialize(message))
        return timings

    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "posts":
                answer = posts(cmd)
            elif cmd["cmd"] == "bare_send":
                answer = bare_send(cmd)
            elif cmd["cmd"] == "bare_fanout":
                answer = bare_fanout(cmd)
            elif cmd["cmd"] == "serialize_probe":
                answer = serialize_probe(cmd)
            elif cmd["cmd"] == "stop":
                break
            else:
                answer = {"error": f"unknown command {cmd['cmd']}"}
        except Exception as error:  # noqa: BLE001 - reported to the parent, which stops the run
            import traceback

            traceback.print_exc()
            answer = {"error": repr(error)}
        print(json.dumps(answer), file=out)
    loop.run_until_complete(layer.flush())


# --- role: clients -----------------------------------------------------------------------------------------


def role_clients(args) -> None:
    out = _protocol_out()
    asyncio.run(_clients_main(args, out))


async def _clients_main(args, out) -> None:
    from websockets.asyncio.client import connect

    sockets: dict[int, object] = {}
    readers: list[asyncio.Task] = []
    frames: dict[int, list] = defaultdict(list)  # post id -> [(client index, receive time)]
    other_frames = [0]
    bare: list = []  # (channel index, seq, sent time, receive time)
    layer = None
    bare_channels: list[str] = []

    async def read(index: int, ws) -> None:
        try:
            async for raw in ws:
                now = time.time()
                event = json.loads(raw)
                if event.get("type") == "post.new":
                    frames[event["post"]["id"]].append((index, now))
                else:
                    other_frames[0] += 1
        except Exception:  # noqa: BLE001 - a closed socket: its missing frames are counted as lost
            pass

    async def open_one(index: int, token: str, gate: asyncio.Semaphore) -> bool:
        async with gate:
            try:
                ws = await connect(args.url, additional_headers={"Authorization": f"Bearer {token}"},
                                   open_timeout=30, max_size=2**22)  # fmt: skip
            except Exception as error:  # noqa: BLE001
                print(f"client {index}: {error!r}", file=sys.stderr)
                return False
        sockets[index] = ws
        readers.append(asyncio.create_task(read(index, ws)))
        return True

    async def bare_receive(index: int, channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            bare.append((index, message["seq"], message["t"], time.time()))

    async def command(cmd) -> dict:
        nonlocal layer
        if cmd["cmd"] == "connect":
            started = time.time()
            gate = asyncio.Semaphore(cmd.get("parallel", 20))
            results = await asyncio.gather(*(open_one(i, token, gate) for i, token in cmd["tokens"]))
            # group_add runs before accept; let the subscriptions land
            await asyncio.sleep(cmd.get("settle", 1.0))
            return {"connected": sum(results), "failed": len(results) - sum(results),
                    "seconds": time.time() - started, "open": sum(1 for ws in sockets.values() if ws.state.name == "OPEN")}  # fmt: skip
        if cmd["cmd"] == "bare_listen":
            layer = layer or bare_layer()
            for index in range(len(bare_channels), cmd["channels"]):
                channel = await layer.new_channel()
                bare_channels.append(channel)
                await layer.group_add(f"bench.bare.{index}", channel)
                readers.append(asyncio.create_task(bare_receive(index, channel)))
            if cmd.get("source_group"):
                for channel in bare_channels:
                    await layer.group_add(cmd["source_group"], channel)
            await asyncio.sleep(0.3)
            return {"channels": len(bare_channels)}
        if cmd["cmd"] == "bare_collect":
            deadline = time.time() + cmd.get("timeout", 3.0)
            while len(bare) < cmd.get("expect", 0) and time.time() < deadline:
                await asyncio.sleep(0.005)
            taken = list(bare)
            bare.clear()
            return {"receipts": taken}
        if cmd["cmd"] == "wait":
            expect = {int(k): v for k, v in cmd["expect"].items()}
            deadline = time.time() + cmd["timeout"]
            while time.time() < deadline and any(len(frames.get(pid, ())) < n for pid, n in expect.items()):
                await asyncio.sleep(0.005)
            return {"frames": {pid: frames.pop(pid, []) for pid in expect}, "other": other_frames[0]}
        if cmd["cmd"] == "drain":
            taken = dict(frames)
            frames.clear()
            return {"frames": taken, "other": other_frames[0]}
        return {"error": f"unknown command {cmd['cmd']}"}

    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": True}), file=out)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        cmd = json.loads(line)
        if cmd["cmd"] == "stop":
            break
        try:
            answer = await command(cmd)
        except Exception as error:  # noqa: BLE001
            import traceback

            traceback.print_exc()
            answer = {"error": repr(error)}
        print(json.dumps(answer), file=out)
    await asyncio.gather(*(ws.close() for ws in sockets.values()), return_exceptions=True)
    for task in readers:
        task.cancel()
    if layer is not None:
        await layer.flush()


# --- the run -----------------------------------------------------------------------------------------------


def prepare_data(*, clients: int, followers: int, sources: int, follows: int) -> dict:
    """Users with fresh tokens, the stream sources with their followers, the fan-out source. Posts emptied."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from accounts.models import ApiToken
    from accounts.tokens import issue_token
    from aggregator.models import Post, Source, Subscription
    from timelines.models import TimelineEntry

    User = get_user_model()
    wanted = [USERNAME.format(i) for i in range(max(clients, followers))]
    with transaction.atomic():
        existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
        User.objects.bulk_create(User(username=name) for name in wanted if name not in existing)
        users = {u.username: u for u in User.objects.filter(username__in=wanted)}
        ordered = [users[name] for name in wanted]
        ApiToken.objects.filter(user__in=ordered).delete()
        tokens = [issue_token(user=user, name="bench/live.py") for user in ordered]

        stream_sources = []
        for j in range(sources):
            address = STREAM_SOURCE.format(j)
            source, _ = Source.objects.get_or_create(
                address=address, defaults={"url": address, "title": f"stream {j}"}
            )
            stream_sources.append(source)
        fanout, _ = Source.objects.get_or_create(
            address=FANOUT_SOURCE, defaults={"url": FANOUT_SOURCE, "title": "fan-out"}
        )
        all_sources = [*stream_sources, fanout]
        Subscription.objects.filter(source__in=all_sources).delete()
        Subscription.objects.filter(user__in=ordered).delete()
        follow_map: dict[int, list[int]] = defaultdict(list)  # source id -> client indexes
        rows = []
        for i in range(clients):
            for k in range(follows):
                source = stream_sources[(i * follows + k) % sources]
                if i not in follow_map[source.pk]:
                    follow_map[source.pk].append(i)
                    rows.append(Subscription(user=ordered[i], source=source))
        rows += [Subscription(user=ordered[i], source=fanout) for i in range(followers)]
        Subscription.objects.bulk_create(rows)
        follow_map[fanout.pk] = list(range(followers))
        with connection.cursor() as cursor:  # this benchmark's own database: start every run from no posts
            cursor.execute(f"TRUNCATE {TimelineEntry._meta.db_table}, {Post._meta.db_table} CASCADE")
    return {"tokens": tokens, "stream_sources": [s.pk for s in stream_sources], "fanout": fanout.pk,
            "follow_map": follow_map}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"web exited ({child.proc.returncode}); log: {child.tail()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"web did not listen on {port} within {timeout:.0f} s; log: {child.tail()}")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def latency_line(label: str, values: list[float], extra: str = "") -> str:
    if not values:
        return f"   {label:<46} no samples {extra}"
    return (f"   {label:<46} p50 {ms(percentile(values, 50))} ms  p99 {ms(percentile(values, 99))} ms  "
            f"max {ms(max(values))} ms  n={len(values)} {extra}")  # fmt: skip


def run_baseline(worker: Child, clients: Child, *, rate: int, seconds: float, shape: list[list[int]]) -> dict:
    """Bare layer, worker process -> clients process: one group, then the stream's fan-out shape."""
    results = {}
    channels = 1 + max(max(group) for group in shape)
    clients.request({"cmd": "bare_listen", "channels": channels})
    cases = (
        ("one group", [[0]], seconds / 2, False),
        ("stream shape", shape, seconds, False),
        ("stream shape, async_to_sync", shape, seconds / 2, True),
    )
    for name, plan, duration, hop in cases:
        count = int(rate * duration)
        groups = [[f"bench.bare.{i}" for i in members] for members in plan]
        sent = worker.request({"cmd": "bare_send", "plan": groups, "rate": rate, "count": count, "async_to_sync": hop},
                              timeout=duration + 30)  # fmt: skip
        receipts = clients.request({"cmd": "bare_collect", "expect": sent["sent"], "timeout": 5})["receipts"]
        latencies = [recv - sent_at for _, _, sent_at, recv in receipts]
        results[name] = (latencies, sent["sent"], len(receipts), sent["cpu"] / count)
    return results


def run_stream(
    workers: list[Child], clients: Child, data: dict, *, rate: int, seconds: float, batch: int
) -> dict:
    """Each worker process takes its own share of the sources (no two contend for a source's row lock)."""
    count = int(rate * seconds)
    run = uuid.uuid4().hex[:8]
    sources = data["stream_sources"]
    for w, worker in enumerate(workers):
        worker.send({"cmd": "posts", "sources": sources[w::len(workers)], "rate": rate / len(workers),
                     "count": count // len(workers), "batch": batch, "run": f"{run}-w{w}"})  # fmt: skip
    answers = [worker.read(timeout=seconds * 10 + 60) for worker in workers]
    records = [record for answer in answers for record in answer["records"]]
    expected = sum(len(data["follow_map"][r["source"]]) * len(r["ids"]) for r in records)
    got = clients.request({"cmd": "wait", "expect": {pid: len(data["follow_map"][r["source"]])
                                                      for r in records for pid in r["ids"]}, "timeout": 5.0})  # fmt: skip
    frames = {int(pid): received for pid, received in got["frames"].items()}
    latencies, after_loop = [], []
    for record in records:
        for pid in record["ids"]:
            for _, received in frames.get(pid, []):
                latencies.append(received - record["commit"])
                after_loop.append(received - record.get("loop_end", float("nan")))
    first = min(r["call"] for r in records)
    last = max(r["return"] for r in records)
    return {"records": records, "latencies": latencies, "after_loop": after_loop, "expected": expected,
            "received": len(latencies), "seconds": last - first, "posts": sum(len(r["ids"]) for r in records),
            "other": got["other"]}  # fmt: skip


def run_fanout(worker: Child, clients: Child, data: dict, *, reps: int) -> list[dict]:
    rounds = []
    followers = len(data["follow_map"][data["fanout"]])
    for rep in range(reps):
        answer = worker.request({"cmd": "posts", "sources": [data["fanout"]], "rate": 1000, "count": 1, "batch": 1,
                                 "run": f"fan{rep}-{uuid.uuid4().hex[:6]}"})  # fmt: skip
        record = answer["records"][0]
        pid = record["ids"][0]
        got = clients.request({"cmd": "wait", "expect": {pid: followers}, "timeout": 10.0}, timeout=30)
        received = [t for _, t in got["frames"][str(pid)]]
        rounds.append({"record": record, "latencies": [t - record["commit"] for t in received],
                       "followers": followers})  # fmt: skip
        time.sleep(0.3)
    return rounds


def run_bare_fanout(worker: Child, clients: Child, *, groups: int, reps: int) -> dict:
    clients.request({"cmd": "bare_listen", "channels": groups, "source_group": "bench.source"})
    clients.request({"cmd": "bare_collect", "timeout": 0.2})
    names = [f"bench.bare.{i}" for i in range(groups)]
    results = {}
    seq = 0
    for variant in ("loop", "persistent", "pipeline", "onegroup"):
        alls, publish = [], []
        for _ in range(reps):
            seq += 1
            sent = worker.request({"cmd": "bare_fanout", "variant": variant, "groups": names, "seq": seq,
                                   "source_group": "bench.source"})  # fmt: skip
            receipts = clients.request({"cmd": "bare_collect", "expect": groups, "timeout": 5})["receipts"]
            mine = [recv for _, s, _, recv in receipts if s == seq]
            alls.append((max(mine) - sent["start"]) if len(mine) == groups else float("nan"))
            publish.append(sent["end"] - sent["start"])
            time.sleep(0.2)
        results[variant] = (alls, publish)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--role", choices=["main", "web", "worker", "clients"], default="main", help=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--profile-web",
        action="store_true",
        help="also profile the web process (cProfile) during the fan-out posts and print where its time goes",
    )
    parser.add_argument("--clients", type=int, default=200, help="connected clients in the stream case")
    parser.add_argument("--rate", type=int, default=100, help="new posts per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the stream case runs")
    parser.add_argument(
        "--sources", type=int, default=20, help="sources the stream's posts go to, round-robin"
    )
    parser.add_argument("--follows", type=int, default=1, help="stream sources each client follows")
    parser.add_argument("--batch", type=int, default=1, help="entries per store_entries call")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes in the stream case (celery's default concurrency: one per CPU)",
    )
    parser.add_argument("--followers", type=int, default=1000, help="connected followers in the fan-out case")
    parser.add_argument("--fanout-reps", type=int, default=5)
    args = parser.parse_args()
    if args.role == "web":
        return role_web(args)
    if args.role == "worker":
        return role_worker(args)
    if args.role == "clients":
        return role_clients(args)

    started = time.monotonic()
    os.environ["REDIS_URL"] = redis_url()
    database_url = setup_django(default_db="chorus_bench_live")
    banner("bench/live.py: ingest commit -> WebSocket frame", database_url)
    data = prepare_data(
        clients=args.clients, followers=args.followers, sources=args.sources, follows=args.follows
    )
    per_post = args.clients * args.follows / args.sources
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url(),
           "DJANGO_SETTINGS_MODULE": "aggregator.settings", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    env.pop("DB_CONN_MAX_AGE", None)  # production default (persistent connections), not the bench setup's 0
    port = free_port()
    script = str(Path(__file__).resolve())
    python = sys.executable
    children: list[Child] = []
    log_dir = tempfile.mkdtemp(prefix="chorus-bench-live-")
    try:
        profile_path = os.path.join(log_dir, "web.pstats") if args.profile_web else ""
        web = Child("web", [python, script, "--role", "web", "--port", str(port), "--profile-out", profile_path],
                    env, log_dir)  # fmt: skip
        children.append(web)
        workers = []
        for w in range(args.workers):
            workers.append(Child(f"worker{w}", [python, script, "--role", "worker"], env, log_dir))
            children.append(workers[-1])
        worker = workers[0]
        clients = Child("clients", [python, script, "--role", "clients", "--url", f"ws://127.0.0.1:{port}/ws/stream/"],
                        env, log_dir)  # fmt: skip
        children.append(clients)
        wait_for_port(port, web)
        for child in (*workers, clients):
            child.read(60)
        print(
            f"   processes: web = uvicorn aggregator.asgi:application (pid {web.proc.pid}), {len(workers)} worker(s) = "
            f"store_entries called directly, as a Celery task would (pids {' '.join(str(w.proc.pid) for w in workers)}), clients = one asyncio process "
            f"(pid {clients.proc.pid}); channel layer RedisPubSubChannelLayer on {redis_url()} (prefix {PREFIX}); "
            f"redis-py reply parser: {_redis_parser()}"
        )

        # -- 1. baseline: the bare channel layer
        shape = [data["follow_map"][pk] for pk in data["stream_sources"]]
        print(f"\n-- 1. baseline: bare channel layer, group_send in the worker process -> receive in the clients process,"
              f" {args.rate} messages/s")  # fmt: skip
        base = run_baseline(worker, clients, rate=args.rate, seconds=min(args.seconds, 6.0), shape=shape)
        for name, (latencies, sent, got, cpu_each) in base.items():
            label = {"one group": "one group, one channel",
                     "stream shape": f"stream shape: {per_post:.0f} groups per message",
                     "stream shape, async_to_sync": "same, via async_to_sync per message (before B)"}[name]  # fmt: skip
            print(
                latency_line(
                    label, latencies, f"lost {sent - got}, sender CPU {cpu_each * 1000:.2f} ms/message"
                )
            )

        # -- 2. the stream
        connect = clients.request({"cmd": "connect", "tokens": list(enumerate(data["tokens"][:args.clients]))},
                                  timeout=300)  # fmt: skip
        print(
            f"\n-- 2. stream: {connect['open']} connected clients (distinct users; connected in "
            f"{connect['seconds']:.1f} s, {connect['failed']} failed), {args.rate} new posts/s for "
            f"{args.seconds:.0f} s over {args.sources} sources, {per_post:.0f} followers each "
            f"({args.rate * per_post:.0f} frames/s)"
        )
        cpu = _cpu(children)
        stream = run_stream(workers, clients, data, rate=args.rate, seconds=args.seconds, batch=args.batch)
        cpu = _cpu(children, since=cpu)
        achieved = stream["posts"] / stream["seconds"]
        lat = stream["latencies"]
        print(latency_line("baseline: bare layer, stream shape", base["stream shape"][0]))
        print(
            latency_line(
                "chorus: commit -> WebSocket frame",
                lat,
                f"lost {stream['expected'] - stream['received']} of {stream['expected']}",
            )
        )
        print(
            f"   {len(workers)} worker process(es) reached {achieved:.0f} posts/s of {args.rate} asked "
            f"({stream['posts']} posts in {stream['seconds']:.1f} s, {args.batch} per store_entries call): "
            f"{verdict(achieved >= 0.95 * args.rate)}"
        )
        print(f"   CPU seconds during the stream: {_cpu_line(cpu)}")
        records = stream["records"]
        steps = _steps(records)
        print("   where the time goes, median per post (worker clock, then client clock):")
        print(
            f"     store_entries until COMMIT {steps['store']:.2f} ms ({steps['statements']:.0f} statements "
            f"{steps['db']:.2f} ms, then COMMIT {steps['commit']:.2f} ms) | COMMIT -> send_many (2 queries, post_json) "
            f"{steps['prepare']:.2f} ms | queued -> sending {steps['hop']:.2f} ms | group_send_many "
            f"{steps['loop']:.2f} ms | sent -> frame {median(stream['after_loop']) * 1000:.2f} ms"
        )
        if lat:
            p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
            print(f"   goal p50 <= {GOAL_P50_MS:.0f} ms: {p50:.1f} ms: {verdict(p50 <= GOAL_P50_MS)}")
            print(f"   goal p99 <= {GOAL_P99_MS:.0f} ms: {p99:.1f} ms: {verdict(p99 <= GOAL_P99_MS)}")
            ratio50 = p50 / (percentile(base["stream shape"][0], 50) * 1000)
            print(f"   p50 vs bare layer p50 (stream shape): {ratio50:.1f}x")
        print(f"   every frame delivered: {verdict(stream['expected'] == stream['received'])}")

        # -- 3. fan-out
        more = clients.request({"cmd": "connect", "tokens": list(enumerate(data["tokens"]))[args.clients:args.followers]},
                               timeout=300)  # fmt: skip
        print(
            f"\n-- 3. fan-out: one post to a source with {args.followers} connected followers "
            f"({more['open']} sockets open; {more['connected']} more connected in {more['seconds']:.1f} s), "
            f"{args.fanout_reps} posts"
        )
        cpu = _cpu(children)
        if profile_path:
            web.proc.send_signal(signal.SIGUSR1)
        rounds = run_fanout(worker, clients, data, reps=args.fanout_reps)
        if profile_path:
            web.proc.send_signal(signal.SIGUSR2)
        cpu = _cpu(children, since=cpu)
        bare_fan = run_bare_fanout(worker, clients, groups=args.followers, reps=max(3, args.fanout_reps // 2))
        labels = {"loop": f"sequential group_send x{args.followers}, fresh loop (before fix B)",
                  "persistent": f"sequential group_send x{args.followers}, long-lived loop",
                  "pipeline": f"group_send_many: {args.followers} PUBLISH pipelined",
                  "onegroup": f"one group holding {args.followers} channels, 1 PUBLISH"}  # fmt: skip
        print(
            "   baseline: bare layer, worker -> clients process, one message to every follower's group; "
            "time until the last one is received (publish time)"
        )
        for variant, (alls, publish) in bare_fan.items():
            print(
                f"     {labels[variant]:<58} median {ms(median(alls))} ms  max {ms(max(alls))} ms   "
                f"({ms(median(publish)).strip()} ms publishing)"
            )
        print("   chorus: commit -> frame in every follower's socket")
        worst = []
        for n, rnd in enumerate(rounds, 1):
            lats, rec = (
                rnd["latencies"],
                {**dict.fromkeys(_STEP_KEYS, float("nan")), "group_sends": 0, **rnd["record"]},
            )
            lost = rnd["followers"] - len(lats)
            last = max(lats) if lats else float("inf")
            worst.append(last if not lost else float("inf"))
            if not lats:
                print(f"     post {n}: no frame arrived (lost {lost})")
                continue
            print(f"     post {n}: p50 {ms(percentile(lats, 50))} ms  p99 {ms(percentile(lats, 99))} ms  "
                  f"all {ms(last)} ms  lost {lost}   | COMMIT -> send_many {ms(rec['send_many'] - rec['commit']).strip()} ms,"
                  f" group_send_many {ms(rec['loop_end'] - rec['loop_start']).strip()} ms for {rec['group_sends']} groups,"
                  f" sent -> last frame {ms(last + rec['commit'] - rec['loop_end']).strip()} ms")  # fmt: skip
        probe = worker.request(
            {"cmd": "serialize_probe", "source": data["fanout"], "post": rounds[-1]["record"]["ids"][0]}
        )
        print(
            f"   pieces of _announce measured apart: subscribers query {probe['subscribers_query_ms']:.2f} ms, "
            f"post query {probe['post_query_ms']:.2f} ms, post_json {probe['post_json_ms']:.2f} ms, "
            f"msgpack serialize x{probe['subscribers']} {probe['serialize_all_ms']:.1f} ms "
            f"({probe['message_bytes']} bytes each)"
        )
        print(f"   CPU seconds during the {args.fanout_reps} posts: {_cpu_line(cpu)}")
        print(
            f"   goal all {args.followers} followers within {GOAL_FANOUT_S:.0f} s: worst {max(worst):.3f} s: "
            f"{verdict(max(worst) <= GOAL_FANOUT_S)}"
        )
        if profile_path:
            _print_profile(profile_path)
        print(f"\n   whole run {time.monotonic() - started:.0f} s")
        for child in (worker, clients):
            child.proc.stdin.write(b'{"cmd": "stop"}\n')
            child.proc.stdin.flush()
    except BaseException:
        print(f"   (process logs kept in {log_dir})", file=sys.stderr)
        raise
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    finally:
        for child in reversed(children):
            child.stop()


def _redis_parser() -> str:
    try:
        import hiredis
    except ImportError:
        return "pure Python (hiredis not installed)"
    return f"hiredis {hiredis.__version__}"


def _print_profile(path: str) -> None:
    import io
    import pstats

    for _ in range(50):
        if os.path.exists(path):
            break
        time.sleep(0.1)
    time.sleep(0.3)
    text = io.StringIO()
    stats = pstats.Stats(path, stream=text)
    print("\n   web process under cProfile during the fan-out posts (cProfile slows it; read the shares):")
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats(30)
    for line in text.getvalue().splitlines():
        if line.strip() and not line.startswith(("   Ordered by", "   List reduced")):
            print("   " + line[:170])


def _machine_busy() -> float:
    """CPU seconds the whole machine spent not idle (all processes: PostgreSQL and Redis too), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu(children: list[Child], since: dict | None = None) -> dict:
    now = {child.name: child.cpu_seconds() for child in children}
    now["machine"] = _machine_busy()
    now["wall"] = time.monotonic()
    return {name: value - since[name] for name, value in now.items()} if since else now


def _cpu_line(cpu: dict) -> str:
    parts = [f"{name} {value:.1f}" for name, value in cpu.items() if name not in ("wall", "machine")]
    cores = os.cpu_count() or 1
    return (
        ", ".join(parts) + f"; whole machine {cpu['machine']:.1f} of {cores * cpu['wall']:.1f} "
        f"({cpu['machine'] / (cores * cpu['wall']):.0%} busy, {cores} cores x {cpu['wall']:.1f} s)"
    )


_STEP_KEYS = ("call", "commit", "statements", "db", "last_statement", "send_many", "loop_start", "loop_end")


def _steps(records: list[dict]) -> dict:
    """Medians of each step; a post whose announcement failed (the hook is robust: it logs) has no loop times."""
    records = [r for r in records if "loop_end" in r] or [{k: float("nan") for k in _STEP_KEYS}]
    return {
        "store": median([(r["commit"] - r["call"]) * 1000 for r in records]),
        "statements": median([r["statements"] for r in records]),
        "db": median([r["db"] * 1000 for r in records]),
        "commit": median([(r["commit"] - r["last_statement"]) * 1000 for r in records]),
        "prepare": median([(r["send_many"] - r["commit"]) * 1000 for r in records]),
        "hop": median([(r["loop_start"] - r["send_many"]) * 1000 for r in records]),
        "loop": median([(r["loop_end"] - r["loop_start"]) * 1000 for r in records]),
    }


if __name__ == "__main__":
    main()
