"""Mastodon ids. A status or notification id is its place in our keyset order, (published, post id), written
as one fixed-width decimal string: apps that sort or compare ids (by length, then as text) order them as the
timeline does, and ``max_id``/``since_id``/``min_id`` become our keyset cursors without a lookup."""

from datetime import UTC, datetime, timedelta

from timelines.cursor import encode_cursor

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROS_DIGITS = 16  # microseconds since 1970: sixteen digits until the year 2286
_POST_DIGITS = 12
STATUS_ID_LENGTH = _MICROS_DIGITS + _POST_DIGITS
# The person's own account: outside the range of source ids, so it never names a source.
SELF_ACCOUNT_BASE = 10**15


class BadId(ValueError):
    pass


def status_id(published: datetime, post_id: int) -> str:
    micros = max(0, (published - EPOCH) // timedelta(microseconds=1))
    return f"{micros:0{_MICROS_DIGITS}d}{post_id:0{_POST_DIGITS}d}"


def post_id_of(value: str) -> int:
    """The post a status id names. Raises ``BadId``."""
    return _parts(value)[1]


def cursor_of(value: str) -> str:
    """Our keyset cursor at a status id's position. Raises ``BadId``."""
    micros, post_id = _parts(value)
    return encode_cursor(EPOCH + timedelta(microseconds=micros), post_id)


def _parts(value: str) -> tuple[int, int]:
    if not isinstance(value, str) or len(value) != STATUS_ID_LENGTH or not value.isascii() or not value.isdigit():
        raise BadId(f"not a status id: {str(value)[:40]!r}")
    return int(value[:_MICROS_DIGITS]), int(value[_MICROS_DIGITS:])


def self_account_id(user_pk: int) -> str:
    return str(SELF_ACCOUNT_BASE + user_pk)


def source_id_of(value: str) -> int:
    """The source an account id names. Raises ``BadId`` (the person's own account is no source)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 15:
        raise BadId(f"not an account id: {str(value)[:40]!r}")
    return int(value)
