"""One model instance by primary key through a fixed statement: ``by_pk(Source, source_id)``.

A queryset (``filter(pk=...).first()``) runs Django's query compiler on every call, which costs more CPU than
the rest of a pushed item's work; hot paths that load one row per task use this instead. The result is what the
queryset would give (every concrete field, the database's values through the fields' converters).
"""

from functools import cache
from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@cache
def _statement(model: type[Model], vendor: str) -> tuple[str, tuple[str, ...], tuple]:
    fields = model._meta.concrete_fields
    table = model._meta.db_table
    quote = connection.ops.quote_name
    sql = (f"SELECT {', '.join(quote(field.column) for field in fields)} FROM {quote(table)} "
           f"WHERE {quote(model._meta.pk.column)} = %s")  # fmt: skip
    converters = []
    for n, field in enumerate(fields):
        column = field.get_col(table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((n, column, tuple(found)))
    return sql, tuple(field.attname for field in fields), tuple(converters)


def by_pk(model: type[M], pk) -> M | None:
    """The row of ``model`` whose primary key is ``pk`` (None if there is none), on the default database."""
    sql, attnames, converters = _statement(model, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for n, column, found in converters:
        for convert in found:
            values[n] = convert(values[n], column, connection)
    return model.from_db(connection.alias, list(attnames), values)
