"""The Mastodon client API (``/api/v1/...``, ``/api/v2/...``, ``/oauth/...``): Mastodon apps read, follow and are
told of replies through Chorus' own services and selectors. Sources are accounts, posts are statuses, replies are
mention notifications, tags are lists."""
