"""Every page a person can reach, on a hub seeded so that each page has something on it: the list the look tests
(phone widths, themes, axe-core, screenshots) walk.

``seed(feed_url)`` runs inside the hub's ``manage.py shell`` (a seed command, see tests/browser.py): alice follows
a feed whose posts hold quotes, code, a table and an embed; she has a track, a reply, an identity, a destination,
a block, a token, an app password, a follow import, a post of her own and an app waiting for her consent.
"""

from pathlib import Path

from werkzeug import Request, Response

from tests.browser import PASSWORD

FEED = Path(__file__).with_name("feed.xml")
PICTURE_PATH = "/look/photo.png"
PICTURE = Path(__file__).resolve().parents[2] / "static" / "icons" / "icon-512.png"  # shown 1200 x 800: wider than a phone
REDIRECT_URI = "https://app.example/callback"


def serve_feed(httpserver) -> str:
    """Serve the look feed (and the picture in its posts) from the test's feed server; returns the feed's URL."""
    picture = httpserver.url_for(PICTURE_PATH)

    def feed(request: Request) -> Response:
        body = FEED.read_text().replace("https://pictures.example/photo.jpg", picture)
        return Response(body, content_type="application/atom+xml")

    httpserver.expect_request("/look/feed.xml").respond_with_handler(feed)
    httpserver.expect_request(PICTURE_PATH).respond_with_data(PICTURE.read_bytes(), content_type="image/png")
    return httpserver.url_for("/look/feed.xml")


def seed_command(feed_url: str) -> tuple[str, ...]:
    """The seed command (``embedded_hub(seed=[...])``) that fills alice's pages."""
    return ("shell", "-c", f"from tests.look.pages import seed; seed({feed_url!r})")


def seed(feed_url: str) -> None:
    from django.contrib.auth.models import User
    from oauth2_provider.models import get_application_model

    from accounts.app_passwords import issue_app_password
    from accounts.identities import identity_create
    from accounts.tokens import issue_token
    from aggregator.following.imports import start_import
    from aggregator.following.subscriptions import subscribe
    from aggregator.ingest.polling import poll_source
    from aggregator.models import Post
    from publishing.posting import post_create
    from replies.destinations import destination_create
    from timelines.blocks import block_create
    from timelines.stars import star
    from tracks.services import track_create

    alice = User.objects.create_user("alice", "alice@example.org", PASSWORD)
    identity_create(user=alice, kind="fediverse", value="@alice@example.social", verified=True)
    subscription = subscribe(user=alice, address=feed_url, tags=["Reading", "Long reads"])
    track_create(user=alice, query="chorus")
    poll_source(source_id=subscription.source_id)
    star(user=alice, post_id=Post.objects.filter(source_id=subscription.source_id).order_by("published").last().pk)
    post_create(user=alice, text="Trying Chorus: one river for feeds, Mastodon, Bluesky and XMPP. @bob@example.social")
    issue_token(user=alice, name="my phone's reader")
    issue_app_password(user=alice, name="NetNewsWire on the laptop")
    destination_create(user=alice, name="My ntfy topic", url="ntfys://ntfy.example/chorus-alice", events=["reply"])
    block_create(user=alice, kind="word", value="crypto")
    block_create(user=alice, kind="author", value="@spammer@spam.example")
    start_import(user=alice, body=b'<?xml version="1.0"?><opml version="2.0"><body>'
                                   b'<outline type="rss" text="Gone" xmlUrl="http://127.0.0.1:9/gone.xml"/></body></opml>')  # fmt: skip
    get_application_model().objects.create(
        name="Ivory for Mastodon", client_type="confidential", authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT_URI, client_id="look-app", client_secret="look-secret", hash_client_secret=True,
    )  # fmt: skip


def signed_in_pages(base: str, hub) -> dict[str, str]:
    """Name -> URL of every page alice sees (ids read from the hub's database)."""
    (source_id,) = hub.sql("select id from aggregator_source where kind = 'rss' limit 1")[0]
    (import_id,) = hub.sql("select id from aggregator_followimport limit 1")[0]
    (post_url,) = hub.sql("select url from aggregator_post where url like '%/people/alice/posts/%'")[0]
    pages = {
        "timeline": "/",
        "timeline-tag": "/?tag=Reading",
        "search": "/search/?q=chorus",
        "starred": "/starred/",
        "replies": "/replies/",
        "tracks": "/tracks/",
        "subscriptions": "/subscriptions/",
        "source": f"/sources/{source_id}/",
        "follow-import": f"/subscriptions/imports/{import_id}/",
        "compose": "/compose/",
        "profile": "/people/alice/",
        "followers": "/people/alice/followers/",
        "identities": "/identities/",
        "notifications": "/settings/notifications/",
        "blocks": "/blocks/",
        "tokens": "/settings/tokens/",
        "app-passwords": "/settings/app-passwords/",
        "logins": "/settings/logins/",
        "settings": "/settings/",
        "email": "/accounts/email/",
        "password-change": "/accounts/password/change/",
        "connections": "/accounts/3rdparty/",
        "authorize": f"/oauth/authorize?response_type=code&client_id=look-app&redirect_uri={REDIRECT_URI}&scope=read",
        "post": "/people/alice/posts/" + post_url.split("/people/alice/posts/")[1],
        "not-found": "/no/such/page/",
    }
    return {name: base + path for name, path in pages.items()}


def signed_out_pages(base: str) -> dict[str, str]:
    return {name: base + path for name, path in {
        "login": "/accounts/login/",
        "signup": "/accounts/signup/",
        "password-reset": "/accounts/password/reset/",
        "profile-public": "/people/alice/",
        "not-found-signed-out": "/no/such/page/",
    }.items()}  # fmt: skip
