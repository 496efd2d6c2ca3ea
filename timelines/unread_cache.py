"""A person's unread counts per source, kept between page loads and carried through the writes that change them.

Counting is a ``COUNT ... GROUP BY source`` over the person's unread rows: it costs by how much is unread (tens of
milliseconds over hundreds of thousands of rows), and every timeline page, unread API call and ``unread.counts``
event asks for it. So the counts are counted once, when none are kept (``counts()``), and then kept up to date:

- **Deltas.** A write whose change to the counts is known exactly (a post fanned out to its followers: +n on its
  source for each follower it was added for; marking posts read or unread: -1/+1 on each post's source) runs inside
  ``changing()`` and says so (``Change.add``); once its transaction commits, the kept counts take the change.
  Every writer of unread rows does so: fan-out, backfill, withdrawal of a source or of retracted posts, read and
  unread, marking all read (each statement returns the rows it changed, so the change is exact).
- **Drops.** A write that cannot say its change calls ``changed()``: the kept counts are dropped, and the next
  reader counts again.
- **Age.** Counts kept longer than ``REFRESH_AFTER`` seconds are still shown, and a worker counts them again in
  the background (``recount``, once at a time per person), so a write that bypassed this module (SQL by hand, a
  cascade) is seen within that time without a reader waiting for the count. Counts no one read for
  ``KEPT_SECONDS`` are forgotten. Only a person with no kept counts at all (their first page, or after Redis lost
  them) waits for a count.

In production the counts are a Redis hash per person (every process shares them; a delta is ``HINCRBY`` on a hash
that exists, in one script for all the people of a write, one round trip after the commit); the embedded hub,
one process without Redis, keeps the same structures in memory (``_Local``).

**The race with a recount.** A count runs over a snapshot of the database, while deltas arrive after their
commits: a count that already saw a write must not be kept if that write's delta is still to come (it would be
counted twice), nor one that missed a write whose delta has gone already (the delta would be lost). So each person
has a generation, raised after every delta and drop, and a set of pending writes (marked before their commit,
cleared with their delta; a mark runs out after ``PENDING_SECONDS``, for a transaction that rolled back). A count
is kept only if, when it is stored, the generation is the one read before counting and nothing is pending; else
it is used for that page and not kept. A drop needs no pending mark: it drops before and after its commit, and a
count kept in between is dropped by the second.

A write's own transaction, before its commit, counts again rather than read counts that lack its change.

The writers: fan-out, backfill and withdrawal (``timelines/delivery.py``), read state (``timelines/services.py``),
blocks (``timelines/blocks.py``). Retention deletes only rows no one has unread.

**Blocks.** A river leaves out what the person's blocks hide, at read time, and so must the counts. Counting the
hidden rows means testing every unread row's post against the blocks (seconds over hundreds of thousands of
rows), so for a person who blocks anything the hidden unread posts per source are kept beside the counts of every
unread row, and the counts shown are the difference. Fan-out tells the hidden ones it adds (it tests each new post
against its followers' blocks, as the live events do), and reading or unreading single posts tells theirs. Writes
that change what is hidden without knowing how much (a block made or undone, marking all read, following,
unfollowing or a retraction, for a person who blocks anything) ask a worker to count again
(``Change.count_again``, ``recount_after_commit``); the kept counts are shown meanwhile, never below zero.
"""

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction

from aggregator import jobs
from aggregator.db import shared_redis

REFRESH_AFTER = 600  # seconds after a count that a worker counts again, the kept counts shown meanwhile
KEPT_SECONDS = 7 * 24 * 3600  # kept counts no page read for this long are forgotten
RECOUNT_CLAIM_SECONDS = 60  # one background recount per person at a time (a lost job is asked again after this)
PENDING_SECONDS = 180  # a pending mark outlives any transaction (Celery's hard time limit); then it runs out
GENERATION_SECONDS = 24 * 3600  # a generation outlives any count that could compare with it

_MARKER = "_"  # the field of the count as counted: every kept hash has it, a kept "nothing unread" too
_HIDDEN = "_h"  # the field of the hidden count as counted (``[]`` for a person who blocks nothing)
_COUNTED_AT = "_at"  # the field of when it was counted (Unix time)
_HIDDEN_PREFIX = "h"  # a delta field of the hidden count: ``h<source id>``; ``<source id>`` for every row

_mine = threading.local()  # the people this thread's open transaction changed: its own reads count again


class Change:
    """The exact changes of one write to people's unread counts, taken by the kept counts after the commit."""

    def __init__(self) -> None:
        self.deltas: dict[int, Counter[int | str]] = {}
        self.recount: set[int] = set()
        self.token = uuid.uuid4().hex

    def add(self, *, user_id: int, source_id: int, delta: int, hidden: bool = False) -> None:
        """``user_id`` has ``delta`` more (or fewer) unread posts of ``source_id``; with ``hidden``: more (or fewer)
        unread posts of it that their blocks hide (told besides the change of all their unread posts)."""
        if delta:
            key = f"{_HIDDEN_PREFIX}{source_id}" if hidden else source_id
            self.deltas.setdefault(user_id, Counter())[key] += delta

    def count_again(self, user_id: int) -> None:
        """The write changed what ``user_id``'s blocks hide in a way it cannot tell: after the commit, a worker
        counts their unread posts again (their kept counts are shown meanwhile)."""
        self.recount.add(user_id)


@contextmanager
def changing() -> Iterator[Change]:
    """Run a write of unread rows whose changes are known exactly and add them to the yielded ``Change``. The
    block runs in a transaction (the caller's, if any): the people it changed are marked pending before the
    commit, and their kept counts take the change after it."""
    change = Change()
    with transaction.atomic(savepoint=False):
        yield change
        if change.deltas:
            _store().mark_pending(list(change.deltas), token=change.token)
            _note_mine(change.deltas)
            transaction.on_commit(lambda: _apply(change), robust=True)
        for user_id in sorted(change.recount):
            recount_after_commit(user_id=user_id)


def _apply(change: Change) -> None:
    _store().apply(change.deltas, token=change.token)
    _forget_mine(change.deltas)


def recount_after_commit(*, user_id: int) -> None:
    """Once the transaction commits, a worker counts the person's unread posts again (``recount``): for writes
    that change what their blocks hide (a block made or undone). Their kept counts are shown meanwhile."""
    jobs.enqueue_on_commit("aggregator.tasks.recount_unread", user_id)


def changed(*, user_ids: Iterable[int]) -> None:
    """These people's unread rows changed in a way not told as deltas (or will, when the transaction commits):
    drop their kept counts now and again after the commit."""
    ids = sorted(set(user_ids))
    if ids:
        _store().drop(ids)
        _note_mine(ids)

        def after() -> None:
            _store().drop(ids, advance=True)
            _forget_mine(ids)

        transaction.on_commit(after, robust=True)


Count = Callable[[], dict[int, int]]


def counts(*, user_id: int, count: Count, count_hidden: Count | None = None) -> dict[int, int]:
    """The person's unread counts per source that their river shows (sources with none left out): the kept ones,
    or ``count()``, kept if no write raced it. ``count_hidden``, for a person who blocks anything: the unread posts
    per source that their blocks hide (``count()`` counts every unread row), subtracted. Kept counts older than
    ``REFRESH_AFTER`` are returned as they are, and a background ``recount`` is queued."""
    if user_id in _changed_here():
        return _shown(count(), count_hidden() if count_hidden else {})
    store = _store()
    every, hidden, generation, counted_at = store.read(user_id)
    if every is None:
        every, hidden = count(), count_hidden() if count_hidden else {}
        store.keep(user_id, every, hidden, generation=generation)
    elif time.time() - counted_at > REFRESH_AFTER and store.claim_recount(user_id):
        jobs.enqueue("aggregator.tasks.recount_unread", user_id)
    return _shown(every, hidden if count_hidden else {})


def _shown(every: dict[int, int], hidden: dict[int, int]) -> dict[int, int]:
    shown = {source_id: n - hidden.get(source_id, 0) for source_id, n in every.items()}
    return {source_id: n for source_id, n in shown.items() if n > 0}


def recount(*, user_id: int, count: Count, count_hidden: Count | None = None) -> None:
    """Count again (``count()``, ``count_hidden()`` as ``counts`` takes them) and keep the result, unless a write
    raced it (the background refresh)."""
    store = _store()
    _, _, generation, _ = store.read(user_id)
    store.keep(user_id, count(), count_hidden() if count_hidden else {}, generation=generation)
    store.release_recount(user_id)


def _changed_here() -> set[int]:
    """The people this thread's open transaction changed (none outside a transaction)."""
    mine = getattr(_mine, "users", None)
    if mine is None:
        mine = _mine.users = set()
    if not connection.in_atomic_block:
        mine.clear()  # left by a transaction that rolled back
    return mine


def _note_mine(user_ids: Iterable[int]) -> None:
    if connection.in_atomic_block:
        _changed_here().update(user_ids)


def _forget_mine(user_ids: Iterable[int]) -> None:
    _changed_here().difference_update(user_ids)


class _Redis:
    """Per person: a hash of the kept counts (``_MARKER``: the count as counted, a JSON list of source id, count,
    ...; a field per source that deltas changed since: the change), the generation (an integer), and the pending
    writes (a sorted set of tokens by the time their mark runs out). A page reads a few fields, not one per source."""

    # Keep a count only if the generation is the one read before counting and nothing is pending.
    KEEP = """
    local generation = redis.call('GET', KEYS[2]) or ''
    if generation ~= ARGV[1] then return 0 end
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
    if redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
    redis.call('DEL', KEYS[1])
    redis.call('HSET', KEYS[1], ARGV[5], ARGV[4], ARGV[6], ARGV[2], ARGV[7], ARGV[8])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return 1
    """
    # A write's people (ARGV[5...]), marked pending: one call for any number of people (keys named from the
    # prefix here, as in ``_keys``), so a fan-out to a thousand followers is one round trip and no per-key work
    # in Python.
    MARK = """
    local prefix, token, runs_out, seconds = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
    for i = 5, #ARGV do
        local pending = prefix .. 'unread-counts-pending:' .. ARGV[i]
        redis.call('ZADD', pending, runs_out, token)
        redis.call('EXPIRE', pending, seconds)
    end
    return 1
    """
    # Per person ([user id, source id, change, source id, change, ...]): the change on a kept hash, a new
    # generation, the pending mark cleared.
    APPLY = """
    local prefix, token, seconds = ARGV[1], ARGV[2], ARGV[3]
    local deltas = cjson.decode(ARGV[4])
    for _, person in ipairs(deltas) do
        local id = tostring(person[1])
        local counts = prefix .. 'unread-counts-kept:' .. id
        local generation = prefix .. 'unread-counts-generation:' .. id
        if redis.call('EXISTS', counts) == 1 then
            for j = 2, #person, 2 do redis.call('HINCRBY', counts, person[j], person[j + 1]) end
        end
        redis.call('INCR', generation)
        redis.call('EXPIRE', generation, seconds)
        redis.call('ZREM', prefix .. 'unread-counts-pending:' .. id, token)
    end
    return 1
    """

    def __init__(self) -> None:
        client = shared_redis.client()
        self._keep = client.register_script(self.KEEP)
        self._apply = client.register_script(self.APPLY)
        self._mark = client.register_script(self.MARK)

    @staticmethod
    def _keys(user_id: int) -> tuple[str, str, str]:
        prefix = shared_redis.key("")  # as the scripts name them
        return (f"{prefix}unread-counts-kept:{user_id}", f"{prefix}unread-counts-generation:{user_id}",
                f"{prefix}unread-counts-pending:{user_id}")  # fmt: skip

    def read(self, user_id: int) -> tuple[dict[int, int] | None, dict[int, int], str, float]:
        counts, generation, _ = self._keys(user_id)
        pipe = shared_redis.client().pipeline(transaction=False)
        pipe.hgetall(counts)
        pipe.expire(counts, KEPT_SECONDS)  # read counts stay kept
        pipe.get(generation)
        fields, _, number = pipe.execute()
        every, hidden, counted_at = None, {}, 0.0
        if fields:
            fields = {name.decode(): value for name, value in fields.items()}
            counted_at = float(fields.pop(_COUNTED_AT, 0))
            every, hidden = _pairs(fields.pop(_MARKER)), _pairs(fields.pop(_HIDDEN, b"[]"))
            for name, delta in fields.items():
                changed = hidden if name.startswith(_HIDDEN_PREFIX) else every
                source_id = int(name.removeprefix(_HIDDEN_PREFIX))
                changed[source_id] = changed.get(source_id, 0) + int(delta)
        return every, hidden, number.decode() if number is not None else "", counted_at

    def keep(self, user_id: int, every: dict[int, int], hidden: dict[int, int], *, generation: str) -> None:
        self._keep(keys=self._keys(user_id), args=[generation, time.time(), KEPT_SECONDS, _flat(every), _MARKER,
                                                   _COUNTED_AT, _HIDDEN, _flat(hidden)])  # fmt: skip

    @staticmethod
    def claim_recount(user_id: int) -> bool:
        return bool(shared_redis.client().set(shared_redis.key(f"unread-counts-recount:{user_id}"), 1, nx=True,
                                              ex=RECOUNT_CLAIM_SECONDS))  # fmt: skip

    @staticmethod
    def release_recount(user_id: int) -> None:
        shared_redis.client().delete(shared_redis.key(f"unread-counts-recount:{user_id}"))

    def mark_pending(self, user_ids: list[int], *, token: str) -> None:
        self._mark(args=[shared_redis.key(""), token, time.time() + PENDING_SECONDS, PENDING_SECONDS, *user_ids])

    def apply(self, deltas: dict[int, Counter[int | str]], *, token: str) -> None:
        people = [[user_id, *(x for field, n in by_source.items() if n for x in (str(field), n))]
                  for user_id, by_source in deltas.items()]  # fmt: skip
        self._apply(args=[shared_redis.key(""), token, GENERATION_SECONDS, json.dumps(people)])

    def drop(self, user_ids: list[int], *, advance: bool = False) -> None:
        pipe = shared_redis.client().pipeline(transaction=False)
        for user_id in user_ids:
            counts, generation, _ = self._keys(user_id)
            pipe.delete(counts)
            if advance:
                pipe.incr(generation)
                pipe.expire(generation, GENERATION_SECONDS)
        pipe.execute()


class _Local:
    """The same structures in this process's memory, for the embedded hub (one process, no Redis)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[int, tuple[float, Counter[int | str]]] = {}  # user id -> (counted at, counts)
        self._recounting: dict[int, float] = {}  # user id -> claimed until
        self._generations: Counter[int] = Counter()
        self._pending: dict[int, dict[str, float]] = {}  # user id -> {token: runs out at}

    def read(self, user_id: int) -> tuple[dict[int, int] | None, dict[int, int], str, float]:
        with self._lock:
            counted_at, kept = self._counts.get(user_id, (0.0, None))
            every, hidden = None, {}
            if kept is not None and counted_at > time.time() - KEPT_SECONDS:
                every = {k: n for k, n in kept.items() if isinstance(k, int)}
                hidden = {int(k.removeprefix(_HIDDEN_PREFIX)): n for k, n in kept.items() if isinstance(k, str)}
            return every, hidden, str(self._generations[user_id]), counted_at

    def keep(self, user_id: int, every: dict[int, int], hidden: dict[int, int], *, generation: str) -> None:
        now = time.time()
        with self._lock:
            pending = {t: until for t, until in self._pending.get(user_id, {}).items() if until > now}
            self._pending[user_id] = pending
            if str(self._generations[user_id]) == generation and not pending:
                kept = Counter({**every, **{f"{_HIDDEN_PREFIX}{k}": n for k, n in hidden.items()}})
                self._counts[user_id] = (now, kept)

    def claim_recount(self, user_id: int) -> bool:
        now = time.time()
        with self._lock:
            if self._recounting.get(user_id, 0.0) > now:
                return False
            self._recounting[user_id] = now + RECOUNT_CLAIM_SECONDS
            return True

    def release_recount(self, user_id: int) -> None:
        with self._lock:
            self._recounting.pop(user_id, None)

    def mark_pending(self, user_ids: list[int], *, token: str) -> None:
        with self._lock:
            for user_id in user_ids:
                self._pending.setdefault(user_id, {})[token] = time.time() + PENDING_SECONDS

    def apply(self, deltas: dict[int, Counter[int | str]], *, token: str) -> None:
        with self._lock:
            for user_id, by_source in deltas.items():
                if user_id in self._counts:
                    self._counts[user_id][1].update(by_source)
                self._generations[user_id] += 1
                self._pending.get(user_id, {}).pop(token, None)

    def drop(self, user_ids: list[int], *, advance: bool = False) -> None:
        with self._lock:
            for user_id in user_ids:
                self._counts.pop(user_id, None)
                if advance:
                    self._generations[user_id] += 1


def _flat(counts: dict[int, int]) -> str:
    return json.dumps([x for source_id, n in counts.items() for x in (source_id, n)])


def _pairs(flat: bytes) -> dict[int, int]:
    items = iter(json.loads(flat))
    return dict(zip(items, items, strict=True))


_stores: dict[str, _Redis | _Local] = {}


def _store() -> _Redis | _Local:
    """Redis where the hub has one (``REDIS_URL``), else this process's memory."""
    url = settings.REDIS_URL
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = _Redis() if url else _Local()
    return store
