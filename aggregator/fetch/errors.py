"""What a fetch gives back: ``FetchResult`` on success; on failure ``FetchError``, short enough to show a
person and marked permanent or transient (with any Retry-After); and ``BlockedURL`` when policy refused the
URL or the address before anything was sent to it.
"""

from dataclasses import dataclass


class FetchError(Exception):
    """A failed fetch; ``str(error)`` is a short message fit to show a person."""

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False,
                 retry_after: float | None = None, headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.permanent = permanent  # retrying soon won't help: 4xx, refused, too big, redirect trouble
        self.retry_after = retry_after
        self.headers = headers or {}  # an error status's response headers, lower-case (e.g. rate-limit hints)


class BlockedURL(FetchError):
    """Refused by policy (scheme, credentials, private address) before anything was sent to that address."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class TooLarge(FetchError):
    """The body went over its cap (after decompression); nothing more was read."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL, after redirects
    status: int  # 2xx or 304
    headers: dict[str, str]  # lower-case names
    body: bytes  # after Content-Encoding; b"" on 304
    permanent_redirect: str | None = None  # the final URL if there were hops and all were 301/308

    @property
    def not_modified(self) -> bool:
        return self.status == 304
