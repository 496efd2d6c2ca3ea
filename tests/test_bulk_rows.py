"""aggregator.bulk_rows: rows from Python as one statement's table, prepared once per session on PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from django.db.utils import ConnectionHandler

from aggregator.bulk_rows import execute_over_rows

COLUMNS = [("n", "bigint"), ("word", "text"), ("at", "timestamptz")]
ECHO = "SELECT %s, v.n, v.word, v.at FROM {rows} ORDER BY v.n"
AWKWARD = ['say "hi"', "back\\slash", "a,b", "{braces}", "NULL", "", "it's", "ünï 字 🙂", "two\nlines", " pad "]


def rows_of(words: list[str | None]) -> list[tuple]:
    start = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=UTC)
    return [(n, word, start + timedelta(minutes=n)) for n, word in enumerate(words)]


def echo(cursor, rows: list[tuple], *, name: str = "chorus_test_echo") -> list[tuple]:
    execute_over_rows(cursor, name=name, sql=ECHO, columns=COLUMNS, rows=rows, scalars=[("tag", "text")])
    return [(n, word, at) for tag, n, word, at in cursor.fetchall() if tag == "tag"]


@pytest.mark.django_db
def test_every_value_comes_back_as_it_was_sent():
    rows = rows_of([*AWKWARD, None]) + [(2**62, "big", datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))))]
    with connection.cursor() as cursor:
        assert echo(cursor, rows) == rows


@pytest.mark.django_db
def test_the_statement_is_prepared_once_a_session_and_again_in_a_new_one():
    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_prepared_statements WHERE name = 'chorus_test_echo'")
            return [name for (name,) in cursor.fetchall()]

    with connection.cursor() as cursor:
        assert echo(cursor, rows_of(["a"])) == rows_of(["a"])
    with pytest.raises(ZeroDivisionError), transaction.atomic():  # a PREPARE outlives the rollback
        with connection.cursor() as cursor:
            assert echo(cursor, rows_of(["b", "c"])) == rows_of(["b", "c"])
        raise ZeroDivisionError
    assert prepared() == ["chorus_test_echo"]
    with connection.cursor() as cursor:
        statements = []
        with connection.execute_wrapper(lambda run, sql, *args: statements.append(sql) or run(sql, *args)):
            assert echo(cursor, rows_of(["d"])) == rows_of(["d"])
        assert [sql.split()[0] for sql in statements] == ["EXECUTE"]


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_it_again():
    with connection.cursor() as cursor:
        assert echo(cursor, rows_of(["a"])) == rows_of(["a"])
    connection.close()
    with connection.cursor() as cursor:
        assert echo(cursor, rows_of(["b"])) == rows_of(["b"])


@pytest.mark.django_db
def test_misuse_is_refused_before_anything_is_sent():
    with connection.cursor() as cursor:
        echo(cursor, rows_of(["a"]), name="chorus_test_named")
        with pytest.raises(ValueError, match="another text"):
            execute_over_rows(cursor, name="chorus_test_named", sql=ECHO + " DESC", columns=COLUMNS,
                              rows=rows_of(["a"]), scalars=[("tag", "text")])  # fmt: skip
        with pytest.raises(ValueError, match="one %s per scalar"):
            execute_over_rows(cursor, name="chorus_test_scalars", sql=ECHO, columns=COLUMNS, rows=rows_of(["a"]))
        with pytest.raises(ValueError, match="no rows"):
            echo(cursor, [])
        with pytest.raises(TypeError, match="no array literal for float"):
            echo(cursor, [(1.5, "a", datetime.now(UTC))], name="chorus_test_float")
        with pytest.raises(ValueError, match="naive datetime"):
            echo(cursor, [(1, "a", datetime(2026, 1, 1))], name="chorus_test_naive")


def test_on_sqlite_it_is_a_values_list(tmp_path, django_db_blocker):
    sqlite = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": tmp_path / "rows.db"}})
    with django_db_blocker.unblock():  # a database of this test's own, not the suite's
        with sqlite["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE t (n integer, word text, at text)")
            execute_over_rows(cursor, name="chorus_test_insert", sql="INSERT INTO t SELECT v.n, v.word, v.at FROM {rows}",
                              columns=COLUMNS, rows=rows_of(AWKWARD))  # fmt: skip
            cursor.execute("SELECT n, word FROM t ORDER BY n")
            assert cursor.fetchall() == [(n, word) for n, word, _ in rows_of(AWKWARD)]
        sqlite.close_all()
