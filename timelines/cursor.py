"""Opaque keyset cursors: a position in a timeline ordered by (published, post id), newest first."""

import base64
from datetime import UTC, datetime


class BadCursor(ValueError):
    pass


def encode_cursor(published: datetime, post_id: int) -> str:
    micros = int(published.timestamp() * 1_000_000)
    return base64.urlsafe_b64encode(f"{micros}.{post_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Raises ``BadCursor`` for anything that is not a cursor this module wrote."""
    if not cursor or len(cursor) > 64:
        raise BadCursor("cursor is malformed")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros, post_id = raw.split(".")
        published = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
        return published, int(post_id)
    except (ValueError, UnicodeDecodeError, OverflowError, OSError):
        raise BadCursor("cursor is malformed") from None


RIVER_START = encode_cursor(datetime(1, 1, 1, tzinfo=UTC), 0)  # before every post: catching up from it fetches all
