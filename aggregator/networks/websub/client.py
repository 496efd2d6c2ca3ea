"""Subscription requests to a hub (WebSub section 5.1), through the one outbound guard (``aggregator.fetch``):
a hub is an address a feed supplied."""

from urllib.parse import urlencode

from aggregator.fetch import FetchError, fetch

HUB_DEADLINE = 15.0  # seconds; hubs that verify synchronously call the callback before they answer


class HubRefused(ValueError):
    """The hub answered the request with an error (or could not be reached); the message says which."""


def request_subscription(hub_url: str, *, mode: str, topic: str, callback: str, secret: str = "",
                         lease_seconds: int | None = None) -> int:  # fmt: skip
    """POST ``hub.mode`` (subscribe or unsubscribe) for ``topic`` to the hub; returns the hub's 2xx status
    (202: it will verify later; 204 or 200: it may have verified already).

    Redirects of every kind are followed with the POST repeated (a hub that moved). Raises ``HubRefused``.
    """
    form = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback}
    if mode == "subscribe" and secret:
        form["hub.secret"] = secret
    if mode == "subscribe" and lease_seconds:
        form["hub.lease_seconds"] = str(lease_seconds)
    try:
        response = fetch(
            hub_url, method="POST", data=urlencode(form).encode(), accept="*/*", keep_method=True,
            headers={"Content-Type": "application/x-www-form-urlencoded"}, max_bytes=64 * 1024, deadline=HUB_DEADLINE,
        )  # fmt: skip
    except FetchError as error:
        raise HubRefused(f"hub {hub_url} refused the {mode} request: {error}") from error
    return response.status
