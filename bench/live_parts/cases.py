"""The parent's side of each case: the commands it sends to the workers and the clients, and the figures it
makes of their answers (times are ``time.time()`` of the same host: one clock)."""

import time
import uuid

from live_parts.processes import Child


def run_baseline(worker: Child, clients: Child, *, rate: int, seconds: float, shape: list[list[int]]) -> dict:
    """Bare layer, worker process -> clients process: one group, then the stream's fan-out shape (on the worker's
    long-lived loop, then through async_to_sync per message). Per case: (latencies, sent, received, CPU/message)."""
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
    followers = data["follow_map"]
    expected = sum(len(followers[r["source"]]) * len(r["ids"]) for r in records)
    got = clients.request({"cmd": "wait", "expect": {pid: len(followers[r["source"]]) for r in records for pid in r["ids"]},
                           "timeout": 5.0})  # fmt: skip
    frames = {int(pid): received for pid, received in got["frames"].items()}
    latencies, after_sent = [], []
    for record in records:
        for pid in record["ids"]:
            for _, received in frames.get(pid, []):
                latencies.append(received - record["commit"])
                after_sent.append(received - record.get("sent", float("nan")))
    first = min(r["call"] for r in records)
    last = max(r["return"] for r in records)
    return {"records": records, "latencies": latencies, "after_sent": after_sent, "expected": expected,
            "received": len(latencies), "seconds": last - first, "posts": sum(len(r["ids"]) for r in records),
            "other": got["other"]}  # fmt: skip


def run_fanout(worker: Child, clients: Child, data: dict, *, reps: int) -> list[dict]:
    """One post at a time to the fan-out source; commit -> frame in each follower's socket."""
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
    """The bare layer, one message to ``groups`` groups, four ways: variant -> (until the last receipt, publishing)."""
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
