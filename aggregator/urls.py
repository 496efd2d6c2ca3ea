from django.contrib import admin
from django.urls import include, path

from accounts.signin_views import openid_login
from aggregator.api import api
from aggregator.following import views, websub_callback
from aggregator.images.views import image_proxy

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
    path("api/v1/", api.urls),
    path("api/greader/", include("compat.greader.urls")),
    path("", include("compat.mastodon.urls")),  # after our API: our paths win, the rest answer JSON
    path("admin/", admin.site.urls),
]
