"""Entries -> posts: storage only (the pipeline, ``aggregator.ingest.pipeline``, runs what follows a store).

``store_entries`` sanitizes, dedupes and upserts a batch idempotently: the same entry twice is one post, a
changed entry updates its post, a retracted post never comes back. ``tombstone_posts`` empties retracted posts
and keeps their rows, so they never come back. Defences: duplicate and missing GUIDs, absurd dates, oversized
fields, hostile HTML and URLs, a push and a poll of one entry racing.
"""

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from aggregator.content.entry import Entry
from aggregator.content.sanitize import clean_html, html_to_text, safe_url
from aggregator.db.bulk_rows import RowsWrite, execute_writes
from aggregator.models import Post, Source

log = logging.getLogger(__name__)

MAX_GUID_LENGTH = 512
FUTURE_TOLERANCE = timedelta(minutes=10)
_UPDATED_FIELDS = [
    "url", "title", "author_name", "author_handle", "author_uri", "content_html", "text",
    "in_reply_to", "updated", "content_hash", "language",
]  # fmt: skip


@dataclass
class StoreResult:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)  # the created posts, with their source, as stored
    changed: list[Post] = field(default_factory=list)  # the updated posts' new fields and publication time
    unchanged: int = 0
    tombstoned: int = 0
    rejected: int = 0  # entries that cannot be stored (logged); the rest of their batch is stored


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _content_hash(entry: Entry) -> str:
    """Changes when anything a reader sees changes; computed on raw fields so unchanged entries skip nh3."""
    return _digest(entry.title, entry.url, entry.content_html, entry.author_name, entry.author_handle,
                   entry.author_uri, entry.in_reply_to)  # fmt: skip


_TEXT_FIELDS = tuple(f.name for f in fields(Entry) if f.type is str)


def _storable(source: Source, entries: list[Entry]) -> list[Entry]:
    """The entries the database can take; the others are logged and left out, so one cannot sink its batch.

    ``Entry`` already strips control characters; what remains is text UTF-8 cannot encode (a lone surrogate,
    e.g. from a JSON ``\\ud800``), which would fail the batch's queries and the sanitizer alike."""
    storable = []
    for entry in entries:
        try:
            for name in _TEXT_FIELDS:
                getattr(entry, name).encode("utf-8")
        except UnicodeEncodeError as error:
            log.warning("source %s: entry %r not stored: %s in %s", source.pk, entry.guid[:200], error.reason, name)
        else:
            storable.append(entry)
    return storable


def _stable_keys(entries: list[Entry]) -> list[str]:
    """One dedupe key per entry: its GUID where the GUID identifies it, else its link, else a content hash.

    A GUID shared by several entries of the same batch identifies none of them.
    """
    guid_counts = Counter(e.guid for e in entries if e.guid)
    url_counts = Counter(e.url for e in entries if e.url)
    keys = []
    for entry in entries:
        if entry.guid and guid_counts[entry.guid] == 1:
            key = entry.guid
        elif entry.url and url_counts[entry.url] == 1:
            key = entry.url
        else:
            key = "hash:" + _digest(entry.title, entry.content_html)
        if len(key) > MAX_GUID_LENGTH:
            key = "sha1:" + _digest(key)
        keys.append(key)
    return keys


def _published(entry: Entry, *, fetched_at: datetime, position: int) -> datetime:
    """A sane publication time: missing or future dates become the fetch time.

    Undated entries keep the feed's order: the first is newest, each next one a microsecond older.
    """
    when = entry.published or entry.updated
    if when is None or when > fetched_at + FUTURE_TOLERANCE:
        return fetched_at - timedelta(microseconds=position)
    return when


_EXISTING_COLUMNS = ("id", "guid", "url", "content_hash", "retracted_at", "updated", "published")
_DATES = ("retracted_at", "updated", "published")


def _lock_source(source: Source) -> None:
    """Take the source's row lock for the rest of the transaction (a push and a poll of one entry serialize).

    One fixed statement rather than a queryset: an ingest of one pushed item pays Django's query compiler for
    every queryset, which costs more CPU than the item's own work. SQLite locks the whole database on write."""
    if connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {_quoted(Source)} WHERE id = %s FOR UPDATE", [source.pk])


def _quoted(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(values: set[str]) -> str:
    return "IN (" + ",".join(["%s"] * len(values)) + ")"


def _existing_rows(source: Source, *, guids: set[str], hashes: set[str], urls: set[str]) -> list[dict]:
    """The source's posts with one of these GUIDs, content hashes or links, as dicts of ``_EXISTING_COLUMNS``
    (dates aware). One fixed-shape statement, for the reason ``_lock_source`` gives."""
    where = [f"guid {_in(guids)}", f"content_hash {_in(hashes)}"] + ([f"url {_in(urls)}"] if urls else [])
    sql = (f"SELECT {', '.join(_EXISTING_COLUMNS)} FROM {_quoted(Post)} "
           f"WHERE source_id = %s AND ({' OR '.join(where)})")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, [source.pk, *guids, *hashes, *urls])
        rows = [dict(zip(_EXISTING_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    if not settings.USE_TZ or connection.features.supports_timezones:
        return rows
    for row in rows:  # SQLite gives back the naive UTC it stored, where a queryset gives aware datetimes
        for name in _DATES:
            if row[name] is not None and row[name].tzinfo is None:
                row[name] = row[name].replace(tzinfo=UTC)
    return rows


def _find_existing(source: Source, keys: list[str], entries: list[Entry], hashes: list[str]) -> list[dict | None]:
    """The stored post each entry is, matched by key, then (for GUIDs that change) by unique link or content.

    One query fetches the candidates of all three ways (a new entry would otherwise cost two or three)."""
    url_counts = Counter(e.url for e in entries if e.url)
    urls = {e.url for e in entries if e.url and url_counts[e.url] == 1}
    rows = _existing_rows(source, guids=set(keys), hashes=set(hashes), urls=urls)
    by_guid = {row["guid"]: row for row in rows}
    found: list[dict | None] = [by_guid.get(key) for key in keys]
    missing = [i for i, row in enumerate(found) if row is None]
    if not missing:
        return found
    missing_urls = {entries[i].url for i in missing if entries[i].url in urls}
    by_url = {row["url"]: row for row in rows if row["url"] in missing_urls}
    missing_hashes = {hashes[i] for i in missing}
    by_hash = {row["content_hash"]: row for row in rows if row["content_hash"] in missing_hashes}
    claimed = {row["id"] for row in found if row}
    for i in missing:
        row = by_url.get(entries[i].url) if entries[i].url in missing_urls else None
        row = row or by_hash.get(hashes[i])
        if row and row["id"] not in claimed:
            found[i] = row
            claimed.add(row["id"])
    return found


_NOT_INSERTED = frozenset({"id", "retracted_at"})  # the id comes back; a new post is never a tombstone
# PostgreSQL's array type for each of Post's field types; a new type fails every ingest until it is named here
_ARRAY_TYPES = {"CharField": "text", "TextField": "text", "ForeignKey": "bigint", "DateTimeField": "timestamptz"}


def _insert_posts(posts: list[Post]) -> None:
    """INSERT new posts (every field but ``retracted_at``) in one prepared statement and give each its id, as
    ``bulk_create`` would, for the reason ``_lock_source`` gives."""
    fields = [field for field in Post._meta.concrete_fields if field.name not in _NOT_INSERTED]
    columns = [(field.column, _ARRAY_TYPES[field.get_internal_type()]) for field in fields]
    names = ", ".join(column for column, _ in columns)
    write = RowsWrite(
        name="chorus_insert_posts", returning=True, columns=columns,
        sql=f"INSERT INTO {_quoted(Post)} ({names}) SELECT {names} FROM {{rows}} RETURNING id, guid",
        rows=[[getattr(post, field.attname) for field in fields] for post in posts],
    )  # fmt: skip
    with connection.cursor() as cursor:
        execute_writes(cursor, [write])
        ids = {guid: pk for pk, guid in cursor.fetchall()}
    for post in posts:  # guids are unique in a batch (the dedupe keys)
        post.pk = ids[post.guid]
        post._state.adding, post._state.db = False, connection.alias


def _is_stale(entry: Entry, row: dict) -> bool:
    """An older version of a stored post (an edit overtaken by a later one, e.g. two workers): not applied."""
    return bool(entry.updated and row["updated"] and entry.updated < row["updated"])


def _post_fields(entry: Entry, content_hash: str) -> dict:
    base = entry.base_url
    content_html = clean_html(entry.content_html, base_url=base)
    return {
        "url": safe_url(entry.url, base_url=base)[:2048],
        "title": html_to_text(entry.title)[:1000],
        "author_name": html_to_text(entry.author_name)[:300],
        "author_handle": html_to_text(entry.author_handle)[:300],
        "author_uri": safe_url(entry.author_uri, base_url=base, allow_xmpp=True)[:2048],
        "content_html": content_html,
        "text": html_to_text(content_html),
        "in_reply_to": entry.in_reply_to[:2048],
        "updated": entry.updated,
        "content_hash": content_hash,
        "language": entry.language.strip()[:35],
    }


def store_entries(source: Source, entries: list[Entry], *, fetched_at: datetime | None = None) -> StoreResult:
    """Store a batch of entries of ``source``; returns which posts were created and updated.

    Runs in one transaction holding the source's row lock, so a push and a poll of the same entry at the
    same moment serialize and make exactly one row. Inside a caller's transaction it is part
    of that transaction, without a savepoint of its own (two round trips a push would pay): if it raises, the
    caller's transaction is lost with it.
    """
    fetched_at = fetched_at or timezone.now()
    result = StoreResult()
    storable = _storable(source, entries)
    result.rejected, entries = len(entries) - len(storable), storable
    if not entries:
        return result
    keys = _stable_keys(entries)
    hashes = [_content_hash(e) for e in entries]
    with transaction.atomic(savepoint=False):
        _lock_source(source)
        existing = _find_existing(source, keys, entries, hashes)
        to_create: dict[str, Post] = {}
        to_update: list[Post] = []
        for position, (entry, key, digest, row) in enumerate(zip(entries, keys, hashes, existing, strict=True)):
            if row is None:
                if key not in to_create:
                    to_create[key] = Post(
                        source=source, guid=key, fetched_at=fetched_at,
                        published=_published(entry, fetched_at=fetched_at, position=position),
                        **_post_fields(entry, digest),
                    )  # fmt: skip
            elif row["retracted_at"] is not None:
                result.tombstoned += 1
            elif row["content_hash"] != digest and not _is_stale(entry, row):
                to_update.append(Post(id=row["id"], published=row["published"], **_post_fields(entry, digest)))
            else:
                result.unchanged += 1
        created = list(to_create.values())
        if created:
            _insert_posts(created)
        if to_update:
            Post.objects.bulk_update(to_update, _UPDATED_FIELDS)
        result.posts = created
        result.created = [post.id for post in created]
        result.updated = [post.id for post in to_update]
        result.changed = to_update
    return result


def tombstone_posts(source: Source, guids: list[str], *, at: datetime | None = None) -> list[int]:
    """Empty the posts the publisher retracted (by GUID); returns the ids of posts that were visible.

    The rows stay as tombstones without content, so the same entry never comes back from a later poll or
    history fetch; a GUID not stored yet gets its tombstone now (its retraction may overtake its publication).
    """
    at = at or timezone.now()
    keys = {guid if len(guid) <= MAX_GUID_LENGTH else "sha1:" + _digest(guid) for guid in guids if guid}
    if not keys:
        return []
    with transaction.atomic(savepoint=False):
        _lock_source(source)
        rows = dict(Post.objects.filter(source=source, guid__in=keys).values_list("guid", "retracted_at"))
        visible = list(
            Post.objects.filter(source=source, guid__in=keys, retracted_at__isnull=True).values_list("id", flat=True)
        )
        Post.objects.filter(id__in=visible).update(
            retracted_at=at, title="", content_html="", text="", url="", author_name="", in_reply_to=""
        )
        Post.objects.bulk_create([
            Post(source=source, guid=key, published=at, fetched_at=at, content_hash="", retracted_at=at)
            for key in sorted(keys - rows.keys())
        ], ignore_conflicts=True)  # fmt: skip
    return visible
