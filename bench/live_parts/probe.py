"""The worker's timestamps of one ingest call: when its statements ran, when it committed, when its live events
were queued for the publisher and when the publisher handed them to the channel layer.

Nothing of the project is replaced: the statements are seen through Django's ``connection.execute_wrapper``,
the commit through an ``on_commit`` hook of our own, and the events through the publisher's public timing hook
``aggregator.events.observe``. ``publish`` queues and the publisher thread sends later, maybe several posts'
messages in one batch: each message is traced back to its ingest call by the identity of its event dict."""

import time


class Probe:
    """Set ``current`` to a fresh record around each ingest call (and run the call inside
    ``connection.execute_wrapper(probe.statement)``); the record then gets:
    ``statements``, ``db`` (seconds in them), ``last_statement``, ``commit`` (just after the COMMIT),
    ``queued`` (its events handed to ``publish``), ``sending`` and ``sent`` (the publisher's
    ``group_send_many`` of the batch they left in) and ``group_sends`` (that batch's size)."""

    def __init__(self) -> None:
        self.current: dict | None = None
        self.by_event: dict[int, dict] = {}  # id(event dict) -> its record, until its batch has been sent

    def start(self):
        """Observe the publisher; returns the function that stops it."""
        from aggregator import events

        return events.observe(self)

    # -- aggregator.events.observe: the Observer protocol

    def queued(self, batch) -> None:
        """The sender's thread, inside ``publish``: the events of the current ingest call (after its commit)."""
        record = self.current
        if record is None:
            return
        record["queued"] = time.time()
        for _, message in batch:
            event = message.get("event")
            if event is not None:
                self.by_event[id(event)] = record

    def sent(self, batch, *, started: float, ended: float, ok: bool) -> None:
        """The publisher's thread, after ``group_send_many``: stamp the records whose events were in it."""
        records = {}
        for _, message in batch:
            record = self.by_event.pop(id(message.get("event")), None)
            if record is not None:
                records[id(record)] = record
        for record in records.values():
            record.update(sending=started, sent=ended, group_sends=len(batch))

    # -- connection.execute_wrapper

    def statement(self, execute, sql, params, many, context):
        """Times the transaction's statements; at its first, registers an on_commit hook ahead of the events'."""
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
