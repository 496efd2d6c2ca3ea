"""Rows from Python as a table in one SQL statement, for the bulk inserts of an ingest batch.

``rows_source(columns, rows)`` gives a FROM item named ``v`` and its parameters. On PostgreSQL it is
``unnest()`` over one array per column: the statement's text is the same whatever the batch size (a new text per
batch size costs a parse and a plan each time) and psycopg sends each column as one parameter. Elsewhere
(SQLite) it is a ``VALUES`` list.
"""

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

Column = tuple[str, str]  # (name, PostgreSQL type): ("post", "bigint")


def rows_source(columns: Sequence[Column], rows: Sequence[Sequence]) -> tuple[str, list]:
    """``(FROM item, its parameters)`` for ``rows``, each a value per column, as ``v (name, ...)``."""
    names = ", ".join(name for name, _ in columns)
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        return f"unnest({arrays}) AS v ({names})", [list(column) for column in zip(*rows, strict=True)]
    aliases = ", ".join(f"column{n} AS {name}" for n, (name, _) in enumerate(columns, start=1))
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(value) if isinstance(value, datetime) else value for row in rows for value in row]
    return f"(SELECT {aliases} FROM (VALUES {values})) AS v", params
