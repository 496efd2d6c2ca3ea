"""Where signing in with a password ends (HOSTILE.md 46): at the sign-in link's ``next`` only when it is a path of
this site, whatever the link says; through allauth's real views, sign-in page and form."""

import re
from html import unescape
from urllib.parse import urlencode

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests/conftest.py's alice
FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def sign_in(*, next_url: str, secure: bool = False):
    """Open ``/accounts/login/?next=...`` as a link would and send its form as alice would: her login and password,
    and the hidden fields the page put there (the CSRF token, the ``next`` it carried over)."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/accounts/login/?{urlencode({'next': next_url})}", secure=secure).content.decode()
    action, form = re.search(r'<form method="post" action="([^"]+)" class="signin">(.*?)</form>', page, re.S).groups()
    hidden = {name: unescape(value) for name, value in FIELD.findall(form)}
    assert hidden["next"] == next_url  # the page carries the link's next over: the check is at the sign-in itself
    origin = f"{'https' if secure else 'http'}://testserver"  # a browser's POST names the page's origin
    return client.post(unescape(action), {**hidden, "login": "alice", "password": PASSWORD}, secure=secure,
                       headers={"Origin": origin})  # fmt: skip


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/",
                                    "https:evil.example", "javascript:alert(1)",
                                    "http://localhost/elsewhere"])  # another name in ALLOWED_HOSTS, not this site's
def test_signing_in_from_a_link_whose_next_leaves_the_site_ends_on_the_timeline(alice, target):
    response = sign_in(next_url=target)
    assert response.status_code == 302 and response["Location"] == "/"  # the timeline, a path of this site


def test_signing_in_over_https_never_goes_back_to_this_site_over_plain_http(alice):
    response = sign_in(next_url="http://testserver/starred/", secure=True)
    assert response.status_code == 302 and response["Location"] == "/"


def test_signing_in_from_a_link_with_a_path_of_this_site_ends_there(alice):
    response = sign_in(next_url="/starred/?before=x")
    assert response.status_code == 302 and response["Location"] == "/starred/?before=x"
