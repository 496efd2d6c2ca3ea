"""One model instance by primary key through a fixed statement: ``by_pk(Source, source_id)``, or with the row one of
its foreign keys points at in the same statement: ``by_pk(WebSubSubscription, pk, related="source")``.

A queryset (``filter(pk=...).first()``) runs Django's query compiler on every call, which costs more CPU than
the rest of a pushed item's work; hot paths that load one row per task use this instead. The result is what the
queryset would give (every concrete field, the database's values through the fields' converters); with
``related``, what ``select_related(related)`` gives (an inner join: no row when the related one is missing).
"""

from functools import cache
from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)

_Part = tuple[type[Model], tuple[str, ...], tuple]  # a model, its attnames, its (position, column, converters)


def _part(model: type[Model], table: str, start: int) -> _Part:
    fields = model._meta.concrete_fields
    converters = []
    for n, field in enumerate(fields, start=start):
        column = field.get_col(table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((n, column, tuple(found)))
    return model, tuple(field.attname for field in fields), tuple(converters)


@cache
def _statement(model: type[Model], related: str, vendor: str) -> tuple[str, tuple[_Part, ...]]:
    quote = connection.ops.quote_name
    table = model._meta.db_table
    columns = [f"{quote(table)}.{quote(field.column)}" for field in model._meta.concrete_fields]
    sql = f"FROM {quote(table)}"
    parts = [_part(model, table, 0)]
    if related:
        key = model._meta.get_field(related)
        other = key.related_model
        other_table = other._meta.db_table
        columns += [f"{quote(other_table)}.{quote(field.column)}" for field in other._meta.concrete_fields]
        sql += (f" JOIN {quote(other_table)} ON {quote(other_table)}.{quote(key.target_field.column)} = "
                f"{quote(table)}.{quote(key.column)}")  # fmt: skip
        parts.append(_part(other, other_table, len(model._meta.concrete_fields)))
    return f"SELECT {', '.join(columns)} {sql} WHERE {quote(table)}.{quote(model._meta.pk.column)} = %s", tuple(parts)


def by_pk(model: type[M], pk, *, related: str = "") -> M | None:
    """The row of ``model`` whose primary key is ``pk`` (None if there is none), on the default database; with
    ``related`` (a foreign key's name), the row it points at is read in the same statement and set on it."""
    sql, parts = _statement(model, related, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    instances = []
    start = 0
    for part_model, attnames, converters in parts:
        for n, column, found in converters:
            for convert in found:
                values[n] = convert(values[n], column, connection)
        instances.append(part_model.from_db(connection.alias, list(attnames), values[start : start + len(attnames)]))
        start += len(attnames)
    instance, *others = instances
    if others:
        setattr(instance, related, others[0])
    return instance
