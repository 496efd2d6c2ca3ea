"""A Mastodon-like server for tests: WebFinger (RFC 7033) JSON, a profile page, and the profile's RSS feed."""

import base64
import json
from pathlib import Path

from werkzeug import Response

from .feeds import RSS

MASTODON_RSS = (Path(__file__).resolve().parents[2] / "aggregator" / "networks" / "fediverse" / "testdata"
                / "mastodon_profile.rss").read_bytes()  # fmt: skip
AVATAR_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
PUBSUB_REL = "http://jabber.org/protocol/pubsub"


def webfinger_for_alice(host: str, *, aliases: list[str] | None = None, xmpp_uri: str = ""):
    """A WebFinger handler (RFC 7033) that knows ``acct:alice@host`` only: her profile page, actor and avatar
    (and ``xmpp_uri``, her XMPP microblog node, as a ``http://jabber.org/protocol/pubsub`` link)."""
    base = f"http://{host}"

    def webfinger(request):
        if request.args.get("resource") != f"acct:alice@{host}":
            return Response(status=404)
        return Response(json.dumps({
            "subject": f"acct:alice@{host}",
            **({"aliases": aliases} if aliases else {}),
            "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"{base}/@alice"},
                {"rel": "self", "type": "application/activity+json", "href": f"{base}/users/alice"},
                {"rel": "http://webfinger.net/rel/avatar", "type": "image/png", "href": f"{base}/avatars/alice.png"},
                *([{"rel": PUBSUB_REL, "href": xmpp_uri}] if xmpp_uri else []),
            ],
        }), content_type="application/jrd+json; charset=utf-8")  # fmt: skip

    return webfinger


def mastodon(httpserver, *, advertise: bool = True, aliases: list[str] | None = None, xmpp_uri: str = "") -> str:
    """A Mastodon-like server on loopback: WebFinger, a profile page (advertising its feed), the feed and
    alice's avatar."""
    host = f"127.0.0.1:{httpserver.port}"
    link = '<link rel="alternate" type="application/rss+xml" href="/@alice.rss">' if advertise else ""
    httpserver.expect_request("/.well-known/webfinger").respond_with_handler(
        webfinger_for_alice(host, aliases=aliases, xmpp_uri=xmpp_uri))
    httpserver.expect_request("/avatars/alice.png").respond_with_data(AVATAR_PNG, content_type="image/png")
    httpserver.expect_request("/@alice").respond_with_data(f"<html><head>{link}</head><body>Alice</body></html>",
                                                           content_type="text/html")  # fmt: skip
    httpserver.expect_request("/@alice.rss").respond_with_data(MASTODON_RSS, content_type=RSS)
    httpserver.expect_request("/feed").respond_with_data(b"<rss version='2.0'><channel><title>the server</title></channel></rss>",
                                                         content_type=RSS)  # fmt: skip
    return host
