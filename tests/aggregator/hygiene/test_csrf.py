"""CSRF on every state-changing form (HOSTILE.md 31), swept over every URL pattern the project serves.

Another site can make a signed-in person's browser send any form, and the browser adds her session cookie (and her
CSRF cookie, whose value that site cannot read). So every pattern of ``get_resolver()`` is walked, through every
include, its arguments filled with real objects of alice's, and sent what such a site would send: a form POST,
and on our JSON API every unsafe method it takes, with alice's session and no token. The answer must be the CSRF
check's 403 and the database must not change. The patterns exempt on purpose are in ``EXEMPT``, each with why no
session can be abused there; for those, the session must change nothing (the same answer as with no session at
all). Then a few of the same requests, with the page's token, must act: the 403s came from the CSRF check, not
from an argument that pointed nowhere.
"""

import json
import logging
import re
from dataclasses import dataclass

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize
from oauth2_provider.models import AccessToken

from accounts.app_passwords import issue_app_password
from accounts.identities import identity_create
from accounts.models import ApiToken, AppPassword
from accounts.tokens import issue_token
from aggregator.images.signed import proxy_path
from aggregator.models import FollowImport, Post, Subscription, SubscriptionTag, WebSubSubscription
from aggregator.urls import api_patterns
from compat.mastodon.ids import status_id
from compat.mastodon.reading import list_id_of
from publishing.posting import post_create
from replies.destinations import destination_create
from replies.models import Notification
from replies.notification_settings import notification_settings_update
from timelines import stars
from timelines.blocks import block_create
from tracks.services import track_create

from tests.compat.mastodon.oauth_flow import register, token_for
from tests.timelines.test_api import followed_source

pytestmark = pytest.mark.django_db

# What the other site's form holds: enough for the views that take these fields to act (a post, a block, a track,
# the admin's "Yes, I'm sure" to a deletion). Views that act on their URL alone (remove, revoke, undo, delete)
# need nothing more. Sent as a form to pages and as JSON to the APIs.
FORM = {"text": "Sent by another site", "status": "Sent by another site", "kind": "word", "value": "crypto",
        "query": "crypto", "post": "yes"}  # fmt: skip
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# Our JSON API (django-ninja): its views are exempt from Django's CSRF middleware, and ninja's session
# authentication (``django_auth`` in aggregator/api.py) runs the same check itself.
OUR_API = {pattern.callback for pattern in api_patterns}

# (the urlconf a pattern is written in, its route (exact, or a prefix ending in *), why a browser session cannot
# be abused there). The first entry that matches gives the reason. The sweep checks each claim: for these
# patterns a session must change nothing (the answer is the same without it) and nothing is written.
EXEMPT = [
    ("publishing.urls", "websub/hub/",
     "the WebSub hub of people's feeds: other servers subscribe, signed in to nothing; a subscription holds only "
     "once the subscriber's own callback echoes the hub's challenge (the intent check)"),
    ("publishing.urls", "webmention/",
     "the Webmention receiver: other sites notify, signed in to nothing; a mention is kept only once its source, "
     "fetched by Chorus, links to the target"),
    ("aggregator.urls", "websub/<str:token>/",
     "the WebSub callback: hubs deliver, signed in to nothing; a delivery needs the subscription's unguessable path "
     "and an HMAC signature made with its secret"),
    ("allauth.urls", "accounts/openid/callback/",
     "the OpenID 2.0 provider's way back to allauth, GET and POST alike: the assertion is checked with the provider "
     "and against the sign-in this same session started (allauth's stashed state); no form of ours leads here"),
    ("compat.greader.urls", "api/greader/accounts/ClientLogin",
     "Google Reader sign-in of an app: a login and an app password in the body, answered with a key for the app; "
     "the session is not read"),
    ("compat.greader.urls", "api/greader/reader/api/*",
     "the Google Reader API: apps authenticate with 'Authorization: GoogleLogin auth=...' (compat/greader/guard.py), "
     "never a cookie, and a write also needs the write token T"),
    ("compat.mastodon.urls", "oauth/token",
     "the OAuth token endpoint: an app's client credentials with a code or refresh token; no session is read"),
    ("compat.mastodon.urls", "oauth/revoke",
     "OAuth revocation: an app's client credentials and the token itself; no session is read"),
    ("compat.mastodon.urls", "oauth/userinfo",
     "OpenID claims for a bearer token only (compat/mastodon/endpoint.py)"),
    ("compat.mastodon.urls", "api/v1/apps*",
     "app registration, public in Mastodon: it creates an app that belongs to nobody yet"),
    ("compat.mastodon.urls", "^api/v[12]/(?P<path>.*)$",
     "the JSON 404 of every API path nobody serves: it reads nothing and changes nothing"),
    ("compat.mastodon.urls", "api/v1/*",
     "the Mastodon client API: 'Authorization: Bearer' only (compat/mastodon/endpoint.py); a cookie signs nobody in"),
    ("compat.mastodon.urls", "api/v2/*",
     "the Mastodon client API: 'Authorization: Bearer' only (compat/mastodon/endpoint.py); a cookie signs nobody in"),
    ("compat.mastodon.urls", "^api/v1/statuses/*",
     "the Mastodon client API's (un)favourite and (un)bookmark: 'Authorization: Bearer' only, as above"),
]  # fmt: skip

ADMIN_OBJECT = re.compile(r"admin/(\w+)/(\w+)/<path:object_id>/")


@dataclass(frozen=True)
class Pattern:
    route: str  # as Django reports it on a match: "tracks/<int:track_id>/remove/"
    regex: str  # the whole regular expression, includes joined
    urlconf: str  # the module the pattern is written in
    view: object


def walk(resolver: URLResolver, route: str = "", regex: str = "", urlconf: str = ""):
    """Every pattern under ``resolver``, through its includes (``get_resolver()``: all the project serves)."""
    urlconf = urlconf or settings.ROOT_URLCONF
    for pattern in resolver.url_patterns:
        own = str(pattern.pattern)
        joined = route + own.removeprefix("^") if route else own  # as URLResolver._join_route joins them
        whole = regex + pattern.pattern.regex.pattern.removeprefix("^")
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, joined, whole, getattr(pattern.urlconf_name, "__name__", urlconf))
        else:
            yield Pattern(joined, whole, urlconf, pattern.callback)


def exemption(pattern: Pattern) -> str | None:
    for urlconf, route, why in EXEMPT:
        if pattern.urlconf == urlconf and (pattern.route == route or route.endswith("*")
                                           and pattern.route.startswith(route[:-1])):  # fmt: skip
            return why
    return None


@pytest.fixture
def things(alice) -> dict:
    """A real object of alice's for every argument a pattern takes (by name; where one name means different things,
    by where it is), so that a view the request reached would act."""
    alice.is_staff = alice.is_superuser = True  # she runs this hub: the admin's forms are hers to send too
    alice.save()
    source = followed_source(alice, "carol", 2)
    subscription = Subscription.objects.get(user=alice, source=source)
    SubscriptionTag.objects.create(subscription=subscription, name="news")
    carols = Post.objects.filter(source=source).first()
    post = post_create(user=alice, text="Hello from alice")
    email = EmailAddress.objects.create(user=alice, email=alice.email, primary=True, verified=False)
    setup = Client()
    setup.force_login(alice)
    token_for(setup, register(setup))  # a Mastodon app she authorized, as on Settings > Apps
    issue_token(user=alice)
    issue_app_password(user=alice)
    notification_settings_update(user=alice, method="none")
    Notification.objects.create(user=alice, post=carols)
    websub = WebSubSubscription.objects.create(source=source, hub_url="https://hub.example/", topic_url=source.url,
                                               secret="s", callback_token="t" * 40)  # fmt: skip
    signature, encoded = proxy_path("https://carol.example/avatar.png").strip("/").split("/")[-2:]
    return {
        "subscription_id": subscription.pk, "source_id": source.pk, "post_id": post.pk,
        "import_id": FollowImport.objects.create(user=alice, kind="opml").pk,
        "identity_id": identity_create(user=alice, kind="url", value="https://alice.example/").pk,
        "destination_id": destination_create(user=alice, name="hook", url="json://127.0.0.1:9/hook",
                                             events=["reply"]).pk,
        "block_id": block_create(user=alice, kind="word", value="spam")[0].pk,
        "track_id": track_create(user=alice, query="chorus").pk,
        "app_password_id": AppPassword.objects.get(user=alice).pk,
        "token_id": {"settings/tokens/": ApiToken.objects.get(user=alice).pk,
                     "settings/apps/": AccessToken.objects.get(user=alice).pk},
        "token": {"starred/feed/": stars.feed_token(user=alice), "websub/": websub.callback_token},
        "username": alice.username, "slug": post.guid, "signature": signature, "encoded": encoded,
        "key": {"confirm-email/": EmailConfirmationHMAC(email).key,
                "password/reset/": default_token_generator.make_token(alice)},
        "uidb36": user_pk_to_url_str(alice), "provider_id": "acme",
        # the admin's: her own user, "view on site" of her post, an app's page, the catch-all
        "id": alice.pk, "content_type_id": ContentType.objects.get_for_model(Post).pk, "object_id": post.pk,
        "app_label": "aggregator", "url": "nothing/here/",
        # the compatibility APIs'
        "account_id": source.pk, "status_id": status_id(carols.published, carols.pk), "hashtag": "chorus",
        "list_id": list_id_of("news"), "notification_id": status_id(carols.published, carols.pk),
        "name": "user", "path": "nothing/here", "stream_id": "user/-/state/com.google/reading-list",
        "rest": "nothing/here",
    }  # fmt: skip


def argument(pattern: Pattern, name: str, things: dict) -> str:
    if name == "object_id" and (admin := ADMIN_OBJECT.match(pattern.route)):
        # the first row of the model the admin page is for; of groups and the sign-in providers' and OAuth's tables
        # alice has none, and there the admin would answer that the row is missing
        row = apps.get_model(*admin.groups())._default_manager.order_by("pk").first()
        return str(row.pk if row else 0)
    value = things.get(name)
    if isinstance(value, dict):
        value = next((each for where, each in value.items() if where in pattern.route), None)
    if value is None:
        pytest.fail(f"no real argument for {name!r} of {pattern.route!r}: add one to things()")
    return str(value)


def url_of(pattern: Pattern, things: dict) -> str:
    template, names = normalize(pattern.regex)[0]  # an optional part left out
    return "/" + template % {name: argument(pattern, name, things) for name in names}


def served_patterns(things: dict) -> list[tuple[Pattern, str]]:
    """Each pattern a request can reach, once, with its address (a pattern that an earlier one hides, such as
    allauth's OpenID sign-in behind ours, is checked as the one that answers)."""
    patterns = list(walk(get_resolver()))
    first = {}
    for pattern in patterns:
        first.setdefault((pattern.route, pattern.view), pattern)
    served = {}
    for pattern in patterns:
        url = url_of(pattern, things)
        match = resolve(url)
        served.setdefault(first[match.route, match.func], url)
    return list(served.items())


def methods(pattern: Pattern) -> tuple[str, ...]:
    # Django's middleware checks every unsafe method alike before any view runs: a POST shows whether it does.
    # Our API routes each method to its own operation, and answers 405 to those it does not take.
    return UNSAFE_METHODS if pattern.view in OUR_API else ("POST",)


def send(client: Client, method: str, url: str, headers: dict | None = None):
    if url.startswith(("/api/v1/", "/api/v2/")):
        return client.generic(method, url, json.dumps(FORM), content_type="application/json", headers=headers)
    return client.post(url, FORM, headers=headers)


def database_rows() -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows: any insert, update or delete shows."""
    tables = sorted({model._meta.db_table for model in apps.get_models(include_auto_created=True)})
    quote = connection.ops.quote_name
    query = " UNION ALL ".join(
        f"SELECT %s, count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {quote(table)} t"
        for table in tables)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(query, tables)
        return {table: (count, digest) for table, count, digest in cursor.fetchall()}


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(table for table in after if before.get(table) != after[table])


def signed_in_browser(alice) -> Client:
    """alice's browser: her session, and the CSRF cookie that a page of the hub set (another site cannot read it)."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get("/settings/").status_code == 200
    assert browser.cookies[settings.CSRF_COOKIE_NAME].value
    return browser


@pytest.fixture
def refusals(caplog):
    """The CSRF check's log: each refusal is a warning of ``django.security.csrf``, whatever LOG_LEVEL says."""
    caplog.set_level(logging.WARNING, logger="django.security.csrf")
    return caplog


def refused_by_csrf(response, refusals) -> bool:
    """The CSRF check's refusal (Django's middleware, or ninja's session authentication running the same check),
    not a 403 of some other kind."""
    logged = any(record.name == "django.security.csrf" for record in refusals.records)
    return response.status_code == 403 and logged


def test_every_pattern_refuses_a_session_without_its_csrf_token_and_writes_nothing(alice, things, refusals):
    browser, nobody = signed_in_browser(alice), Client(enforce_csrf_checks=True)
    served = served_patterns(things)
    assert len(served) > 350  # the walk went through the includes: ours, allauth's, the admin's, the APIs'
    unprotected, written, session_matters, exempt_used = [], [], [], set()
    rows = database_rows()
    for pattern, url in served:
        why = exemption(pattern)
        for method in methods(pattern):
            refusals.clear()
            response = send(browser, method, url)
            wrote = changed_tables(rows, rows := database_rows())
            if why:
                exempt_used.add(why)
                alone = send(nobody, method, url)
                wrote_alone = changed_tables(rows, rows := database_rows())
                if (response.status_code, wrote) != (alone.status_code, wrote_alone):
                    session_matters.append(f"{method} {url}: {response.status_code} {wrote} with alice's session, "
                                          f"{alone.status_code} {wrote_alone} without")  # fmt: skip
                continue
            if not (refused_by_csrf(response, refusals) or pattern.view in OUR_API and response.status_code == 405):
                unprotected.append(f"{method} {url} ({pattern.route}) answered {response.status_code}")
            if wrote:
                written.append(f"{method} {url} ({pattern.route}) changed {', '.join(wrote)}")
    assert not (unprotected or written or session_matters), "\n".join([
        "answered a session without a CSRF token:", *unprotected,
        "wrote for a session without a CSRF token:", *written,
        "exempt, yet answered alice's session otherwise than nobody's:", *session_matters])  # fmt: skip
    assert exempt_used == {why for _, _, why in EXEMPT}, "an exemption names no pattern any more"


@pytest.mark.parametrize(("route", "method"), [
    ("compose/", "POST"),
    ("tracks/<int:track_id>/remove/", "POST"),
    ("posts/<int:post_id>/delete/", "POST"),
    ("settings/tokens/<int:token_id>/revoke/", "POST"),
    ("settings/apps/<int:token_id>/revoke/", "POST"),
    ("blocks/", "POST"),
    ("accounts/confirm-email/(?P<key>[-:\\w]+)/$", "POST"),
    ("admin/aggregator/source/<path:object_id>/delete/", "POST"),
    ("api/v1/tracks/<track_id>", "DELETE"),
    ("api/v1/tracks", "POST"),
    ("^api/v1/blocks/?$", "POST"),
])  # fmt: skip
def test_the_same_request_with_the_pages_csrf_token_reaches_the_view_and_acts(alice, things, refusals, route, method):
    browser = signed_in_browser(alice)
    url = next(url for pattern, url in served_patterns(things) if pattern.route == route)
    rows = database_rows()
    refused = send(browser, method, url)
    assert refused_by_csrf(refused, refusals) and database_rows() == rows, refused.status_code
    refusals.clear()
    response = send(browser, method, url, headers={"X-CSRFToken": browser.cookies[settings.CSRF_COOKIE_NAME].value})
    assert response.status_code < 400 and not refused_by_csrf(response, refusals), response.content[:300]
    assert changed_tables(rows, database_rows())  # the arguments named real things: the view acted on them
