"""python3-openid's HTTP fetches (discovery of a typed OpenID URL, associations, checks) through Chorus' one
outbound HTTP helper, so a URL someone types into the sign-in form gets the same guards as a feed URL: no
private addresses, a redirect cap, a body cap and one deadline."""

from django.conf import settings
from openid import fetchers

from aggregator.fetch import fetch

MAX_BYTES = 1024 * 1024  # what python3-openid's own fetcher reads at most
DEADLINE = 15.0


class ChorusOpenIDFetcher(fetchers.HTTPFetcher):
    def fetch(self, url, body=None, headers=None):
        """GET (or POST with ``body``) ``url``. A refused URL, a transport failure or an HTTP error raises
        ``FetchError``, which python3-openid sees as a failed fetch (a ``DiscoveryFailure`` in the form)."""
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else body
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        accept = headers.pop("Accept", None) or headers.pop("accept", None) or "*/*"
        deadline = min(DEADLINE, settings.CHORUS_FETCH_DEADLINE)
        result = fetch(url, method="POST" if data is not None else "GET", data=data, headers=headers, accept=accept,
                       max_bytes=MAX_BYTES, deadline=deadline)  # fmt: skip
        return fetchers.HTTPResponse(
            final_url=result.url, status=result.status, headers=result.headers, body=_text(result.body, result.headers)
        )


def _text(body: bytes, headers: dict[str, str]) -> str:
    """The body as text, as python3-openid's own fetcher gives it (declared charset, else Latin-1)."""
    charset = "latin-1"
    for part in headers.get("content-type", "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return body.decode("latin-1")


def install() -> None:
    """Make every python3-openid fetch in this process go through ``ChorusOpenIDFetcher``."""
    fetchers.setDefaultFetcher(ChorusOpenIDFetcher(), wrap_exceptions=True)

