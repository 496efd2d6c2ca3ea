"""An X account as a follow-box address: ``@name``, ``x:name``, an x.com or twitter.com URL -> the account, looked
up through the X API with the operator's token."""

from aggregator.fetch import FetchError
from aggregator.networks.errors import AddressError
from aggregator.networks.x.address import is_x_url, parse_x_address
from aggregator.networks.x.client import (
    XAccountNotFound,
    XNotConfigured,
    XRateLimited,
    configured,
    lookup_user,
)
from aggregator.networks.x.parse import BadXResponse, XUser

RSS_BRIDGE_HINT = (
    "Alternatively follow the account through an RSS bridge: paste the feed URL an RSS-Bridge or Nitter "
    "instance gives for it (e.g. https://rss-bridge.example/?action=display&bridge=TwitterBridge"
    "&context=By+username&u={name}&format=Atom)."
)


def claims(text: str) -> bool:
    return text.startswith("@") or text.lower().startswith("x:") or is_x_url(text)


def resolve(text: str) -> XUser:
    return account(parse_x_address(text))


def account(username: str) -> XUser:
    """The X account behind ``username``. Raises ``AddressError`` with a message for the person."""
    if not configured():
        raise AddressError(f"Following X accounts needs an X API token, and this hub has none (the operator sets "
                           f"X_BEARER_TOKEN). {RSS_BRIDGE_HINT.format(name=username)}")  # fmt: skip
    try:
        return lookup_user(username)
    except XRateLimited as error:
        raise AddressError(f"{error}: try following @{username} again then") from error
    except XAccountNotFound as error:
        raise AddressError(str(error)) from error
    except (BadXResponse, XNotConfigured, FetchError) as error:
        raise AddressError(f"could not look up @{username} on X: {error}") from error
