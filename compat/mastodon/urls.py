"""The Mastodon client API's paths. Included after our own API in ``aggregator.urls``: where a path is ours, ours
answers (``/api/v1/blocks``, both ours and Mastodon's, is given by ``aggregator.urls`` to the API whose token
the request carries); every other ``/api/v1`` and ``/api/v2`` path nobody serves is a JSON 404."""

from django.urls import path, re_path

from compat.mastodon import accounts, instance, oauth, reading, stream_views
from compat.mastodon.endpoint import not_found

EMPTY_LISTS = (
    "custom_emojis", "filters", "announcements", "trends", "trends/tags", "trends/statuses", "trends/links",
    "followed_tags", "conversations", "mutes", "domain_blocks", "follow_requests", "endorsements", "featured_tags",
    "scheduled_statuses", "instance/rules", "instance/peers", "instance/activity", "suggestions",
)  # fmt: skip

_routes = [
    path("oauth/authorize", oauth.Authorize.as_view(), name="mastodon_authorize"),
    path("oauth/token", oauth.token, name="mastodon_token"),
    path("oauth/revoke", oauth.revoke, name="mastodon_revoke"),
    path("oauth/userinfo", oauth.userinfo, name="mastodon_userinfo"),
    path(".well-known/oauth-authorization-server", oauth.server_metadata),
    path(".well-known/nodeinfo", instance.nodeinfo_links),
    path("nodeinfo/2.0", instance.nodeinfo, name="nodeinfo"),
    path("api/v1/apps", oauth.register_app, name="mastodon_apps"),
    path("api/v1/apps/verify_credentials", oauth.verify_app),
    path("api/v1/instance", instance.instance_v1),
    path("api/v2/instance", instance.instance_v2),
    path("api/v1/preferences", instance.preferences),
    *(path(f"api/v1/{name}", instance.empty_list) for name in EMPTY_LISTS),
    path("api/v2/filters", instance.empty_list),
    path("api/v2/suggestions", instance.empty_list),
    path("api/v1/accounts/verify_credentials", accounts.verify_credentials),
    path("api/v1/accounts/relationships", accounts.relationships),
    path("api/v1/accounts/lookup", accounts.lookup),
    path("api/v1/accounts/<str:account_id>", accounts.account),
    path("api/v1/accounts/<str:account_id>/statuses", accounts.account_statuses),
    path("api/v1/accounts/<str:account_id>/follow", accounts.follow),
    path("api/v1/accounts/<str:account_id>/unfollow", accounts.unfollow),
    path("api/v1/accounts/<str:account_id>/following", accounts.following),
    path("api/v1/accounts/<str:account_id>/followers", instance.empty_list),
    path("api/v1/accounts/<str:account_id>/lists", instance.empty_list),
    path("api/v2/search", accounts.search),
    path("api/v1/timelines/home", reading.home),
    path("api/v1/timelines/tag/<str:hashtag>", reading.tag_timeline),
    path("api/v1/timelines/list/<str:list_id>", reading.list_timeline),
    path("api/v1/lists", reading.lists),
    path("api/v1/lists/<str:list_id>", reading.list_detail),
    path("api/v1/statuses", reading.post_status),
    path("api/v1/statuses/<str:status_id>", reading.status),
    path("api/v1/statuses/<str:status_id>/context", reading.context),
    re_path(r"^api/v1/statuses/(?P<status_id>[^/]+)/(?P<undo>un)?favourite/?$", reading.favourite),
    re_path(r"^api/v1/statuses/(?P<status_id>[^/]+)/(?P<undo>un)?bookmark/?$", reading.bookmark),
    path("api/v1/favourites", reading.favourites),
    path("api/v1/bookmarks", reading.bookmarks),
    path("api/v1/notifications", reading.notifications),
    path("api/v1/notifications/clear", reading.notifications_clear),
    path("api/v1/notifications/unread_count", reading.unread_notifications),
    path("api/v1/notifications/<str:notification_id>", reading.notification),
    path("api/v1/notifications/<str:notification_id>/dismiss", reading.notification_dismiss),
    path("api/v1/markers", reading.markers),
]


# Mastodon answers a path with or without a trailing slash, and Mastodon.py sends some with one.
urlpatterns = [
    *_routes,
    *(path(f"{route.pattern}/", route.callback) for route in _routes if str(route.pattern).startswith("api/")),
    re_path(r"^api/v1/streaming/(?P<name>health|user|user/notification|hashtag|hashtag/local)/?$", stream_views.sse),
    re_path(r"^api/v[12]/(?P<path>.*)$", not_found),
]
