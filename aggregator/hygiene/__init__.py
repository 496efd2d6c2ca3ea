"""Input hygiene shared by every layer: the C0 control characters nothing stores (``controls``), the one
request check that refuses them (``middleware``), and the one check of a ``next`` redirect (``redirects``)."""
