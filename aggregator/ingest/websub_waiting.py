"""WebSub deliveries waiting for a worker: one Redis list per subscription, taken by one task at a time.

The web process appends a verified delivery (``add``) and queues ``aggregator.tasks.store_websub_deliveries``
only when it sets the subscription's flag; the task that flag belongs to takes what waits (``drain``), up to
``BATCH`` deliveries at a time, has them stored together and removes them once they are committed, until
nothing waits; the step that removes the last ones lowers the flag (one script: nothing added meanwhile is left
without a task), and the task ends. Deliveries that arrive while a worker is busy (a hub's burst, a backlog) are
therefore stored in one transaction, and queue one broker message between them.

What may happen twice happens safely: a delivery is removed by its exact value (``LREM``) after its commit, so a
task that a lost worker's broker message runs again, or a second task after the flag ran out, stores what
another has stored already (the pipeline recognizes every post) and removes nothing it did not take. A flag
whose task never ran (a lost message, a killed worker) runs out after ``FLAG_SECONDS``; ``requeue_stranded``
(the WebSub sweep) then queues a task for what still waits. Where tasks run eagerly nothing waits here: the
delivery is stored in the request.
"""

import base64
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aggregator import jobs
from aggregator.db import shared_redis

log = logging.getLogger(__name__)

BATCH = 50  # deliveries stored in one transaction at most
FLAG_SECONDS = 120  # a task that died holding the flag delays its subscription's deliveries this long at most
TASK = "aggregator.tasks.store_websub_deliveries"


@dataclass(frozen=True, slots=True)
class Waiting:
    body: bytes
    content_type: str
    received_at: datetime


def _keys(subscription_id: int) -> tuple[str, str]:
    return (shared_redis.key(f"chorus:websub:waiting:{subscription_id}"),
            shared_redis.key(f"chorus:websub:draining:{subscription_id}"))  # fmt: skip


def add(subscription_id: int, *, body: bytes, content_type: str, received_at: datetime) -> None:
    """Keep a verified delivery for a worker; queue the task unless one holds the subscription already."""
    waiting, flag = _keys(subscription_id)
    # A unique last part: two identical deliveries stay two values (each removed once).
    value = json.dumps([base64.b64encode(body).decode("ascii"), content_type, received_at.isoformat(),
                        uuid.uuid4().hex])  # fmt: skip
    pipe = shared_redis.client().pipeline(transaction=False)
    pipe.rpush(waiting, value)
    pipe.set(flag, "1", nx=True, ex=FLAG_SECONDS)
    _, flagged = pipe.execute()
    if flagged:
        jobs.enqueue(TASK, subscription_id)


# After a batch is stored: its values removed (each once, by value), then the next batch; when nothing waits, the
# flag lowered in the same step. A script runs whole, so an ``add`` either comes before it (its value is in the
# next batch) or after it (it finds the flag down and queues a task): none is left without a task.
# KEYS: waiting, flag; ARGV: FLAG_SECONDS, BATCH, the values taken.
_NEXT = """
for i = 3, #ARGV do redis.call('LREM', KEYS[1], 1, ARGV[i]) end
local values = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if #values == 0 then redis.call('DEL', KEYS[2]) else redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return values
"""


def drain(subscription_id: int, store: Callable[[list[Waiting]], None]) -> int:
    """The task's loop: ``store`` what waits, oldest first, ``BATCH`` at a time, until nothing does (the flag is
    lowered in the step that finds nothing more). Returns how many deliveries were taken. Deliveries ``store``
    raised on are left waiting (the next delivery or the sweep queues a task for them)."""
    redis = shared_redis.client()
    waiting, flag = _keys(subscription_id)
    taken = 0
    step = redis.register_script(_NEXT)
    values = redis.lrange(waiting, 0, BATCH - 1)
    while True:
        if not values:  # nothing when the task began (a message handed twice, or its deliveries stored already)
            pipe = redis.pipeline(transaction=False)
            pipe.delete(flag)  # then one more look: a delivery added before the delete found the flag up
            pipe.llen(waiting)
            if not pipe.execute()[1] or not redis.set(flag, "1", nx=True, ex=FLAG_SECONDS):
                return taken
            values = redis.lrange(waiting, 0, BATCH - 1)
            continue
        try:
            store([_decoded(value) for value in values])
        except BaseException:
            redis.delete(flag)
            raise
        taken += len(values)
        values = step(keys=[waiting, flag], args=[FLAG_SECONDS, BATCH, *values])
        if not values:
            return taken  # the step lowered the flag: this task holds it no more


def _decoded(value: bytes) -> Waiting:
    body, content_type, received_at, _ = json.loads(value)
    return Waiting(base64.b64decode(body), content_type, datetime.fromisoformat(received_at))


def requeue_stranded(subscription_ids: list[int]) -> int:
    """Queue a task for each of these subscriptions whose deliveries wait with no task holding them (its flag ran
    out); returns how many were queued. Nothing waits where tasks run eagerly."""
    if jobs.runs_inline() or not subscription_ids:
        return 0
    redis = shared_redis.client()
    pipe = redis.pipeline(transaction=False)
    for subscription_id in subscription_ids:
        pipe.llen(_keys(subscription_id)[0])
    lengths = pipe.execute()
    queued = 0
    for subscription_id, length in zip(subscription_ids, lengths, strict=True):
        if length and redis.set(_keys(subscription_id)[1], "1", nx=True, ex=FLAG_SECONDS):
            jobs.enqueue(TASK, subscription_id)
            queued += 1
    return queued
