"""Apps and OAuth 2 for Mastodon clients: registration, the code flow with PKCE, scopes, revocation."""

from urllib.parse import parse_qs, urlsplit

import pytest
from oauth2_provider.models import AccessToken

from tests.compat.mastodon.oauth_flow import OOB, authorize, pkce, register, token_for

pytestmark = pytest.mark.django_db


def test_an_app_registers_and_gets_its_secret_once(client):
    app = register(client, redirect_uri="tusky://oauth\nhttps://app.example/cb")
    assert app["client_id"] and app["client_secret"] and app["redirect_uris"] == ["tusky://oauth", "https://app.example/cb"]
    assert app["scopes"] == ["read", "write", "follow"]


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "data:text/html,x", "https://", "JavaScript://x/%0aalert(1)", ""])
def test_a_dangerous_or_empty_redirect_uri_is_refused_with_a_reason(client, uri):
    response = client.post("/api/v1/apps", {"client_name": "Evil", "redirect_uris": uri})
    assert response.status_code == 422 and "redirect_uris" in response.json()["detail"]


def test_an_unknown_scope_is_refused(client):
    response = client.post("/api/v1/apps", {"client_name": "X", "redirect_uris": OOB, "scopes": "read admin:write"})
    assert response.status_code == 422 and "scope" in response.json()["error"]


@pytest.mark.parametrize("redirect_uri", [OOB, "tusky://oauth", "https://app.example/cb"])
def test_the_code_flow_with_pkce_gives_a_token_that_reads(client, alice, redirect_uri):
    app = register(client, redirect_uri=redirect_uri)
    client.force_login(alice)
    token = token_for(client, app, redirect_uri=redirect_uri)
    client.logout()
    me = client.get("/api/v1/accounts/verify_credentials", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_authorize_sends_a_stranger_to_our_sign_in_first(client):
    app = register(client)
    response = client.get("/oauth/authorize", {"response_type": "code", "client_id": app["client_id"],
                                               "redirect_uri": OOB, "scope": "read"})  # fmt: skip
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_a_wrong_pkce_verifier_gets_no_token(client, alice):
    app = register(client)
    client.force_login(alice)
    _, challenge = pkce()
    code = authorize(client, app, redirect_uri=OOB, scopes="read", challenge=challenge)
    response = client.post("/oauth/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": OOB,
                                            "client_id": app["client_id"], "client_secret": app["client_secret"],
                                            "code_verifier": "w" * 50})  # fmt: skip
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_scopes_are_enforced(client, alice):
    app = register(client, scopes="read")
    client.force_login(alice)
    token = token_for(client, app, scopes="read")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get("/api/v1/timelines/home", **auth).status_code == 200
    refused = client.post("/api/v1/accounts/1/follow", **auth)
    assert refused.status_code == 403 and "write:follows" in refused.json()["error"]


def test_a_revoked_token_is_refused_and_listed_no_more(client, alice):
    app = register(client)
    client.force_login(alice)
    token = token_for(client, app)
    assert b"Tusky" in client.get("/settings/tokens/").content
    revoked = client.post("/oauth/revoke", {"token": token, "client_id": app["client_id"],
                                            "client_secret": app["client_secret"]})  # fmt: skip
    assert revoked.status_code == 200 and revoked.json() == {}
    assert client.get("/api/v1/timelines/home", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert b"Tusky" not in client.get("/settings/tokens/").content


def test_a_token_is_revoked_from_settings(client, alice):
    app = register(client)
    client.force_login(alice)
    token = token_for(client, app)
    client.post(f"/settings/apps/{AccessToken.objects.get(user=alice).pk}/revoke/")
    assert client.get("/api/v1/timelines/home", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_the_server_metadata_names_the_endpoints(client):
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["authorization_endpoint"].endswith("/oauth/authorize") and "S256" in metadata["code_challenge_methods_supported"]
    assert "read" in metadata["scopes_supported"]


def test_an_app_asking_for_scopes_it_did_not_register_is_refused(client, alice):
    app = register(client, redirect_uri="https://app.example/cb", scopes="read")
    client.force_login(alice)
    response = client.get("/oauth/authorize", {"response_type": "code", "client_id": app["client_id"],
                                               "redirect_uri": "https://app.example/cb", "scope": "read write"})  # fmt: skip
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_scope"]
    assert not AccessToken.objects.filter(user=alice).exists()


def test_a_registered_scope_is_granted_and_shown_by_name(client, alice):
    app = register(client, scopes="read:statuses write:statuses")
    client.force_login(alice)
    page = client.get("/oauth/authorize", {"response_type": "code", "client_id": app["client_id"],
                                           "redirect_uri": OOB, "scope": "read:statuses"})  # fmt: skip
    assert page.status_code == 200 and b"Read your statuses" in page.content
    token = token_for(client, app, scopes="read:statuses")
    verified = client.get("/api/v1/apps/verify_credentials", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert verified["scopes"] == ["read:statuses"]
