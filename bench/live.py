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
at the transaction's first statement, ahead of the pipeline's events, so it runs first) and the client records
the time the frame arrives; all processes are on the same host, so ``time.time()`` is one clock. Same run, same
transport:
- baseline: bare ``RedisPubSubChannelLayer.group_send`` from the worker process -> ``receive`` in the clients
  process, at the same message rate (one group; then the same fan-out shape as the WebSocket case);
- stream: ``--clients`` connected users, each following ``--follows`` of ``--sources`` sources; ``--rate`` new
  posts/s (``--batch`` entries per ``ingest`` call) for ``--seconds``: commit -> frame p50/p99 and lost frames;
- fan-out: ``--followers`` connected followers of one source, one post: commit -> last frame, repeated; beside
  it the bare layer delivering one message to as many groups four ways (a ``group_send`` loop in a fresh loop,
  as events did before fix B, or on a long-lived loop; ``group_send_many``, pipelined; or one shared group).
Each case also prints where the time goes (the worker's statements and COMMIT, and the publisher's public timing
hook ``aggregator.events.observe``: when a post's events were queued and when their batch was handed to the
layer; see live_parts/probe.py) and the CPU seconds of every process. ``--profile-web`` adds a cProfile of the
web process during the fan-out posts.
Goals: p50 <= 20 ms, p99 <= 100 ms; one post to 1,000 connected followers delivered to all within 1 s.

Channel names on Redis pub/sub are global (not per database number), so every process of this benchmark
uses the channel-layer prefix ``chorus_bench_live`` instead of the default ``asgi``: nothing it publishes can
reach another run's or the test suite's sockets. That is the only setting changed from production.

The parts, one job each, are in ``bench/live_parts/`` (its ``__init__`` lists them); this file is the command
and the order of the run.
"""

import argparse
import os
import time
from pathlib import Path

from _setup import banner, setup_django
from live_parts import report
from live_parts.cases import run_bare_fanout, run_baseline, run_fanout, run_stream
from live_parts.common import redis_url
from live_parts.processes import Processes, started


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hidden = argparse.SUPPRESS  # how the parent starts its children
    parser.add_argument("--role", choices=["main", "web", "worker", "clients"], default="main", help=hidden)
    parser.add_argument("--port", type=int, default=0, help=hidden)
    parser.add_argument("--url", default="", help=hidden)
    parser.add_argument("--profile-out", default="", help=hidden)
    parser.add_argument("--profile-web", action="store_true",
                        help="also profile the web process (cProfile) during the fan-out posts and print where its time goes")  # fmt: skip
    parser.add_argument("--clients", type=int, default=200, help="connected clients in the stream case")
    parser.add_argument("--rate", type=int, default=100, help="new posts per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the stream case runs")
    parser.add_argument(
        "--sources", type=int, default=20, help="sources the stream's posts go to, round-robin"
    )
    parser.add_argument("--follows", type=int, default=1, help="stream sources each client follows")
    parser.add_argument("--batch", type=int, default=1, help="entries per ingest call")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes in the stream case (celery's default concurrency: one per CPU)")  # fmt: skip
    parser.add_argument("--followers", type=int, default=1000, help="connected followers in the fan-out case")
    parser.add_argument("--fanout-reps", type=int, default=5)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.role == "main":
        return run(args)
    if args.role == "web":
        from live_parts import web as role
    elif args.role == "worker":
        from live_parts import worker as role
    else:
        from live_parts import clients as role
    role.run(args)


def run(args) -> None:
    started_at = time.monotonic()
    os.environ["REDIS_URL"] = redis_url()
    database_url = setup_django(default_db="chorus_bench_live")
    banner("bench/live.py: ingest commit -> WebSocket frame", database_url)
    from live_parts.data import prepare_data

    data = prepare_data(
        clients=args.clients, followers=args.followers, sources=args.sources, follows=args.follows
    )
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url(),
           "DJANGO_SETTINGS_MODULE": "aggregator.settings", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    env.pop("DB_CONN_MAX_AGE", None)  # production default (persistent connections), not the bench setup's 0
    script = str(Path(__file__).resolve())
    with started(script=script, env=env, workers=args.workers, profile_web=args.profile_web) as processes:
        report.print_processes(processes)
        base = baseline_case(args, processes, data)
        stream_case(args, processes, data, base)
        fanout_case(args, processes, data)
        print(f"\n   whole run {time.monotonic() - started_at:.0f} s")


def baseline_case(args, processes: Processes, data: dict) -> dict:
    """1. The bare channel layer, worker process -> clients process, in the stream's shape."""
    shape = [data["follow_map"][pk] for pk in data["stream_sources"]]
    per_post = args.clients * args.follows / args.sources
    base = run_baseline(processes.workers[0], processes.clients, rate=args.rate, seconds=min(args.seconds, 6.0),
                        shape=shape)  # fmt: skip
    report.print_baseline(base, rate=args.rate, per_post=per_post)
    return base


def stream_case(args, processes: Processes, data: dict, base: dict) -> None:
    """2. ``--clients`` sockets, ``--rate`` posts/s from every worker for ``--seconds``."""
    tokens = list(enumerate(data["tokens"][: args.clients]))
    connect = processes.clients.request({"cmd": "connect", "tokens": tokens}, timeout=300)
    per_post = args.clients * args.follows / args.sources
    report.print_stream_header(connect, rate=args.rate, seconds=args.seconds, sources=args.sources,
                               per_post=per_post)  # fmt: skip
    cpu = processes.cpu()
    stream = run_stream(processes.workers, processes.clients, data, rate=args.rate, seconds=args.seconds,
                        batch=args.batch)  # fmt: skip
    cpu = processes.cpu(since=cpu)
    report.print_stream(stream, base, cpu, rate=args.rate, batch=args.batch, workers=len(processes.workers))


def fanout_case(args, processes: Processes, data: dict) -> None:
    """3. One post at a time to ``--followers`` sockets, beside the bare layer's four ways of fanning out."""
    worker, clients = processes.workers[0], processes.clients
    tokens = list(enumerate(data["tokens"]))[args.clients : args.followers]
    more = clients.request({"cmd": "connect", "tokens": tokens}, timeout=300)
    report.print_fanout_header(more, followers=args.followers, reps=args.fanout_reps)
    cpu = processes.cpu()
    processes.profile_web(True)
    rounds = run_fanout(worker, clients, data, reps=args.fanout_reps)
    processes.profile_web(False)
    cpu = processes.cpu(since=cpu)
    bare_fan = run_bare_fanout(worker, clients, groups=args.followers, reps=max(3, args.fanout_reps // 2))
    report.print_bare_fanout(bare_fan, followers=args.followers)
    worst = report.print_fanout_rounds(rounds)
    pieces = worker.request(
        {"cmd": "serialize_probe", "source": data["fanout"], "post": rounds[-1]["record"]["ids"][0]}
    )
    report.print_announce_pieces(pieces)
    print(f"   CPU seconds during the {args.fanout_reps} posts: {report.cpu_line(cpu)}")
    report.print_fanout_goal(worst, followers=args.followers)
    if processes.profile_path:
        report.print_profile(processes.profile_path)


if __name__ == "__main__":
    main()
