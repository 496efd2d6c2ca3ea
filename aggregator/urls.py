from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from accounts.signin_views import openid_login
from aggregator.api import api
from aggregator.following import views, websub_callback
from aggregator.images.views import image_proxy
from compat.mastodon.accounts import blocks as mastodon_blocks
from compat.mastodon.endpoint import carries_app_token

api_patterns, api_app_name, api_namespace = api.urls
_our_blocks = next(pattern.callback for pattern in api_patterns if str(pattern.pattern) == "blocks")


@csrf_exempt  # as ninja's own views: its session auth checks the CSRF token, a bearer token needs none
def blocks(request, *args, **kwargs):
    """``/api/v1/blocks`` is ours and Mastodon's: a Mastodon app (its OAuth token) listing its blocks gets
    Mastodon's answer, accounts; our API tokens and the signed-in session keep our blocks API."""
    if request.method == "GET" and carries_app_token(request):
        return mastodon_blocks(request)
    return _our_blocks(request, *args, **kwargs)


urlpatterns = [
    path("", include("timelines.urls")),
    path("", include("replies.urls")),
    path("", include("tracks.urls")),
    path("", include("publishing.urls")),
    path("follow/", views.follow, name="follow"),
    path("follow/preview-avatar", views.preview_avatar, name="preview_avatar"),
    path("subscriptions/", views.subscription_list, name="subscriptions"),
    path("subscriptions/<int:subscription_id>/tags/", views.subscription_tags, name="subscription_tags"),
    path("subscriptions/<int:subscription_id>/unfollow/", views.unfollow, name="unfollow"),
    path("subscriptions/export.opml", views.opml_export, name="opml_export"),
    path("subscriptions/import-list/", views.follow_list_import, name="follow_list_import"),
    path("subscriptions/imports/<int:import_id>/", views.follow_list_import_status, name="follow_list_import_status"),
    path("sources/<int:source_id>/", views.source_detail, name="source"),
    path("sources/<int:source_id>/refresh/", views.refresh, name="source_refresh"),
    path("sources/<int:source_id>/avatar", views.source_avatar, name="source_avatar"),
    path("images/<str:signature>/<str:encoded>", image_proxy, name="image_proxy"),
    path("websub/<str:token>/", websub_callback.callback, name="websub_callback"),
    path("settings/", include("accounts.urls")),
    path("accounts/openid/login/", openid_login, name="openid_login"),  # before allauth's: POST-only start
    path("accounts/", include("allauth.urls")),
    re_path(r"^api/v1/blocks/?$", blocks),
    path("api/v1/", (api_patterns, api_app_name, api_namespace)),
    path("api/greader/", include("compat.greader.urls")),
    path("", include("compat.mastodon.urls")),  # after our API: our paths win, the rest answer JSON
    path("admin/", admin.site.urls),
]
