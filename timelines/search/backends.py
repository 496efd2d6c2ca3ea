"""The search index in each database: PostgreSQL (a ``tsvector`` column with a GIN index on
``timelines_searchentry``) and SQLite (the FTS5 table ``timelines_searchtext``, rowid = post id, beside the same
``timelines_searchentry`` rows). Both hold the tokens ``text`` made, so a query means the same on both.

``Backend.writes`` are the statements that (re)index posts (``aggregator.db.bulk_rows.RowsWrite``, sent with the
other writes of an ingest batch), ``Backend.condition`` the SQL that keeps the rows whose post matches.
"""

from dataclasses import dataclass

from aggregator.db.bulk_rows import RowsWrite
from timelines.search.query import SearchQuery, Term
from timelines.search.text import Document, fts_columns, query_stems, tsvector

ENTRY_TABLE = "timelines_searchentry"
FTS_TABLE = "timelines_searchtext"


@dataclass(frozen=True)
class IndexedPost:
    post_id: int
    published: object  # datetime
    lang: str
    doc: Document


def _tsquery_lexeme(word: str, weight: str = "") -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'" + (f":{weight}" if weight else "")


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


class Postgres:
    @staticmethod
    def writes(posts: list[IndexedPost]) -> list[RowsWrite]:
        sql = (
            f"INSERT INTO {ENTRY_TABLE} (post_id, published, lang, document) "
            "SELECT v.post, v.published, v.lang, v.document::tsvector FROM {rows} "
            "ON CONFLICT (post_id) DO UPDATE SET published = excluded.published, lang = excluded.lang, "
            "document = excluded.document"
        )
        rows = [(p.post_id, p.published, p.lang, tsvector(p.doc)) for p in posts]
        columns = [("post", "bigint"), ("published", "timestamptz"), ("lang", "text"), ("document", "text")]
        return [RowsWrite(name="chorus_search_index", sql=sql, columns=columns, rows=rows)]

    @staticmethod
    def _term(term: Term, weight: str) -> str:
        """A phrase: its words in order in that field (A: title and text, C: author); a word: the word or one of
        its stems, as a word or a stem (A or B), never in the author field."""
        if term.phrase:
            return "(" + " <-> ".join(_tsquery_lexeme(w, weight) for w in term.words) + ")"
        word = term.words[0]
        return "(" + " | ".join(_tsquery_lexeme(form, "AB") for form in [word, *sorted(query_stems(word))]) + ")"

    @classmethod
    def _positive(cls, query: SearchQuery) -> str:
        return " & ".join([cls._term(t, "A") for t in query.terms] + [cls._term(t, "C") for t in query.authors])

    @classmethod
    def condition(cls, query: SearchQuery, *, post_column: str) -> tuple[str, list]:
        """SQL true for rows whose post (``post_column``) matches the query's words, authors and language."""
        where, params = [f"s.post_id = {post_column}"], []
        if positive := cls._positive(query):
            where.append("s.document @@ %s::tsquery")
            params.append(positive)
        if query.excluded:
            where.append("NOT s.document @@ %s::tsquery")
            params.append(" | ".join(cls._term(t, "A") for t in query.excluded))
        if query.lang:
            where.append("s.lang = %s")
            params.append(query.lang)
        return f"EXISTS (SELECT 1 FROM {ENTRY_TABLE} s WHERE {' AND '.join(where)})", params

    @classmethod
    def match_all(cls, query: SearchQuery) -> tuple[str, list]:
        """The bare index query (benchmarks, track history): ids of every post matching the words."""
        return f"SELECT post_id FROM {ENTRY_TABLE} WHERE document @@ %s::tsquery", [cls._positive(query)]


class SQLite:
    @staticmethod
    def writes(posts: list[IndexedPost]) -> list[RowsWrite]:
        columns = [("post", "bigint"), ("published", "timestamptz"), ("lang", "text"),
                   ("author", "text"), ("words", "text"), ("stems", "text")]  # fmt: skip
        rows = [(p.post_id, p.published, p.lang, *fts_columns(p.doc)) for p in posts]
        return [
            # FTS5 has no upsert: a post indexed again loses its old text first
            RowsWrite(name="chorus_search_unindex", columns=columns, rows=rows,
                      sql=f"DELETE FROM {FTS_TABLE} WHERE rowid IN (SELECT v.post FROM {{rows}})"),
            RowsWrite(name="chorus_search_index_text", columns=columns, rows=rows,
                      sql=f"INSERT INTO {FTS_TABLE} (rowid, author, words, stems) "
                          "SELECT v.post, v.author, v.words, v.stems FROM {rows}"),
            RowsWrite(name="chorus_search_index", columns=columns, rows=rows,
                      sql=f"INSERT INTO {ENTRY_TABLE} (post_id, published, lang) SELECT v.post, v.published, v.lang "
                          "FROM {rows} WHERE true ON CONFLICT (post_id) DO UPDATE SET published = excluded.published, "
                          "lang = excluded.lang"),
        ]  # fmt: skip

    @staticmethod
    def _term(term: Term, column: str) -> str:
        if term.phrase:
            return f"{column}: " + _fts_string(" ".join(term.words))
        word = term.words[0]
        forms = " OR ".join(_fts_string(form) for form in [word, *sorted(query_stems(word))])
        return "{words stems}: (" + forms + ")"

    @classmethod
    def _positive(cls, query: SearchQuery) -> str:
        parts = [cls._term(t, "words") for t in query.terms] + [cls._term(t, "author") for t in query.authors]
        return " AND ".join(f"({part})" for part in parts)

    @classmethod
    def condition(cls, query: SearchQuery, *, post_column: str) -> tuple[str, list]:
        where, params = [], []
        if positive := cls._positive(query):
            where.append(f"{post_column} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)")
            params.append(positive)
        if query.excluded:
            excluded = " OR ".join(f"({cls._term(t, 'words')})" for t in query.excluded)
            where.append(f"{post_column} NOT IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)")
            params.append(excluded)
        if query.lang:
            where.append(f"{post_column} IN (SELECT post_id FROM {ENTRY_TABLE} WHERE lang = %s)")
            params.append(query.lang)
        return "(" + " AND ".join(where) + ")", params

    @classmethod
    def match_all(cls, query: SearchQuery) -> tuple[str, list]:
        return f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [cls._positive(query)]


def backend(vendor: str) -> type[Postgres] | type[SQLite]:
    return Postgres if vendor == "postgresql" else SQLite
