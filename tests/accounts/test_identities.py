"""Verifying handles where the network allows it: an XMPP address by a code that alice's own client receives
from the hub's account (the suite's Prosody); a fediverse account by WebFinger and a link back (a Mastodon-like
server on loopback); a Bluesky handle by its profile's description (a local stand-in for bsky.app)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.identities import identity_create
from accounts.models import Identity
from accounts.tokens import issue_token
from accounts.verification import names_address, resend_lost_codes, send_xmpp_code

from tests.servers.fediverse_server import webfinger_for_alice
from tests.servers.feeds import RSS
from tests.servers.processes import wait_for
from tests.servers.xmpp_clients import XmppPerson
from tests.servers.xmpp_server import DOMAIN, PASSWORD, hub_settings

PROFILE = "http://testserver/people/alice/"  # alice's Chorus profile, as the test client's requests build it
pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, alice, django_capture_on_commit_callbacks):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='tests')}"}

    def call(path: str, body: dict | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/api/v1{path}", body or {}, content_type="application/json", **headers)

    return call


def add(api, kind: str, value: str) -> int:
    response = api("/identities", {"kind": kind, "value": value})
    assert response.status_code == 201, response.content
    return response.json()["id"]


# -- XMPP ---------------------------------------------------------------------------------------------------------


def test_a_jid_is_verified_with_the_code_its_own_client_received_from_the_hub(prosody, settings, api):
    hub = hub_settings(settings, prosody, PASSWORD)
    identity_id = add(api, "xmpp", f"xmpp:Alice@{DOMAIN}")
    with XmppPerson(jid=f"alice@{DOMAIN}", password=PASSWORD, port=prosody.port) as phone:
        sent = api(f"/identities/{identity_id}/code")
        assert sent.status_code == 202 and sent.json()["code_sent_at"]
        sender, body = wait_for(lambda: phone.chats and phone.chats[0], what="the code on alice's client")
    assert sender.split("/")[0] == hub
    code = re.search(r"Your Chorus code for alice@chorus\.test: ([A-Z2-9]{8})", body).group(1)
    identity = Identity.objects.get(pk=identity_id)
    assert code not in identity.code_hash and not identity.verified  # only a hash is kept

    wrong = api(f"/identities/{identity_id}/verify", {"code": "AAAA2222" if code != "AAAA2222" else "BBBB3333"})
    assert wrong.status_code == 200 and not wrong.json()["verified"]
    assert wrong.json()["last_check_error"] == "that is not the code that was sent"
    right = api(f"/identities/{identity_id}/verify", {"code": f" {code[:4].lower()}-{code[4:]} "})
    assert right.status_code == 200 and right.json()["verified"] and right.json()["last_check_error"] == ""
    assert Identity.objects.get(pk=identity_id).code_hash == ""


def test_a_code_whose_job_message_was_lost_is_sent_by_the_sweep_once(
    prosody, settings, client, alice, api, django_capture_on_commit_callbacks
):
    hub_settings(settings, prosody, PASSWORD)
    identity_id = add(api, "xmpp", f"alice@{DOMAIN}")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=alice, name='lost')}"}
    # asked for, but the test's transaction never commits: the job's message is never sent, as if lost
    assert client.post(f"/api/v1/identities/{identity_id}/code", **headers).status_code == 202
    assert resend_lost_codes(grace=timedelta(minutes=2)) == []  # a worker may still be on its way
    later = timezone.now() + timedelta(minutes=3)
    with XmppPerson(jid=f"alice@{DOMAIN}", password=PASSWORD, port=prosody.port) as phone:
        with django_capture_on_commit_callbacks(execute=True):
            assert resend_lost_codes(grace=timedelta(minutes=2), now=later) == [identity_id]
        _, body = wait_for(lambda: phone.chats and phone.chats[0], what="the code on alice's client")
    assert resend_lost_codes(grace=timedelta(minutes=2), now=later + timedelta(minutes=3)) == []  # it went out
    code_hash = Identity.objects.get(pk=identity_id).code_hash
    assert send_xmpp_code(identity_id=identity_id) is False  # the lost message turning up late sends no 2nd code
    assert Identity.objects.get(pk=identity_id).code_hash == code_hash
    code = re.search(r"Your Chorus code for alice@chorus\.test: ([A-Z2-9]{8})", body).group(1)
    assert api(f"/identities/{identity_id}/verify", {"code": code}).json()["verified"]


def test_codes_are_rate_limited_and_allow_few_guesses(prosody, settings, api):
    hub_settings(settings, prosody, PASSWORD)
    identity_id = add(api, "xmpp", f"nobody@{DOMAIN}")  # not alice: Prosody would keep it for her next login
    assert api(f"/identities/{identity_id}/verify", {"code": "ABCDEFGH"}).json()["detail"] == "ask for a code first"
    assert api(f"/identities/{identity_id}/code").status_code == 202
    again = api(f"/identities/{identity_id}/code")
    assert again.status_code == 400 and "less than a minute ago" in again.json()["detail"]
    answers = [api(f"/identities/{identity_id}/verify", {"code": "22222222"}) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [400]
    assert "too many wrong codes" in answers[-1].json()["detail"]
    assert not Identity.objects.get(pk=identity_id).verified


def test_a_code_that_cannot_be_sent_says_why(settings, api):
    settings.CHORUS_XMPP_JID = ""
    identity_id = add(api, "xmpp", f"alice@{DOMAIN}")
    assert api(f"/identities/{identity_id}/code").status_code == 202
    identity = Identity.objects.get(pk=identity_id)
    assert "the hub has no XMPP account" in identity.last_check_error and identity.code_hash == ""


# -- fediverse (WebFinger) ---------------------------------------------------------------------------------------


def fediverse_account(httpserver, *, fields: str = "", page: str = "", aliases: list[str] | None = None) -> str:
    """A Mastodon-like alice on loopback: WebFinger, an ActivityPub actor with profile fields, a profile page."""
    host = f"127.0.0.1:{httpserver.port}"
    actor = {"type": "Person", "summary": "<p>reads feeds</p>",
             "attachment": [{"type": "PropertyValue", "name": "Chorus", "value": fields}]}  # fmt: skip
    httpserver.expect_request("/.well-known/webfinger").respond_with_handler(webfinger_for_alice(host, aliases=aliases))
    httpserver.expect_request("/users/alice").respond_with_json(actor, content_type="application/activity+json")
    httpserver.expect_request("/@alice").respond_with_data(f"<html><body>{page}</body></html>", content_type="text/html")
    return f"@alice@{host}"


@pytest.fixture
def webfinger_over_http(settings):
    settings.CHORUS_WEBFINGER_SCHEME = "http"


def test_a_mastodon_profile_field_linking_back_verifies_the_account(httpserver, webfinger_over_http, api):
    field = f'<a href="{PROFILE}" target="_blank" rel="nofollow noopener noreferrer me" translate="no">Chorus</a>'
    identity_id = add(api, "fediverse", fediverse_account(httpserver, fields=field))
    answer = api(f"/identities/{identity_id}/verify").json()
    assert answer["verified"] and answer["value"] == f"alice@127.0.0.1:{httpserver.port}"


@pytest.mark.parametrize("where", ["page", "alias"])
def test_a_profile_page_rel_me_link_or_a_webfinger_alias_verifies_the_account(httpserver, webfinger_over_http, api,
                                                                               where):  # fmt: skip
    account = (fediverse_account(httpserver, page=f'<a rel="me" href="{PROFILE}">me on Chorus</a>') if where == "page"
               else fediverse_account(httpserver, aliases=[PROFILE]))  # fmt: skip
    assert api(f"/identities/{add(api, 'fediverse', account)}/verify").json()["verified"]


def test_a_link_without_rel_me_or_to_someone_else_does_not_verify(httpserver, webfinger_over_http, api):
    account = fediverse_account(httpserver, fields=f'<a href="{PROFILE}">Chorus</a>',
                                page='<a rel="me" href="http://testserver/people/alicex/">not me</a>')  # fmt: skip
    answer = api(f"/identities/{add(api, 'fediverse', account)}/verify").json()
    assert not answer["verified"] and f'no rel="me" link to {PROFILE}' in answer["last_check_error"]


def test_an_unknown_fediverse_account_stays_unverified_with_the_reason(httpserver, webfinger_over_http, api):
    fediverse_account(httpserver)
    answer = api(f"/identities/{add(api, 'fediverse', f'@bob@127.0.0.1:{httpserver.port}')}/verify").json()
    assert not answer["verified"] and "knows no account" in answer["last_check_error"]


# -- Bluesky and X -------------------------------------------------------------------------------------------------


def bluesky_profile(httpserver, settings, description: str) -> None:
    settings.CHORUS_BLUESKY_BASE = f"http://127.0.0.1:{httpserver.port}"
    feed = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>@alice.bsky.social - Alice</title>"
            f"<link>https://bsky.app/profile/alice.bsky.social</link><description>{description}</description>"
            "</channel></rss>")  # fmt: skip
    httpserver.expect_request("/profile/alice.bsky.social/rss").respond_with_data(feed, content_type=RSS)


def test_a_bluesky_description_naming_the_chorus_profile_verifies_the_handle(httpserver, settings, api):
    bluesky_profile(httpserver, settings, "Feeds, XMPP. Replies: testserver/people/alice")
    assert api(f"/identities/{add(api, 'bluesky', '@alice.bsky.social')}/verify").json()["verified"]


def test_a_bluesky_description_naming_someone_else_does_not_verify(httpserver, settings, api):
    bluesky_profile(httpserver, settings, "see testserver/people/alicex/ for my replies")
    answer = api(f"/identities/{add(api, 'bluesky', 'alice.bsky.social')}/verify").json()
    assert not answer["verified"] and "does not name" in answer["last_check_error"]


def test_x_handles_stay_unverified_and_say_so(api):
    answer = api(f"/identities/{add(api, 'x', '@alice')}/verify")
    assert answer.status_code == 400 and "cannot check X handles" in answer.json()["detail"]


@pytest.mark.parametrize(("text", "named"), [
    ("https://chorus.example/people/alice/", True),
    ("chorus.example/people/alice.", True),
    ("(CHORUS.example/people/alice)", True),
    ("chorus.example/people/alice-bob", False),
    ("chorus.example/people/alice/posts", False),
    ("evilchorus.example/people/alice", False),
    ("chorus.example/people/", False),
])  # fmt: skip
def test_names_address_matches_the_whole_address_only(text, named):
    assert names_address(text, "https://chorus.example/people/alice/") is named


def test_a_handle_verified_by_bob_cannot_be_verified_by_alice_by_webfinger(httpserver, webfinger_over_http, api, bob):
    account = fediverse_account(httpserver, aliases=[PROFILE])
    identity_create(user=bob, kind="fediverse", value=account, verified=True)
    answer = api(f"/identities/{add(api, 'fediverse', account)}/verify").json()
    assert not answer["verified"] and "already verified by someone else" in answer["last_check_error"]


def test_the_identities_page_offers_the_check_each_kind_allows(client, alice, prosody, settings, committed):
    hub_settings(settings, prosody, PASSWORD)
    for kind, value in (("xmpp", f"alice@{DOMAIN}"), ("fediverse", "@alice@example.social"), ("x", "@alice")):
        identity_create(user=alice, kind=kind, value=value)
    client.force_login(alice)
    page = client.get("/identities/").content.decode()
    assert page.count(">Send code</button>") == 1 and page.count(">Verify</button>") == 1  # the fediverse one
    xmpp = Identity.objects.get(kind="xmpp")
    with XmppPerson(jid=f"alice@{DOMAIN}", password=PASSWORD, port=prosody.port) as phone:
        with committed():
            assert client.post(f"/identities/{xmpp.pk}/code/").status_code == 302
        wait_for(lambda: phone.chats, what="the code")
    page = client.get("/identities/").content.decode()
    assert 'autocomplete="one-time-code"' in page and "sending a code to alice@chorus.test" in page
    code = re.search(r": ([A-Z2-9]{8})\n", phone.chats[0][1]).group(1)
    client.post(f"/identities/{xmpp.pk}/verify/", {"code": code})
    assert Identity.objects.get(pk=xmpp.pk).verified
