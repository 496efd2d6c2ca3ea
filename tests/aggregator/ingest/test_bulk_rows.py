"""aggregator.db.bulk_rows: rows from Python as a statement's table; several writes as one statement, prepared once
per session on PostgreSQL."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from django.db.utils import ConnectionHandler

from aggregator.db.bulk_rows import RowsWrite, WriteBatch, execute_writes

COLUMNS = [("n", "bigint"), ("word", "text"), ("at", "timestamptz")]
ECHO = "SELECT %s, v.n, v.word, v.at FROM {rows} ORDER BY v.n"
AWKWARD = ['say "hi"', "back\\slash", "a,b", "{braces}", "NULL", "", "it's", "ünï 字 🙂", "two\nlines", " pad "]


def rows_of(words: list[str | None]) -> list[tuple]:
    start = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=UTC)
    return [(n, word, start + timedelta(minutes=n)) for n, word in enumerate(words)]


def echo_write(rows: list[tuple], *, name: str = "chorus_test_echo", sql: str = ECHO) -> RowsWrite:
    return RowsWrite(name=name, sql=sql, columns=COLUMNS, rows=rows, scalars=[("tag", "text")], returning=True)


def echo(cursor, rows: list[tuple], **write) -> list[tuple]:
    execute_writes(cursor, [echo_write(rows, **write)])
    return [(n, word, at) for tag, n, word, at in cursor.fetchall() if tag == "tag"]


@pytest.fixture
def words_table():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE test_words (n bigint PRIMARY KEY, word text, at timestamptz)")
    yield "test_words"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE test_words")


@pytest.mark.django_db
def test_every_value_comes_back_as_it_was_sent():
    rows = rows_of([*AWKWARD, None]) + [(2**62, "big", datetime(2026, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))))]
    with connection.cursor() as cursor:
        assert echo(cursor, rows) == rows


@pytest.mark.django_db
def test_writes_of_a_batch_are_one_statement_and_each_then_runs_after_it(words_table):
    insert = RowsWrite(name="chorus_test_insert", sql=f"INSERT INTO {words_table} SELECT v.n, v.word, v.at FROM {{rows}}",
                       columns=COLUMNS, rows=rows_of(AWKWARD))  # fmt: skip
    seen, statements = [], []
    batch = WriteBatch()
    batch.add(echo_write(rows_of(["x", "y"])), then=lambda rows: seen.append(("echo", [r[2] for r in rows])))
    batch.add(insert, then=lambda rows: seen.append(("insert", rows)))
    with connection.execute_wrapper(lambda run, sql, *args: statements.append(sql) or run(sql, *args)):
        batch.flush()
    assert seen == [("echo", ["x", "y"]), ("insert", [])]  # in the order added; the echo's rows to the echo
    assert [sql.split()[0] for sql in statements] == ["PREPARE", "EXECUTE"]
    assert "WITH w0 AS (INSERT INTO test_words" in statements[0]  # the returning write is the statement
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, word, at FROM {words_table} ORDER BY n")
        assert cursor.fetchall() == rows_of(AWKWARD)
    batch.flush()  # nothing left: nothing sent
    assert len(statements) == 2


@pytest.mark.django_db
def test_the_statement_is_prepared_once_a_session_and_outlives_a_rollback():
    with connection.cursor() as cursor:
        assert echo(cursor, rows_of(["a"])) == rows_of(["a"])
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        with connection.cursor() as cursor:
            assert echo(cursor, rows_of(["b", "c"])) == rows_of(["b", "c"])
        raise ZeroDivisionError
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name = 'chorus_test_echo'")
        assert cursor.fetchall() == [("chorus_test_echo",)]
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
        statements = []
        with connection.execute_wrapper(lambda run, sql, *args: statements.append(sql) or run(sql, *args)):
            with pytest.raises(ValueError, match="another text"):
                echo(cursor, rows_of(["a"]), name="chorus_test_named", sql=ECHO + " DESC")
            with pytest.raises(ValueError, match="one %s per scalar"):
                execute_writes(cursor, [RowsWrite(name="chorus_test_scalars", sql=ECHO, columns=COLUMNS,
                                                  rows=rows_of(["a"]))])  # fmt: skip
            with pytest.raises(ValueError, match="no rows"):
                echo(cursor, [])
            with pytest.raises(ValueError, match="at most one write"):
                execute_writes(cursor, [echo_write(rows_of(["a"])), echo_write(rows_of(["b"]))])
            with pytest.raises(TypeError, match="no array literal for float"):
                echo(cursor, [(1.5, "a", datetime.now(UTC))], name="chorus_test_float")
            with pytest.raises(ValueError, match="naive datetime"):
                echo(cursor, [(1, "a", datetime(2026, 1, 1))], name="chorus_test_naive")
        assert statements == []


def test_on_sqlite_each_write_is_a_statement_with_a_values_list(tmp_path, django_db_blocker):
    sqlite = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": tmp_path / "rows.db"}})
    with django_db_blocker.unblock():  # a database of this test's own, not the suite's
        with sqlite["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE t (n integer, word text, at text)")
            insert = RowsWrite(name="chorus_test_insert", sql="INSERT INTO t SELECT v.n, v.word, v.at FROM {rows}",
                               columns=COLUMNS, rows=rows_of(AWKWARD))  # fmt: skip
            execute_writes(cursor, [echo_write(rows_of(["x"])), insert])  # the returning write runs last
            assert [row[2] for row in cursor.fetchall()] == ["x"]
            cursor.execute("SELECT n, word FROM t ORDER BY n")
            assert cursor.fetchall() == [(n, word) for n, word, _ in rows_of(AWKWARD)]
        sqlite.close_all()
