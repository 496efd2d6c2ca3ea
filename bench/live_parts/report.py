"""The lines a run prints: latencies, where the time goes, CPU seconds, goals."""

import io
import os
import time

from _setup import median, percentile, verdict

from live_parts.common import GOAL_FANOUT_S, GOAL_P50_MS, GOAL_P99_MS, PREFIX, redis_url

STEP_KEYS = ("call", "commit", "statements", "db", "last_statement", "queued", "sending", "sent")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def latency_line(label: str, values: list[float], extra: str = "") -> str:
    if not values:
        return f"   {label:<46} no samples {extra}"
    return (f"   {label:<46} p50 {ms(percentile(values, 50))} ms  p99 {ms(percentile(values, 99))} ms  "
            f"max {ms(max(values))} ms  n={len(values)} {extra}")  # fmt: skip


def cpu_line(cpu: dict) -> str:
    parts = [f"{name} {value:.1f}" for name, value in cpu.items() if name not in ("wall", "machine")]
    cores = os.cpu_count() or 1
    return (
        ", ".join(parts) + f"; whole machine {cpu['machine']:.1f} of {cores * cpu['wall']:.1f} "
        f"({cpu['machine'] / (cores * cpu['wall']):.0%} busy, {cores} cores x {cpu['wall']:.1f} s)"
    )


def print_processes(processes) -> None:
    workers = processes.workers
    print(
        f"   processes: web = uvicorn aggregator.asgi:application (pid {processes.web.proc.pid}), {len(workers)} "
        f"worker(s) = pipeline.ingest called directly, as a Celery task would (pids "
        f"{' '.join(str(w.proc.pid) for w in workers)}), clients = one asyncio process "
        f"(pid {processes.clients.proc.pid}); channel layer RedisPubSubChannelLayer on {redis_url()} "
        f"(prefix {PREFIX}); redis-py reply parser: {_redis_parser()}"
    )


def _redis_parser() -> str:
    try:
        import hiredis
    except ImportError:
        return "pure Python (hiredis not installed)"
    return f"hiredis {hiredis.__version__}"


# -- 1. baseline


def print_baseline(base: dict, *, rate: int, per_post: float) -> None:
    print(f"\n-- 1. baseline: bare channel layer, group_send in the worker process -> receive in the clients process,"
          f" {rate} messages/s")  # fmt: skip
    labels = {"one group": "one group, one channel",
              "stream shape": f"stream shape: {per_post:.0f} groups per message",
              "stream shape, async_to_sync": "same, via async_to_sync per message (before B)"}  # fmt: skip
    for name, (latencies, sent, got, cpu_each) in base.items():
        print(
            latency_line(
                labels[name], latencies, f"lost {sent - got}, sender CPU {cpu_each * 1000:.2f} ms/message"
            )
        )


# -- 2. stream


def print_stream_header(connect: dict, *, rate: int, seconds: float, sources: int, per_post: float) -> None:
    print(
        f"\n-- 2. stream: {connect['open']} connected clients (distinct users; connected in "
        f"{connect['seconds']:.1f} s, {connect['failed']} failed), {rate} new posts/s for "
        f"{seconds:.0f} s over {sources} sources, {per_post:.0f} followers each "
        f"({rate * per_post:.0f} frames/s)"
    )


def print_stream(stream: dict, base: dict, cpu: dict, *, rate: int, batch: int, workers: int) -> None:
    lat = stream["latencies"]
    achieved = stream["posts"] / stream["seconds"]
    print(latency_line("baseline: bare layer, stream shape", base["stream shape"][0]))
    lost = f"lost {stream['expected'] - stream['received']} of {stream['expected']}"
    print(latency_line("chorus: commit -> WebSocket frame", lat, lost))
    print(
        f"   {workers} worker process(es) reached {achieved:.0f} posts/s of {rate} asked "
        f"({stream['posts']} posts in {stream['seconds']:.1f} s, {batch} per ingest call): "
        f"{verdict(achieved >= 0.95 * rate)}"
    )
    print(f"   CPU seconds during the stream: {cpu_line(cpu)}")
    print_steps(stream)
    if lat:
        p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
        print(f"   goal p50 <= {GOAL_P50_MS:.0f} ms: {p50:.1f} ms: {verdict(p50 <= GOAL_P50_MS)}")
        print(f"   goal p99 <= {GOAL_P99_MS:.0f} ms: {p99:.1f} ms: {verdict(p99 <= GOAL_P99_MS)}")
        ratio50 = p50 / (percentile(base["stream shape"][0], 50) * 1000)
        print(f"   p50 vs bare layer p50 (stream shape): {ratio50:.1f}x")
    print(f"   every frame delivered: {verdict(stream['expected'] == stream['received'])}")


def print_steps(stream: dict) -> None:
    steps = median_steps(stream["records"])
    print("   where the time goes, median per post (worker clock, then client clock):")
    print(
        f"     ingest until COMMIT {steps['store']:.2f} ms ({steps['statements']:.0f} statements "
        f"{steps['db']:.2f} ms, then COMMIT {steps['commit']:.2f} ms) | COMMIT -> publish (subscribers query, "
        f"post_json) {steps['prepare']:.2f} ms | queued -> sending {steps['hop']:.2f} ms | group_send_many "
        f"{steps['loop']:.2f} ms | sent -> frame {median(stream['after_sent']) * 1000:.2f} ms"
    )


def median_steps(records: list[dict]) -> dict:
    """Medians of each step; a post whose events failed to build (the hook is robust: it logs) has no send times."""
    records = [r for r in records if "sent" in r] or [dict.fromkeys(STEP_KEYS, float("nan"))]
    return {
        "store": median([(r["commit"] - r["call"]) * 1000 for r in records]),
        "statements": median([r["statements"] for r in records]),
        "db": median([r["db"] * 1000 for r in records]),
        "commit": median([(r["commit"] - r["last_statement"]) * 1000 for r in records]),
        "prepare": median([(r["queued"] - r["commit"]) * 1000 for r in records]),
        "hop": median([(r["sending"] - r["queued"]) * 1000 for r in records]),
        "loop": median([(r["sent"] - r["sending"]) * 1000 for r in records]),
    }


# -- 3. fan-out


def print_fanout_header(more: dict, *, followers: int, reps: int) -> None:
    print(
        f"\n-- 3. fan-out: one post to a source with {followers} connected followers "
        f"({more['open']} sockets open; {more['connected']} more connected in {more['seconds']:.1f} s), "
        f"{reps} posts"
    )


def print_bare_fanout(bare_fan: dict, *, followers: int) -> None:
    labels = {"loop": f"sequential group_send x{followers}, fresh loop (before fix B)",
              "persistent": f"sequential group_send x{followers}, long-lived loop",
              "pipeline": f"group_send_many: {followers} PUBLISH pipelined",
              "onegroup": f"one group holding {followers} channels, 1 PUBLISH"}  # fmt: skip
    print(
        "   baseline: bare layer, worker -> clients process, one message to every follower's group; "
        "time until the last one is received (publish time)"
    )
    for variant, (alls, publish) in bare_fan.items():
        print(
            f"     {labels[variant]:<58} median {ms(median(alls))} ms  max {ms(max(alls))} ms   "
            f"({ms(median(publish)).strip()} ms publishing)"
        )


def print_fanout_rounds(rounds: list[dict]) -> float:
    """One line a post; returns the worst time until the last follower had it (inf if any frame was lost)."""
    print("   chorus: commit -> frame in every follower's socket")
    worst = []
    for n, rnd in enumerate(rounds, 1):
        lats = rnd["latencies"]
        rec = {**dict.fromkeys(STEP_KEYS, float("nan")), "group_sends": 0, **rnd["record"]}
        lost = rnd["followers"] - len(lats)
        last = max(lats) if lats else float("inf")
        worst.append(last if not lost else float("inf"))
        if not lats:
            print(f"     post {n}: no frame arrived (lost {lost})")
            continue
        print(f"     post {n}: p50 {ms(percentile(lats, 50))} ms  p99 {ms(percentile(lats, 99))} ms  "
              f"all {ms(last)} ms  lost {lost}   | COMMIT -> publish {ms(rec['queued'] - rec['commit']).strip()} ms,"
              f" group_send_many {ms(rec['sent'] - rec['sending']).strip()} ms for {rec['group_sends']} groups,"
              f" sent -> last frame {ms(last + rec['commit'] - rec['sent']).strip()} ms")  # fmt: skip
    return max(worst)


def print_announce_pieces(probe: dict) -> None:
    print(
        f"   pieces of _announce measured apart: subscribers query {probe['subscribers_query_ms']:.2f} ms, "
        f"post query {probe['post_query_ms']:.2f} ms, post_json {probe['post_json_ms']:.2f} ms, "
        f"msgpack serialize x{probe['subscribers']} {probe['serialize_all_ms']:.1f} ms "
        f"({probe['message_bytes']} bytes each)"
    )


def print_fanout_goal(worst: float, *, followers: int) -> None:
    print(
        f"   goal all {followers} followers within {GOAL_FANOUT_S:.0f} s: worst {worst:.3f} s: "
        f"{verdict(worst <= GOAL_FANOUT_S)}"
    )


def print_profile(path: str) -> None:
    """The web process's cProfile (``--profile-web``), once it has written it."""
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
