"""The response body, capped and decoded by us in bounded steps: its raw and decoded sizes are both held to
``max_bytes`` as it arrives, stacked gzip/deflate Content-Encodings are undone stage by stage with no stage
holding more than ``CHUNK`` bytes of output, and the guard's deadline is checked between chunks.
"""

import zlib
from collections.abc import Iterator

import urllib3

from aggregator.fetch.errors import FetchError, TooLarge
from aggregator.fetch.guard import Guard

MAX_ENCODINGS = 4  # "gzip, gzip" happens in the wild; a dozen stacked layers is an attack
CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def read_body(response: urllib3.BaseHTTPResponse, *, guard: Guard, max_bytes: int) -> bytes:
    """The body after Content-Encoding; refused as soon as its raw or decoded size passes ``max_bytes``."""
    length = response.headers.get("content-length", "").strip()
    if length.isascii() and length.isdigit() and int(length) > max_bytes:
        raise _too_large(max_bytes)
    decoder = _BodyDecoder(response.headers.get("content-encoding", ""), max_bytes=max_bytes)
    received = 0
    for chunk in response.stream(CHUNK, decode_content=False):
        received += len(chunk)
        if received > max_bytes:
            raise _too_large(max_bytes)
        decoder.feed(chunk)
        guard.check()
    body = decoder.finish()
    guard.check()  # the watchdog's shutdown looks like a clean end of body: never return it as complete
    return body


def _too_large(max_bytes: int) -> TooLarge:
    return TooLarge(f"response larger than {max_bytes} bytes")


class _BodyDecoder:
    """Undo stacked Content-Encodings stage by stage; no stage ever holds more than CHUNK bytes of output."""

    def __init__(self, content_encoding: str, *, max_bytes: int) -> None:
        names = [name.strip().lower() for name in content_encoding.split(",")]
        names = [name for name in names if name not in ("", "identity")]
        if len(names) > MAX_ENCODINGS:
            raise FetchError(f"too many Content-Encodings ({len(names)})", permanent=True)
        self._stages = [_Inflater(name) for name in reversed(names)]  # the last one applied is undone first
        self._body = bytearray()
        self._max_bytes = max_bytes

    def feed(self, data: bytes) -> None:
        for piece in _through(self._stages, data):
            self._keep(piece)

    def finish(self) -> bytes:
        for index, stage in enumerate(self._stages):
            for piece in stage.flush():
                for output in _through(self._stages[index + 1 :], piece):
                    self._keep(output)
        return bytes(self._body)

    def _keep(self, piece: bytes) -> None:
        if len(self._body) + len(piece) > self._max_bytes:
            raise _too_large(self._max_bytes)
        self._body += piece


def _through(stages: list["_Inflater"], data: bytes) -> Iterator[bytes]:
    if not stages:
        yield data
        return
    for piece in stages[0].feed(data):
        yield from _through(stages[1:], piece)


class _Inflater:
    """One gzip or deflate layer, decoded lazily in pieces of at most CHUNK bytes."""

    def __init__(self, name: str) -> None:
        if name in ("gzip", "x-gzip"):
            self._wbits = 16 + zlib.MAX_WBITS
        elif name == "deflate":
            self._wbits = zlib.MAX_WBITS  # zlib-wrapped as the RFC says; raw deflate is tried if that fails
        else:
            raise FetchError(f"unsupported Content-Encoding {name!r}", permanent=True)
        self._name = name
        self._inflater = zlib.decompressobj(self._wbits)  # None between gzip members
        self._pending = b""
        self._started = False
        self._done = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        data, self._pending = self._pending + data, b""
        while data and not self._done:
            if self._inflater is None:  # a gzip member ended; RFC 1952 lets another follow
                if len(data) < 2 and _GZIP_MAGIC.startswith(data):
                    self._pending = data
                    return
                if not data.startswith(_GZIP_MAGIC):
                    self._done = True  # trailing garbage after the last member, as browsers tolerate
                    return
                self._inflater = zlib.decompressobj(self._wbits)
            if not self._started and len(data) < 2:  # the zlib-or-raw guess needs the first two bytes
                self._pending = data
                return
            try:
                piece = self._inflater.decompress(data, CHUNK)
            except zlib.error:
                if self._started or self._wbits != zlib.MAX_WBITS:
                    raise FetchError(f"invalid {self._name} data", permanent=False) from None
                self._wbits = -zlib.MAX_WBITS
                self._inflater = zlib.decompressobj(self._wbits)
                continue
            self._started = True
            if piece:
                yield piece
            if self._inflater.eof:
                data = self._inflater.unused_data
                self._inflater = None
                self._done = self._wbits != 16 + zlib.MAX_WBITS
            else:
                data = self._inflater.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        # All input went through decompress() already, so what flush() returns is at most one match long.
        if self._inflater is not None and not self._done:
            piece = self._inflater.flush()
            if piece:
                yield piece
