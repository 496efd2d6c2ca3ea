"""The OAuth code flow of a Mastodon app through our pages, driven by Django's test client."""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

OOB = "urn:ietf:wg:oauth:2.0:oob"


def register(client, *, redirect_uri: str = OOB, scopes: str = "read write follow") -> dict:
    response = client.post("/api/v1/apps", {"client_name": "Tusky", "redirect_uris": redirect_uri, "scopes": scopes})
    assert response.status_code == 200, response.content
    return response.json()


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(b"v" * 40).decode().rstrip("=")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize(client, app: dict, *, redirect_uri: str, scopes: str, challenge: str = "") -> str:
    """A signed-in person presses Authorize; returns the code (from the redirect, or the out-of-band page)."""
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect_uri, "scope": scopes,
             "state": "s1"}  # fmt: skip
    if challenge:
        query.update(code_challenge=challenge, code_challenge_method="S256")
    page = client.get("/oauth/authorize", query)
    assert page.status_code == 200 and b"Authorize" in page.content, page.content[:500]
    form = {key: value for key, value in page.context["form"].initial.items() if value is not None}
    answer = client.post("/oauth/authorize",
                         {**form, "allow": "Authorize"})  # fmt: skip
    if redirect_uri == OOB:
        assert answer.status_code == 200
        return answer.context["code"]
    assert answer.status_code == 302, answer.content[:300]
    location = urlsplit(answer["Location"])
    assert answer["Location"].startswith(redirect_uri) and parse_qs(location.query)["state"] == ["s1"]
    return parse_qs(location.query)["code"][0]


def token_for(client, app: dict, *, redirect_uri: str = OOB, scopes: str = "read write follow") -> str:
    verifier, challenge = pkce()
    code = authorize(client, app, redirect_uri=redirect_uri, scopes=scopes, challenge=challenge)
    response = client.post("/oauth/token", {
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": redirect_uri, "code_verifier": verifier,
    })  # fmt: skip
    assert response.status_code == 200, response.content
    return response.json()["access_token"]
