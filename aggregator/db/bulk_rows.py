"""Rows from Python as a table in SQL statements, for the bulk inserts of an ingest batch.

A ``RowsWrite`` is a statement whose ``{rows}`` stands for a FROM item named ``v`` holding rows sent from Python.
``execute_writes(cursor, writes)`` runs several as one statement; a ``WriteBatch`` collects the writes of an
ingest batch's matchers (replies, known posts, track matches) and sends them together when the batch is done.

On PostgreSQL each combination of statements is prepared once per database session (``PREPARE``) and every
batch is an ``EXECUTE`` with one array literal per column, ``unnest()``-ed back into rows: the server parses
the text once and plans it rarely, the arrays cost one string join each to send, and the writes of a batch
share one round trip and one executor start (a statement of its own would pay both again). Elsewhere
(SQLite) each write is its own statement with a ``VALUES`` list.

Prepared statements live in the database session: a pooler that shares one session between clients
(PgBouncer in transaction mode) or a ``DISCARD ALL`` would lose them. Chorus connects directly.
"""

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from django.db import connection

Column = tuple[str, str]  # (name, PostgreSQL type): ("post", "bigint")
Scalar = tuple[object, str]  # (value, PostgreSQL type): a parameter that is the same for every row


@dataclass(frozen=True)
class RowsWrite:
    """A statement over ``rows`` (not empty; each a value per column). ``sql`` holds ``{rows}`` once, and a ``%s``
    for each of ``scalars``, all of them before ``{rows}``. ``name`` names this text (one text per name).
    ``returning``: the statement returns rows (``RETURNING``)."""

    name: str
    sql: str
    columns: Sequence[Column]
    rows: Sequence[Sequence]
    scalars: Sequence[Scalar] = ()
    returning: bool = False


def execute_writes(cursor, writes: Sequence[RowsWrite]) -> None:
    """Run ``writes`` on a Django cursor; what the one ``returning`` write returns is read from ``cursor``.

    On PostgreSQL they are one statement: the returning write (else the last) is the statement and the others
    are its ``WITH`` queries, so they all see the database as it was before it: writes of one statement must
    not depend on each other's rows (different tables do not)."""
    if sum(write.returning for write in writes) > 1:
        raise ValueError("at most one write of a statement returns rows")
    for write in writes:
        if not write.rows:
            raise ValueError(f"statement {write.name!r}: no rows")
    ordered = sorted(writes, key=lambda write: write.returning)  # the returning one last (a stable sort)
    if cursor.db.vendor != "postgresql":
        for write in ordered:
            source, params = _values_source(cursor.db, write.columns, write.rows)
            cursor.execute(write.sql.format(rows=source), [*(value for value, _ in write.scalars), *params])
        return
    params = [param for write in ordered for param in _parameters(write)]  # bad values raise before anything is sent
    name = _prepare(cursor, ordered)
    cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)


class WriteBatch:
    """The writes of one batch, sent together by ``flush()``; after it, each write's ``then`` runs, in the order
    they were added, with the rows its write returned (``[]`` for a write that returns none)."""

    def __init__(self) -> None:
        self._writes: list[tuple[RowsWrite, Callable[[list[tuple]], None] | None]] = []

    def add(self, write: RowsWrite, *, then: Callable[[list[tuple]], None] | None = None) -> None:
        self._writes.append((write, then))

    def flush(self) -> None:
        writes, self._writes = self._writes, []
        if not writes:
            return
        with connection.cursor() as cursor:
            execute_writes(cursor, [write for write, _ in writes])
            returned = cursor.fetchall() if any(write.returning for write, _ in writes) else []
        for write, then in writes:
            if then is not None:
                then(returned if write.returning else [])


@contextmanager
def joined(writes: WriteBatch | None) -> Iterator[WriteBatch]:
    """``writes`` when the caller collects them; else a batch of one's own, flushed on leaving the block."""
    if writes is not None:
        yield writes
        return
    own = WriteBatch()
    yield own
    own.flush()


_prepared: WeakKeyDictionary = WeakKeyDictionary()  # database session -> {statement name: its writes' texts}


def _prepare(cursor, writes: Sequence[RowsWrite]) -> str:
    """The name of the prepared statement of these writes in this session, prepared now if new to it."""
    texts = tuple(write.sql for write in writes)
    names = [write.name for write in writes]
    name = names[0] if len(names) == 1 else "chorus_" + hashlib.sha1("|".join(names).encode()).hexdigest()[:24]
    known = _prepared.setdefault(cursor.db.connection, {})
    if name in known:
        if known[name] != texts:
            raise ValueError(f"statement {name!r} was prepared with another text")
        return name
    statements, types = [], []
    for write in writes:
        statements.append(_numbered(write, first=len(types) + 1))
        types += [kind for _, kind in write.scalars] + [f"{kind}[]" for _, kind in write.columns]
    *inner, outer = statements
    text = outer if not inner else "WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(inner)) + " " + outer
    cursor.execute(f"PREPARE {name} ({', '.join(types)}) AS {text}")
    known[name] = texts  # a PREPARE outlives a rollback: recorded once it ran
    return name


def _numbered(write: RowsWrite, *, first: int) -> str:
    """The write's text with ``$n`` parameters from ``first`` on: its scalars, then one array per column."""
    parts = write.sql.split("%s")
    if len(parts) != len(write.scalars) + 1 or "{rows}" not in parts[-1]:
        raise ValueError(f"statement {write.name!r}: one %s per scalar, all before {{rows}}")
    text = "".join(part + f"${n}" for n, part in enumerate(parts[:-1], start=first)) + parts[-1]
    start = first + len(write.scalars)
    arrays = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(write.columns, start=start))
    return text.format(rows=f"unnest({arrays}) AS v ({', '.join(column for column, _ in write.columns)})")


def _parameters(write: RowsWrite) -> list:
    arrays = [_array_literal(column) for column in zip(*write.rows, strict=True)]
    return [*(value for value, _ in write.scalars), *arrays]


def _array_literal(values: Sequence) -> str:
    """A PostgreSQL array literal (``{1,2,"a b"}``) of ints, datetimes, strings and None."""
    return "{" + ",".join(_element(value) for value in values) + "}"


def _element(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a timestamptz array")
        return '"' + value.isoformat() + '"'
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"no array literal for {type(value).__name__}")


def _values_source(db, columns: Sequence[Column], rows: Sequence[Sequence]) -> tuple[str, list]:
    aliases = ", ".join(f"column{n} AS {name}" for n, (name, _) in enumerate(columns, start=1))
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    adapt = db.ops.adapt_datetimefield_value
    params = [adapt(value) if isinstance(value, datetime) else value for row in rows for value in row]
    return f"(SELECT {aliases} FROM (VALUES {values})) AS v", params
