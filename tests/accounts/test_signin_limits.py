"""Failed password sign-ins are limited per address and per account, and a stranger cannot lock bob out."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # tests/conftest.py's bob
STRANGER, BOBS_HOME, BOBS_PHONE = "203.0.113.66", "198.51.100.20", "198.51.100.21"
TOO_MANY = "Too many failed login attempts"


def sign_in(address: str, *, password: str, login: str = "bob"):
    return Client(REMOTE_ADDR=address).post("/accounts/login/", {"login": login, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/"


def test_after_a_strangers_failures_bob_still_signs_in_from_another_address(bob):
    refusals = [sign_in(STRANGER, password=f"guess {n}") for n in range(8)]
    assert all(r.status_code == 200 for r in refusals)
    assert TOO_MANY in refusals[-1].content.decode()
    # the stranger's address is limited: even the right password is not checked from there now
    from_stranger = sign_in(STRANGER, password=PASSWORD)
    assert not signed_in(from_stranger) and TOO_MANY in from_stranger.content.decode()
    assert signed_in(sign_in(BOBS_HOME, password=PASSWORD))


def test_the_strangers_address_is_limited_for_every_account(alice, bob):
    for n in range(10):
        sign_in(STRANGER, login=("alice", "bob")[n % 2], password=f"guess {n}")
    assert TOO_MANY in sign_in(STRANGER, login="carol", password="guess").content.decode()


def test_failures_spread_over_many_addresses_stop_at_the_account_but_not_at_bobs_own_address(bob, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_account": "6/h/key"}
    assert signed_in(sign_in(BOBS_HOME, password=PASSWORD))  # bob's own address, known from then on
    for n in range(6):  # a botnet: two guesses from each of three addresses, under the per-address limits
        sign_in(f"203.0.113.{n // 2}", password=f"guess {n}")
    assert TOO_MANY in sign_in("203.0.113.50", password="guess").content.decode()  # a new address: refused
    assert TOO_MANY in sign_in(BOBS_PHONE, password=PASSWORD).content.decode()  # even bob, somewhere new
    assert signed_in(sign_in(BOBS_HOME, password=PASSWORD))  # but never from home
