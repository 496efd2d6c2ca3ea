"""WebSub (W3C): hubs that push a feed's new documents to a callback instead of being polled.

``discover`` finds a document's hubs and topic (pure, tested on the fixture files in ``testdata/``),
``signature`` checks a delivery's ``X-Hub-Signature``, ``client`` speaks the subscription requests to a hub
through ``aggregator.fetch``.
"""

from aggregator.networks.websub.client import HubRefused, request_subscription
from aggregator.networks.websub.discover import WebSubLinks, discover
from aggregator.networks.websub.signature import ALGORITHMS, new_secret, signature_valid

__all__ = ["ALGORITHMS", "HubRefused", "WebSubLinks", "discover", "new_secret", "request_subscription",
           "signature_valid"]  # fmt: skip
