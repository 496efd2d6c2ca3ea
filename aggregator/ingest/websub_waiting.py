"""WebSub deliveries waiting for a worker: one Redis list per subscription, stored by a few drainer tasks.

The web process appends a verified delivery (``add``). The first delivery that finds its subscription's flag
down raises it and puts the subscription in the runnable list; a subscription is there (or being stored) at most
once while its flag is up. A drainer (``aggregator.tasks.drain_websub_deliveries``) takes the runnable
subscriptions in turn (``run_drainer``): up to ``BATCH`` of a subscription's deliveries stored in one
transaction and removed once committed, then the subscription goes to the back of the list if more waits, or its
flag is lowered (one script: nothing added meanwhile is left without a drainer). At most
``CHORUS_WEBSUB_DRAINERS`` drainers hold a slot at a time: ``add`` queues a drainer task only when it raised a
flag and a slot is free. A steady stream of deliveries for many subscriptions therefore costs a few broker
messages, not one a delivery (the message, the worker's hand-over to a pool process and its acknowledgement cost
more than a small delivery's storing). A drainer hands over to a new task of its own after ``SLICE_SECONDS``, so
the worker's other tasks, queued meanwhile, run first; when nothing is runnable it waits ``LINGER_SECONDS`` for
more (a blocking pop: the deliveries of a steady stream then queue no task at all), and gives its slot up in
the step that finds nothing runnable after that.

What may happen twice happens safely: a delivery is removed by its exact value (``LREM``) after its commit, so
a drainer that a lost worker's broker message runs again, or one that runs after a flag ran out, stores what
another has stored already (the pipeline recognizes every post) and removes nothing it did not take. A flag or a
slot whose task died (a lost message, a killed worker) runs out after ``FLAG_SECONDS``; ``requeue_stranded``
(the WebSub sweep) then makes the waiting deliveries runnable again. Where tasks run eagerly nothing waits here:
the delivery is stored in the request.
"""

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from aggregator import jobs
from aggregator.db import shared_redis

log = logging.getLogger(__name__)

BATCH = 50  # deliveries stored in one transaction at most
FLAG_SECONDS = 120  # a task that died holding a flag or a slot delays deliveries this long at most
SLICE_SECONDS = 2.0  # a drainer's turn of the worker: then its successor queues behind the other tasks
# How long a drainer with nothing runnable waits for more before it gives its slot up: at a steady rate a few tasks
# store every delivery; idle, a pool process is held this long after the last one. Below the client's 1 s timeout.
LINGER_SECONDS = 0.5
DRAIN_TASK = "aggregator.tasks.drain_websub_deliveries"

Store = Callable[[int, list["Waiting"]], None]  # (subscription id, its deliveries): stored in one transaction


@dataclass(frozen=True, slots=True)
class Waiting:
    body: bytes
    content_type: str
    received_at: datetime


def _keys(subscription_id: int) -> tuple[str, str]:
    return (shared_redis.key(f"chorus:websub:waiting:{subscription_id}"),
            shared_redis.key(f"chorus:websub:draining:{subscription_id}"))  # fmt: skip


def _shared_keys() -> tuple[str, str]:
    return shared_redis.key("chorus:websub:runnable"), shared_redis.key("chorus:websub:drainers")


# A drainer's slot: the drainers' sorted set holds each slot's token, scored by the time it runs out. Slots run
# out first, then one is taken when fewer than the limit are held; 1 when it was (the caller queues its task).
# KEYS[4]: drainers; ARGV[1]: now, ARGV[2]: FLAG_SECONDS, ARGV[3]: the limit, ARGV[4]: the new slot's token.
_TAKE_SLOT = """
local function take_slot()
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[3]) then return false end
  redis.call('ZADD', KEYS[4], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
  return 1
end
"""

# A delivery kept: its subscription made runnable when its flag was down, and a drainer's slot taken if one is
# free. KEYS: waiting, flag, runnable, drainers; ARGV: now, FLAG_SECONDS, limit, token, the value, the id.
_ADD = _TAKE_SLOT + """
redis.call('RPUSH', KEYS[1], ARGV[5])
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return false end
redis.call('RPUSH', KEYS[3], ARGV[6])
return take_slot()
"""

# A drainer's next subscription, its slot kept up; or none, its slot kept up too or (ARGV[4] is 1) given up in the
# same step, so a subscription made runnable after it finds a slot free and queues a drainer.
# KEYS: runnable, drainers; ARGV: now, FLAG_SECONDS, the drainer's token, give up (1 or 0).
_NEXT_SUBSCRIPTION = """
local id = redis.call('LPOP', KEYS[1])
if not id and ARGV[4] == '1' then redis.call('ZREM', KEYS[2], ARGV[3]) return false end
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[3])
return id
"""

# After a batch is stored: its values removed (each once, by value); when nothing more waits, the flag lowered in
# the same step, else the subscription put back at the end of the runnable list (when ARGV[2] is 1) and its flag
# kept up. Returns whether more waits. An ``add`` either comes before it (its value waits in the list) or after it
# (it finds the flag down): none is left without a drainer.
# KEYS: waiting, flag, runnable; ARGV: FLAG_SECONDS, requeue (1 or 0), the id, the values taken.
_BATCH_DONE = """
for i = 4, #ARGV do redis.call('LREM', KEYS[1], 1, ARGV[i]) end
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[1])
if ARGV[2] == '1' then redis.call('RPUSH', KEYS[3], ARGV[3]) end
return 1
"""

# The hand-over at the end of a drainer's turn: its slot given up when nothing is runnable (returns 0), else kept
# up for the successor the caller queues (1). KEYS: runnable, drainers; ARGV: now, FLAG_SECONDS, the token.
_HAND_OVER = """
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[3]) return 0 end
redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[3])
return 1
"""

# A subscription whose deliveries wait without a flag (it ran out) made runnable; a slot taken when something is
# runnable and no drainer holds one (those that do will come to it; the slots of those that died run out).
# KEYS: waiting, flag, runnable, drainers; ARGV: now, FLAG_SECONDS, limit, token, the id. Returns the slot's 1.
_STRANDED = _TAKE_SLOT + """
if redis.call('LLEN', KEYS[1]) > 0 and redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  redis.call('RPUSH', KEYS[3], ARGV[5])
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[1])
if redis.call('LLEN', KEYS[3]) == 0 or redis.call('ZCARD', KEYS[4]) > 0 then return false end
return take_slot()
"""


def _slot_args(token: str | None = None) -> list:
    return [time.time(), FLAG_SECONDS, settings.CHORUS_WEBSUB_DRAINERS, token or uuid.uuid4().hex]


def add(subscription_id: int, *, body: bytes, content_type: str, received_at: datetime) -> None:
    """Keep a verified delivery for a drainer; queue one when this delivery made its subscription runnable and
    fewer than ``CHORUS_WEBSUB_DRAINERS`` hold a slot."""
    # A unique last part: two identical deliveries stay two values (each removed once).
    value = json.dumps([base64.b64encode(body).decode("ascii"), content_type, received_at.isoformat(),
                        uuid.uuid4().hex])  # fmt: skip
    args = _slot_args()
    if shared_redis.script(_ADD)(keys=[*_keys(subscription_id), *_shared_keys()], args=[*args, value, subscription_id]):
        jobs.enqueue(DRAIN_TASK, args[3])


def run_drainer(token: str, store: Store, *, slice_seconds: float = SLICE_SECONDS) -> int:
    """The drainer's turn: the runnable subscriptions in turn, one batch each, until none has been runnable for
    ``LINGER_SECONDS`` (its slot given up) or ``slice_seconds`` have passed (a successor queued with the same
    slot). Returns how many deliveries were taken. Deliveries ``store`` raised on are left waiting (with their
    flag lowered: the next delivery or the sweep makes them runnable again), and the turn ends there (a successor
    queued for the rest)."""
    runnable, drainers = _shared_keys()
    next_subscription = shared_redis.script(_NEXT_SUBSCRIPTION)
    ends_at = time.monotonic() + slice_seconds
    taken = 0
    while True:
        found = next_subscription(keys=[runnable, drainers], args=[time.time(), FLAG_SECONDS, token, 0])
        if found is None:  # wait a little for the next: an add finds the slot held and queues no task
            popped = shared_redis.client().blpop([runnable], timeout=LINGER_SECONDS)
            found = popped[1] if popped else None
        if found is None:
            found = next_subscription(keys=[runnable, drainers], args=[time.time(), FLAG_SECONDS, token, 1])
            if found is None:
                return taken
        try:
            taken += _one_batch(int(found), store, requeue=True)[0]
        except BaseException:
            _hand_over(token)
            raise
        if time.monotonic() >= ends_at:
            _hand_over(token)
            return taken


def _hand_over(token: str) -> None:
    """The end of a drainer's turn: a successor queued with its slot when something is runnable, else the slot
    given up."""
    if shared_redis.script(_HAND_OVER)(keys=list(_shared_keys()), args=[time.time(), FLAG_SECONDS, token]):
        jobs.enqueue(DRAIN_TASK, token)


def drain(subscription_id: int, store: Store) -> int:
    """One subscription's deliveries stored until none waits (its flag lowered in the step that finds nothing
    more): the task that earlier versions queued for each subscription, still in a broker at an upgrade."""
    taken, more = 0, True
    while more:
        count, more = _one_batch(subscription_id, store, requeue=False)
        taken += count
    return taken


def _one_batch(subscription_id: int, store: Store, *, requeue: bool) -> tuple[int, bool]:
    """Up to ``BATCH`` of the deliveries waiting for the subscription stored and removed: (how many, whether more
    waits). With ``requeue`` the subscription goes back to the runnable list when more waits."""
    redis = shared_redis.client()
    waiting, flag = _keys(subscription_id)
    values = redis.lrange(waiting, 0, BATCH - 1)
    if not values:  # a message handed twice, or its deliveries stored already
        redis.delete(flag)
        requeue_stranded([subscription_id])  # one more look: a delivery added before the delete saw the flag up
        return 0, False
    try:
        store(subscription_id, [_decoded(value) for value in values])
    except BaseException:
        redis.delete(flag)
        raise
    more = shared_redis.script(_BATCH_DONE)(keys=[waiting, flag, _shared_keys()[0]],
                                            args=[FLAG_SECONDS, int(requeue), subscription_id, *values])  # fmt: skip
    return len(values), bool(more)


def _decoded(value: bytes) -> Waiting:
    body, content_type, received_at, _ = json.loads(value)
    return Waiting(base64.b64decode(body), content_type, datetime.fromisoformat(received_at))


def requeue_stranded(subscription_ids: list[int]) -> int:
    """Make runnable each of these subscriptions whose deliveries wait with no flag up (it ran out), and queue a
    drainer when something is runnable and none holds a slot (the slots of drainers that died run out); returns
    how many drainers were queued. Nothing waits where tasks run eagerly."""
    if jobs.runs_inline() or not subscription_ids:
        return 0
    pipe = shared_redis.client().pipeline(transaction=False)
    for subscription_id in subscription_ids:
        pipe.llen(_keys(subscription_id)[0])
    waiting = [n for n, length in zip(subscription_ids, pipe.execute(), strict=True) if length]
    stranded = shared_redis.script(_STRANDED)
    queued = 0
    for subscription_id in waiting:  # what is runnable waits too: one of these takes a slot if none is held
        args = _slot_args()
        if stranded(keys=[*_keys(subscription_id), *_shared_keys()], args=[*args, subscription_id]):
            jobs.enqueue(DRAIN_TASK, args[3])
            queued += 1
    return queued
