"""App passwords under Settings: made (shown once, only a hash kept), listed, revoked."""

import pytest

from accounts.models import AppPassword
from accounts.tokens import secret_hash

from tests.compat.greader_app import GReaderApp

pytestmark = pytest.mark.django_db


def shown_secret(response) -> str:
    return response.content.decode().split("shown only once): <code>")[1].split("</code>")[0]


def test_alice_makes_an_app_password_uses_it_and_revokes_it(client, alice):
    client.force_login(alice)
    page = client.post("/settings/app-passwords/", {"name": "NetNewsWire"})
    made = AppPassword.objects.get(user=alice)
    secret = shown_secret(page)
    assert made.name == "NetNewsWire" and made.key_hash == secret_hash(secret) and secret not in made.key_hash
    assert "/api/greader" in page.content.decode()
    assert GReaderApp().login("alice", secret).status_code == 200
    client.post(f"/settings/app-passwords/{made.pk}/revoke/")
    assert GReaderApp().login("alice", secret).status_code == 401
    assert "shown only once" not in client.get("/settings/app-passwords/").content.decode()


def test_bob_cannot_revoke_alices_app_password(client, alice, bob):
    app = GReaderApp()
    client.force_login(alice)
    secret = shown_secret(client.post("/settings/app-passwords/", {"name": "x"}))
    client.force_login(bob)
    client.post(f"/settings/app-passwords/{AppPassword.objects.get(user=alice).pk}/revoke/")
    assert app.login("alice", secret).status_code == 200
