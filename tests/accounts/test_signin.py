"""Sign-in with OpenID Connect and OpenID 2.0: the adapter's decisions, the provider configuration, and whole
sign-ins through Django's test client against real providers on loopback (oidc-provider on Node for OpenID
Connect, python3-openid's server for OpenID 2.0). Browser versions are in test_browser_signin.py."""

import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from accounts.adapters import SocialAccountAdapter, claim_is_true, suggested_username
from accounts.oidc_config import oidc_apps_from_env
from aggregator.env import SettingError

from tests.servers.oidc_provider import OIDCProvider, client
from tests.servers.openid_provider import OpenIDProvider
from tests.servers.processes import free_port

pytestmark = pytest.mark.django_db

SECRET = "test-client-secret"
CALLBACK = "http://testserver/accounts/oidc/{id}/login/callback/"
ACCOUNTS = {
    "carol": {"email": "carol@example.org", "email_verified": True, "preferred_username": "carol", "name": "Carol C"},
    "alice-verified": {"email": "alice@example.org", "email_verified": True, "preferred_username": "alice.v"},
    "alice-unverified": {"email": "alice@example.org", "email_verified": False, "preferred_username": "alice.u"},
    "alice-says-false": {"email": "alice@example.org", "email_verified": "false", "preferred_username": "alice.f"},
    "not-bob": {"email": "notbob@example.org", "email_verified": True, "preferred_username": "bob"},
    "no-email": {"preferred_username": "dave"},
}


@pytest.fixture(scope="module")
def oidc():
    provider = OIDCProvider(clients=[client(client_id=pid, secret=SECRET, redirect_uri=CALLBACK.format(id=pid))
                                     for pid in ("acme", "umbrella")], accounts=ACCOUNTS).start()  # fmt: skip
    yield provider
    provider.stop()


@pytest.fixture
def providers(oidc, settings):
    """acme and umbrella, configured the way CHORUS_OIDC_PROVIDERS configures them."""
    raw = "[" + ",".join(
        f'{{"id": "{pid}", "name": "{pid.title()} ID", "issuer": "{oidc.issuer}", "client_id": "{pid}", "secret": "{SECRET}"}}'
        for pid in ("acme", "umbrella")
    ) + "]"  # fmt: skip
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {**settings.SOCIALACCOUNT_PROVIDERS["openid_connect"],
                                                           "APPS": oidc_apps_from_env(raw)}}  # fmt: skip
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "social_login": "1000/m/ip"}
    return oidc


def run_provider_pages(location: str, *, login: str, deny: bool = False) -> str:
    """Go through oidc-provider's sign-in and consent pages as a person would (any password works), and
    return the URL it finally sends the browser back to (the Chorus callback)."""
    session = requests.Session()
    url = location
    for _ in range(12):
        response = session.get(url, allow_redirects=False, timeout=10)
        while response.status_code in (302, 303):
            url = urljoin(url, response.headers["location"])
            if urlsplit(url).hostname == "testserver":
                return url
            response = session.get(url, allow_redirects=False, timeout=10)
        page = response.text
        if deny:
            url = urljoin(url, unescape(re.search(r'href="([^"]+/abort)"', page).group(1)))
            continue
        action = urljoin(url, unescape(re.search(r'<form[^>]*action="([^"]+)"', page).group(1)))
        fields = {"prompt": "login", "login": login, "password": "any"} if 'name="login"' in page else {"prompt": "consent"}
        response = session.post(action, data=fields, allow_redirects=False, timeout=10)
        url = urljoin(action, response.headers["location"])
        if urlsplit(url).hostname == "testserver":
            return url
    raise AssertionError("the provider never sent the browser back")


def oidc_sign_in(web: Client, provider_id: str, *, login: str, process: str = "login", deny: bool = False):
    """A whole sign-in: press the provider's button on Chorus, pass the provider's pages, land on the callback."""
    start = web.post(f"/accounts/oidc/{provider_id}/login/", {"process": process})
    assert start.status_code == 302, start.content[:500]
    back = run_provider_pages(start["Location"], login=login, deny=deny)
    return web.get(back[len("http://testserver"):])


def text(response) -> str:
    return unescape(response.content.decode())


class TestOpenIDConnect:
    def test_a_first_sign_in_creates_the_account_from_the_claims(self, providers, client):
        response = oidc_sign_in(client, "acme", login="carol")
        assert response.status_code == 302 and response["Location"] == "/"
        carol = User.objects.get(username="carol")
        assert carol.email == "carol@example.org" and not carol.has_usable_password()
        assert EmailAddress.objects.get(user=carol).verified  # the provider said so
        assert SocialAccount.objects.get(user=carol).provider == "acme"
        assert client.get("/").status_code == 200

    def test_a_second_sign_in_lands_in_the_same_account(self, providers):
        oidc_sign_in(Client(), "acme", login="carol")
        again = Client()
        oidc_sign_in(again, "acme", login="carol")
        assert User.objects.count() == 1
        assert again.get("/").context["user"].username == "carol"

    def test_a_verified_email_links_to_the_account_that_has_it_verified(self, providers, client, alice):
        EmailAddress.objects.create(user=alice, email="alice@example.org", verified=True, primary=True)
        oidc_sign_in(client, "acme", login="alice-verified")
        assert client.get("/").context["user"] == alice
        assert SocialAccount.objects.get(provider="acme").user == alice
        assert alice.__class__.objects.get(pk=alice.pk).has_usable_password()  # nothing wiped

    @pytest.mark.parametrize("login", ["alice-unverified", "alice-says-false"])
    def test_an_unverified_email_never_enters_the_account_that_has_it(self, providers, client, alice, login):
        EmailAddress.objects.create(user=alice, email="alice@example.org", verified=True, primary=True)
        response = oidc_sign_in(client, "acme", login=login)
        assert response["Location"] == "/accounts/3rdparty/signup/"
        page = text(client.get(response["Location"]))
        assert "An account already uses alice@example.org" in page
        assert client.get("/").status_code == 302  # not signed in to alice's account
        assert not SocialAccount.objects.exists()

    def test_a_provider_verified_email_does_not_enter_an_account_whose_address_is_unverified(self, providers, client, alice):
        EmailAddress.objects.create(user=alice, email="alice@example.org", verified=False, primary=True)
        response = oidc_sign_in(client, "acme", login="alice-verified")
        assert response["Location"] == "/accounts/3rdparty/signup/"
        assert client.get("/").status_code == 302

    def test_a_taken_username_gets_a_clear_form_then_the_account(self, providers, client, bob):
        response = oidc_sign_in(client, "acme", login="not-bob")
        assert response["Location"] == "/accounts/3rdparty/signup/"
        form = text(client.get("/accounts/3rdparty/signup/"))
        assert "The username “bob” cannot be used" in form and 'value="notbob@example.org"' in form
        refused = client.post("/accounts/3rdparty/signup/", {"username": "bob", "email": "notbob@example.org"})
        assert refused.status_code == 200 and "already exists" in text(refused)
        done = client.post("/accounts/3rdparty/signup/", {"username": "robert", "email": "notbob@example.org"})
        assert done.status_code == 302
        assert SocialAccount.objects.get(provider="acme").user.username == "robert"

    def test_a_missing_email_is_asked_for(self, providers, client):
        oidc_sign_in(client, "acme", login="no-email")
        form = text(client.get("/accounts/3rdparty/signup/"))
        assert "Acme ID did not give an email address" in form
        client.post("/accounts/3rdparty/signup/", {"username": "dave", "email": "dave@example.org"})
        assert User.objects.get(username="dave").email == "dave@example.org"

    def test_denied_consent_signs_nobody_in(self, providers, client):
        response = oidc_sign_in(client, "acme", login="carol", deny=True)
        assert response["Location"] == "/accounts/3rdparty/login/cancelled/"
        assert "cancelled" in text(client.get(response["Location"]))
        assert client.get("/").status_code == 302 and not User.objects.exists()

    def test_a_signed_in_person_links_a_second_provider_and_both_lead_in(self, providers, client):
        oidc_sign_in(client, "acme", login="carol")
        linked = oidc_sign_in(client, "umbrella", login="carol", process="connect")
        assert linked["Location"] == "/accounts/3rdparty/"
        assert sorted(SocialAccount.objects.values_list("provider", flat=True)) == ["acme", "umbrella"]
        page = text(client.get("/accounts/3rdparty/"))
        assert "Acme ID" in page and "Umbrella ID" in page
        other = Client()
        oidc_sign_in(other, "umbrella", login="carol")
        assert other.get("/").context["user"].username == "carol" and User.objects.count() == 1

    def test_a_login_linked_to_someone_else_is_not_moved(self, providers, client, alice):
        oidc_sign_in(Client(), "acme", login="carol")
        client.force_login(alice)
        response = oidc_sign_in(client, "acme", login="carol", process="connect")
        assert response.status_code == 302
        assert SocialAccount.objects.get(provider="acme").user.username == "carol"

    def test_the_last_way_in_cannot_be_removed(self, providers, client):
        oidc_sign_in(client, "acme", login="carol")
        account = SocialAccount.objects.get()
        response = client.post("/accounts/3rdparty/", {"account": account.pk})
        assert response.status_code == 200 and "no password" in text(response).lower()
        assert SocialAccount.objects.filter(pk=account.pk).exists()

    def test_a_password_that_is_the_only_way_in_stays(self, client, alice):
        client.force_login(alice)
        response = client.post("/settings/logins/password/remove/", follow=True)
        assert "The password stays" in text(response)
        alice.refresh_from_db()
        assert alice.has_usable_password()

    def test_a_linked_login_is_removed_while_a_password_remains_and_the_password_while_a_login_remains(
        self, providers, client, alice
    ):
        client.force_login(alice)
        oidc_sign_in(client, "acme", login="carol", process="connect")
        assert SocialAccount.objects.get().user == alice
        client.post("/settings/logins/password/remove/")
        alice.refresh_from_db()
        assert not alice.has_usable_password()
        assert client.get("/").status_code == 200  # still signed in
        refused = client.post("/accounts/3rdparty/", {"account": SocialAccount.objects.get().pk})
        assert SocialAccount.objects.count() == 1 and "no password" in text(refused).lower()
        alice.set_password("correct horse battery")
        alice.save()
        client.force_login(alice)
        client.post("/accounts/3rdparty/", {"account": SocialAccount.objects.get().pk})
        assert not SocialAccount.objects.exists()

    def test_providers_can_be_admin_rows(self, oidc, client):
        SocialApp.objects.create(provider="openid_connect", provider_id="acme", name="Acme (admin row)",
                                 client_id="acme", secret=SECRET, settings={"server_url": oidc.issuer})  # fmt: skip
        assert "Sign in with Acme (admin row)" in text(client.get("/accounts/login/"))
        assert oidc_sign_in(client, "acme", login="carol")["Location"] == "/"
        assert client.get("/").context["user"].username == "carol"

    def test_the_login_page_has_a_button_per_provider_and_an_openid_url_form(self, providers, client):
        page = text(client.get("/accounts/login/"))
        assert "Sign in with Acme ID" in page and "Sign in with Umbrella ID" in page
        assert "Sign in with your OpenID URL" in page
        assert page.count('name="csrfmiddlewaretoken"') == 4  # password form, two buttons, OpenID form


class TestSignInProblems:
    def test_a_provider_that_is_down_gets_a_clear_page(self, settings, client):
        dead = f"http://127.0.0.1:{free_port()}"
        raw = f'[{{"id": "down", "name": "Down ID", "issuer": "{dead}", "client_id": "x", "secret": "y"}}]'
        settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": oidc_apps_from_env(raw)}}
        response = client.post("/accounts/oidc/down/login/", {"process": "login"})
        assert response.status_code == 401
        assert "Down ID could not be reached" in text(response)

    def test_a_callback_with_an_unknown_state_gets_a_clear_page(self, providers, client):
        response = client.get("/accounts/oidc/acme/login/callback/?code=abc&state=forged")
        assert response.status_code == 401
        assert "does not match one started in this browser" in text(response)
        assert client.get("/").status_code == 302

    def test_a_state_from_another_browser_signs_nobody_in(self, providers):
        attacker, victim = Client(), Client()
        start = attacker.post("/accounts/oidc/acme/login/", {"process": "login"})
        back = run_provider_pages(start["Location"], login="carol")
        response = victim.get(back[len("http://testserver"):])
        assert response.status_code == 401 and victim.get("/").status_code == 302
        assert not User.objects.exists()

    def test_sign_in_starts_are_rate_limited(self, providers, settings, client):
        settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "social_login": "2/m/ip"}
        ratelimit.clear(RequestFactory().post("/", REMOTE_ADDR="198.51.100.7"), action="social_login")  # earlier runs
        codes = [client.post("/accounts/oidc/acme/login/", {"process": "login"}, REMOTE_ADDR="198.51.100.7").status_code
                 for _ in range(3)]  # fmt: skip
        assert codes == [302, 302, 429]

    def test_sign_in_forms_need_the_csrf_token(self, providers):
        strict = Client(enforce_csrf_checks=True)
        assert strict.post("/accounts/oidc/acme/login/", {"process": "login"}).status_code == 403
        assert strict.post("/accounts/openid/login/", {"openid": "http://127.0.0.1/"}).status_code == 403


class TestOpenID2:
    @pytest.fixture
    def op(self):
        provider = OpenIDProvider({"erin": {"email": "erin@example.org", "fullname": "Erin E"},
                                   "nobody": {"deny": True}}).start()  # fmt: skip
        yield provider
        provider.stop()

    def sign_in(self, web: Client, url: str, process: str = "login"):
        start = web.post("/accounts/openid/login/", {"openid": url, "process": process})
        assert start.status_code == 302, text(start)[:2000]
        back = requests.get(start["Location"], allow_redirects=False, timeout=10)  # the provider approves at once
        assert back.status_code == 302
        return web.get(back.headers["location"][len("http://testserver"):])

    def test_a_first_openid_sign_in_creates_the_account_with_the_sreg_email(self, op, client):
        response = self.sign_in(client, op.identity_url("erin"))
        assert response.status_code == 302 and response["Location"] == "/"
        erin = User.objects.get()
        assert (erin.username, erin.email) == ("erin", "erin@example.org")
        assert not EmailAddress.objects.get(user=erin).verified  # OpenID 2.0 says nothing about verification
        assert SocialAccount.objects.get().uid == op.identity_url("erin")
        again = Client()
        self.sign_in(again, op.identity_url("erin"))
        assert again.get("/").context["user"] == erin

    def test_an_openid_url_is_linked_to_a_signed_in_account(self, op, client, alice):
        client.force_login(alice)
        self.sign_in(client, op.identity_url("erin"), process="connect")
        assert SocialAccount.objects.get(provider="openid").user == alice

    def test_a_refusal_at_the_provider_signs_nobody_in(self, op, client):
        response = self.sign_in(client, op.identity_url("nobody"))
        assert response["Location"] == "/accounts/3rdparty/login/cancelled/"
        assert client.get("/").status_code == 302

    def test_an_address_with_no_openid_provider_is_explained_in_the_form(self, op, client):
        response = client.post("/accounts/openid/login/", {"openid": op.base + "/id/unknown"})
        assert response.status_code == 200 and "HTTP 404" in text(response)

    def test_a_private_address_is_refused_before_anything_is_fetched(self, op, client, settings):
        settings.CHORUS_FETCH_ALLOW_PRIVATE = False
        response = client.post("/accounts/openid/login/", {"openid": op.identity_url("erin")})
        assert response.status_code == 200 and "private" in text(response).lower()
        assert op.checkid_requests == 0

    def test_a_get_link_never_starts_a_sign_in(self, op, client):
        response = client.get("/accounts/openid/login/", {"openid": op.identity_url("erin")})
        assert response.status_code == 200 and op.identity_url("erin") in text(response)
        assert op.checkid_requests == 0


class TestAdapterDecisions:
    """The adapter on real provider objects and the real database (no HTTP)."""

    @pytest.fixture
    def acme(self, db):
        app = SocialApp.objects.create(provider="openid_connect", provider_id="acme", name="Acme", client_id="c",
                                       settings={"server_url": "https://id.example.org"})  # fmt: skip
        request = RequestFactory().get("/")
        return app.get_provider(request), request

    def login(self, acme, **claims):
        provider, request = acme
        return provider.sociallogin_from_response(request, {"userinfo": {"sub": "42", **claims}})

    def test_only_a_true_claim_counts_as_verified(self):
        assert [claim_is_true(v) for v in (True, "true", "TRUE", False, "false", None, 1, "1")] == [
            True, True, True, False, False, False, False, False]  # fmt: skip

    def test_auto_link_needs_the_provider_to_verify_the_email(self, acme, alice):
        EmailAddress.objects.create(user=alice, email="alice@example.org", verified=True, primary=True)
        adapter = SocialAccountAdapter()
        assert adapter.authenticate_by_email(self.login(acme, email="alice@example.org", email_verified=True)) == (
            alice, "alice@example.org")  # fmt: skip
        for unverified in (False, "false", None):
            login = self.login(acme, email="alice@example.org", email_verified=unverified)
            assert adapter.authenticate_by_email(login) is None

    def test_auto_link_needs_the_local_address_verified_and_owned_by_one_account(self, acme, alice, bob):
        EmailAddress.objects.create(user=alice, email="shared@example.org", verified=False, primary=False)
        login = self.login(acme, email="shared@example.org", email_verified=True)
        assert SocialAccountAdapter().authenticate_by_email(login) is None

    def test_a_provider_that_is_not_trusted_with_emails_never_auto_links(self, acme, alice):
        EmailAddress.objects.create(user=alice, email="alice@example.org", verified=True, primary=True)
        provider, _ = acme
        provider.app.settings["email_authentication"] = False
        login = self.login(acme, email="alice@example.org", email_verified=True)
        assert SocialAccountAdapter().authenticate_by_email(login) is None

    def test_the_username_is_suggested_from_the_claims(self, acme):
        assert self.login(acme, preferred_username="carol", email="c@example.org").user.username == "carol"
        assert self.login(acme, email="carol.c+x@example.org").user.username == "carol.c+x"
        assert self.login(acme, preferred_username="Carol Smith!").user.username == "CarolSmith"
        assert suggested_username(preferred=None, email=None) == ""

    def test_a_taken_or_missing_username_means_the_form(self, acme, bob):
        request = RequestFactory().get("/")
        adapter = SocialAccountAdapter(request)
        assert adapter.is_auto_signup_allowed(request, self.login(acme, preferred_username="carol"))
        assert not adapter.is_auto_signup_allowed(request, self.login(acme, preferred_username="bob"))
        assert not adapter.is_auto_signup_allowed(request, self.login(acme))


class TestProviderSettings:
    def test_a_provider_list_becomes_allauth_apps(self):
        apps = oidc_apps_from_env('[{"id": "work", "name": "Work", "issuer": "https://id.example.org/",'
                                  ' "client_id": "c", "secret": "s", "trust_email": false}]')  # fmt: skip
        assert apps == [{"provider_id": "work", "name": "Work", "client_id": "c", "secret": "s", "settings": {
            "server_url": "https://id.example.org", "oauth_pkce_enabled": True, "email_authentication": False}}]
        assert oidc_apps_from_env("  ") == []

    @pytest.mark.parametrize(("raw", "says"), [
        ("{", "not valid JSON"),
        ('{"id": "x"}', "JSON list"),
        ('[{"id": "x", "name": "X", "issuer": "https://i"}]', "client_id, secret"),
        ('[{"id": "Bad Id", "name": "X", "issuer": "https://i", "client_id": "c", "secret": "s"}]', "lower-case"),
        ('[{"id": "x", "name": "X", "issuer": "ftp://i", "client_id": "c", "secret": "s"}]', "http(s) URL"),
        ('[{"id": "x", "name": "X", "issuer": "https://i", "client_id": "c", "secret": "s", "colour": 1}]', "unknown"),
        ('[{"id": "x", "name": "X", "issuer": "https://i", "client_id": "c", "secret": "s"},'
         ' {"id": "x", "name": "Y", "issuer": "https://j", "client_id": "c", "secret": "s"}]', "unique"),
    ])  # fmt: skip
    def test_a_bad_provider_list_stops_start_up_with_a_message(self, raw, says):
        with pytest.raises(SettingError, match=re.escape(says)):
            oidc_apps_from_env(raw)
