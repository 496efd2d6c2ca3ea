"""Full-text search over what a person can see: the query language (``query``), what posts become in the index
(``text``), the two index backends (``backends``: a tsvector with a GIN index on PostgreSQL, FTS5 on SQLite),
keeping the index (``index``), reading it (``selectors``) and marking the words found (``highlight``)."""
