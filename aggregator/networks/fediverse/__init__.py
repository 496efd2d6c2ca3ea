"""Fediverse accounts (``@user@host``: Mastodon and friends): WebFinger (RFC 7033) -> profile -> its feed."""

from aggregator.networks.fediverse.webfinger import (
    Account,
    NotAFediverseAddress,
    Profile,
    WebFingerError,
    account_feed,
    lookup,
    parse_account,
    parse_jrd,
)

__all__ = [
    "Account", "NotAFediverseAddress", "Profile", "WebFingerError", "account_feed", "lookup", "parse_account",
    "parse_jrd",
]  # fmt: skip
