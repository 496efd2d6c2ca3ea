"""Helpers for tests that serve real feed formats from a local HTTP server (pytest-httpserver)."""

from pathlib import Path

from werkzeug import Request, Response

TESTDATA = Path(__file__).resolve().parents[2] / "aggregator" / "networks" / "rss" / "testdata"
RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"


def feed_file(name: str) -> bytes:
    return (TESTDATA / name).read_bytes()


def rss(*items: tuple[str, str], title: str = "Test feed") -> bytes:
    """A small RSS 2.0 feed; each item is (guid, text)."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><title>{text}</title><description>{text}</description>"
        f"<pubDate>Mon, 23 Nov 2026 10:{n:02d}:00 GMT</pubDate></item>"
        for n, (guid, text) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode()


def atom(*ids: str, deleted: tuple[str, ...] = ()) -> bytes:
    """A small Atom feed whose entries have ``ids`` (their text is the id), with an RFC 6721 tombstone for each
    id in ``deleted``."""
    entries = "".join(
        f"<entry><id>{entry_id}</id><title>{entry_id}</title><link href='{entry_id}'/>"
        f"<updated>2026-11-23T10:{n:02d}:00Z</updated><content type='text'>{entry_id}</content></entry>"
        for n, entry_id in enumerate(ids)
    )
    gone = "".join(f"<at:deleted-entry ref='{ref}' when='2026-11-23T11:00:00Z'/>" for ref in deleted)
    return ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:at="http://purl.org/atompub/tombstones/1.0"><id>urn:test:feed</id><title>Atom test feed</title>'
            f"<updated>2026-11-23T11:00:00Z</updated>{entries}{gone}</feed>").encode()  # fmt: skip


def conditional(body: bytes, *, etag: str, content_type: str = RSS, headers: dict | None = None):
    """A handler that answers 304 to a matching If-None-Match, and the feed with its ETag otherwise."""

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, status=200, content_type=content_type, headers={"ETag": etag, **(headers or {})})

    return handler
