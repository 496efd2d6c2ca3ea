"""allauth's account adapter: limits on failed password sign-ins that a stranger cannot turn against the owner,
and the one check of a ``next`` (HOSTILE.md 46) for allauth's views too.

allauth counts failed sign-ins per address and per account (the "key", the login typed). Counted per account
alone, a stranger's failures for bob lock bob out everywhere. Here the per-account count is kept per address
(``login_failed``: "N/period/key" counts one account from one address), and an account-wide count covers
attacks spread over many addresses (``login_failed_account``) but does not apply from an address the account
has signed in from before: bob's own address always gets through to the password check.

allauth would follow a ``next`` naming any host of ``ALLOWED_HOSTS`` (``localhost`` by default), over plain http
from an https page too; here, as for every form of this site, only a path of this site (``is_local_path``).

Checked with django-allauth 65.22: ``pre_authenticate`` consumes ``login_failed`` with the key that
``_get_login_attempts_cache_key`` returns, and a successful sign-in gives that consumption back; every ``next``
allauth takes (sign-in, sign-out, sign-up, a provider's sign-in) goes through ``is_safe_url``.
"""

import hashlib

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import ratelimit
from django.core.cache import cache

from aggregator.hygiene.redirects import is_local_path

KNOWN_ADDRESS_SECONDS = 90 * 24 * 3600  # an address stays the owner's this long after a sign-in from it


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{self.get_client_ip(request)}"

    def pre_authenticate(self, request, **credentials) -> None:
        super().pre_authenticate(request, **credentials)
        if cache.get(self._known_address_key(request, credentials)):
            return
        if not ratelimit.consume(request, action="login_failed_account", key=_login(credentials)):
            raise self.validation_error("too_many_login_attempts")

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is not None:
            cache.set(self._known_address_key(request, credentials), True, KNOWN_ADDRESS_SECONDS)
        return user

    def is_safe_url(self, url: str) -> bool:
        return is_local_path(url)

    def _known_address_key(self, request, credentials: dict) -> str:
        known = f"{_login(credentials)}\n{self.get_client_ip(request)}".encode()
        return f"chorus:signin:known:{hashlib.sha256(known).hexdigest()}"


def _login(credentials: dict) -> str:
    return credentials.get("email", credentials.get("username", "")).lower()
