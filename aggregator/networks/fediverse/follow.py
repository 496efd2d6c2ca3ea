"""A fediverse account as a follow-box address: ``@user@host`` or ``acct:user@host`` -> its public feed."""

from aggregator.networks.fediverse.webfinger import account_feed, lookup, parse_account
from aggregator.networks.rss.discover import AccountFeed


def claims(text: str) -> bool:
    return text.lower().startswith("acct:") or (text.startswith("@") and text.count("@") >= 2)


def resolve(text: str) -> AccountFeed:
    """WebFinger -> profile -> its feed, and the XMPP node the account advertises (followed too, push first)."""
    account = parse_account(text)
    profile = lookup(account)
    feed = account_feed(account, profile=profile)
    return AccountFeed(url=feed.url, title=feed.title, handle=account.handle, avatar_url=profile.avatar,
                       xmpp_uri=profile.xmpp_uri)  # fmt: skip
