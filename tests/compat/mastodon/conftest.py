"""Mastodon.py against a live Chorus: the app registers, alice approves it on our Authorize page, it logs in."""

import pytest
from django.db import connections
from mastodon import Mastodon

from tests.compat.mastodon.oauth_flow import OOB, authorize


@pytest.fixture
def _no_kept_connections(monkeypatch):
    """The live server answers each request in a new thread: a kept connection would outlive it."""
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)


@pytest.fixture
def app_for(live_server, client, alice, _no_kept_connections):
    """Mastodon.py registers its app and logs in with a code alice approved on our Authorize page."""

    def sign_in(scopes=("read", "write", "follow")) -> Mastodon:
        client_id, client_secret = Mastodon.create_app("Mastodon.py tests", scopes=list(scopes), redirect_uris=OOB,
                                                       api_base_url=live_server.url)  # fmt: skip
        client.force_login(alice)
        code = authorize(client, {"client_id": client_id}, redirect_uri=OOB, scopes=" ".join(scopes))
        api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_server.url,
                       version_check_mode="none")  # fmt: skip
        api.log_in(code=code, redirect_uri=OOB, scopes=list(scopes), allow_http=True)  # the live server is http
        return api

    return sign_in
